"""``keyword``: films whose tags, plot, year or studio name the ask's subject or mood ("a
movie about dogs", "a sad movie", "a Pixar film"), best known first; its evidence is the
theme (the tags or plot words that name it)."""

from __future__ import annotations

from ..text import _mood_only, _theme
from ...kinds import FactKind
from .base import Source


def collect(gen, req, found, lists):
    if req.query and (req.topic or _mood_only(req.query)):
        return gen._keyword(req.query)
    return None


def evidence(gen, cand, req, clues, facts) -> None:
    if clues.hit is None and req.query and "keyword" in cand.sources:
        theme = _theme(gen.catalog[cand.movie_id], req.query, gen.first_names)
        if theme is not None:
            facts.append(theme)


SOURCE = Source("keyword", 1.0, collect, "", evidence, (FactKind.THEME,))
