"""The chat app driven by Textual's Pilot with a scripted backend."""

from __future__ import annotations

import pytest

from tests.fakes import FakeBackend
from recbot.tui.app import HelpScreen, PrepareScreen, RecbotApp, RecCard

GUMP = ("Here are 3 films for people who loved Forrest Gump (1994):", [
    (150, "Apollo 13", 1995, ["Adventure", "Drama"], "34% of Forrest Gump fans rated it 4+."),
    (318, "The Shawshank Redemption", 1994, ["Crime", "Drama"], "67% of fans rated it 4+."),
    (527, "Schindler's List", 1993, ["Drama", "War"], "43% of fans rated it 4+."),
])
MORE = ("Here are 2 films for people who loved Apollo 13 (1995):", [
    (1, "Toy Story", 1995, ["Animation"], "Fans of Apollo 13 rated it 4+."),
    (2, "Jumanji", 1995, ["Adventure"], "Fans of Apollo 13 rated it 4+."),
])


async def send(pilot, text: str) -> None:
    app = pilot.app
    app.query_one("#prompt").value = text
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.smoke
@pytest.mark.asyncio
async def test_send_stream_cards_and_card_keys():
    backend = FakeBackend([GUMP, MORE])
    app = RecbotApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        cards = list(app.query(RecCard))
        assert [c.rec.title for c in cards] == ["Apollo 13", "The Shawshank Redemption",
                                                "Schindler's List"]
        assert cards[0].reason == "34% of Forrest Gump fans rated it 4+."   # streamed in full
        assert "loved Forrest Gump" in str(app.query("ChatMessage.bot").last().render())
        # keys on the focused card
        cards[1].focus()
        await pilot.press("s")
        await pilot.press("l")
        await pilot.press("w")
        await pilot.pause()
        assert backend.feedback_given == [(318, "seen"), (318, "like")]
        assert cards[1].expanded and "evidence" in str(cards[1].render())
        assert "liked" in cards[1].mark
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert backend.asked[-1] == 'more like "The Shawshank Redemption (1994)"'
        assert [c.rec.title for c in app.cards] == ["Toy Story", "Jumanji"]


@pytest.mark.asyncio
async def test_slash_commands_and_history():
    backend = FakeBackend([GUMP])
    app = RecbotApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Forrest Gump")
        await send(pilot, "/seen 2")
        await send(pilot, "/why 3")
        assert backend.feedback_given == [(318, "seen")]
        assert backend.asked[-1] == "why #3"
        await send(pilot, "/profile")
        assert "318" in str(app.query("ChatMessage.note").last().render())
        prompt = app.query_one("#prompt")
        await pilot.press("up")
        assert prompt.value == "/profile"
        await pilot.press("up", "up")
        assert prompt.value == "/seen 2"
        await pilot.press("down", "down", "down")
        assert prompt.value == ""
        await send(pilot, "/reset")
        assert backend.session == "s-new" and "s-new" in str(app.query_one("#status").render())
        await send(pilot, "/ingest /videos/a.mp4 /videos/b")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert backend.ingested == ["/videos/a.mp4", "/videos/b"]
        assert "Ingested 2 file(s)" in str(app.query("ChatMessage.note").last().render())
        await send(pilot, "/theme")
        assert app.theme == "textual-light"
        await send(pilot, "/help")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.smoke
@pytest.mark.asyncio
async def test_failure_shows_a_toast_and_restores_the_prompt():
    backend = FakeBackend([RuntimeError("the ranker exploded")])
    app = RecbotApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await send(pilot, "something like Heat")
        assert app.query_one("#prompt").value == "something like Heat"
        assert any("ranker exploded" in n.message for n in app._notifications)
        assert not app.query(RecCard)


@pytest.mark.asyncio
async def test_first_run_shows_preparation_then_the_chat():
    backend = FakeBackend([GUMP], pending=["catalog index", "MF model"])
    app = RecbotApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("catalog index", 3, 3) in backend.prepared
        assert not isinstance(app.screen, PrepareScreen)
        assert "9,742 films" in str(app.query_one("#status").render())
        await send(pilot, "something like Forrest Gump")
        assert len(app.cards) == 3
