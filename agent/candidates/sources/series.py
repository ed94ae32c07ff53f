"""``series``: the films of the series asked for ("the bourne movies"), best known first."""

from __future__ import annotations

from ...i18n import N_
from .base import Source
from .people import best_known


def collect(gen, req, found, lists):
    if not req.series_films or req.only is None:
        return None
    return best_known(gen, req.only)


SOURCE = Source("series", 1.0, collect, N_("#{rank} among the series' best-known films"))
