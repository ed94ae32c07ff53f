"""Cutting a timed transcript into overlapping windows for embedding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

WINDOW_SECONDS = 30.0
OVERLAP_SECONDS = 10.0


class Timed(Protocol):
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    text: str


def make_windows(segments: Sequence[Timed], *, window: float = WINDOW_SECONDS,
                 overlap: float = OVERLAP_SECONDS) -> list[Window]:
    """Group consecutive segments into windows spanning at most ``window`` seconds.

    Each window starts at the first segment that begins at least ``window - overlap``
    seconds after the previous window's start, so a sentence near a boundary is whole
    in at least one window. A segment longer than ``window`` is a window of its own.
    """
    if window <= 0 or not 0 <= overlap < window:
        raise ValueError("need window > 0 and 0 <= overlap < window")
    segs = [s for s in segments if s.text.strip()]
    out: list[Window] = []
    i = 0
    while i < len(segs):
        start = segs[i].start
        j = i
        while j + 1 < len(segs) and segs[j + 1].end - start <= window:
            j += 1
        out.append(Window(start, segs[j].end, " ".join(s.text.strip() for s in segs[i:j + 1])))
        if j + 1 >= len(segs):
            break
        step = start + (window - overlap)
        nxt = i + 1
        while nxt <= j and segs[nxt].start < step:
            nxt += 1
        i = nxt
    return out
