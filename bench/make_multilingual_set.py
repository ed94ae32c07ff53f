"""Draw and check the frozen query set of the multilingual retrieval benchmark.

The set holds one ask per language (English, Spanish, Simplified Chinese) for each of 60
films drawn from the bundled catalog: films with at least 5 distinct MovieLens tags,
sorted by movie_id, sampled with ``random.Random(33).sample(pool, 60)`` and re-sorted
by movie_id. Each ask describes the film's content without naming it.

    python bench/make_multilingual_set.py --list
        print every drawn film (id, title, year, genres, tags, director, stars) for the
        person writing the asks;
    python bench/make_multilingual_set.py --check bench/data/multilingual_asks.jsonl
        verify the set file: exactly the drawn ids in order, non-empty ``en``/``es``/``zh``,
        and no ask containing a word of 4+ letters from the film's title
        (case-insensitive); print the problems and exit 1, else print "ok".

The set file is JSON Lines, one object per film in the drawn order:
``{"movie_id": int, "title": str, "en": str, "es": str, "zh": str}``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, Movie, load_catalog

SEED = 33
SAMPLE_SIZE = 60
MIN_TAGS = 5
LANGUAGES = ("en", "es", "zh")
MIN_TITLE_WORD = 4

_WORD = re.compile(r"[^\W\d_]+")


def draw() -> list[Movie]:
    """The drawn films, sorted by movie_id."""
    catalog = load_catalog(BUNDLED_DATASET_DIR)
    pool = sorted(
        (m for m in catalog if len(set(m.tags)) >= MIN_TAGS), key=lambda m: m.movie_id
    )
    sample = random.Random(SEED).sample(pool, SAMPLE_SIZE)
    return sorted(sample, key=lambda m: m.movie_id)


def pool_size() -> int:
    catalog = load_catalog(BUNDLED_DATASET_DIR)
    return sum(1 for m in catalog if len(set(m.tags)) >= MIN_TAGS)


def title_words(title: str) -> set[str]:
    """Lower-cased words of ``MIN_TITLE_WORD`` or more letters in a title."""
    return {w.lower() for w in _WORD.findall(title) if len(w) >= MIN_TITLE_WORD}


def leaked_words(text: str, title: str) -> list[str]:
    """Title words found as whole words in ``text`` (case-insensitive).

    Chinese text has no word boundaries between Latin and Han characters, so a plain
    substring test is used when a title word sits next to non-Latin letters.
    """
    found = []
    lowered = text.lower()
    words = {w.lower() for w in _WORD.findall(text)}
    for word in sorted(title_words(title)):
        if word in words or re.search(
            rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered
        ):
            found.append(word)
    return found


def list_films(films: list[Movie]) -> None:
    print(f"pool: {pool_size()} films with >= {MIN_TAGS} distinct tags; drawn {len(films)}")
    for m in films:
        print(f"{m.movie_id}\t{m.title} ({m.year})")
        print(f"    genres:   {', '.join(m.genres)}")
        print(f"    tags:     {', '.join(m.tags)}")
        print(f"    director: {m.director or '-'}")
        print(f"    stars:    {', '.join(m.stars) or '-'}")


def check(path: Path, films: list[Movie]) -> list[str]:
    """Problems found in the set file at ``path`` (empty when it is fine)."""
    problems: list[str] = []
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as exc:
        return [f"{path}: {exc}"]
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        rows.append((number, row))
    want = [m.movie_id for m in films]
    got = [row.get("movie_id") for _, row in rows]
    if got != want:
        problems.append(f"ids differ from the draw: want {want}, got {got}")
    by_id = {m.movie_id: m for m in films}
    for number, row in rows:
        movie = by_id.get(row.get("movie_id"))
        if movie is None:
            problems.append(f"line {number}: movie_id {row.get('movie_id')!r} not drawn")
            continue
        for lang in LANGUAGES:
            text = row.get(lang)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"line {number} ({movie.movie_id}): {lang} missing or empty")
                continue
            leaks = leaked_words(text, movie.title)
            if leaks:
                problems.append(
                    f"line {number} ({movie.movie_id} {movie.title}): {lang} contains "
                    f"title word(s) {', '.join(leaks)}"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true", help="print the drawn films")
    group.add_argument("--check", type=Path, metavar="PATH", help="verify a set file")
    args = parser.parse_args(argv)
    films = draw()
    if args.list:
        list_films(films)
        return 0
    problems = check(args.check, films)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
