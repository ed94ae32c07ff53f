"""Chinese titles of Chinese-language films, through their pinyin.

MovieLens keeps the romanised original title of many Chinese films beside the English one
("Crouching Tiger, Hidden Dragon (Wo hu cang long)"). The characters of an ask read as
pinyin without tones (``pypinyin``, MIT) and compacted ("wohucanglong") find that title.
No offline source maps the Chinese titles of Western films (阿甘正传 is Forrest Gump), so
a title that is not found is said so (``TitleCue``), asking for the original title.

A match counts with a title cue around it (《》, 像…那样, 类似…的电影, 喜欢…), or, for three
characters or more, when it is most of the ask ("十面埋伏好看吗"): "英雄", "活着", "功夫"
are everyday words, and "堕落天使" inside a description is a phrase, not Fallen Angels. pypinyin loads its dictionaries when imported (~0.2 s): only a Chinese ask
imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# a title between cues: 《X》, 像X那样/一样/这样, 类似X的, 跟X一样;喜欢/看过X
_CUED = re.compile(
    "《([^》]{1,20})》"
    "|(?:(?<![录好图影偶想画肖雕头])像|类似于?|跟|如同)([\u3400-\u9fff]{2,12}?)(?:那样|那种|一样|这样|似的|的电影|的片)"
    "|(?:喜欢|爱看|看过|推荐过)([\u3400-\u9fff]{2,12}?)(?=[，。,.!?！？\\s]|$)")
_MAX_CHARS = 12
MIN_KEY = 5        # letters of a compact pinyin key: shorter ones match too much


@dataclass(frozen=True, slots=True)
class Found:
    text: str           # the characters as typed
    movie_id: int


@dataclass(frozen=True, slots=True)
class TitleCue:
    """A title the ask names (a cue around it) that no romanised title matches."""

    text: str


def _compact(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _pinyin(chars: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(chars, style=Style.NORMAL, errors="ignore"))


@lru_cache(maxsize=4)
def _keys(catalog) -> dict[str, int]:
    """Compact romanised title -> movie id, for the catalog's alternate titles (the best
    known film on a clash)."""
    out: dict[str, tuple[int, int]] = {}
    for m in catalog:
        for alt in m.alt_titles:
            key = _compact(alt)
            if len(key) >= MIN_KEY:
                known = catalog.popularity.get(m.movie_id, 0)
                if key not in out or known > out[key][1]:
                    out[key] = (m.movie_id, known)
    return {k: v[0] for k, v in out.items()}


def find(text: str, catalog) -> tuple[list[Found], list[TitleCue]]:
    """The catalog films a Chinese ask names by their Chinese title, and the cued titles
    it names that none matches."""
    keys = _keys(catalog)
    cued = [next(g for g in m.groups() if g) for m in _CUED.finditer(text)]
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    han = sum(len(r.group()) for r in _HAN_RUN.finditer(text))
    for run in _HAN_RUN.finditer(text):
        chars = run.group()
        for size in range(min(len(chars), _MAX_CHARS), 1, -1):   # longest first
            for start in range(0, len(chars) - size + 1):
                a, b = run.start() + start, run.start() + start + size
                if any(a < y and x < b for x, y in taken):
                    continue
                piece = chars[start:start + size]
                # a title with no cue around it counts only when it is most of the ask
                # ("十面埋伏好看吗"), never as a phrase inside a description ("堕落天使")
                if piece not in cued and (size == 2 or 2 * size < han):
                    continue
                movie = keys.get(_pinyin(piece))
                if movie is not None and movie not in [f.movie_id for f in found]:
                    found.append(Found(piece, movie))
                    taken.append((a, b))
    missing = [TitleCue(c) for c in cued
               if _HAN_RUN.fullmatch(c) and not any(f.text in c or c in f.text for f in found)
               and not _is_description(c)]
    return found, missing


_NOT_A_TITLE = re.compile("电影|片|故事|感觉|风格|类型|氛围|剧情|题材|节奏")


def _is_description(text: str) -> bool:
    """"像恐怖片那样", "我喜欢科幻", "我看过很多": a kind of film or a filler, not a title."""
    from .lexicon import lexicon

    lex = lexicon()
    if _NOT_A_TITLE.search(text) or any(g in text for g in lex.table("languages.genres_zh")):
        return True
    for word in sorted(lex.words("languages.filler_zh"), key=len, reverse=True):
        text = text.replace(word, "")
    return len(text) < 2
