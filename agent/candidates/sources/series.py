"""``series``: the films of the series asked for ("the bourne movies"), best known first."""

from __future__ import annotations

from ...i18n import N_
from .base import Source


def collect(gen, req, found, lists):
    if not req.series_films or req.only is None:
        return None
    best = {i: r for r, i in enumerate(gen.popular())}
    return sorted(req.only, key=lambda i: (best.get(i, 10**9), i))


SOURCE = Source("series", 1.0, collect, N_("#{rank} among the series' best-known films"))
