"""What a conversation carries from one turn to the next, as typed values that serialise.

- ``Recommendation``: one pick as it was shown (the session store keeps each list).
- ``LastAsk``: the request behind the last list: what "none of these", "older", "more"
  and "why not X?" refine or look things up against.
- ``Pending``: a question recbot asked and waits for an answer to ("Which Heat do you
  mean: Heat (1995) or Heat (1972)?"): the next message may pick one of its options.
- ``DialogueState``: the above plus the films named so far, the pick in focus and the
  MovieLens user the session is for. It is stored as JSON in the session's row
  (``SessionState.state``); ``from_dict`` also reads what older versions stored.

The next step ("Preferences and polarity") replaces ``LastAsk`` by a weighted preference
state; everything that reads the last ask goes through ``DialogueState.last``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .candidates import Candidate, Constraints
from .explain.evidence import Fact
from .kinds import FactKind
from .preferences import Pref
from .explain.grounding import LLMTrace

if TYPE_CHECKING:
    from .events import OnEvent
    from .reader.intent import Intent, Mention
    from .memory import SessionState


@dataclass(slots=True)
class Recommendation:
    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    score: float
    explanation: str
    evidence: list[Fact]
    explained_by: str = "template"
    info: dict = field(default_factory=dict)    # year, runtime_min, ml_mean, ml_count, ...
    sources: dict = field(default_factory=dict)  # candidate source -> rank (why #n)

    def as_dict(self) -> dict:
        return {"movie_id": self.movie_id, "title": self.title, "year": self.year,
                "genres": list(self.genres), "score": self.score,
                "explanation": self.explanation, "explained_by": self.explained_by,
                "info": dict(self.info), "sources": dict(self.sources),
                "evidence": [f.as_dict() for f in self.evidence]}

    @classmethod
    def from_candidate(cls, c: Candidate) -> Recommendation:
        return cls(c.movie_id, c.title, c.year, c.genres, c.score, c.explanation,
                   list(c.facts), c.explained_by, dict(c.info), dict(c.sources))

    @classmethod
    def from_dict(cls, d: dict) -> Recommendation:
        facts = [Fact.from_dict(e) for e in d.get("evidence", [])
                 if e.get("kind") in FactKind.__members__.values()]   # a damaged row: left out
        return cls(d["movie_id"], d["title"], d.get("year"), tuple(d.get("genres", ())),
                   d.get("score", 0.0), d.get("explanation", ""), facts,
                   d.get("explained_by", "template"), dict(d.get("info") or {}),
                   dict(d.get("sources") or {}))

    def label(self) -> str:
        return self.title if self.year is None else f"{self.title} ({self.year})"


@dataclass(slots=True)
class LastAsk:
    """The request behind the last list, without what changes every turn (likes,
    exclusions, the session's words)."""

    seeds: list[int] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    query: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    quality: bool = False
    similar: bool = False
    topic: bool = False
    prefer: dict[str, float] = field(default_factory=dict)   # earlier genres: signed weights
    lang: str = "en"     # the ask's language: "none of these" after a Spanish ask searches as it
    series: str = ""     # "the bourne movies": follow-ups stay in the series
    series_films: list[int] = field(default_factory=list)

    def fresh_constraints(self) -> Constraints:
        """A copy of the constraints, for this turn to change."""
        return Constraints.from_dict(self.constraints.as_dict())

    @classmethod
    def of(cls, req) -> LastAsk:
        """The part of a ``candidates.Request`` the next turn builds on."""
        return cls(list(req.seeds), list(req.people), req.query,
                   Constraints.from_dict(req.constraints.as_dict()), req.quality, req.similar,
                   req.topic, dict(req.prefer_genres), req.lang, req.series,
                   list(req.series_films))

    def as_dict(self) -> dict:
        return {"seeds": self.seeds, "people": self.people, "query": self.query,
                "constraints": self.constraints.as_dict(), "quality": self.quality,
                "similar": self.similar, "topic": self.topic, "prefer": self.prefer,
                "lang": self.lang, "series": self.series, "series_films": self.series_films}

    @classmethod
    def from_dict(cls, d: dict | None) -> LastAsk | None:
        if not d or not isinstance(d, dict):
            return None     # none, or a damaged row: no last ask
        return cls(list(d.get("seeds") or []), list(d.get("people") or []),
                   d.get("query") or "", Constraints.from_dict(d.get("constraints")),
                   bool(d.get("quality")), bool(d.get("similar")), bool(d.get("topic")),
                   _lean(d.get("prefer")),
                   d.get("lang") if d.get("lang") in ("en", "zh", "es") else "en",
                   d.get("series") if isinstance(d.get("series"), str) else "",
                   [i for i in (d.get("series_films") or []) if type(i) is int]
                   if isinstance(d.get("series_films"), list) else [])


def _lean(value) -> dict[str, float]:
    """A stored genre lean: {genre: weight}; a list of genres (stored before the weights)
    leans on each fully; anything else is no lean."""
    if isinstance(value, list):
        return {g: 1.0 for g in value if isinstance(g, str)}
    if isinstance(value, dict):
        return {g: float(w) for g, w in value.items() if isinstance(g, str)
                and type(w) in (int, float) and -1.0 <= w <= 1.0}
    return {}


@dataclass(slots=True)
class Pending:
    """A question recbot asked: ``kind`` "which" (a title several films share) or
    "spelling" (a title it could not find, with close ones), the words the user wrote
    (``text``), the options offered as (movie id, label), and the message that led to
    the question (``ask``), which an answer completes."""

    kind: str
    text: str
    options: list[tuple[int, str]]
    ask: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "ask": self.ask,
                "options": [[i, label] for i, label in self.options]}

    @classmethod
    def from_dict(cls, d: dict | None) -> Pending | None:
        if not isinstance(d, dict) or d.get("kind") not in ("which", "spelling"):
            return None
        try:
            options = [(int(i), str(label)) for i, label in d.get("options") or []]
        except (TypeError, ValueError):
            return None     # a damaged row: no question is pending
        return cls(d["kind"], str(d.get("text") or ""), options, str(d.get("ask") or ""))


