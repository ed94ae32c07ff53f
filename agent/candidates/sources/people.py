"""``people``: the films of the people asked for ("something with Meryl Streep"), best known
first; its evidence says what each did in the film (directed, starring, tagged)."""

from __future__ import annotations

from ...explain.evidence import Fact, directed_by, fact
from ...i18n import N_
from ...kinds import FactKind
from .base import Source


def best_known(gen, films) -> list[int]:
    """``films``, the most popular first (ties by id)."""
    best = {i: r for r, i in enumerate(gen.popular())}
    return sorted(films, key=lambda i: (best.get(i, 10**9), i))


def collect(gen, req, found, lists):
    if req.only is None or not req.people:
        return None
    return best_known(gen, req.only)


def role(movie, name: str) -> Fact | None:
    """What ``name`` did in ``movie``, as a fact (None: the data links them not)."""
    if name in movie.directors:
        return fact(FactKind.PERSON, N_("directed by {names}"), names=directed_by(movie))
    if name in movie.stars:
        return fact(FactKind.PERSON, N_("starring {names}"), names=name)
    if any(t.casefold() == name.casefold() for t in movie.tags):
        return fact(FactKind.PERSON, N_("tagged {tags} by MovieLens users"), tags=name)
    return None


def evidence(gen, cand, req, clues, facts) -> None:
    movie = gen.catalog[cand.movie_id]
    for name in req.people:
        said = role(movie, name)
        if said is not None:
            facts.insert(0, said)


SOURCE = Source("people", 1.0, collect, N_("#{rank} among that person's best-known films"),
                evidence,
                (FactKind.PERSON,))
