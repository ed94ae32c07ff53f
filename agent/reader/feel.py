"""How an ask wants a video to look or sound ("something fast-paced and loud", "a calm,
dark one"): the wanted directions of the sound and picture descriptors, read from the rows
of ``rules/feel.toml`` (rules as data). The user's own videos are ranked by them
(``candidates.sources.own_videos``); the catalog's films have no such descriptors."""

from __future__ import annotations

import functools
import re
import tomllib

from .lexicon import RULES_DIR

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


@functools.cache
def _rules() -> tuple[list[tuple[str, re.Pattern, dict[str, float]]], dict[str, list[str]],
                      list[re.Pattern]]:
    data = tomllib.loads((RULES_DIR / "feel.toml").read_text(encoding="utf-8"))
    rows = []
    for row in data["feel"]:
        for word in row["words"]:
            if _HAN.search(word):
                pat = re.compile(re.escape(word))
            else:
                pat = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.I)
            rows.append((row["name"], pat, {k: float(v) for k, v in row["want"].items()}))
    # longer words first: "fast-paced" before "fast", "不要太" before "不"
    rows.sort(key=lambda r: -len(r[1].pattern))
    shadows = [re.compile(re.escape(w) if _HAN.search(w) else rf"(?<![\w-]){re.escape(w)}(?![\w-])",
                          re.I) for words in data["tables"]["not_feel"].values() for w in words]
    return rows, {k: sorted(v, key=len, reverse=True)
                  for k, v in data["tables"]["negation"].items()}, shadows


def feel_of(text: str) -> dict[str, float]:
    """{scaled descriptor: +1 more of it / -1 less} that ``text`` asks for; {} when it says
    nothing of how a video looks or sounds. A word after a negation asks for the opposite;
    where two words disagree on a descriptor, their wants add up."""
    rows, negations, shadows = _rules()
    lowered = text.lower()
    taken = [False] * len(lowered)
    for pat in shadows:           # "暗杀", "a silent film": no feel word inside them
        for m in pat.finditer(lowered):
            taken[m.start():m.end()] = [True] * (m.end() - m.start())
    want: dict[str, float] = {}
    for _, pat, wants in rows:
        for m in pat.finditer(lowered):
            if any(taken[m.start():m.end()]):
                continue
            taken[m.start():m.end()] = [True] * (m.end() - m.start())
            sign = -1.0 if _negated(lowered[:m.start()], negations) else 1.0
            for k, v in wants.items():
                want[k] = want.get(k, 0.0) + sign * v
    return {k: max(-1.0, min(1.0, v)) for k, v in want.items() if v}


def _negated(before: str, negations: dict[str, list[str]]) -> bool:
    """Whether the text just before a feel word negates it ("not too", "nada", "不要")."""
    tail = before.rstrip()[-16:]
    for lang, words in negations.items():
        for w in words:
            if lang == "zh":
                if before.endswith(w):
                    return True
            elif re.search(rf"(?<!\w){re.escape(w)}$", tail):
                return True
    return False
