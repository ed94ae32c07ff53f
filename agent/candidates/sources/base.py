"""What a candidate source is: a name, a weight in the fusion, how it finds films, and how
its evidence reads (the facts it gives a candidate, and its rank in words for "why #2?")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...kinds import FactKind


@dataclass(slots=True)
class Clues:
    """What one turn knows about one candidate beyond its sources' ranks: the films named
    (catalog rows), its search hit, the MF ranker's explanation of the session's likes, the
    real seeker's words behind a chat suggestion."""

    seeds: list = field(default_factory=list)
    hit: object | None = None
    explained: dict | None = None
    quote: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """One candidate source.

    ``collect(gen, req, found, lists)`` returns its ranked film ids for the request, or None
    when it has nothing to say for this ask (it may record per-film finds in ``found``;
    ``lists`` holds the lists of the sources before it). ``evidence(gen, cand, req, clues,
    facts)`` adds the facts it can vouch for to ``facts`` (it runs for every candidate and
    decides itself whether it applies). ``signal`` is its rank in words ({rank}, {names}:
    the films named), "" when a rank of it says nothing to a user. ``facts`` lists the kinds
    of fact its evidence gives. ``generic``: it lists well-known films whatever was asked
    (popularity). ``within_ask``: when the ask says what it wants (a description or films
    named), it only moves up films the other, non-generic sources found: the profile
    personalises among the films the ask wants, it pulls no unrelated film in."""

    name: str
    weight: float
    collect: Callable
    signal: str = ""
    evidence: Callable | None = None
    facts: tuple[FactKind, ...] = ()
    generic: bool = False
    within_ask: bool = False
