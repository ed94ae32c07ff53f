"""What the reader works on and produces: the ``Intent`` a message is read into (the
parser's working record; ``frames`` turns it into typed frames), a ``Mention`` of a film,
the ``_Reading`` the passes share, and the checks a message passes first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicon import lexicon
from .mentions import MentionFinder, Person, Spot

MAX_MESSAGE_CHARS = 2000

LEX = lexicon()
# Word -> genre group (any one of its genres will do); "rom com" words ask for every genre
# of theirs (LEX.genre_together). Longest first: "science fiction" before "fiction".
GENRE_WORDS: dict[str, tuple[str, ...]] = {**LEX.genre_words, **LEX.genre_together}
_DISLIKE_VERBS = LEX.source("feedback.dislike_verbs")
_NEGATORS = LEX.source("feedback.negators")
ORDINALS: dict[str, int] = LEX.table("words.ordinals")
_NUMBER_WORDS: dict[str, int] = LEX.table("words.numbers")
_REJECT = LEX.re("small_talk.reject")
_MORE = LEX.re("small_talk.more")
_CHITCHAT_REPLIES = {r.name: r.extra["reply"] for r in LEX.small_talk}
# Words that only say "recommend me a film": never search text.
_META_WORDS = LEX.words("words.meta")
COMMON_WORDS = LEX.words("words.common")


@dataclass(slots=True)
class Mention:
    """A piece of text naming a movie; ``movie_id`` is None when no title matched well."""

    text: str
    movie_id: int | None = None
    title: str | None = None
    year: int | None = None
    suggestions: tuple[tuple[int, str], ...] = ()  # (movie_id, label) when unresolved
    options: tuple[tuple[int, str], ...] = ()      # an ambiguous title's films
    sentiment: str = "neutral"                     # similar | like | dislike | seen | neutral
    learned: bool = False      # the sentiment is the learned reader's (reader.polarity), not a rule's

    def as_dict(self) -> dict:
        return {"mention": self.text, "movie_id": self.movie_id, "title": self.title}


@dataclass(slots=True)
class Intent:
    text: str
    seeds: list[Mention] = field(default_factory=list)       # "like X", "I loved X", "X (2017)"
    liked: list[Mention] = field(default_factory=list)       # feedback: loved X
    disliked: list[Mention] = field(default_factory=list)    # feedback: hated X
    seen: list[Mention] = field(default_factory=list)        # feedback: seen X
    unseen: list[Mention] = field(default_factory=list)      # "haven't seen X"
    unresolved: list[Mention] = field(default_factory=list)  # a title-like span, no film
    ambiguous: list[Mention] = field(default_factory=list)   # several films of that name
    people: list[Person] = field(default_factory=list)
    avoid_people: list[Person] = field(default_factory=list)
    avoid_kinds: list[str] = field(default_factory=list)     # "no superheroes", "not Star Wars"
    series: str = ""                                          # "the bourne movies": its name
    series_films: list[int] = field(default_factory=list)    # ... and its films (the list)
    avoid_moods: list[str] = field(default_factory=list)     # "nothing sad" (moods.toml names)
    lean_away: list[str] = field(default_factory=list)       # "not a huge fan of musicals"
    fans_of: list[Person] = field(default_factory=list)      # named in passing: a nudge
    refs: list[int] = field(default_factory=list)            # 1-based; -1 = last shown
    ref_feedback: dict[int, str] = field(default_factory=dict)  # "loved #1, not #3": #3 only
    best_of: bool = False      # "which of those is the best?": the best rated pick shown
    that_one: bool = False                                   # "it", "that one" with no number
    unknown_people: list[str] = field(default_factory=list)  # "anything with Zendaya"
    all_shown: bool = False                                  # "seen them all"
    why_of: Mention | None = None                            # "why Rocky?"
    foreign: bool = False                                    # not English: "quiero una película"
    feedback: str | None = None                              # like | dislike | seen (for refs)
    more: bool = False                                       # "more like that", "10 more"
    again: bool = False                                      # "show me the list again"
    reject: bool = False                                     # "none of these"
    genres: list[tuple[str, ...]] = field(default_factory=list)
    # genres named by a word of their own ("horror or thriller"), not only one genre of an
    # either-or word ("family": children or animation)
    named_genres: list[str] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    avoid_years: list[tuple[int, int]] = field(default_factory=list)   # "nothing from the 90s"
    year_min: int | None = None
    year_max: int | None = None
    runtime_min: int | None = None
    runtime_max: int | None = None
    critiques: list[str] = field(default_factory=list)
    question: str | None = None                              # why | why_not | about | cast
    facet: str = ""                    # what an "about" question asks: rating runtime year genre
    why_not: Mention | None = None
    about: Mention | None = None
    k: int | None = None
    quality: bool = False                                    # "best", "top", "greatest"
    chitchat: str | None = None                              # greeting | thanks | bye | ...
    help: bool = False                                       # "help", "what can you do?"
    nonsense: bool = False
    describe: str = ""                                       # residual descriptive text
    topic: str = ""                    # what the film is about, when said: "a movie about dogs"
    filled_by_llm: list[str] = field(default_factory=list)

    @property
    def mentions(self) -> list[Mention]:
        extra = [m for m in (self.why_not, self.about) if m is not None]
        return [*self.seeds, *self.liked, *self.disliked, *self.seen, *extra]

    @property
    def constraints_given(self) -> bool:
        return bool(self.genres or self.exclude_genres or self.year_min or self.year_max
                    or self.runtime_min or self.runtime_max or self.avoid_years)

    @property
    def content(self) -> bool:
        """Does the message say what to look for (a new ask rather than a follow-up)?"""
        return bool(self.seeds or self.people or self.genres or self.describe
                    or self.quality or self.ambiguous or self.series_films)

    @property
    def has_ask(self) -> bool:
        """Does the message ask for (new or more) recommendations?"""
        return self.question is None and bool(
            self.content or self.constraints_given or self.critiques or self.more
            or self.reject or self.asks_for_list or self.avoid_people or self.avoid_kinds
            or self.avoid_moods or self.lean_away or self.clear)

    asks_for_list: bool = False                              # "what should I watch?"
    refine: str = ""     # "narrow" ("only dramas") or "switch" ("make it a comedy"): the last ask
    add_person: bool = False   # "with Jim Carrey" after a list: the last ask, with that person
    # "forget the year": years genres runtime people; "forget the no mob thing": "no mob"
    clear: list[str] = field(default_factory=list)
    also: bool = False   # "I also loved X", "X too": adds to the last ask instead of replacing it

    @property
    def acts(self) -> list[str]:
        """The dialogue acts found, in the order the agent handles them."""
        acts = []
        if self.liked or self.disliked or self.seen or self.feedback:
            acts.append("feedback")
        if self.question:
            acts.append("question")
        if self.reject:
            acts.append("reject")
        if self.critiques or (self.constraints_given and not self.content) or (
                (self.avoid_people or self.avoid_kinds or self.avoid_moods or self.lean_away
                 or self.clear or self.k)
                and not self.content and not self.more):
            acts.append("critique")      # "nothing with Adam Sandler": the last ask, narrowed
        if self.more:
            acts.append("more")
        if self.content or self.asks_for_list:
            acts.append("request")
        if self.chitchat and not acts:
            acts.append("chitchat")
        if self.nonsense and not acts:
            acts.append("nonsense")
        return acts

    def understood(self) -> bool:
        """Did the parser find anything at all?"""
        return bool(self.acts) or bool(self.unresolved or self.refs or self.help)


class InputError(ValueError):
    """The message cannot be used as it is; the text says what to do."""


def clean_message(text: str) -> str:
    """Reject absurd input with one clear sentence; return the text with spaces collapsed."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"the message is {len(text):,} characters long; keep it under "
                         f"{MAX_MESSAGE_CHARS:,} (say what you'd like to watch in a sentence or two)")
    bad = sorted({c for c in text if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:3])
        raise InputError(f"the message holds control characters ({shown}); send plain text")
    text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if not text:
        raise InputError("the message is empty; say what you'd like to watch")
    return text


