"""``popular``: well-rated, often-rated films (MovieLens), so that strict constraints still
leave something; a tie-break in most asks."""

from __future__ import annotations

from .base import Source


def collect(gen, req, found, lists):
    return gen.popular()


SOURCE = Source("popular", 0.05, collect, "#{rank} among well-rated, well-known films",
                generic=True)
