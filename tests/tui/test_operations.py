"""Operations of the chat (issue 14 §4): a restart shows the resumed session, tab goes to the
newest cards, /export, and library output on fd 2 goes to the log file, not the screen."""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from textual import events

from recbot.agent.memory import Memory
from recbot.agent.service import ChatService
from recbot.agent.settings import Settings
from recbot.tui import logs
from recbot.tui.app import RecbotApp, RecCard
from tests.fakes import FakeBackend
from tests.tui.test_app import GUMP, MORE

REPO = Path(__file__).resolve().parents[2]


async def send(pilot, text: str) -> None:
    app = pilot.app
    app.query_one("#prompt").value = text
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


def texts(app, selector: str) -> list[str]:
    return [str(w.render()) for w in app.query(selector)]


@pytest.fixture(scope="module")
def data_copy(indexed_data_dir, tmp_path_factory):
    return shutil.copytree(indexed_data_dir, tmp_path_factory.mktemp("ops") / "data")


@pytest.fixture
def data_dir(data_copy):
    """The indexed data dir with no sessions: every test starts a fresh history."""
    for f in data_copy.glob("sessions.sqlite*"):
        f.unlink()
    return data_copy


# ----- 1. a restart shows the resumed session -------------------------------------------

@pytest.mark.asyncio
async def test_a_restart_shows_the_previous_session_and_continues_it(data_dir):
    settings = Settings.load(data_dir=data_dir)
    first = ChatService(settings, "none")
    app = RecbotApp(first)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        gump = [c.rec for c in app.cards]
        await send(pilot, "more like that")
        more = [c.rec for c in app.cards]
        app.cards[1].focus()
        await pilot.press("s")
        await pilot.press("escape")
        replies = texts(app, "ChatMessage.bot")
    sid = first.session
    assert gump and more and {r.movie_id for r in gump}.isdisjoint(r.movie_id for r in more)

    again = ChatService(settings, "none")          # a restart: a new process, the same data
    app = RecbotApp(again)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert again.session == sid
        assert texts(app, "ChatMessage.user") == ["something like Forrest Gump", "more like that"]
        bot = texts(app, "ChatMessage.bot")
        assert replies[0] in bot and replies[1] in bot
        # the earlier list as text lines, the latest one as cards to act on
        old = "\n".join(texts(app, "ChatMessage.old-list"))
        assert f"1. {gump[0].label()} — {gump[0].explanation}" in old
        cards = list(app.query(RecCard))
        assert [c.rec.movie_id for c in cards] == [r.movie_id for r in more]
        assert app.cards == cards and "seen" in cards[1].mark
        note = texts(app, "ChatMessage.note")[-1]
        assert f"Resumed session {sid} from " in note and "/reset starts a new one" in note
        assert not app.query("#welcome")
        await send(pilot, "/like 1")
        assert again.agent.memory.load(sid).feedback[more[0].movie_id] == "like"
        await send(pilot, "/reset")
        assert not app.query(RecCard) and again.session != sid


class HistoryBackend(FakeBackend):
    """The scripted backend with a stored session of ``n`` turns."""

    def __init__(self, answers=(), n: int = 25, **kw) -> None:
        super().__init__(answers, **kw)
        self.n = n

    def history(self, limit: int = 20) -> dict:
        from recbot.agent.chat import Recommendation

        turns = [{"user": f"message {i}", "reply": f"reply {i}", "kind": "recommend",
                  "recommendations": [Recommendation(100 + i, f"Film {i}", 1990, ("Drama",), 1.0,
                                                     f"reason {i}", [])]}
                 for i in range(1, self.n + 1)]
        return {"session": self.session, "updated": 1_700_000_000.0,
                "turns": turns[-limit:], "feedback": {}}


@pytest.mark.asyncio
async def test_the_resumed_log_shows_the_last_20_turns_and_new_turns_follow():
    app = RecbotApp(HistoryBackend([GUMP]))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert texts(app, "ChatMessage.user") == [f"message {i}" for i in range(6, 26)]
        assert [c.rec.title for c in app.cards] == ["Film 25"]
        assert "Resumed session s-test from 2023-11-1" in texts(app, "ChatMessage.note")[-1]
        await send(pilot, "something like Forrest Gump")
        assert texts(app, "ChatMessage.user")[-1] == "something like Forrest Gump"
        assert [c.rec.title for c in app.cards][0] == "Apollo 13"


