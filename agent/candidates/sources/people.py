"""``people``: the films of the people asked for ("something with Meryl Streep"), best known
first; its evidence says what each did in the film (directed, starring, tagged)."""

from __future__ import annotations

from ...explain.evidence import Fact
from ...kinds import FactKind
from .base import Source


def collect(gen, req, found, lists):
    if req.only is None:
        return None
    best = {i: r for r, i in enumerate(gen.popular())}
    return sorted(req.only, key=lambda i: (best.get(i, 10**9), i))


def role(movie, name: str) -> str | None:
    if name in movie.directors:
        return f"directed by {movie.directed_by()}"
    if name in movie.stars:
        return f"starring {name}"
    if any(t.casefold() == name.casefold() for t in movie.tags):
        return f"tagged {name} by MovieLens users"
    return None


def evidence(gen, cand, req, clues, facts) -> None:
    movie = gen.catalog[cand.movie_id]
    for name in req.people:
        said = role(movie, name)
        if said:
            facts.insert(0, Fact(FactKind.PERSON, said))


SOURCE = Source("people", 1.0, collect, "#{rank} among that person's best-known films", evidence,
                (FactKind.PERSON,))
