"""``people_named``: films of people named in passing ("I'm a big Tom Hanks fan"), a nudge
rather than a filter."""

from __future__ import annotations

from .base import Source


def collect(gen, req, found, lists):
    if not req.boost:
        return None
    best = {i: r for r, i in enumerate(gen.popular())}
    return sorted(set(req.boost), key=lambda i: (best.get(i, 10**9), i))


SOURCE = Source("people_named", 0.4, collect)
