"""No escape sequence from the data reaches the chat's screen: titles, reasons, replies
and toasts are shown as plain text (issue "Hardening against faulty and hostile data")."""

from __future__ import annotations

import pytest

from recbot.tui.app import RecbotApp, RecCard
from tests.fakes import FakeBackend

ESC = "\x1b"
HOSTILE = (f"Here are 2 films{ESC}]52;c;aGFja2Vk\x07 for you{ESC}[2J:", [
    (1, f"Toy{ESC}[31m Story", 1995, ["Animation"], f"Fans rated it 4+.{ESC}[2J\u009b2J"),
    (2, "Jumanji", 1995, ["Adventure"], f"{ESC}]0;pwned\x07A board game comes alive."),
])


async def send(pilot, text: str) -> None:
    pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.asyncio
async def test_replies_cards_and_reasons_show_no_escapes():
    app = RecbotApp(FakeBackend([HOSTILE]))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "anything")
        cards = list(app.query(RecCard))
        assert len(cards) == 2
        shown = [str(w.render()) for w in (*app.query("ChatMessage"), *cards)]
        text = "\n".join(shown)
        assert "Toy Story" in text and "A board game comes alive." in text
        assert ESC not in text and "\x07" not in text and "\u009b" not in text


@pytest.mark.asyncio
async def test_a_toast_quoting_data_shows_no_escapes():
    app = RecbotApp(FakeBackend([HOSTILE]))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        app.notify(f"cannot read {ESC}]52;c;x\x07file.csv", markup=False)
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("file.csv" in m for m in messages)
        assert not any(ESC in m or "\x07" in m for m in messages)


def test_a_warning_on_the_terminal_shows_no_escapes(tmp_path, monkeypatch, capsys):
    import logging

    from recbot.tui import logs

    monkeypatch.setenv("RECBOT_LOG_DIR", str(tmp_path))
    try:
        logs.setup(console=True)
        logging.getLogger("recbot.test").warning("cannot read %s", f"{ESC}]52;c;x\x07a.csv")
        err = capsys.readouterr().err
    finally:
        logs.reset()
    assert "cannot read" in err and "a.csv" in err and ESC not in err and "\x07" not in err
