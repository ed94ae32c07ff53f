"""A damaged ingest ledger and file names that are not UTF-8 (issue 32, items 5 and 6).

Through the real `recbot` command on a small MovieLens-format dataset: real espeak-ng
speech, real faster-whisper tiny.en, real MiniLM and Chroma, real SQLite files damaged the
way a disk, a sync tool or a stray `cp` damages them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from recbot.retrieval.ledger import USER_ITEM_BASE, Ledger
from tests.media import speak_wav

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


def run(data_dir: Path, dataset: Path, *args: str, timeout: float = 300
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir), "LC_ALL": "C.UTF-8"}
    return subprocess.run([str(RECBOT), "--dataset", str(dataset), *args], check=False,
                          capture_output=True, env=env, timeout=timeout)


def text(res: subprocess.CompletedProcess) -> tuple[str, str]:
    """(stdout, stderr), stdout checked to be valid UTF-8."""
    return res.stdout.decode("utf-8"), res.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small-ml")
    (d / "movies.csv").write_text(MOVIES)
    (d / "ratings.csv").write_text(RATINGS)
    return d


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {"space": speak_wav(d / "Apollo 13 (1995).wav", SPACE),
            "garden": speak_wav(d / "Grandma's Garden (2021).wav", GARDEN)}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, dataset, clips) -> Path:
    """A data dir with the catalog indexed and both clips ingested (the garden one as an
    item of the user's own): what a user has before the ledger is damaged."""
    data = tmp_path_factory.mktemp("ingested") / "data"
    res = run(data, dataset, "ingest", str(clips["space"]), str(clips["garden"]), "--json")
    assert res.returncode == 0, res.stderr
    assert run(data, dataset, "index").returncode == 0
    return data


def random_bytes(path: Path) -> None:
    """The file overwritten with random bytes: "file is not a database"."""
    path.write_bytes(os.urandom(16384))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def damaged_pages(path: Path) -> None:
    """A real ledger grown to many pages whose middle pages are then garbage: "database
    disk image is malformed"."""
    led = Ledger(path)
    for i in range(300):
        led.add_user_item(f"home video {i} " + "x" * 200, 2000, f"/videos/v{i}.mp4")
    led.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with path.open("r+b") as fh:
        fh.seek(4096 * 5)
        fh.write(os.urandom(4096 * 3))


def private_copy(ingested: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(ingested, tmp_path / "data"))


def warning_lines(err: str, ledger: Path) -> list[str]:
    return [line for line in err.splitlines() if str(ledger) in line]


# ----- item 5: a damaged ledger --------------------------------------------------------

@pytest.mark.parametrize("command", [
    ("profile",),
    ("search", "vegetables and flowers in a garden", "--k", "3", "--json"),
    ("ask", "--llm", "none", "something like Heat"),
], ids=["profile", "search", "ask"])
def test_read_commands_go_on_without_a_ledger_of_random_bytes(ingested, dataset, tmp_path,
                                                              command):
    data = private_copy(ingested, tmp_path)
    ledger = data / "ingest.sqlite"
    random_bytes(ledger)
    damaged = ledger.read_bytes()
    res = run(data, dataset, *command)
    out, err = text(res)
    assert res.returncode == 0, err
    assert "Traceback" not in err
    warned = warning_lines(err, ledger)
    assert len(warned) == 1, err            # one line, once
    assert "damaged" in warned[0] and "not a database" in warned[0] \
        and "recbot ingest" in warned[0]
    assert ledger.read_bytes() == damaged   # a command that only reads changes nothing
    if command[0] == "search":              # the user's own item is just missing
        titles = [r["title"] for r in json.loads(out)["results"]]
        assert "Grandma's Garden" not in titles and titles


def test_profile_goes_on_without_a_ledger_with_damaged_pages(ingested, dataset, tmp_path):
    data = private_copy(ingested, tmp_path)
    ledger = data / "ingest.sqlite"
    damaged_pages(ledger)
    res = run(data, dataset, "profile")
    out, err = text(res)
    assert res.returncode == 0, err
    assert "Traceback" not in err
    warned = warning_lines(err, ledger)
    assert len(warned) == 1 and "malformed" in warned[0] and "recbot ingest" in warned[0]


def test_ingest_sets_a_damaged_ledger_aside_and_starts_a_new_one(ingested, dataset, clips,
                                                                tmp_path):
    data = private_copy(ingested, tmp_path)
    ledger = data / "ingest.sqlite"
    random_bytes(ledger)
    damaged = ledger.read_bytes()
    res = run(data, dataset, "ingest", str(clips["garden"]), "--json", "--no-index")
    out, err = text(res)
    assert res.returncode == 0, err
    assert "Traceback" not in err
    aside = list(data.glob("ingest.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged     # kept, byte for byte
    note = warning_lines(err, ledger)
    assert len(note) == 1 and aside[0].name in note[0]
    report = json.loads(out)
    assert [Path(e["path"]).name for e in report["ingested"]] == [clips["garden"].name]
    # the new ledger is a sound database holding the file, and search finds it again
    with sqlite3.connect(ledger) as db:
        assert [Path(p).name for (p,) in db.execute("SELECT path FROM media")] \
            == [clips["garden"].name]
    res = run(data, dataset, "search", "vegetables and flowers in a garden", "--k", "1",
              "--json")
    assert json.loads(text(res)[0])["results"][0]["title"] == "Grandma's Garden"


def test_ingest_through_the_workspace_refuses_an_unusable_ledger_before_sweeping(
        ingested, dataset, clips, tmp_path, monkeypatch):
    """The chat's /ingest (no set-aside there): one error naming the file, and not one
    transcript window of the files ingested before is swept as stale."""
    from recbot.agent.compose import build_workspace
    from recbot.agent.errors import user_errors
    from recbot.agent.settings import Settings

    data = private_copy(ingested, tmp_path)
    ledger = data / "ingest.sqlite"
    random_bytes(ledger)
    monkeypatch.setenv("RECBOT_DATA_DIR", str(data))
    ws = build_workspace(Settings.load(dataset=str(dataset)))
    windows = ws.store.count("transcripts")
    assert windows > 0
    with pytest.raises(user_errors(), match="ingest.sqlite is damaged"):
        ws.ingest([str(clips["garden"])])
    assert ws.store.count("transcripts") == windows


def test_items_made_after_a_set_aside_never_reuse_an_earlier_id(tmp_path):
    """A profile may still hold the ids the damaged ledger gave: a new file never gets one."""
    from recbot.retrieval.ledger import CorruptLedgerError, set_aside_if_corrupt

    path = tmp_path / "ingest.sqlite"
    led = Ledger(path)
    first = led.add_user_item("Old home video", None, "/videos/old.mp4").movie_id
    led.close()
    random_bytes(path)
    with pytest.raises(CorruptLedgerError, match=str(path)):
        Ledger(path)
    aside, reason = set_aside_if_corrupt(path)
    assert aside.exists() and "not a database" in reason
    led = Ledger(path)
    new = led.add_user_item("New home video", None, "/videos/new.mp4").movie_id
    led.close()
    assert first == USER_ITEM_BASE + 1 and new > first + 1000
    assert set_aside_if_corrupt(path) is None        # a sound ledger stays where it is


def test_two_ingests_at_once_set_a_damaged_ledger_aside_once(tmp_path):
    """The second of two ingests meeting one damaged ledger waits for the first, then finds
    the new ledger the first made sound: it never sets that one aside too."""
    import fcntl
    import threading

    from recbot.retrieval.ledger import set_aside_if_corrupt

    path = tmp_path / "ingest.sqlite"
    Ledger(path).close()
    random_bytes(path)
    holder = os.open(tmp_path / "ingest.sqlite.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)          # the first ingest, mid-way
    results = []
    second = threading.Thread(target=lambda: results.append(set_aside_if_corrupt(path)))
    second.start()
    second.join(1.0)
    assert second.is_alive() and results == []  # it waits for the first
    from recbot.retrieval import ledger as ledger_module

    first = ledger_module._set_aside(path)      # what the first does under its lock
    os.close(holder)                            # ... and lets go
    second.join(30)
    assert first is not None and results == [None]
    assert sorted(p.name for p in tmp_path.glob("ingest.sqlite.corrupt-*")) == [first[0].name]
    Ledger(path).close()                        # the new ledger is in place, sound


_READ_ONLY_CHECK = """
import sys
from pathlib import Path
from recbot.retrieval.ledger import Ledger, LedgerError
data = Path(sys.argv[1])
try:
    (data / "probe").write_text("x")
    sys.exit("the mount is writable")
except OSError:
    pass                                              # really read-only, even for root
led = Ledger(data / "ingest.sqlite")
print([i.title for i in led.user_items()], len(led.current_sources()))
try:
    led.add_user_item("New", None, "/videos/new.wav")
except LedgerError as err:
    print("refused:", err)
led.close()
"""


def test_a_ledger_in_a_read_only_data_dir_is_read_as_it_is(ingested, tmp_path):
    """A read-only mount (a restored backup, a shared disk): the user's items are still
    there for the commands that read, and a write says why it cannot happen. The mount
    lives in a private mount namespace that ends with the check."""
    src = private_copy(ingested, tmp_path)
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && '
              'exec "$0" -c "$CHECK" "$1"')
    namespace = ["unshare", *([] if os.geteuid() == 0 else ["--map-root-user"]), "--mount",
                 "--propagation", "private"]
    res = subprocess.run([*namespace, "sh", "-c", script, sys.executable, str(src)],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "CHECK": _READ_ONLY_CHECK})
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    assert lines[0] == "[\"Grandma's Garden\"] 2"
    assert lines[1].startswith("refused:") and "read-only" in lines[1]


# ----- item 6: a file name that is not UTF-8 --------------------------------------------

def latin1_named(directory: Path, name: bytes, content: bytes) -> Path:
    """A file whose name is ``name`` as raw bytes (not UTF-8), as Python sees it."""
    raw = os.fsencode(directory) + b"/" + name
    with open(raw, "wb") as fh:
        fh.write(content)
    return Path(os.fsdecode(raw))


def test_a_file_name_that_is_not_utf8_is_ingested_with_the_others(dataset, clips, tmp_path):
    d = tmp_path / "videos"
    d.mkdir()
    shutil.copy(clips["space"], d / clips["space"].name)
    latin1_named(d, b"caf\xe9 (2021).wav", clips["garden"].read_bytes())
    data = tmp_path / "data"
    res = run(data, dataset, "ingest", str(d), "--json", "--no-index")
    out, err = text(res)                     # valid UTF-8
    assert res.returncode == 0, err
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["failed"] == []
    by_name = {Path(e["path"]).name: e for e in report["ingested"]}
    assert set(by_name) == {clips["space"].name, "caf\\xe9 (2021).wav"}
    assert by_name["caf\\xe9 (2021).wav"]["title"] == "café"      # read as Windows-1252
    assert by_name[clips["space"].name]["movie_id"] == 2
    # the escaped name is the file's one ledger row: a second run finds it unchanged
    again = json.loads(text(run(data, dataset, "ingest", str(d), "--json", "--no-index"))[0])
    assert again["ingested"] == [] and len(again["unchanged"]) == 2


def test_a_failing_file_whose_name_is_not_utf8_is_reported_without_stopping_the_others(
        dataset, clips, tmp_path):
    d = tmp_path / "videos"
    d.mkdir()
    latin1_named(d, b"\xe9t\xe9.wav", b"")          # empty: cannot be transcribed
    shutil.copy(clips["space"], d / "zz Apollo 13 (1995).wav")
    data = tmp_path / "data"
    res = run(data, dataset, "ingest", str(d), "--json", "--no-index")
    out, err = text(res)
    assert res.returncode == 1, err                # a failed file, as the README says
    assert "Traceback" not in err
    report = json.loads(out)
    assert [Path(f["path"]).name for f in report["failed"]] == ["\\xe9t\\xe9.wav"]
    assert "empty" in report["failed"][0]["error"]
    assert [e["movie_id"] for e in report["ingested"]] == [2]
