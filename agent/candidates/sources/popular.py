"""``popular``: well-rated, often-rated films (MovieLens), so that strict constraints still
leave something; a tie-break in most asks."""

from __future__ import annotations

from .base import Source
from ...i18n import N_


def collect(gen, req, found, lists):
    return gen.popular()


SOURCE = Source("popular", 0.05, collect, N_("#{rank} among well-rated, well-known films"),
                generic=True)