@dataclass(slots=True)
class DialogueState:
    """What a session carries from turn to turn (stored as JSON in its row)."""

    last: LastAsk | None = None                     # the last list's request
    pending: Pending | None = None                  # a question waiting for its answer
    named: list[int] = field(default_factory=list)  # films the user named in this session
    focus: int | None = None                        # the film last asked "why" about
    user_id: int | None = None                      # the MovieLens user the session is for
    prefs: list[Pref] = field(default_factory=list)  # what was said of films, genres, people

    def as_dict(self) -> dict:
        return {"request": self.last.as_dict() if self.last else {},
                "pending": self.pending.as_dict() if self.pending else None,
                "named": self.named, "focus": self.focus, "user_id": self.user_id,
                "prefs": [p.as_list() for p in self.prefs]}

    @classmethod
    def from_dict(cls, d: dict | None) -> DialogueState:
        d = d if isinstance(d, dict) else {}
        request = d.get("request")
        if request is None and (d.get("seeds") or d.get("query") or d.get("constraints")):
            # sessions stored before the state had types kept the request at the top level
            request = {"seeds": d.get("seeds") or [], "query": d.get("query") or "",
                       "constraints": d.get("constraints") or {}}
        return cls(last=LastAsk.from_dict(request), pending=Pending.from_dict(d.get("pending")),
                   named=list(d.get("named") or []), focus=d.get("focus"),
                   user_id=d.get("user_id"),
                   prefs=[p for p in map(Pref.from_list, d.get("prefs") or []
                                         if isinstance(d.get("prefs"), list) else []) if p])


@dataclass(slots=True)
class Answer:
    reply: str
    recommendations: list[Recommendation] = field(default_factory=list)
    resolved: list[Mention] = field(default_factory=list)
    llm: dict = field(default_factory=dict)
    session: str = ""
    kind: str = "recommend"   # recommend why why_not about feedback clarify chitchat nonsense help
    timings: dict[str, float] = field(default_factory=dict)
    trace: LLMTrace = field(default_factory=LLMTrace)
    candidates: list[int] = field(default_factory=list)   # the candidate set of the turn
    roles: dict[int, str] = field(default_factory=dict)   # resolved film -> its role (ROLES)
    lang: str = "en"          # the language of the reply (agent.i18n)

    def as_dict(self) -> dict:
        return {"reply": self.reply,
                "recommendations": [r.as_dict() for r in self.recommendations],
                "resolved": [{**m.as_dict(), "role": self.roles.get(m.movie_id, "mentioned")}
                             for m in self.resolved if m.movie_id is not None],
                "llm": self.llm, "session": self.session, "kind": self.kind,
                "lang": self.lang}


@dataclass(slots=True)
class Turn:
    """One message in flight: what it says (``intent``, ``frames``), the session it belongs
    to and its state, the list shown last, and what the turn has gathered so far (feedback
    on films, the picks it points at, notes for the reply). Every route takes only this."""

    intent: Intent
    frames: tuple
    session: SessionState
    state: DialogueState
    shown: list[Recommendation]
    k: int
    emit: OnEvent
    trace: LLMTrace
    t0: float
    said: str                                         # the message as typed
    feedback: dict[int, str] = field(default_factory=dict)
    targets: list[Recommendation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keeps_list: bool = False     # feedback refreshed the list: the rest keep their places
    lang: str = "en"             # the message's language (agent.reader.language)
    unmatched: str = ""          # a Chinese title the ask names that no film matched
