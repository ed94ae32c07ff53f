"""What one message says, as small frozen frames: one per dialogue act.

``frames_of(intent)`` turns the parser's working record into the acts it found: feedback
on films first, then a question, a rejection, a critique or refinement, more, an ask, and
small talk or nonsense only when nothing else was said (which of them answers is the
agent's ``chat.ROUTES``). ``read_choice`` reads an answer to recbot's own question. A frame holds plain values (ids, names, genre names), so it can be compared, stored
and written in the golden table (``tests/agent/golden/frames.tsv``) as ``kind field=value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from .lexicon import lexicon

Genres = tuple[tuple[str, ...], ...]   # every group must hold; any genre of a group will do


@dataclass(frozen=True)
class Film:
    """A film named in the message (``movie_id`` None: no catalog film matched)."""

    text: str
    movie_id: int | None = None
    label: str | None = None          # "Heat (1995)"

    def __str__(self) -> str:
        return self.label or f"?{self.text}"


@dataclass(frozen=True)
class Ask:
    """A request for films, new or (``refine``) narrowing or switching the last one."""

    seeds: tuple[Film, ...] = ()
    people: tuple[str, ...] = ()
    genres: Genres = ()
    exclude_genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    runtime_min: int | None = None
    runtime_max: int | None = None
    topic: str = ""
    describe: str = ""
    quality: bool = False
    k: int | None = None
    refine: str = ""                  # "" (a new ask) | narrow | switch
    also: bool = False                # adds to the last ask ("I also loved X")
    avoid_people: tuple[str, ...] = ()
    avoid_kinds: tuple[str, ...] = ()
    fans_of: tuple[str, ...] = ()
    avoid_moods: tuple[str, ...] = ()
    lean_away: tuple[str, ...] = ()
    series: str = ""                  # "the bourne movies": the films of that series
    avoid_years: tuple[tuple[int, int], ...] = ()   # "nothing from the 90s"


@dataclass(frozen=True)
class Critique:
    """The last list, moved one way ("less violent", "older") or a filter dropped."""

    critiques: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()       # "forget the year": years | genres | runtime | people


@dataclass(frozen=True)
class Feedback:
    """What the user says of one film: named (``film``) or a pick of the list (``ref``,
    1-based, -1 the last; ``all`` every pick)."""

    verdict: str                      # like | dislike | seen | unseen
    film: Film | None = None
    ref: int | None = None
    all: bool = False


@dataclass(frozen=True)
class Question:
    """why (#n or a named pick), why_not X, about X (``facet``: rating runtime year genre),
    cast of X; ``refs`` the picks it points at, ``that_one`` "it"."""

    kind: str
    film: Film | None = None
    refs: tuple[int, ...] = ()
    facet: str = ""
    that_one: bool = False


@dataclass(frozen=True)
class Reject:
    """None of the last list ("none of these", "nah")."""


@dataclass(frozen=True)
class More:
    """More of the last ask ("10 more", "more like #2")."""

    k: int | None = None
    refs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Again:
    """Show the last list again."""


@dataclass(frozen=True)
class Unclear:
    """A title to ask back about: unknown (``options`` close spellings) or shared by
    several films (``ambiguous``), or a name the data does not know (``person``)."""

    text: str
    options: tuple[str, ...] = ()
    ambiguous: bool = False
    person: bool = False


@dataclass(frozen=True)
class SmallTalk:
    kind: str                         # greeting | how_are_you | thanks | bye | ack


@dataclass(frozen=True)
class Help:
    """"help", "what can you do?"."""


@dataclass(frozen=True)
class Foreign:
    """An ask in a language recbot does not read yet."""


@dataclass(frozen=True)
class Nonsense:
    """Letters that make no words."""


@dataclass(frozen=True)
class Choice:
    """An answer to the question recbot asked last ("the 1995 one", "the second", "yes"):
    the option picked (0-based, and its label), or ``option`` None: none of them."""

    option: int | None
    label: str = ""


Frame = (Ask | Critique | Feedback | Question | Reject | More | Again | Unclear | SmallTalk
         | Help | Foreign | Nonsense | Choice)
KINDS = {cls.__name__.lower(): cls for cls in (Ask, Critique, Feedback, Question, Reject, More,
                                                Again, Unclear, SmallTalk, Help, Foreign,
                                                Nonsense, Choice)}


def _film(m) -> Film:
    label = f"{m.title} ({m.year})" if m.title and m.year else m.title
    return Film(m.text, m.movie_id, label)


def frames_of(it) -> tuple[Frame, ...]:
    """The acts of a parsed message (an ``agent.reader.reading.Intent``), as frames."""
    if it.help:
        return (Help(),)
    if it.foreign:
        return (Foreign(),)
    out: list[Frame] = []
    for attr, verdict in (("liked", "like"), ("disliked", "dislike"), ("seen", "seen"),
                          ("unseen", "unseen")):
        out += [Feedback(verdict, film=_film(m)) for m in getattr(it, attr)]
    if it.question is None:
        out += [Feedback(v, ref=n) for n, v in it.ref_feedback.items()]
        rest = [n for n in it.refs if n not in it.ref_feedback]
        if it.feedback and it.all_shown and not it.refs:
            out.append(Feedback(it.feedback, all=True))          # "seen them all"
        elif it.feedback and (rest or not it.refs):               # "#2 seen it", "loved it"
            out += [Feedback(it.feedback, ref=n) for n in rest or [None]]
    if it.question:
        film = it.why_not or it.about or it.why_of
        out.append(Question(it.question, _film(film) if film else None, tuple(it.refs),
                            it.facet, it.that_one))
    if it.reject:
        out.append(Reject())
    if it.critiques or it.clear:
        out.append(Critique(tuple(it.critiques), tuple(it.clear)))
    if it.more:
        out.append(More(it.k, tuple(it.refs)))
    if it.again:
        out.append(Again())
    out += [Unclear(m.text, tuple(label for _, label in m.options), ambiguous=True)
            for m in it.ambiguous]
    out += [Unclear(m.text, tuple(label for _, label in m.suggestions)) for m in it.unresolved]
    out += [Unclear(name, person=True) for name in it.unknown_people]
    if it.question is None and (it.content or it.constraints_given or it.asks_for_list
                                or it.avoid_people or it.avoid_kinds or it.avoid_moods
                                or it.lean_away
                                or ("critique" in it.acts and not it.critiques and not it.clear)):
        out.append(Ask(
            tuple(_film(m) for m in it.seeds), tuple(p.name for p in it.people),
            tuple(tuple(g) for g in it.genres), tuple(it.exclude_genres), it.year_min,
            it.year_max, it.runtime_min, it.runtime_max, it.topic, it.describe, it.quality,
            None if it.more else it.k, it.refine, it.also, tuple(p.name for p in it.avoid_people),
            tuple(it.avoid_kinds), tuple(p.name for p in it.fans_of), tuple(it.avoid_moods),
            tuple(it.lean_away), it.series, tuple(it.avoid_years)))
    if not out and it.chitchat:
        out.append(SmallTalk(it.chitchat))
    if not out and it.nonsense:
        out.append(Nonsense())
    return tuple(out)


# -- an answer to a pending question -------------------------------------------------------
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_WORD = re.compile(r"[\w'&.:-]+")


def _words(text: str) -> list[str]:
    return [w.strip(".:") for w in _WORD.findall(text.lower()) if w.strip(".:")]


def read_choice(text: str, options: list[tuple[int, str]], *,
                yes_first: bool = False) -> Choice | None:
    """The option of recbot's last question that ``text`` picks: by its year ("the 1995
    one", "1971"), its age among the options ("the original", "the remake", "the newer
    one"), its place ("the second", "#2", "2"), its title's words, or "yes" when one was
    offered (or, ``yes_first``, the first of close spellings). Every cue must agree on one
    option. ``Choice(None)`` when it turns them all down ("neither"); None when the message
    is not an answer (it says more than a choice: a new ask)."""
    lex = lexicon()
    rest = [w.lstrip("#") for w in _words(text)]
    rest = [w for w in rest if w and w not in lex.words("words.answer_filler")]
    if not rest or not options:
        return None
    if all(w in lex.words("words.answer_none") for w in rest):
        return Choice(None)
    labels = [label for _, label in options]
    years = [int(m.group(1)) if (m := re.search(r"\((\d{4})\)$", label)) else None
             for label in labels]
    known = [i for i, y in enumerate(years) if y is not None]
    cues: list[set[int]] = []
    said = [w for w in rest if _YEAR.fullmatch(w)]
    if said:
        cues.append({i for i in known if str(years[i]) in said})
    ordinals = lex.table("words.ordinals")
    places = [w for w in rest if w in ordinals or (w.isdigit() and len(w) <= 2)]
    for w in places:
        n = ordinals.get(w) or int(w)
        cues.append({len(labels) - 1} if n == -1 else {n - 1} if 1 <= n <= len(labels) else set())
    ages = {"answer_oldest": min, "answer_newest": max}
    aged = [w for w in rest if any(w in lex.words(f"words.{k}") for k in ages)]
    for w in aged:
        pick = next(f for k, f in ages.items() if w in lex.words(f"words.{k}"))
        dated = [years[i] for i in known]
        cues.append({i for i in known if years[i] == pick(dated)} if len(set(dated)) > 1
                    else set())
    rest = [w for w in rest if w not in said and w not in places and w not in aged]
    if rest and all(w in lex.words("words.answer_yes") for w in rest) and (
            len(labels) == 1 or yes_first):
        cues.append({0})
        rest = []
    if rest:    # the title's words: all of them in the title of the options it may be
        cues.append({i for i, label in enumerate(labels)
                     if set(rest) <= set(_words(label.rsplit(" (", 1)[0]))})
    picked = set.intersection(*cues) if cues else set()
    if len(picked) != 1:
        return None
    i = picked.pop()
    return Choice(i, labels[i])


def complete(pending, text: str) -> str | None:
    """The message that led to recbot's question (``state.Pending``) with the option
    ``text`` picks in place of the words it was unsure of ("something like Heat" and "the
    1995 one": "something like Heat (1995)"); None when ``text`` picks none."""
    choice = read_choice(text, pending.options, yes_first=pending.kind == "spelling")
    if choice is None or choice.option is None:
        return None
    spot = re.search(r"(?<!\w)" + re.escape(pending.text) + r"(?!\w)", pending.ask, re.IGNORECASE)
    if spot is None:     # "Heat", not the "Heat" of "Heathers"
        return None
    return pending.ask[:spot.start()] + choice.label + pending.ask[spot.end():]


# -- the golden table's notation -------------------------------------------------------------
def render(frame: Frame) -> dict[str, str]:
    """A frame's fields that differ from their defaults, in the golden table's notation:
    lists joined by " + ", a genre group's alternatives by "|", films by their label."""
    out = {}
    for f in fields(frame):
        value = getattr(frame, f.name)
        if value in (None, "", (), False) and f.name != "verdict":
            continue
        out[f.name] = _show(value)
    return out


def _show(value) -> str:
    if isinstance(value, tuple):
        return " + ".join(("|" if isinstance(v[0], str) else "–").join(map(str, v))
                          if isinstance(v, tuple) and v else _show(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