def test_memory_history_is_the_last_turns_in_order_with_their_lists(tmp_path):
    memory = Memory(tmp_path / "sessions.sqlite")
    sid = memory.new_session()
    for i in range(1, 26):
        shown = [{"movie_id": i, "title": f"Film {i}", "year": 2000, "explanation": "x"}] \
            if i % 2 else []
        memory.record_turn(sid, f"ask {i}", f"reply {i}", {"kind": "recommend"}, {}, shown, {})
    turns = memory.history(sid, 20)
    assert [t["user"] for t in turns] == [f"ask {i}" for i in range(6, 26)]
    assert turns[-1]["shown"][0]["title"] == "Film 25" and turns[-2]["shown"] == []
    assert memory.last_list(sid) == ("ask 25", [{"movie_id": 25, "title": "Film 25",
                                                  "year": 2000, "explanation": "x"}])
    assert memory.latest_with_list() == sid
    assert memory.history("nope") == [] and memory.last_list("nope") == ("", [])


# ----- 2. tab goes to the newest cards ----------------------------------------------------

@pytest.mark.asyncio
async def test_tab_from_the_prompt_goes_to_the_newest_list():
    app = RecbotApp(FakeBackend([GUMP, MORE]))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        await send(pilot, "something like Apollo 13")
        assert len(app.query(RecCard)) == 5               # the old cards stay in the log
        prompt = app.query_one("#prompt")
        assert app.focused is prompt
        await pilot.press("tab")
        assert isinstance(app.focused, RecCard) and app.focused.rec.title == "Toy Story"
        await pilot.press("tab")
        assert app.focused.rec.title == "Jumanji"
        await pilot.press("tab")
        assert app.focused is prompt                      # never the older list
        await pilot.press("shift+tab")
        assert app.focused.rec.title == "Jumanji"
        await pilot.press("escape")
        assert app.focused is prompt
        old = [c for c in app.query(RecCard) if c not in app.cards]
        assert [c.rec.title for c in old] == [t for _, t, *_ in GUMP[1]]
        assert not any(c.focusable for c in old)


@pytest.mark.asyncio
async def test_more_on_a_card_moves_the_focus_to_the_new_list():
    app = RecbotApp(FakeBackend([GUMP, MORE]))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        app.cards[0].focus()
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.focused is app.cards[0] and app.focused.rec.title == "Toy Story"


@pytest.mark.asyncio
async def test_typing_a_word_on_a_card_goes_to_the_prompt_not_to_the_card_keys():
    app = RecbotApp(FakeBackend([GUMP]))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        app.cards[0].focus()
        await pilot.press(*"older")             # 'l' and 'd' would like and dislike the card
        await pilot.pause()
        assert app.query_one("#prompt").value == "older"
        app.query_one("#prompt").value = ""
        app.cards[0].focus()
        await pilot.pause()
        app.typed_at = 0.0                      # a burst: every key before the focus moves
        for key in "older":
            app.cards[0].post_message(events.Key(key, key))
        await pilot.pause()
        prompt = app.query_one("#prompt")
        assert app.focused is prompt and prompt.value == "older"
        assert not any(c.mark for c in app.cards), [c.mark for c in app.cards]


@pytest.mark.asyncio
async def test_tab_without_cards_still_moves_the_focus():
    app = RecbotApp(FakeBackend([]))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("tab")
        assert app.focused is not app.query_one("#prompt")


# ----- 3. the log file takes what libraries write -----------------------------------------

@pytest.mark.asyncio
async def test_fd2_warnings_and_library_logs_go_to_the_log_file(log_dir, capfd):
    app = RecbotApp(FakeBackend([RuntimeError("the ranker exploded")]))
    before = sys.__stderr__
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        os.write(2, b"OpenBLAS warning: precompiled NUM_THREADS exceeded (test)\n")
        warnings.warn("a library deprecation (test)", UserWarning, stacklevel=1)
        logging.getLogger("somelib").warning("somelib is unhappy (test)")
        await send(pilot, "something like Heat")
        toast = [n.message for n in app._notifications][-1]
    assert app.log_path == log_dir / "recbot.log"
    assert "the ranker exploded" in toast and f"(details in {app.log_path})" in toast
    text = (log_dir / "recbot.log").read_text()
    assert "OpenBLAS warning: precompiled NUM_THREADS exceeded (test)" in text
    assert "a library deprecation (test)" in text and "somelib is unhappy (test)" in text
    assert "Traceback" in text and "RuntimeError: the ranker exploded" in text
    os.write(2, b"after the app\n")
    err = capfd.readouterr().err
    assert "OpenBLAS" not in err and "after the app" in err          # fd 2 is back
    assert sys.__stderr__ is before
    assert not [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "")
                == str(log_dir / "recbot.log")]                      # the app's handler left