def word_or_plural(word: str) -> str:
    """A pattern for ``word`` or its plural as a whole word ("superhero", "superheroes")."""
    return rf"(?<!\w){re.escape(word)}(?:e?s)?(?!\w)"


_SHORTHAND = LEX.table("words.shorthand")
_SHORTHAND_RE = re.compile(r"(?<![\w/])(" + "|".join(
    re.escape(k) for k in sorted(_SHORTHAND, key=len, reverse=True)) + r")(?![\w/])\s*", re.I)


def _expand_shorthand(text: str) -> str:
    """Chat shorthand written out ("w/" is "with"), so every rule reads one spelling; bare
    numbers that point at picks ("seen 1 and 3. 2 looks fun") written as "#1", "#3", "#2"."""
    text = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1).lower()] + " ", text).strip()

    def mark(m) -> str:
        a = m.start(1) - m.start()
        group = re.sub(r"\d+", lambda d: "#" + d.group(), m.group(1))
        return m.group()[:a] + group + m.group()[a + len(m.group(1)):]

    for key in ("reader.bare_picks_after", "reader.bare_picks_before"):
        text = LEX.re(key).sub(mark, text)
    return text


def chitchat_reply(kind: str, shown: bool = True) -> str:
    """The reply to small talk, in the turn's language (the rows' replies are in the
    catalogs: agent.i18n)."""
    from ..i18n import tr

    if kind == "ack" and not shown:   # "lol" before any list: there is nothing to be "these"
        return tr("Tell me a film you like, a genre, a person, or what you're in the mood for.")
    return tr(_CHITCHAT_REPLIES.get(kind, _CHITCHAT_REPLIES["ack"]))


_REFINE = LEX.re("critiques.refine")


@dataclass(slots=True)
class _Reading:
    """What the passes share while one message is read: the text, the words not yet
    understood (``rest``: understood spans are blanked, so positions stay put), and the
    titles and people found in it. Passes write what they understand into ``intent``."""

    text: str
    low: str
    finder: MentionFinder
    max_year: int
    intent: Intent
    rest: str = ""
    spots: list[Spot] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    title_spans: list[tuple[int, int]] = field(default_factory=list)
    no_titles: str = ""
    film_ask: bool = False
    seen_kinds: list[str] = field(default_factory=list)   # "seen all the pixar ones"

    def blank(self, span: tuple[int, int]) -> None:
        a, b = span
        self.rest = self.rest[:a] + " " * (b - a) + self.rest[b:]
