"""Storage that fails under recbot (issue 32, items 7-9): a full disk, a read-only data dir,
a damaged session row, a full log dir, and the temp files a killed run leaves.

Through the real `recbot` command on a copy of the indexed data dir. The full disk is a
real tmpfs filled to its last byte; the read-only dir a real read-only bind mount when the
tests run as root (as CI does: root writes through any permission bits) and a chmod'ed dir
otherwise. Mounts live in a private mount namespace (unshare) that ends with the command,
so nothing outlives a test.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

RECBOT = Path(sys.executable).with_name("recbot")
ROOT = os.geteuid() == 0


def _env(base: Path, data: Path) -> dict[str, str]:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data)}
    for name in ("LOG", "CACHE", "CONFIG"):
        folder = base / name.lower()
        folder.mkdir(exist_ok=True)
        env[f"RECBOT_{name}_DIR"] = str(folder)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "RECBOT_LLM_BASE_URL", "RECBOT_LLM",
                 "RECBOT_CHROMA_URL"):
        env.pop(name, None)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def _namespace() -> list[str]:
    """A private mount namespace (and, for a user other than root, a user namespace)."""
    return ["unshare", *([] if ROOT else ["--map-root-user"]), "--mount",
            "--propagation", "private"]


# `sh -c SCRIPT sh recbot ARGS...`: the script prepares the mount, then runs recbot.
_FULL_DISK = ('mount -t tmpfs -o size="$SIZE" tmpfs "$DISK" && cp -a "$SOURCE" "$DISK/data" '
              '&& { cat /dev/zero > "$DISK/filler" 2>/dev/null; true; } '
              '&& if dd if=/dev/zero of="$DISK/probe" bs=1 count=1 2>/dev/null; '
              'then echo "probe: the disk is not full" >&2; exit 99; fi '
              '&& rm -f "$DISK/probe" && exec "$@"')


def on_full_disk(base: Path, source: Path, *args: str, size: str = "256m",
                 env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`recbot ARGS` whose data dir is a copy of ``source`` on a tmpfs with no byte left
    (the script checks that not one more byte can be written there)."""
    disk = base / "disk"
    disk.mkdir()
    env = {**_env(base, disk / "data"), "DISK": str(disk), "SOURCE": str(source),
           "SIZE": size, **(env_extra or {})}
    return _run([*_namespace(), "sh", "-c", _FULL_DISK, "sh", str(RECBOT), *args], env)


_READ_ONLY = ('mount --bind "$DATA" "$DATA" && mount -o remount,bind,ro "$DATA" '
              '&& if touch "$DATA/probe" 2>/dev/null; '
              'then echo "probe: the dir is writable" >&2; exit 99; fi && exec "$@"')


def _chmod_tree(root: Path, writable: bool) -> None:
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755 if writable else 0o555)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644 if writable else 0o444)


def on_read_only_dir(base: Path, source: Path, *args: str) -> subprocess.CompletedProcess:
    """`recbot ARGS` whose data dir is a copy of ``source`` that cannot be written."""
    data = shutil.copytree(source, base / "data")
    env = _env(base, data)
    if ROOT:
        return _run([*_namespace(), "sh", "-c", _READ_ONLY, "sh", str(RECBOT), *args],
                    {**env, "DATA": str(data)})
    _chmod_tree(data, writable=False)
    try:
        assert not os.access(data, os.W_OK)
        return _run([str(RECBOT), *args], env)
    finally:
        _chmod_tree(data, writable=True)


@pytest.fixture(scope="module")
def seeded(indexed_data_dir, tmp_path_factory) -> Path:
    """The indexed data dir after one ask (a list shown) and one like in the profile."""
    base = tmp_path_factory.mktemp("seeded")
    data = shutil.copytree(indexed_data_dir, base / "data")
    env = _env(base, data)
    for args in (["ask", "something like Heat", "--llm", "none"],
                 ["profile", "--like", "Toy Story"]):
        res = _run([str(RECBOT), *args], env)
        assert res.returncode == 0, res.stderr[-2000:]
    return data


