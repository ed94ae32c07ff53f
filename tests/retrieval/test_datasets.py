"""Datasets: validation, opening folders and zips, and fetching from a loopback HTTP server."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from recbot.retrieval.datasets import (
    BUNDLED,
    KNOWN_DATASETS,
    bundled_dataset_dir,
    fetch_dataset,
    list_datasets,
    open_dataset,
    validate_dataset_dir,
)
from recbot.retrieval.errors import DatasetError
from tests.loopback import MOVIES, RATINGS, FakeGroupLens, make_zip, serve_grouplens


def write_dataset(path: Path, movies: str = MOVIES, ratings: str = RATINGS) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "movies.csv").write_text(movies)
    (path / "ratings.csv").write_text(ratings)
    return path


def assert_one_line(err: pytest.ExceptionInfo[DatasetError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    """urllib honours *_proxy variables; loopback requests must not leave the machine."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def grouplens():
    with serve_grouplens() as state:
        yield state


@pytest.fixture
def datasets_dir(tmp_path) -> Path:
    return tmp_path / "datasets"


def fetch(grouplens: FakeGroupLens, datasets_dir: Path, **kwargs) -> Path:
    kwargs.setdefault("backoff", 0)
    kwargs.setdefault("timeout", 5)
    return fetch_dataset(BUNDLED, datasets_dir, base_url=grouplens.base_url, **kwargs)


def part_file(datasets_dir: Path) -> Path:
    return datasets_dir / ".downloads" / f"{BUNDLED}.zip.part"


# -- fetch -----------------------------------------------------------------------------------


def test_fetch_installs_a_verified_dataset(grouplens, datasets_dir):
    body = make_zip()
    grouplens.publish(BUNDLED, body)
    calls: list[tuple[int, int | None]] = []

    path = fetch(grouplens, datasets_dir, progress=lambda done, total: calls.append((done, total)))

    assert path == datasets_dir / BUNDLED
    assert validate_dataset_dir(path) == path
    assert (path / "ratings.csv").read_text() == RATINGS
    assert calls[0] == (0, len(body)) and calls[-1] == (len(body), len(body))
    assert not (datasets_dir / ".downloads").exists()
    assert [p.name for p in datasets_dir.iterdir()] == [BUNDLED]  # no staging left
    assert open_dataset(BUNDLED, datasets_dir) == path  # the fetched copy shadows the bundled one
    fetched = [info for info in list_datasets(datasets_dir) if info.source == "fetched"]
    url = f"{grouplens.base_url}/{BUNDLED}.zip"
    assert [(info.name, info.origin) for info in fetched] == [(BUNDLED, url)]


def test_fetch_resumes_after_the_connection_drops(grouplens, datasets_dir):
    body = make_zip()
    grouplens.publish(BUNDLED, body)
    grouplens.truncate_next = 1

    path = fetch(grouplens, datasets_dir, retries=3)

    first, second = grouplens.zip_requests()
    assert "Range" not in first
    assert second["Range"] == f"bytes={len(body) // 2}-"
    assert (path / "movies.csv").read_text() == MOVIES
    assert not part_file(datasets_dir).exists()


def test_fetch_resumes_across_calls(grouplens, datasets_dir):
    body = make_zip()
    grouplens.publish(BUNDLED, body)
    grouplens.truncate_next = 1

    with pytest.raises(DatasetError) as err:
        fetch(grouplens, datasets_dir, retries=0)
    message = assert_one_line(err)
    assert "run the same command again to resume" in message
    assert part_file(datasets_dir).stat().st_size == len(body) // 2
    assert not (datasets_dir / BUNDLED).exists()

    path = fetch(grouplens, datasets_dir, retries=0)

    assert grouplens.zip_requests()[-1]["Range"] == f"bytes={len(body) // 2}-"
    assert validate_dataset_dir(path) == path
    assert not part_file(datasets_dir).exists()


def test_fetch_restarts_when_the_server_ignores_range(grouplens, datasets_dir):
    grouplens.publish(BUNDLED, make_zip())
    grouplens.ignore_range = True
    part = part_file(datasets_dir)
    part.parent.mkdir(parents=True)
    stale = b"stale bytes from some other file"
    part.write_bytes(stale)

    path = fetch(grouplens, datasets_dir)

    assert grouplens.zip_requests()[0]["Range"] == f"bytes={len(stale)}-"
    assert (path / "ratings.csv").read_text() == RATINGS


