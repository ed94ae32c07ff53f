"""Snapshots of the chat's main states at 80x24 (pytest-textual-snapshot).

Update after an intended change of the look with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and review the SVGs in ``__snapshots__``."""

from __future__ import annotations

from tests.fakes import FakeBackend
from tests.tui.test_app import GUMP
from recbot.tui.app import RecbotApp, RecCard


def app_with(answers) -> RecbotApp:
    return RecbotApp(FakeBackend(answers))


async def ask(pilot, text: str = "something like Forrest Gump") -> None:
    await pilot.app.workers.wait_for_complete()
    pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_empty_chat(snap_compare):
    async def ready(pilot):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    assert snap_compare(app_with([]), terminal_size=(80, 24), run_before=ready)


def test_answer_with_cards(snap_compare):
    assert snap_compare(app_with([GUMP]), terminal_size=(80, 24), run_before=ask)


def test_expanded_why(snap_compare):
    async def why(pilot):
        await ask(pilot)
        card = pilot.app.query(RecCard).first()
        card.focus()
        await pilot.press("w")
        await pilot.pause()
    assert snap_compare(app_with([GUMP]), terminal_size=(80, 24), run_before=why)


def test_error_toast_and_restored_prompt(snap_compare, tmp_path, monkeypatch):
    # the toast names the log file: under a fake home, so it reads the same on every run
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RECBOT_LOG_DIR", str(tmp_path / ".local/state/recbot/log"))

    async def fail(pilot):
        await ask(pilot, "something like Heat")
    assert snap_compare(app_with([RuntimeError("the catalog index is locked by another "
                                               "recbot; close it and retry")]),
                        terminal_size=(80, 24), run_before=fail)


def test_answer_with_cards_light_theme(snap_compare):
    async def light(pilot):
        await ask(pilot)
        await pilot.press("f2")
        await pilot.pause()
    assert snap_compare(app_with([GUMP]), terminal_size=(80, 24), run_before=light)