def _sessions(data: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(data / "sessions.sqlite")
    try:
        return db.execute("SELECT id, state FROM sessions ORDER BY updated").fetchall()
    finally:
        db.close()


def _damage(data: Path, sql: str) -> str:
    """Run ``sql`` (with ? for the session id) on the latest session; returns its id."""
    db = sqlite3.connect(data / "sessions.sqlite")
    try:
        sid = db.execute("SELECT id FROM sessions ORDER BY updated DESC LIMIT 1").fetchone()[0]
        db.execute(sql, (sid,))
        db.commit()
    finally:
        db.close()
    return sid


def _one_line_error(res: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in res.stderr, res.stderr[-2000:]
    lines = [line for line in res.stderr.splitlines() if line.startswith("recbot: error:")]
    assert len(lines) == 1, res.stderr[-2000:]
    return lines[0]


# ----- 7. a full disk -------------------------------------------------------------------

def test_profile_on_a_full_disk_shows_the_profile(seeded, tmp_path):
    res = on_full_disk(tmp_path, seeded, "profile")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Liked: Toy Story (1995)" in res.stdout


def test_export_on_a_full_disk_exports_the_list_and_the_profile(seeded, tmp_path):
    res = on_full_disk(tmp_path, seeded, "export")
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads(res.stdout)
    assert len(data["recommendations"]) == 5
    assert [m["title"] for m in data["profile"]["likes"]] == ["Toy Story"]


def test_a_profile_edit_on_a_full_disk_says_the_disk_is_full(seeded, tmp_path):
    res = on_full_disk(tmp_path, seeded, "profile", "--like", "Jaws")
    assert res.returncode == 1
    line = _one_line_error(res)
    assert "is full" in line and "free some space" in line and "nothing stored was lost" in line
    assert str(tmp_path / "disk" / "data") in line
    assert "move it aside" not in line and "disk I/O error" not in line


def test_ask_on_a_full_disk_answers_and_says_the_turn_was_not_saved(seeded, tmp_path):
    res = on_full_disk(tmp_path, seeded, "ask", "something like Jaws", "--llm", "none")
    assert res.returncode == 0, res.stderr[-2000:]
    assert " 1. " in res.stdout                       # the answer, with its list
    notes = [line for line in res.stderr.splitlines() if "not saved" in line]
    assert len(notes) == 1 and "is full" in notes[0], res.stderr[-2000:]


# ----- 7. a read-only data dir ----------------------------------------------------------

def test_profile_on_a_read_only_data_dir_shows_the_profile(seeded, tmp_path):
    res = on_read_only_dir(tmp_path, seeded, "profile")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Liked: Toy Story (1995)" in res.stdout


def test_export_to_stdout_on_a_read_only_data_dir(seeded, tmp_path):
    res = on_read_only_dir(tmp_path, seeded, "export", "--format", "csv")
    assert res.returncode == 0, res.stderr[-2000:]
    rows = res.stdout.splitlines()
    assert rows[0] == "section,rank,movie_id,title,year,reason,imdb_id,tmdb_id"
    assert sum(r.startswith("recommendation,") for r in rows) == 5
    assert any(r.startswith("like,,1,Toy Story,") for r in rows)


def test_export_to_a_writable_file_on_a_read_only_data_dir(seeded, tmp_path):
    out = tmp_path / "out" / "export.json"
    out.parent.mkdir()
    res = on_read_only_dir(tmp_path, seeded, "export", "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads(out.read_text())
    assert len(data["recommendations"]) == 5 and data["profile"]["likes"]


def test_ask_on_a_read_only_data_dir_answers_without_saving(seeded, tmp_path):
    before = _sessions(seeded)
    res = on_read_only_dir(tmp_path, seeded, "ask", "something like Jaws", "--llm", "none")
    assert res.returncode == 0, res.stderr[-2000:]
    assert " 1. " in res.stdout
    notes = [line for line in res.stderr.splitlines() if "not saved" in line]
    assert len(notes) == 1 and "read-only" in notes[0], res.stderr[-2000:]
    assert _sessions(tmp_path / "data") == before


def test_a_profile_edit_on_a_read_only_data_dir_says_it_is_read_only(seeded, tmp_path):
    res = on_read_only_dir(tmp_path, seeded, "profile", "--like", "Jaws")
    assert res.returncode == 1
    line = _one_line_error(res)
    assert f"{tmp_path / 'data'} is read-only" in line and "RECBOT_DATA_DIR" in line
    assert "move it aside" not in line


# ----- 8. a damaged session row ---------------------------------------------------------

@pytest.fixture
def data_copy(seeded, tmp_path) -> Path:
    return shutil.copytree(seeded, tmp_path / "data")


@pytest.mark.parametrize("sql", [
    "UPDATE sessions SET state = '{' WHERE id = ?",
    "UPDATE shown SET item = '{' WHERE session_id = ? AND pos = 2",
], ids=["state", "list-item"])
def test_ask_session_on_a_damaged_session_sets_it_aside_and_starts_afresh(data_copy, tmp_path,
                                                                          sql):
    sid = _damage(data_copy, sql)
    res = _run([str(RECBOT), "ask", "--session", sid, "something like Jaws", "--llm", "none"],
               _env(tmp_path, data_copy))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and " 1. " in res.stdout
    notes = [line for line in res.stderr.splitlines() if line.startswith("recbot: note:")]
    assert len(notes) == 1 and f"session {sid} " in notes[0], res.stderr
    assert f"set aside as {sid}.damaged" in notes[0]
    kept = dict(_sessions(data_copy))
    assert f"{sid}.damaged" in kept                          # nothing stored was lost
    assert json.loads(kept[sid])                             # the fresh one, saved whole


def test_export_of_a_damaged_list_leaves_it_out_with_a_note(data_copy, tmp_path):
    sid = _damage(data_copy, "UPDATE shown SET item = '{' WHERE session_id = ? AND pos = 2")
    res = _run([str(RECBOT), "export"], _env(tmp_path, data_copy))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    data = json.loads(res.stdout)
    assert data["recommendations"] == [] and data["profile"]["likes"]
    notes = [line for line in res.stderr.splitlines() if line.startswith("recbot: note:")]
    assert len(notes) == 1 and f"session {sid}" in notes[0]


@pytest.mark.asyncio
async def test_the_chat_starts_a_damaged_session_afresh_with_a_note(data_copy):
    from recbot.agent.service import ChatService
    from recbot.agent.settings import Settings
    from recbot.tui.app import RecbotApp

    sid = _damage(data_copy, "UPDATE sessions SET state = '{' WHERE id = ?")
    backend = ChatService(Settings.load(data_dir=data_copy), "none")
    app = RecbotApp(backend)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any(f"session {sid} " in n and "set aside" in n for n in notes), notes
        app.query_one("#prompt").value = "something like Jaws"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(list(app.cards)) == 5                     # the turn works
        assert not any(n.severity == "error" for n in app._notifications)


# ----- 9. a full log dir ----------------------------------------------------------------

_FULL_LOG = ('mount -t tmpfs -o size=64k tmpfs "$RECBOT_LOG_DIR" '
             '&& { cat /dev/zero > "$RECBOT_LOG_DIR/filler" 2>/dev/null; true; } '
             '&& exec "$@"')


def test_a_full_log_dir_warns_once_and_prints_no_traceback(seeded, tmp_path):
    data = shutil.copytree(seeded, tmp_path / "data")
    env = _env(tmp_path, data)
    res = _run([*_namespace(), "sh", "-c", _FULL_LOG, "sh", str(RECBOT), "profile"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Liked: Toy Story" in res.stdout
    assert "Traceback" not in res.stderr and "Logging error" not in res.stderr
    warned = [line for line in res.stderr.splitlines() if "cannot write the log file" in line]
    assert len(warned) == 1 and "No space left on device" in warned[0], res.stderr


# ----- 9. temp files a killed run left ---------------------------------------------------

HOUR_AND_A_HALF = 5400


def _age(path: Path, seconds: float) -> Path:
    """Make ``path`` (and all in it) look untouched for ``seconds``."""
    then = time.time() - seconds
    inside = [Path(folder) / name for folder, dirs, files in os.walk(path)
              for name in (*dirs, *files)]
    for item in (*inside, path):
        os.utime(item, (then, then))
    return path


def _temp(folder: Path, prefix: str, suffix: str = ".tmp") -> Path:
    """A temp file named as the writer names it (tempfile.mkstemp, the same prefix)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.write(fd, b"half a file")
    os.close(fd)
    return Path(name)


def test_temp_files_a_killed_run_left_are_removed_by_the_next_run(seeded, tmp_path):
    data = shutil.copytree(seeded, tmp_path / "data")
    env = _env(tmp_path, data)
    snapshots = next(p for p in (data / "models").iterdir() if p.name != "embeddings"
                     and any(p.glob("als-*.npz")))
    cache_stamps = Path(env["RECBOT_CACHE_DIR"]) / "verified"
    cache_stamps.mkdir(parents=True)
    (data / "datasets").mkdir()
    stale = [
        _temp(data, "chroma-generation"),                       # retrieval.store
        _temp(data, ".plots.csv."),                             # retrieval.plots
        _temp(snapshots, "als-1-2.npz"),                        # ranking.store
        _temp(snapshots, "catalog-vectors.npz"),                # retrieval.mirror
        _temp(data / "models" / "chat-contexts", "vectors.npz"),   # retrieval.prior
        Path(tempfile.mkdtemp(prefix=".onnx-", dir=data / "models" / "embeddings")),
        Path(tempfile.mkdtemp(prefix=".tmp-", dir=data / "datasets")),   # retrieval.datasets
    ]
    (stale[-1] / "ml-latest").mkdir()
    (stale[-1] / "ml-latest" / "ratings.csv").write_text("userId,movieId\n")
    stamp = cache_stamps / "0123456789abcdef.4242.tmp"         # retrieval.bundled
    stamp.write_text("{}")
    stale.append(stamp)
    for path in stale:
        _age(path, HOUR_AND_A_HALF)
    fresh = _temp(snapshots, "catalog-vectors.npz")            # another run, writing now
    foreign = [data / "notes.tmp", snapshots / "keep.txt",     # not named like ours
               data / "mydraft1a2b3c4d.tmp"]                  # a name of the user's
    for path in foreign:
        path.write_text("mine")
        _age(path, HOUR_AND_A_HALF)
    res = _run([str(RECBOT), "profile"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert [p for p in stale if p.exists()] == []
    assert fresh.exists() and all(p.exists() for p in foreign)


def test_an_export_removes_the_temp_file_a_killed_export_left(seeded, tmp_path):
    data = shutil.copytree(seeded, tmp_path / "data")
    out = tmp_path / "out" / "taste.json"
    left = _age(_temp(out.parent, ".taste.json."), HOUR_AND_A_HALF)
    other = _age(_temp(out.parent, ".other.json."), HOUR_AND_A_HALF)   # another file's
    res = _run([str(RECBOT), "export", "--out", str(out)], _env(tmp_path, data))
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(out.read_text())["profile"]["likes"]
    assert not left.exists() and other.exists()
