"""Retrieval end to end through the real `recbot` command.

Real espeak-ng speech muxed into .mp4 with PyAV, real faster-whisper tiny.en, real
MiniLM, real Chroma (local and a `chroma run` server on 127.0.0.1). A small
MovieLens-format dataset keeps the catalog index to seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chroma_server import chroma_run, free_port
from tests.media import mp4_from_wav, speak_wav

RECBOT = Path(sys.executable).with_name("recbot")

MOVIES = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy
2,Apollo 13 (1995),Adventure|Drama|IMAX
3,Titanic (1997),Drama|Romance
4,Jaws (1975),Action|Horror
5,Finding Nemo (2003),Adventure|Animation|Children|Comedy
6,Heat (1995),Action|Crime|Thriller
"""
RATINGS = "userId,movieId,rating,timestamp\n" + "".join(
    f"{u},{m},4.0,0\n" for u in range(1, 6) for m in range(1, 7))

SPACE = "The oxygen tank has exploded. We must repair the spacecraft before we can go home."
GARDEN = "My grandmother planted tomatoes and roses in her garden every spring."
OCEAN = "The great white shark circles the small fishing boat near the beach."


def run(*args: str, data_dir: Path, check: bool = True, timeout: float = 300,
        extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir), **(extra_env or {})}
    res = subprocess.run([str(RECBOT), *args], check=False, capture_output=True, text=True, env=env,
                         timeout=timeout)
    if check:
        assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small-ml")
    (d / "movies.csv").write_text(MOVIES)
    (d / "ratings.csv").write_text(RATINGS)
    return d


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Two spoken clips as .mp4: space talk after 3 s of silence, and garden talk."""
    d = tmp_path_factory.mktemp("clips")
    space = mp4_from_wav(speak_wav(d / "space.wav", SPACE, lead_silence=3.0),
                         d / "Apollo 13 (1995).mp4")
    garden = mp4_from_wav(speak_wav(d / "garden.wav", GARDEN), d / "Grandma's Garden (2021).mp4")
    return {"space": space, "garden": garden}


def live_windows(data_dir: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(data_dir / "ingest.sqlite") as db:
        return {p: (h, n) for p, h, n in
                db.execute("SELECT path, content_hash, windows FROM media").fetchall()}


def stored_windows(data_dir: Path, url: str | None = None) -> list[dict]:
    code = (
        "import json, sys, chromadb\n"
        "from chromadb.config import Settings\n"
        f"url = {url!r}\n"
        "s = Settings(anonymized_telemetry=False)\n"
        "if url:\n"
        "    host, port = url.rsplit(':', 1)\n"
        "    c = chromadb.HttpClient(host=host.split('//')[1], port=int(port), settings=s)\n"
        f"else:\n    c = chromadb.PersistentClient(path={str(data_dir / 'chroma')!r}, settings=s)\n"
        "out = []\n"
        "for col in c.list_collections():\n"
        "    name = col if isinstance(col, str) else col.name\n"
        "    if 'transcripts' in name:\n"
        "        got = c.get_collection(name).get(include=['metadatas'])\n"
        "        out += [dict(m, id=i) for i, m in zip(got['ids'], got['metadatas'])]\n"
        "print(json.dumps(out))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def test_ingest_then_search_a_paraphrase_with_timestamps(tmp_path, dataset, clips):
    data = tmp_path / "data"
    res = run("--dataset", str(dataset), "ingest", str(clips["space"]), str(clips["garden"]),
              "--json", data_dir=data)
    report = json.loads(res.stdout)
    assert not report["failed"]
    by_name = {Path(e["path"]).name: e for e in report["ingested"]}
    assert by_name["Apollo 13 (1995).mp4"]["movie_id"] == 2
    assert by_name["Apollo 13 (1995).mp4"]["linked_by"] == "filename"
    assert by_name["Grandma's Garden (2021).mp4"]["linked_by"] == "new-item"

    res = run("--dataset", str(dataset), "search", "astronauts fix their broken ship",
              "--k", "3", "--json", data_dir=data)
    top = json.loads(res.stdout)["results"][0]
    assert (top["movie_id"], top["title"]) == (2, "Apollo 13")
    ev = top["evidence"][0]
    assert ev["kind"] == "transcript" and "spacecraft" in ev["text"].lower()
    # the sentence is spoken from ~3 s on; the window brackets it
    assert ev["start"] >= 2.0 and ev["end"] >= ev["start"] + 3.0
    assert ev["source"].endswith("Apollo 13 (1995).mp4")

    res = run("--dataset", str(dataset), "search", "someone growing vegetables and flowers",
              "--k", "2", "--json", data_dir=data)
    top = json.loads(res.stdout)["results"][0]
    assert top["title"] == "Grandma's Garden" and top["evidence"][0]["kind"] == "transcript"

    # in the chat, an ask that describes what is said in the video puts it first, with the
    # passage and its timestamp as the reason
    res = run("--dataset", str(dataset), "ask", "--llm", "none", "--json",
              "the one where an oxygen tank explodes and they must repair the spacecraft",
              data_dir=data)
    first = json.loads(res.stdout)["recommendations"][0]
    assert first["title"] == "Apollo 13", res.stdout[:400]
    spoken = [e for e in first["evidence"] if e["kind"] == "transcript"]
    assert spoken and "spacecraft" in spoken[0]["text"].lower() and spoken[0]["start"] >= 2.0
    # a paraphrase that shares no word with the narration: the message is searched, not
    # its leftover words
    res = run("--dataset", str(dataset), "ask", "--llm", "none", "--json",
              "I want the film where astronauts have to fix their broken ship", data_dir=data)
    assert json.loads(res.stdout)["recommendations"][0]["title"] == "Apollo 13", res.stdout[:400]

    # unchanged files are a no-op the second time
    again = json.loads(run("--dataset", str(dataset), "ingest", str(clips["space"]), "--json",
                           data_dir=data).stdout)
    assert again["ingested"] == [] and len(again["unchanged"]) == 1


def test_a_bad_directory_reports_each_failure_and_keeps_the_good_file(tmp_path, dataset, clips):
    d = tmp_path / "mixed"
    d.mkdir()
    good = d / "Apollo 13 (1995).mp4"
    good.write_bytes(clips["space"].read_bytes())
    (d / "empty.wav").write_bytes(b"")
    (d / "notes.mp4").write_text("this is a text file, not a video\n")
    locked = d / "locked.wav"
    locked.write_bytes(speak_wav(tmp_path / "x.wav", "hello").read_bytes())
    locked.chmod(0)
    (d / "dangling.mp4").symlink_to(d / "gone.mp4")
    data = tmp_path / "data"

    res = run("--dataset", str(dataset), "ingest", str(d), "--json", data_dir=data, check=False)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    report = json.loads(res.stdout)
    root = os.geteuid() == 0  # root reads a chmod-0 file: then it is ingested, not failed
    expected_ok = {"Apollo 13 (1995).mp4"} | ({"locked.wav"} if root else set())
    expected_bad = {"empty.wav", "notes.mp4", "gone.mp4"} | (set() if root else {"locked.wav"})
    assert {Path(e["path"]).name for e in report["ingested"]} == expected_ok
    assert {Path(f["path"]).name for f in report["failed"]} == expected_bad
    assert all(f["error"] and "\n" not in f["error"] for f in report["failed"])
    # the readable table form names each path too
    res = run("--dataset", str(dataset), "ingest", str(d), data_dir=data, check=False)
    assert res.returncode == 1 and "notes.mp4" in res.stderr and "Traceback" not in res.stderr
    # nothing stored was lost: the good file is still searchable
    live = live_windows(data)
    assert any(p.endswith("Apollo 13 (1995).mp4") and n > 0 for p, (h, n) in live.items())


def test_sigkill_mid_ingest_leaves_no_duplicates_or_orphans(tmp_path, dataset, clips):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(4):  # distinct contents, so each file is real work
        speak_wav(d / f"clip{i}.wav", f"Clip number {i}. " + SPACE)
    data = tmp_path / "data"
    env = {**os.environ, "RECBOT_DATA_DIR": str(data)}
    proc = subprocess.Popen([str(RECBOT), "--dataset", str(dataset), "ingest", str(d),
                             "--no-index"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        try:
            if (data / "ingest.sqlite").exists() and live_windows(data):
                break  # at least one file done, the next one in flight
        except sqlite3.OperationalError:
            pass    # the file is there but its tables are not yet: keep polling
        time.sleep(0.2)
    time.sleep(0.5)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    res = run("--dataset", str(dataset), "ingest", str(d), "--json", "--no-index", data_dir=data)
    report = json.loads(res.stdout)
    assert not report["failed"]
    assert len(report["ingested"]) + len(report["unchanged"]) == 4

    live = live_windows(data)
    windows = stored_windows(data)
    assert len(live) == 4
    keys = [(w["source"], w["window"]) for w in windows]
    assert len(keys) == len(set(keys)), "duplicate windows"
    for w in windows:
        assert live[w["source"]][0] == w["content_hash"], "orphaned window"
    for source, (_, n) in live.items():
        assert sum(1 for w in windows if w["source"] == source) == n


@pytest.fixture
def chroma_server(tmp_path):
    path = tmp_path / "server-data"
    with chroma_run(path) as url:
        yield url, path


def test_chroma_server_end_to_end(tmp_path, dataset, clips, chroma_server):
    url, server_path = chroma_server
    data = tmp_path / "data"
    run("--dataset", str(dataset), "--chroma-url", url, "ingest", str(clips["space"]),
        "--json", data_dir=data)
    res = run("--dataset", str(dataset), "--chroma-url", url, "search",
              "repairing a damaged spaceship", "--json", data_dir=data)
    top = json.loads(res.stdout)["results"][0]
    assert top["movie_id"] == 2 and top["evidence"][0]["kind"] == "transcript"
    assert stored_windows(data, url), "windows live on the server"
    assert not (data / "chroma").exists(), "nothing written to the local store"
    assert server_path.exists()

    bad = run("--dataset", str(dataset), "--chroma-url", f"http://127.0.0.1:{free_port()}",
              "search", "anything", data_dir=data, check=False)
    assert bad.returncode == 1 and "cannot reach the Chroma server" in bad.stderr