def test_fetch_finishes_a_complete_part_without_downloading_again(grouplens, datasets_dir):
    body = make_zip()
    grouplens.publish(BUNDLED, body)
    part = part_file(datasets_dir)
    part.parent.mkdir(parents=True)
    part.write_bytes(body)  # e.g. the previous run died while extracting

    path = fetch(grouplens, datasets_dir)

    assert grouplens.zip_requests()[0]["Range"] == f"bytes={len(body)}-"  # answered 416
    assert validate_dataset_dir(path) == path


def test_checksum_mismatch_is_refused_and_discarded(grouplens, datasets_dir):
    grouplens.publish(BUNDLED, make_zip(), md5="0" * 32)

    with pytest.raises(DatasetError) as err:
        fetch(grouplens, datasets_dir)

    message = assert_one_line(err)
    assert "checksum mismatch" in message and "0" * 32 in message
    assert "the download was discarded" in message
    assert not (datasets_dir / BUNDLED).exists()
    assert not part_file(datasets_dir).exists()


def test_a_bad_download_leaves_the_installed_dataset_alone(grouplens, datasets_dir):
    grouplens.publish(BUNDLED, make_zip())
    installed = fetch(grouplens, datasets_dir)
    grouplens.publish(BUNDLED, make_zip(files={"movies.csv": MOVIES, "ratings.csv": "x\n"}))

    with pytest.raises(DatasetError, match="ratings.csv"):
        fetch(grouplens, datasets_dir)

    assert (installed / "ratings.csv").read_text() == RATINGS
    assert sorted(p.name for p in datasets_dir.iterdir() if p.name != ".downloads") == [BUNDLED]


def test_missing_md5_is_refused_unless_a_checksum_is_given(grouplens, datasets_dir):
    body = make_zip()
    grouplens.publish(BUNDLED, body, md5=None)

    with pytest.raises(DatasetError) as err:
        fetch(grouplens, datasets_dir)
    assert "--checksum HEX" in assert_one_line(err)
    assert grouplens.zip_requests() == []  # refused before downloading anything

    path = fetch(grouplens, datasets_dir, checksum=hashlib.sha256(body).hexdigest().upper())
    assert validate_dataset_dir(path) == path


