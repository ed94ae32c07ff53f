"""The chat with the real agent (no LLM) on the bundled data, through Textual's Pilot."""

from __future__ import annotations

import pytest

from recbot.agent.settings import Settings
from recbot.tui.app import RecbotApp
from recbot.agent.service import ChatService


@pytest.mark.asyncio
async def test_something_like_forrest_gump_shows_real_recommendations(indexed_data_dir):
    backend = ChatService(Settings.load(data_dir=indexed_data_dir), "none")
    app = RecbotApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        assert backend.pending_steps() == []          # the first run already prepared it all
        status = str(app.query_one("#status").render())
        assert "no LLM" in status and "9,742 films" in status
        app.query_one("#prompt").value = "something like Forrest Gump"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        cards = list(app.cards)      # the newest list (a resumed session may show older ones)
        assert len(cards) == 5
        assert all(c.rec.movie_id != 356 for c in cards)        # never the seed itself
        assert any("Forrest Gump" in f.text for c in cards for f in c.rec.evidence
                   if f.kind == "co_rating")
        first = cards[0]
        first.focus()
        await pilot.press("s")                                  # seen it
        await pilot.press("escape")                             # back to the prompt
        app.query_one("#prompt").value = "more like that"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        replies = [str(m.render()) for m in app.query("ChatMessage.bot")]
        assert first.rec.movie_id not in [c.rec.movie_id for c in app.cards], replies
        assert backend.agent.memory.load(backend.session).feedback[first.rec.movie_id] == "seen"


@pytest.mark.asyncio
async def test_import_in_the_chat_then_profile_chart_and_card_details(indexed_data_dir, tmp_path):
    import shutil

    from tests.agent.test_import import horror, write_letterboxd

    data = shutil.copytree(indexed_data_dir, tmp_path / "data")
    backend = ChatService(Settings.load(data_dir=data), "none")
    app = RecbotApp(backend)
    export = write_letterboxd(tmp_path / "ratings.csv", horror(backend.agent.catalog))
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        app.query_one("#prompt").value = f"/import {export}"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        note = str(app.query("ChatMessage.note").last().render())
        assert "Imported 46 of 50 ratings from Letterboxd" in note and "Not in the catalog" in note
        app.query_one("#prompt").value = "/profile"
        await pilot.press("enter")
        await pilot.pause()
        note = str(app.query("ChatMessage.note").last().render())
        assert "Your taste" in note and "Horror" in note and "█" in note
        app.query_one("#prompt").value = "something like Heat"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        card = app.cards[0]         # the latest answer (a resumed session may show older cards)
        text = str(card.render())
        assert "MovieLens" in text and str(card.rec.year) in text      # card details
        card.focus()
        await pilot.press("w")                                          # the evidence view
        text = str(card.render())
        assert "evidence:" in text and "(MovieLens ratings)" in text and "█" in text
        before = backend.agent.memory.profile()
        assert {m.movie_id for m in horror(backend.agent.catalog)} <= set(before)
        app.query_one("#prompt").focus()
        app.query_one("#prompt").value = "/import /nonexistent/ratings.csv"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert backend.agent.memory.profile() == before                 # nothing changed
