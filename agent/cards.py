"""What a card shows before its reason, as plain text (no heavy imports: the TUI uses it)."""

from __future__ import annotations

import re


def first_sentence(text: str, limit: int = 160) -> str:
    """The plot's first sentence ("Mr." and initials do not end it), at most ``limit``."""
    text = " ".join(text.split())
    m = re.search(r"(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)(?<!\b[A-Z])[.!?](?=\s+[A-Z\"'])", text)
    line = text[: m.end()] if m else text
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return line


def card_line(info: dict) -> str:
    """``"1995 · 170 min · MovieLens 3.9/5 (102 ratings) · IMDb 8.3"``."""
    parts = []
    if info.get("year"):
        parts.append(str(info["year"]))
    if info.get("runtime_min"):
        parts.append(f"{info['runtime_min']} min")
    if info.get("ml_count"):
        n = info["ml_count"]
        parts.append(f"MovieLens {info['ml_mean']:.1f}/5 ({n} rating{'s' if n != 1 else ''})")
    if info.get("imdb_rating"):
        parts.append(f"IMDb {info['imdb_rating']:.1f}")
    return " · ".join(parts)


BAR_WIDTH = 20


def bar(share: float, width: int = BAR_WIDTH) -> str:
    """``share`` (0..1) as a bar of block characters, eighths included."""
    share = min(max(share, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width, "·")