def test_a_missing_zip_is_a_404_error(grouplens, datasets_dir):
    grouplens.files[f"/movielens/{BUNDLED}.zip.md5"] = b"0" * 32

    with pytest.raises(DatasetError) as err:
        fetch(grouplens, datasets_dir)

    message = assert_one_line(err)
    assert f"{grouplens.base_url}/{BUNDLED}.zip" in message and "404" in message
    assert not (datasets_dir / BUNDLED).exists()


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("ml-100k", {}, "recbot can fetch"),
        (BUNDLED, {"base_url": "file:///tmp"}, "only http"),
        (BUNDLED, {"checksum": "abc"}, "32 hex digits"),
    ],
)
def test_fetch_rejects_bad_arguments_before_any_request(tmp_path, name, kwargs, expected):
    with pytest.raises(DatasetError, match=expected):
        fetch_dataset(name, tmp_path, **{"base_url": "http://127.0.0.1:9", **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_known_datasets_lists_the_bundled_one():
    assert BUNDLED in KNOWN_DATASETS and all("MB" in size for size in KNOWN_DATASETS.values())


# -- open_dataset ----------------------------------------------------------------------------


def test_builtin_and_the_unfetched_bundled_name_open_the_package_copy(datasets_dir):
    assert open_dataset("builtin", datasets_dir) == bundled_dataset_dir()
    assert open_dataset(BUNDLED, datasets_dir) == bundled_dataset_dir()
    assert validate_dataset_dir(bundled_dataset_dir()) == bundled_dataset_dir()


def test_open_a_directory_directly_or_through_one_subfolder(tmp_path, datasets_dir):
    flat = write_dataset(tmp_path / "flat")
    assert open_dataset(str(flat), datasets_dir) == flat
    inner = write_dataset(tmp_path / "wrapped" / "ml-25m")
    assert open_dataset(str(tmp_path / "wrapped"), datasets_dir) == inner
    assert not datasets_dir.exists()  # folders are used in place


def test_open_a_directory_with_several_datasets_asks_which(tmp_path, datasets_dir):
    write_dataset(tmp_path / "both" / "a")
    write_dataset(tmp_path / "both" / "b")
    with pytest.raises(DatasetError, match=r"several datasets \(a, b\)"):
        open_dataset(str(tmp_path / "both"), datasets_dir)


def test_open_a_zip_extracts_it_once(tmp_path, datasets_dir):
    archive = tmp_path / "My Export.zip"
    archive.write_bytes(make_zip(top="export/"))

    path = open_dataset(str(archive), datasets_dir)

    assert path.parent == datasets_dir and path.name.startswith("My_Export-")
    assert (path / "movies.csv").read_text() == MOVIES
    (path / "sentinel").touch()
    assert open_dataset(str(archive), datasets_dir) == path
    assert (path / "sentinel").exists()  # not extracted again
    assert [p.name for p in datasets_dir.iterdir()] == [path.name]
    extracted = [i for i in list_datasets(datasets_dir, count_rows=True) if i.source == "extracted"]
    assert [(i.name, i.movies, i.ratings) for i in extracted] == [(path.name, 3, 399 * 3)]


def test_open_a_zip_without_a_top_folder(tmp_path, datasets_dir):
    archive = tmp_path / "flat.zip"
    archive.write_bytes(make_zip(top=""))
    assert validate_dataset_dir(open_dataset(str(archive), datasets_dir))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"movieId,title,genres\n1,Toy Story,Comedy\n", "not a readable zip archive"),
        (make_zip(files={"ratings.csv": RATINGS}), "no movies.csv"),
        (make_zip(files={"movies.csv": MOVIES}), "no ratings.csv"),
        (make_zip(files={"movies.csv": "id,name\n1,x\n", "ratings.csv": RATINGS}), "lacks"),
    ],
)
def test_open_a_bad_zip_fails_and_leaves_nothing(tmp_path, datasets_dir, content, expected):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(content)

    with pytest.raises(DatasetError) as err:
        open_dataset(str(archive), datasets_dir)

    message = assert_one_line(err)
    assert str(archive) in message and expected in message
    assert not datasets_dir.exists() or list(datasets_dir.iterdir()) == []


def test_open_an_unknown_spec_lists_what_is_available(tmp_path, datasets_dir):
    write_dataset(datasets_dir / "mine")
    with pytest.raises(DatasetError) as err:
        open_dataset("nope", datasets_dir)
    message = assert_one_line(err)
    assert "builtin" in message and "mine" in message and "ml-25m" in message
    with pytest.raises(DatasetError, match="recbot data fetch ml-25m"):
        open_dataset("ml-25m", datasets_dir)


# -- validate_dataset_dir --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("movies", "ratings", "bad_file", "expected"),
    [
        ("movieId,title\n1,Heat\n", RATINGS, "movies.csv", "lacks genres"),
        (MOVIES, "userId,movieId\n1,1\n", "ratings.csv", "lacks rating, timestamp"),
        ("", RATINGS, "movies.csv", "file is empty"),
        (MOVIES, "userId,movieId,rating,timestamp\n", "ratings.csv", "no rows"),
        ("\ufeffmovieId,title,genres\n1,Heat,Action\n", RATINGS, None, None),  # BOM is fine
    ],
)
def test_validate_checks_headers_and_rows(tmp_path, movies, ratings, bad_file, expected):
    path = write_dataset(tmp_path / "ds", movies, ratings)
    if bad_file is None:
        assert validate_dataset_dir(path) == path
        return
    with pytest.raises(DatasetError) as err:
        validate_dataset_dir(path)
    message = assert_one_line(err)
    assert str(path / bad_file) in message and expected in message


def test_validate_names_a_missing_file(tmp_path):
    path = write_dataset(tmp_path / "ds")
    (path / "ratings.csv").unlink()
    with pytest.raises(DatasetError, match=re.escape(str(path / "ratings.csv"))):
        validate_dataset_dir(path)


def test_list_datasets_skips_invalid_and_hidden_dirs(datasets_dir):
    write_dataset(datasets_dir / "good")
    (datasets_dir / "empty").mkdir()
    write_dataset(datasets_dir / ".tmp-abc")
    infos = list_datasets(datasets_dir)
    assert [(i.name, i.source) for i in infos] == [(BUNDLED, "bundled"), ("good", "extracted")]
    assert infos[0].movies is None
