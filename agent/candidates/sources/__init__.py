"""The candidate sources, one module each, in the order the fusion reads them.

Adding a source: a module here with ``SOURCE = Source(name, weight, collect, signal,
evidence, facts)`` (see ``base.Source``), and its name in ``_MODULES`` below. Its weight
joins ``WEIGHTS``, its signal the "why #n" answers, its evidence every candidate's facts;
nothing else needs to know it. The order matters: a source may read the lists of those
before it (``chat_similar`` reads ``similar`` and ``profile``), and fusion sums in it.
"""

from __future__ import annotations

from . import (
    carried,
    chat,
    chat_popular,
    chat_similar,
    chat_talk,
    own_videos,
    keyword,
    people,
    people_named,
    popular,
    profile,
    search,
    series,
    similar,
    transcript,
)
from .base import Clues, Source

_MODULES = (similar, profile, carried, search, transcript, own_videos, keyword, popular, chat, chat_similar,
            chat_popular, chat_talk, people, people_named, series)
SOURCES: tuple[Source, ...] = tuple(m.SOURCE for m in _MODULES)

if len({s.name for s in SOURCES}) != len(SOURCES):   # two modules claim one name: a slip
    raise RuntimeError("candidate sources share a name: "
                       + ", ".join(s.name for s in SOURCES))


def weights() -> dict[str, float]:
    """Each source's weight in the fusion (before an ask's own shifts)."""
    return {s.name: s.weight for s in SOURCES}


def signals() -> dict[str, str]:
    """Each source's rank in words, for "why #n" ({rank}, {names})."""
    return {s.name: s.signal for s in SOURCES if s.signal}


__all__ = ["SOURCES", "Clues", "Source", "signals", "weights"]
