"""``carried``: films the user named or liked earlier in the conversation (the preference
state, faded by age) still pull their MF neighbours in, weakly: the fusion weight is
``WEIGHT`` times the weight of the strongest of them. Within the ask: when the new ask says
what it wants, they only move up films it found (``Source.within_ask``)."""

from __future__ import annotations

from .base import Source
from ...i18n import N_

WEIGHT = 0.5
TOP = 5      # the strongest this many carried films


def collect(gen, req, found, lists):
    films = sorted((w, m) for m, w in req.carried.items() if w > 0 and m not in req.seeds)
    films = [m for _, m in reversed(films)][:TOP]
    return gen._mf(films) if films else None


SOURCE = Source("carried", WEIGHT, collect, N_("#{rank} among films like ones you named earlier"),
                within_ask=True)
