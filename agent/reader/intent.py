"""Read one user message into dialogue acts, deterministically.

A message may hold several acts at once: a **request** (new, or refining the last one),
**feedback** on named or referenced films (liked / disliked / seen, several films at a
time, each with its own sentiment), a **rejection** of the last list ("none of these"),
**critiques** ("less violent", "under 90 minutes", "not animated"), **more** ("10 more"),
a **question** (why #n, why not X, what is X about, who is in X), **chit-chat**
(greetings, thanks) or **nonsense**. Titles and people come from ``agent.reader.mentions``;
genres and moods from a lexicon; years, decades, runtimes and counts from patterns.
What content is left after all that (never chit-chat, meta words, rejections or
critiques) is the descriptive part, used for semantic search.

An LLM may fill what the parser left empty (see ``agent.chat``), never override it.
"""
from __future__ import annotations

import re

from .lexicon import lexicon
from .mentions import COMMON_WORDS, MentionFinder
from .passes import MOOD_TAGS, MOOD_WORDS, PASSES
from .reading import (
    MAX_MESSAGE_CHARS,
    InputError,
    Intent,
    Mention,
    _expand_shorthand,
    _Reading,
    chitchat_reply,
    clean_message,
)

__all__ = ["MAX_MESSAGE_CHARS", "MOOD_TAGS", "MOOD_WORDS", "InputError", "Intent", "Mention",
           "chitchat_reply", "clean_message", "parse", "read"]

LEX = lexicon()


_TYPOGRAPHIC = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"',
                              "\u201d": '"'})


def parse(text: str, finder: MentionFinder, *, max_year: int = 2018) -> Intent:
    """Read ``text`` into an ``Intent``; ``finder`` spots titles and people. Each pass
    reads one kind of thing, in the order of ``PASSES``."""
    text = clean_message(text)
    intent = Intent(text=text)
    text = _expand_shorthand(text)      # "stuff w/ keanu", "sci fi w/o aliens"
    text = text.translate(_TYPOGRAPHIC)  # "wasn’t" is "wasn't" (one character for one)
    # "like both Heat and The Notebook": "both" stands between the cue and the first title
    text = LEX.re("feedback.both").sub("", text)
    r = _Reading(text, text.lower(), finder, max_year, intent, rest=text.lower())
    if LEX.re("small_talk.help").fullmatch(r.low):
        intent.help = True
        return intent
    for read in PASSES:
        read(r)
    return intent


_PICK_BY_WORD = re.compile(r"\b(?:the|that|this)\s+((?:[a-z0-9'&:-]+\s+){0,2}?[a-z0-9'&:-]+)\s+"
                           r"(?:one|movie|film)\b", re.I)


# "why moon?", "why did you pick titanic lol": the words of one shown title, asked about
_WHY_PICK = re.compile(r"\bwhy\s+(?:(?:is|was|did you (?:pick|choose|suggest|recommend)|pick|"
                       r"choose|suggest|recommend)\s+)?((?:[a-z0-9'&:-]+\s+){0,3}?[a-z0-9'&:-]+)"
                       r"(?=\s*(?:\?|$|[,.!]|\s(?:lol|tho|though|exactly|again)\b))", re.I)


_ORDINAL_WORDS = frozenset(LEX.table("words.ordinals")) | frozenset(LEX.table("words.numbers")) \
    | {"next", "previous", "other", "last", "new", "old", "same"}


def name_picks(text: str, titles: list[str]) -> str:
    """``text`` with "the charade one", "that heat movie" as "#2": a word or two of one
    title of the list shown (``titles``, in order) points at that pick. A phrase that fits
    no title or several ("the funny one", "the first one") is left to the reader."""
    def words(s: str) -> list[str]:
        return re.findall(r"[a-z0-9&]+", s.lower())     # "knight's": knight, s

    def repl(m: re.Match) -> str:
        said = words(m.group(1))
        if not said or all(w in COMMON_WORDS or len(w) < 3 for w in said) or \
                any(w in _ORDINAL_WORDS for w in said):
            return m.group()      # "the third one" is the reader's, not The Third Man
        phrase = f" {' '.join(said)} "
        hits = [i for i, title in enumerate(titles) if phrase in f" {' '.join(words(title))} "]
        return f"#{hits[0] + 1}" if len(hits) == 1 else m.group()

    if not titles:
        return text
    text = _PICK_BY_WORD.sub(repl, text)

    def why(m: re.Match) -> str:    # "why moon?", "why did you pick titanic lol"
        pick = repl(m)
        if pick == m.group():
            return pick
        return m.group()[:m.start(1) - m.start()] + pick + m.group()[m.end(1) - m.start():]

    return _WHY_PICK.sub(why, text)


def read(text: str, finder: MentionFinder, *, max_year: int = 2018) -> tuple:
    """The acts of ``text`` as typed frames (``agent.reader.frames``), in the order
    ``frames_of`` lists them (which act answers is the agent's ``chat.ROUTES``)."""
    from .frames import frames_of

    return frames_of(parse(text, finder, max_year=max_year))
