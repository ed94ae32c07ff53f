"""Damaged or starved stores under the search index (issue 32, items 7 and 8): a garbled
Chroma segment, a truncated cached embedder, a first run on a nearly full disk.

Real Chroma, the real bundled MiniLM and the real `recbot` command. The catalog here is a
synthetic MovieLens-format set of 1,200 films: Chroma keeps a collection's vectors in a
segment on disk (the files a garbling damages) only past its first thousand records. The
nearly full disk is a real 100 MB tmpfs in a private mount namespace (unshare).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recbot.retrieval.errors import RetrievalError

RECBOT = Path(sys.executable).with_name("recbot")
ROOT = os.geteuid() == 0
FILMS = 1200


def _env(base: Path, data: Path) -> dict[str, str]:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data)}
    for name in ("LOG", "CACHE", "CONFIG"):
        folder = base / name.lower()
        folder.mkdir(exist_ok=True)
        env[f"RECBOT_{name}_DIR"] = str(folder)
    env.pop("RECBOT_CHROMA_URL", None)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900,
                          check=False)


def _write_dataset(folder: Path, films: int) -> Path:
    folder.mkdir(parents=True)
    with (folder / "movies.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "title", "genres"])
        for m in range(1, films + 1):
            w.writerow([m, f"Synthetic Film {m} ({1950 + m % 70})",
                        "Drama" if m % 2 else "Comedy|Crime"])
    with (folder / "ratings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        for u in range(1, 11):
            w.writerows([u, m, 4.0, 0] for m in range(u, films + 1, 7))
    return folder


@pytest.fixture(scope="module")
def indexed(indexed_data_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, data dir) after a real `recbot index` of the synthetic catalog; the
    embedder's kept int8 model comes from the shared indexed data dir (no rebuild)."""
    base = tmp_path_factory.mktemp("segments")
    dataset = _write_dataset(base / "ml-synthetic", FILMS)
    data = base / "data"
    (data / "models").mkdir(parents=True)
    shutil.copytree(indexed_data_dir / "models" / "embeddings", data / "models" / "embeddings")
    res = _run([str(RECBOT), "--dataset", str(dataset), "index"], _env(base, data))
    assert res.returncode == 0, res.stderr[-2000:]
    return dataset, data


def _garbled_copy(data: Path, into: Path) -> Path:
    """A copy of ``data`` whose catalog segment header is noise."""
    copy = shutil.copytree(data, into)
    segments = [p for p in (copy / "chroma").iterdir() if (p / "header.bin").is_file()]
    assert len(segments) == 1
    header = segments[0] / "header.bin"
    header.write_bytes(os.urandom(header.stat().st_size))
    return copy


def test_recbot_index_rebuilds_a_catalog_index_whose_segment_is_garbled(indexed, tmp_path):
    dataset, data = indexed
    copy = _garbled_copy(data, tmp_path / "data")
    env = _env(tmp_path, copy)
    res = _run([str(RECBOT), "--dataset", str(dataset), "index", "--json"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "InternalError" not in res.stderr
    warned = [line for line in res.stderr.splitlines() if "damaged" in line]
    assert len(warned) == 1 and str(copy / "chroma") in warned[0] and "rebuilding" in warned[0]
    assert '"added": 1200' in res.stdout
    again = _run([str(RECBOT), "--dataset", str(dataset), "search", "Synthetic Film 7"], env)
    assert again.returncode == 0 and "damaged" not in again.stderr, again.stderr[-2000:]


def test_a_garbled_segment_read_is_one_line_naming_the_store_dir(indexed, tmp_path):
    from recbot.retrieval.store import VectorStore, open_client

    _, data = indexed
    copy = _garbled_copy(data, tmp_path / "data")   # a new path: Chroma opens it afresh
    client = open_client(path=copy / "chroma")
    [collection] = client.list_collections()        # the names live in chroma.sqlite3
    store = VectorStore(client, collection.metadata["embed_model"])
    with pytest.raises(RetrievalError) as err:
        store.count("catalog")
    message = str(err.value)
    assert "\n" not in message and str(copy / "chroma") in message
    assert "damaged" in message and "recbot index" in message


def test_a_truncated_cached_embedder_is_rebuilt_from_the_package(indexed_data_dir, tmp_path,
                                                                  caplog):
    from recbot.retrieval.embed import MiniLMEmbedder

    cache = shutil.copytree(indexed_data_dir / "models" / "embeddings", tmp_path / "embeddings")
    [kept] = cache.glob("all-MiniLM-L6-v2-w8a8-*.onnx")
    size = kept.stat().st_size
    with kept.open("r+b") as fh:     # what a full disk or a crash mid-copy leaves
        fh.truncate(size // 3)
    caplog.set_level(logging.WARNING, logger="recbot.retrieval.embed")
    vectors = MiniLMEmbedder(cache_dir=cache).embed(["a heist that goes wrong"])
    assert vectors.shape == (1, 384)
    assert kept.stat().st_size == size                   # built again, whole
    notes = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(notes) == 1 and str(kept) in notes[0]


_SMALL_DISK = ('mount -t tmpfs -o size=100m tmpfs "$RECBOT_DATA_DIR" && exec "$@"')


def test_a_first_run_on_a_nearly_full_disk_says_the_disk_is_full(tmp_path):
    dataset = _write_dataset(tmp_path / "ml-tiny", 6)
    data = tmp_path / "data"
    data.mkdir()
    env = _env(tmp_path, data)
    namespace = ["unshare", *([] if ROOT else ["--map-root-user"]), "--mount",
                 "--propagation", "private"]
    res = _run([*namespace, "sh", "-c", _SMALL_DISK, "sh", str(RECBOT), "--dataset",
                str(dataset), "index"], env)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    [line] = [x for x in res.stderr.splitlines() if x.startswith("recbot: error:")]
    assert "the disk is full" in line and str(data / "models" / "embeddings") in line
    assert "free some space" in line
    assert "quantisation failed" not in line and "onnx-fp32" not in line
