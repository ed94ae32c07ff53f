"""Ids and ratings from user files are exact or refused (issue 14 §4): an id above 2**53
is not rounded through float64, one past int64 is not wrapped, a non-integer id or a NaN
rating is a one-line error naming the file and line, and nothing is written or stored."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recbot.agent.importer import ImportFileError
from recbot.agent.importer import read_ratings as import_ratings
from recbot.ranking.errors import InteractionsError
from recbot.ranking.interactions import read_ratings
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.errors import CatalogError
from recbot.tui.cli import main

RECBOT = Path(sys.executable).with_name("recbot")
HEADER = "userId,movieId,rating,timestamp\n"
BIG = 2**53 + 1          # the first integer float64 cannot hold: it rounds to 2**53
INT64_MAX = 2**63 - 1


def run_recbot(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir)}
    return subprocess.run([str(RECBOT), *args], check=False, capture_output=True, text=True,
                          env=env, timeout=300)


def taste_rows(user_ids: list[int], item_ids: list[int], seed: int = 0) -> list[tuple]:
    """Two taste groups over two item blocks; each user rates 8 of their block, 2 others."""
    rng = np.random.default_rng(seed)
    half = len(item_ids) // 2
    rows = []
    for n, u in enumerate(user_ids):
        own, other = (item_ids[:half], item_ids[half:]) if n % 2 else (item_ids[half:],
                                                                       item_ids[:half])
        rows += [(u, m, 5.0, 0) for m in rng.choice(own, size=8, replace=False).tolist()]
        rows += [(u, m, 1.0, 0) for m in rng.choice(other, size=2, replace=False).tolist()]
    return rows


def write_csv(path: Path, rows: list[tuple], *, blank_after: int | None = None) -> Path:
    lines = [",".join(map(str, r)) + "\n" for r in rows]
    if blank_after is not None:
        lines.insert(blank_after, "\n")
    path.write_text(HEADER + "".join(lines))
    return path


def rank(tmp_path: Path, train: Path, users: str, out: Path) -> int:
    users_txt = tmp_path / "users.txt"
    users_txt.write_text(users)
    return main(["rank", "--train", str(train), "--users", str(users_txt), "--k", "5",
                 "--out", str(out)])


def assert_one_line_error(err: str, *parts: str) -> None:
    err = err.strip()
    assert err.startswith("recbot: error: "), err
    assert "\n" not in err and "Traceback" not in err, err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")] == []


# ----- recbot rank: exact ids ---------------------------------------------------------------

@pytest.mark.parametrize("blank_after", [None, 5], ids=["plain", "with-a-blank-line"])
def test_ids_above_2_53_round_trip_exactly_through_rank(tmp_path, blank_after):
    users = [BIG] + list(range(2, 31))
    items = [BIG + 2 * i for i in range(20)]        # odd: none of them fits a float64
    train = write_csv(tmp_path / "ratings.csv", taste_rows(users, items), blank_after=blank_after)
    out = tmp_path / "recs.csv"

    assert rank(tmp_path, train, f"{BIG}\n2\n", out) == 0

    with out.open(newline="") as fh:
        recs = list(csv.DictReader(fh))
    assert {r["userId"] for r in recs} == {str(BIG), "2"}
    assert [r["userId"] for r in recs].count(str(BIG)) == 5
    assert {r["movieId"] for r in recs} <= {str(m) for m in items}
    assert str(2**53) not in {r["userId"] for r in recs} | {r["movieId"] for r in recs}


def test_rank_adds_imdb_and_tmdb_ids_after_the_four_columns(tmp_path):
    """The ids of the active dataset's links.csv (the bundled one here); a film it does not
    list gets empty cells."""
    users = list(range(1, 31))
    items = [1, 2, 3, 5, 6, 7, 10, 11, 16, 17, 19, 21, 22, 23, 24, 25, 26, 29, 31,
             999_999_999]    # the last: in no links.csv
    train = write_csv(tmp_path / "ratings.csv", taste_rows(users, items))
    out = tmp_path / "recs.csv"
    assert rank(tmp_path, train, "1\n2\n3\n", out) == 0
    with out.open(newline="") as fh:
        reader = csv.DictReader(fh)
        recs = list(reader)
    assert reader.fieldnames == ["userId", "movieId", "rank", "score", "imdbId", "tmdbId"]
    from tests.conftest import REPO

    with (REPO / "retrieval/data/ml-latest-small/links.csv").open(newline="") as fh:
        links = {r["movieId"]: r for r in csv.DictReader(fh)}
    assert recs
    for r in recs:
        known = links.get(r["movieId"])
        assert (r["imdbId"], r["tmdbId"]) == ((f"tt{known['imdbId']}", known["tmdbId"])
                                              if known else ("", ""))


def test_the_int64_limits_themselves_are_ids(tmp_path):
    path = write_csv(tmp_path / "ratings.csv", [(-(2**63), INT64_MAX, 4.5, 0),
                                                (INT64_MAX, -(2**63), 3.0, 0)],
                     blank_after=1)
    df = read_ratings(path)
    assert df["userId"].tolist() == [-(2**63), INT64_MAX]
    assert df["movieId"].tolist() == [INT64_MAX, -(2**63)]


@pytest.mark.parametrize("column, value", [
    ("userId", str(2**63)),
    ("movieId", str(-(2**63) - 1)),
    ("userId", str(2**64)),                          # past uint64 too
    ("movieId", "99999999999999999999999999"),
])
def test_an_id_past_int64_is_one_line_and_writes_nothing(tmp_path, column, value):
    rows = taste_rows(list(range(1, 11)), list(range(1, 21)))
    bad = (value, 7, 4.0, 0) if column == "userId" else (3, value, 4.0, 0)
    train = write_csv(tmp_path / "ratings.csv", rows[:4] + [bad] + rows[4:])
    users = tmp_path / "users.txt"
    users.write_text("1\n")
    out = tmp_path / "out" / "recs.csv"

    res = run_recbot(tmp_path / "data", "rank", "--train", str(train), "--users", str(users),
                     "--out", str(out))

    assert res.returncode == 1, res.stdout
    assert_one_line_error(res.stderr, str(train), "line 6", f"{column} {value}",
                          "does not fit a 64-bit integer", str(INT64_MAX))
    assert not out.exists() and (not out.parent.exists() or not any(out.parent.iterdir()))
    assert res.stdout == ""


@pytest.mark.parametrize("column, value", [
    ("movieId", "12.5"), ("movieId", "12.0"), ("userId", "1e3"), ("userId", "1_000"),
    ("movieId", "٣"), ("userId", "x"),
])
def test_a_non_integer_id_is_refused(tmp_path, capsys, column, value):
    rows = [(1, 10, 4.0, 0), (2, 10, 3.0, 0)]
    rows.insert(1, (value, 11, 4.0, 0) if column == "userId" else (1, value, 4.0, 0))
    train = write_csv(tmp_path / "ratings.csv", rows)
    out = tmp_path / "recs.csv"

    assert rank(tmp_path, train, "1\n", out) == 1

    assert_one_line_error(capsys.readouterr().err, str(train), "line 3",
                          f"{column} must be an integer", repr(value))
    assert_nothing_written(out)


def test_an_empty_id_cell_is_refused(tmp_path, capsys):
    train = write_csv(tmp_path / "ratings.csv", [(1, 10, 4.0, 0), (2, 10, 3.0, 0), ("", 11, 4, 0)])
    out = tmp_path / "recs.csv"
    assert rank(tmp_path, train, "1\n", out) == 1
    assert_one_line_error(capsys.readouterr().err, str(train), "line 4", "userId",
                          "empty cell")
    assert_nothing_written(out)


@pytest.mark.parametrize("value", ["nan", "NaN", "", "inf", "-inf", "1e39"])
def test_a_rating_that_is_not_a_finite_float32_is_refused(tmp_path, capsys, value):
    train = write_csv(tmp_path / "ratings.csv", [(1, 10, 4.0, 0), (1, 11, value, 0),
                                                 (2, 10, 3.0, 0)])
    out = tmp_path / "recs.csv"

    assert rank(tmp_path, train, "1\n", out) == 1

    assert_one_line_error(capsys.readouterr().err, str(train), "line 3", "rating",
                          repr(value) if value else "empty cell", "finite")
    assert_nothing_written(out)


def test_a_rating_file_error_is_an_interactions_error(tmp_path):
    path = write_csv(tmp_path / "ratings.csv", [(1, 10, 4.0, 0), (2**63, 10, 3.0, 0)])
    with pytest.raises(InteractionsError, match=r"ratings\.csv: line 3: userId"):
        read_ratings(path)


@pytest.mark.parametrize("text, says", [
    ("1\n9223372036854775808\n", "line 2: userId 9223372036854775808 does not fit"),
    ("userId\n1\n1_000\n", "line 3: '1_000' is not a userId"),
    ("1\n١\n", "line 2: '١' is not a userId"),
])
def test_the_users_file_is_exact_too(tmp_path, capsys, text, says):
    train = write_csv(tmp_path / "ratings.csv", taste_rows(list(range(1, 11)), list(range(1, 21))))
    users = tmp_path / "users.txt"
    users.write_text(text)
    out = tmp_path / "recs.csv"
    assert main(["rank", "--train", str(train), "--users", str(users), "--out", str(out)]) == 1
    assert_one_line_error(capsys.readouterr().err, str(users), says)
    assert_nothing_written(out)


# ----- recbot import ratings (MovieLens format) ----------------------------------------------

def profile(data_dir: Path) -> dict:
    res = run_recbot(data_dir, "profile", "--json")
    assert res.returncode == 0, res.stderr
    return {r["movie_id"]: r["kind"] for r in json.loads(res.stdout)["profile"]}


@pytest.mark.parametrize("line, column, value", [
    ("1,9223372036854775808,2,0", "movieId", "9223372036854775808"),
    ("1,-9223372036854775809,2,0", "movieId", "-9223372036854775809"),
    ("18446744073709551616,6,2,0", "userId", "18446744073709551616"),
])
def test_import_refuses_an_id_past_int64_and_stores_nothing(tmp_path, line, column, value):
    data_dir = tmp_path / "data"
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "1,6,5,0\n")                       # Heat (1995), liked
    assert run_recbot(data_dir, "import", "ratings", str(good)).returncode == 0
    before = profile(data_dir)
    assert before == {6: "like"}
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "1,608,2,0\n" + line + "\n1,1,4,0\n")

    res = run_recbot(data_dir, "import", "ratings", str(bad))

    assert res.returncode == 1, res.stdout
    assert_one_line_error(res.stderr, str(bad), "line 3", f"{column} {value}",
                          "does not fit a 64-bit integer", "nothing was imported")
    assert profile(data_dir) == before


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_DATASET_DIR)


def test_import_reads_user_ids_as_numbers(tmp_path, catalog):
    path = tmp_path / "ml.csv"
    path.write_text(HEADER + "1,6,5,0\n01,608,2,0\n+1,1,4,0\n2,1,4,0\n")
    report = import_ratings(path, catalog, user=1)
    assert report.ratings == {6: 5.0, 608: 2.0, 1: 4.0}
    with pytest.raises(ImportFileError, match="ratings of 2 users"):
        import_ratings(path, catalog)


def test_import_skips_an_id_in_other_digits_without_a_traceback(tmp_path, catalog):
    path = tmp_path / "ml.csv"
    path.write_text(HEADER + "1,6,5,0\n1,²,4,0\n1,٦٠٨,2,0\n")
    report = import_ratings(path, catalog)
    assert report.ratings == {6: 5.0} and report.malformed == [3, 4]


# ----- the catalog's movies.csv / tags.csv / ratings.csv ---------------------------------------

def write_dataset(path: Path, movies: str, ratings: str | None = None,
                  tags: str | None = None) -> Path:
    path.mkdir()
    (path / "movies.csv").write_text("movieId,title,genres\n" + movies)
    if ratings is not None:
        (path / "ratings.csv").write_text(HEADER + ratings)
    if tags is not None:
        (path / "tags.csv").write_text("userId,movieId,tag,timestamp\n" + tags)
    return path


@pytest.mark.parametrize("movie_id, says", [
    ("2.0", "line 3: movieId must be a whole number, got '2.0'"),
    (str(2**63), f"line 3: movieId {2**63} does not fit a 64-bit integer"),
])
def test_movies_csv_ids_are_whole_int64(tmp_path, movie_id, says):
    ds = write_dataset(tmp_path / "ds", f"1,Heat (1995),Action\n{movie_id},Alien (1979),Horror\n")
    with pytest.raises(CatalogError, match=says) as err:
        load_catalog(ds, imdb_csv=None)
    assert "movies.csv" in str(err.value) and "\n" not in str(err.value)


def test_catalog_ids_and_popularity_stay_exact_above_2_53(tmp_path):
    ds = write_dataset(tmp_path / "ds", f"{2**53},Heat (1995),Action\n{BIG},Alien (1979),Horror\n",
                       ratings=f"1,{BIG},4,0\n2,{BIG},5,0\n3,,4,0\n",   # the empty cell: float
                       tags=f"1,{BIG},scary,0\n")
    cat = load_catalog(ds, imdb_csv=None)
    assert cat[BIG].title == "Alien" and cat[BIG].tags == ("scary",)
    assert cat.popularity[BIG] == 2 and cat.popularity[2**53] == 0


def test_a_bad_tags_csv_id_is_a_catalog_error(tmp_path):
    ds = write_dataset(tmp_path / "ds", "1,Heat (1995),Action\n", tags="1,1,tense,0\n1,x,odd,0\n")
    with pytest.raises(CatalogError, match=r"tags\.csv: line 3: movieId must be a whole number"):
        load_catalog(ds, imdb_csv=None)