def test_log_paths_setup_and_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RECBOT_LOG_DIR", str(tmp_path / "logs"))
    assert logs.log_file() == tmp_path / "logs" / "recbot.log"
    assert logs.short_path(logs.log_file()) == "~/logs/recbot.log"
    root = logging.getLogger()
    level = root.level
    try:
        assert logs.setup(verbose=True) == logs.log_file()
        logs.setup()                                     # again: replaces, never doubles
        ours = [h for h in root.handlers if getattr(h, "_recbot_handler", None)]
        assert sorted(h._recbot_handler for h in ours) == ["console", "file"]
        logging.getLogger("x").info("hello log")
        for h in ours:
            h.flush()
        assert "hello log" in logs.log_file().read_text()
    finally:
        logs.reset()
        root.setLevel(level)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("RECBOT_LOG_DIR", str(tmp_path / "file" / "logs"))
    with pytest.raises(logs.LogFileError) as err:
        logs.setup()
    assert str(err.value).startswith(f"cannot write the log file {tmp_path}/file/logs/recbot.log (")
    assert str(err.value).endswith("set RECBOT_LOG_DIR to a writable directory")


PTY_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    from tests.fakes import FakeBackend
    from recbot.tui.app import RecbotApp

    class App(RecbotApp):
        def on_mount(self):
            super().on_mount()
            self.set_timer(1.0, self.noise)
        def noise(self):
            os.write(2, b"OpenBLAS warning: precompiled NUM_THREADS exceeded\\n")
            self.set_timer(0.5, self.exit)

    App(FakeBackend([])).run()
    os.write(2, b"fd2 restored\\n")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_in_a_real_terminal_the_ui_draws_and_the_warning_does_not(tmp_path, log_dir):
    import pty
    import select

    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "RECBOT_LOG_DIR": str(log_dir), "TERM": "xterm-256color",
           "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen([sys.executable, "-c", PTY_SCRIPT.format(repo=str(REPO))],
                            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
                            close_fds=True)
    os.close(slave)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:       # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        rc = proc.wait(timeout=60)
        os.close(master)
    screen = out.decode("utf-8", "replace")
    assert rc == 0, screen[-2000:]
    assert "Tell me a film" in screen                    # Textual drew on the terminal
    assert "OpenBLAS" not in screen                      # the library's warning did not
    assert "fd2 restored" in screen
    assert "OpenBLAS warning: precompiled NUM_THREADS exceeded" in \
        (log_dir / "recbot.log").read_text()


# ----- 4. /export in the chat -------------------------------------------------------------

@pytest.mark.asyncio
async def test_export_in_the_chat_writes_the_shown_titles(data_dir, tmp_path):
    backend = ChatService(Settings.load(data_dir=data_dir), "none")
    app = RecbotApp(backend)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        shown = [c.rec for c in app.cards]
        app.cards[0].focus()
        await pilot.press("l")
        await pilot.press("escape")
        await send(pilot, f"/export {tmp_path / 'recs.json'}")
        await app.workers.wait_for_complete()
        await pilot.pause()
        note = texts(app, "ChatMessage.note")[-1]
        assert note == f"Exported {len(shown)} films and your profile to {tmp_path / 'recs.json'}."
        data = json.loads((tmp_path / "recs.json").read_text())
        assert data["session"] == backend.session and data["ask"] == "something like Forrest Gump"
        assert [(r["rank"], r["movie_id"], r["title"], r["year"], r["reason"])
                for r in data["recommendations"]] == \
            [(i, r.movie_id, r.title, r.year, r.explanation) for i, r in enumerate(shown, 1)]
        assert shown[0].movie_id in [m["movie_id"] for m in data["profile"]["likes"]]
        await send(pilot, f"/export '{tmp_path / 'my recs.csv'}'")
        await app.workers.wait_for_complete()
        with (tmp_path / "my recs.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["title"] for r in rows if r["section"] == "recommendation"] == \
            [r.title for r in shown]
        await send(pilot, "/export /nonexistent/dir/recs.json")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not Path("/nonexistent/dir/recs.json").exists()
        toast = [n for n in app._notifications][-1]
        assert toast.title == "Nothing exported" and "/nonexistent/dir" in toast.message
