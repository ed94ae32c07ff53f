"""`recbot import ratings` through the real console script: Letterboxd and IMDb exports
generated here (one taste: horror rated top marks), unmatched films and unreadable lines
reported, the taste visible in a generic ask; bad files change nothing."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recbot.agent.importer import ImportFileError, match_title, read_ratings
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

RECBOT = Path(sys.executable).with_name("recbot")


def recbot(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir)}
    return subprocess.run([str(RECBOT), *args], check=False, capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_DATASET_DIR)


@pytest.fixture
def data_dir(indexed_data_dir, tmp_path):
    """A private copy of the indexed data dir: imports change the profile."""
    return Path(shutil.copytree(indexed_data_dir, tmp_path / "data"))


def horror(catalog, n: int = 46):
    films = [m for m in catalog if "Horror" in m.genres and catalog.popularity[m.movie_id] >= 20]
    return sorted(films, key=lambda m: (-catalog.popularity[m.movie_id], m.movie_id))[:n]


def imdb_ids(n_wanted: set[int]) -> dict[int, str]:
    with (BUNDLED_DATASET_DIR / "links.csv").open(newline="") as fh:
        return {int(r["movieId"]): f"tt{r['imdbId']}" for r in csv.DictReader(fh)
                if int(r["movieId"]) in n_wanted}


def write_letterboxd(path: Path, films) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
        for m in films:
            w.writerow(["2024-05-01", m.title, m.year, "https://boxd.it/abc", "5"])
        w.writerow(["2024-05-02", "A Film Nobody Ever Made", "2031", "https://boxd.it/x", "4"])
        w.writerow(["2024-05-02", "Zyxxqv Blorptown", "1931", "https://boxd.it/y", "3.5"])
        w.writerow(["2024-05-03", "", "1999", "https://boxd.it/z", "5"])            # no title
        w.writerow(["2024-05-03", "The Shining", "1980", "https://boxd.it/w", "9"])  # out of range
    return path


def write_imdb(path: Path, films) -> Path:
    ids = imdb_ids({m.movie_id for m in films})
    header = ["Const", "Your Rating", "Date Rated", "Title", "URL", "Title Type", "IMDb Rating",
              "Runtime (mins)", "Year", "Genres", "Num Votes", "Release Date", "Directors"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i, m in enumerate(films):
            const = ids[m.movie_id] if i % 2 else "tt0000000"   # half by id, half by title
            w.writerow([const, "10", "2024-01-01", m.title, "", "movie", "7.0", "100", m.year,
                        "Horror", "1000", "", ""])
        w.writerow(["tt9999999", "8", "2024-01-01", "Qwerty Film Unknown", "", "movie", "", "",
                    "2030", "", "", "", ""])
        w.writerow(["tt9999998", "7", "2024-01-01", "Another Unknown Picture", "", "movie", "",
                    "", "1912", "", "", "", ""])
        w.writerow(["tt0081505", "ten", "2024-01-01", "The Shining", "", "movie", "", "", "1980",
                    "", "", "", ""])
        w.writerow(["tt0081505", "", "2024-01-01", "The Shining", "", "movie", "", "", "1980",
                    "", "", "", ""])
    return path


def profile(data_dir: Path) -> dict:
    res = recbot(data_dir, "profile", "--json")
    assert res.returncode == 0, res.stderr
    return {r["movie_id"]: r["kind"] for r in json.loads(res.stdout)["profile"]}


def generic_top10(data_dir: Path, catalog) -> list:
    res = recbot(data_dir, "ask", "what should I watch tonight?", "--json", "--llm", "none",
                 "--k", "10")
    assert res.returncode == 0, res.stderr
    return [catalog[r["movie_id"]] for r in json.loads(res.stdout)["recommendations"]]


@pytest.mark.parametrize("fmt", ["letterboxd", "imdb"])
def test_import_round_trip_makes_a_generic_ask_personal(data_dir, catalog, tmp_path, fmt):
    films = horror(catalog)
    writer = write_letterboxd if fmt == "letterboxd" else write_imdb
    path = writer(tmp_path / f"{fmt}.csv", films)
    before = generic_top10(data_dir, catalog)
    res = recbot(data_dir, "import", "ratings", str(path), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["rows"] == 50 and report["imported"] == len(films) == 46
    assert report["likes"] == 46 and len(report["malformed_lines"]) == 2
    assert len(report["unmatched"]) == 2 and any("2031" in u or "2030" in u
                                                 for u in report["unmatched"])
    kept = profile(data_dir)
    assert {m.movie_id for m in films} == {m for m, k in kept.items() if k == "like"}
    after = generic_top10(data_dir, catalog)
    n_horror = sum("Horror" in m.genres for m in after)
    assert n_horror >= 6, (f"{n_horror} horror films in the top 10 after importing 46 horror "
                           f"favourites: {[m.title for m in after]}")
    assert n_horror > sum("Horror" in m.genres for m in before)
    assert not {m.movie_id for m in after} & {m.movie_id for m in films}, "imported = seen"
    res = recbot(data_dir, "profile")
    assert "Horror" in res.stdout and "█" in res.stdout          # the taste chart


@pytest.mark.parametrize("content, says", [
    ("title,stars\nHeat,5\n", "not a Letterboxd, IMDb or MovieLens ratings CSV"),
    ("", "empty"),
    ("Date,Name,Year,Letterboxd URI,Rating\n", "no ratings"),
    ("Date,Name,Year,Letterboxd URI,Rating\n2024,,,x,\n2024,Heat,1995,x,eleven\n",
     "none of its 2 lines could be read"),
    (b"\xff\xfe\x00H\x00e\x00a\x00t", "not UTF-8"),
    ("userId,movieId,rating\n1,6,5\n2,608,4\n", "ratings of 2 users"),
])
def test_a_bad_file_is_one_line_and_changes_nothing(data_dir, tmp_path, content, says):
    assert recbot(data_dir, "profile", "--like", "Fargo").returncode == 0
    before = profile(data_dir)
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    res = recbot(data_dir, "import", "ratings", str(path))
    assert res.returncode == 1 and says in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert profile(data_dir) == before


def test_movielens_file_with_user_choice(tmp_path, catalog):
    path = tmp_path / "ml.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,6,5,0\n1,608,2,0\n7,1,4,0\n1,x,3,0\n")
    with pytest.raises(ImportFileError, match="ratings of 2 users"):
        read_ratings(path, catalog)
    report = read_ratings(path, catalog, user=1)
    assert report.ratings == {6: 5.0, 608: 2.0} and report.malformed == [5]
    assert report.kinds() == {6: "like", 608: "dislike"}


def test_title_matching_uses_the_year(catalog):
    assert match_title(catalog, "Oldboy", 2003) != match_title(catalog, "Oldboy", 2013)
    assert catalog[match_title(catalog, "The Matrix", 1999)].year == 1999
    assert match_title(catalog, "Heat", 1995) == 6
    assert match_title(catalog, "Heat", 1972) is None          # no Heat of 1971-73 here


def test_a_title_without_a_year_that_several_films_share_is_reported_as_such(tmp_path, catalog):
    path = tmp_path / "ratings.csv"
    path.write_text("Date,Name,Year,Letterboxd URI,Rating\n"
                    "2024-01-01,Get Carter,,https://boxd.it/a,4\n"
                    "2024-01-02,Heat,1995,https://boxd.it/b,5\n"
                    "2024-01-03,Zxqwv Blorp,2001,https://boxd.it/c,3\n")
    report = read_ratings(path, catalog)
    assert report.ratings == {6: 5.0}
    assert report.ambiguous == ["Get Carter (1971 or 2000)"]
    assert report.unmatched == ["Zxqwv Blorp (2001)"]
    assert "Get Carter (1971 or 2000)" in report.summary() and "add the year" in report.summary()
