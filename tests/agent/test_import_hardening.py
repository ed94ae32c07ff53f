"""`recbot import ratings` on big exports and odd file names (issue 32, items 6 and 11).

Through the real console script on a fresh data dir (the bundled catalog), with Letterboxd
exports generated here: a few thousand lines that name each film many times over, as a
years-long diary does. Speed itself is measured in bench/bench_import.py (200,000 lines).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from recbot.agent.importer import read_ratings
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

RECBOT = Path(sys.executable).with_name("recbot")
UNKNOWN = ["Zyxx Unmade Picture", "Qwvp Lost Reel", "Blorptown Nights"]   # in no catalog


def recbot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs with the isolated data dir of conftest; stdout kept as bytes."""
    return subprocess.run([str(RECBOT), *args], check=False, capture_output=True,
                          env={**os.environ, "LC_ALL": "C.UTF-8", **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_DATASET_DIR)


def diary(path: Path, catalog, lines: int = 3000, *, seed: int = 3) -> dict[str, int]:
    """A Letterboxd ratings.csv of ``lines`` lines over 200 films, a tenth of them naming
    one of the UNKNOWN titles; returns how many lines named each unknown "Title (year)"."""
    rng = random.Random(seed)
    films = [m for m in catalog if m.year is not None and len(catalog.titles.exact(m.title)) == 1]
    films = rng.sample(films, 200)
    unknown: dict[str, int] = {}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
        for i in range(lines):
            if i % 10 == 0:
                name, year = UNKNOWN[i % 3], 2031
                unknown[f"{name} ({year})"] = unknown.get(f"{name} ({year})", 0) + 1
            else:
                m = rng.choice(films)
                name, year = m.title, m.year
            w.writerow(["2024-05-01", name, year, f"https://boxd.it/{i:x}", rng.choice("12345")])
    return unknown


# ----- item 11: a big export -----------------------------------------------------------

def test_each_unmatched_title_is_listed_once_with_its_line_count_in_json(tmp_path, catalog):
    unknown = diary(tmp_path / "ratings.csv", catalog)
    res = recbot("import", "ratings", str(tmp_path / "ratings.csv"), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert sorted(report["unmatched"]) == sorted(unknown)      # once each, not 300 times
    assert report["unmatched_lines"] == unknown
    assert report["rows"] == 3000 and report["imported"] == 200


def test_each_unmatched_title_is_listed_once_in_the_summary(tmp_path, catalog):
    unknown = diary(tmp_path / "ratings.csv", catalog)
    res = recbot("import", "ratings", str(tmp_path / "ratings.csv"), env={"COLUMNS": "2000"})
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    for title, n in unknown.items():
        assert out.count(title) == 1, out
        assert f"{title} ×{n}" in out


def test_a_title_without_a_year_that_several_films_share_is_listed_once(tmp_path, catalog):
    path = tmp_path / "ratings.csv"
    path.write_text("Date,Name,Year,Letterboxd URI,Rating\n"
                    + "".join(f"2024-01-01,Get Carter,,https://boxd.it/{i},4\n" for i in range(50))
                    + "2024-01-02,Heat,1995,https://boxd.it/b,5\n")
    report = read_ratings(path, catalog)
    assert report.ambiguous == ["Get Carter (1971 or 2000)"]
    assert "Get Carter (1971 or 2000) ×50" in report.summary()


def test_each_distinct_title_is_matched_once(tmp_path, catalog):
    """What made a 200,000-line import take minutes: the fuzzy match of a title the catalog
    lacks (milliseconds each) ran again on every line that named it."""
    diary(tmp_path / "ratings.csv", catalog)
    calls: list[str] = []
    titles = catalog.titles

    class Counting:
        def __getattr__(self, name):
            return getattr(titles, name)

        def resolve(self, text, *args, **kwargs):
            calls.append(text)
            return titles.resolve(text, *args, **kwargs)

    catalog.__dict__["titles"] = Counting()
    try:
        report = read_ratings(tmp_path / "ratings.csv", catalog)
    finally:
        catalog.__dict__["titles"] = titles
    assert len(report.ratings) == 200
    assert len(calls) == len(set(calls)) == 3, calls[:5]     # one per unknown title


def test_reading_reports_progress_in_lines(tmp_path, catalog):
    diary(tmp_path / "ratings.csv", catalog)
    seen: list[tuple[int, int]] = []
    read_ratings(tmp_path / "ratings.csv", catalog, progress=lambda done, total:
                 seen.append((done, total)))
    assert len(seen) >= 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {t for _, t in seen} == {3002} and seen[-1] == (3002, 3002)


def test_progress_is_shown_on_stderr(tmp_path, catalog):
    diary(tmp_path / "ratings.csv", catalog)
    res = recbot("import", "ratings", str(tmp_path / "ratings.csv"),
                 env={"TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "COLUMNS": "100"})
    assert res.returncode == 0, res.stderr
    assert b"reading the ratings" in res.stderr
    assert b"Imported 200 of 3000" in res.stdout     # stdout keeps only the summary
    assert b"reading the ratings" not in res.stdout


# ----- item 6: a file name that is not UTF-8 --------------------------------------------

def test_json_of_a_file_whose_name_is_not_utf8_is_valid_utf8(tmp_path):
    raw = os.fsencode(tmp_path) + b"/r\xe9atings.csv"      # Latin-1, as an old disk has it
    with open(raw, "wb") as fh:
        fh.write(b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Heat,1995,x,5\n")
    res = recbot("import", "ratings", os.fsdecode(raw), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.decode("utf-8"))       # strict: valid UTF-8
    assert report["path"].endswith("/r\\xe9atings.csv")    # the byte, written out
    assert report["imported"] == 1
