"""The user's own videos by how they sound and look (issue 34, items 2-4): three clips made
here (two fast, bright and loud with a new shot every second, one long dark quiet shot, all
with the same narration) ingested by the real Ingester (real descriptors, real Chroma);
"more like Harbour Lights", "something fast-paced and loud" and "a calm, dark one" asked of
the real agent; re-ingest of an unchanged file does nothing, a changed one replaces its
descriptors with its windows."""

from __future__ import annotations

import pytest

from recbot.agent.chat import Agent
from recbot.agent.memory import Memory
from recbot.agent.settings import Settings
from recbot.agent.workspace import Data, Index, Workspace
from recbot.retrieval.ingest import Ingester
from recbot.retrieval.ledger import USER_ITEM_BASE, Ledger
from recbot.retrieval.search import Searcher
from recbot.retrieval.store import VectorStore, open_client
from tests.fakes import FakeTranscriber, HashEmbedder
from tests.media import write_clip

NARRATION = [(1.0, 6.0, "This is our summer by the sea."),
             (6.0, 11.0, "We walked along the harbour every evening and watched the boats.")]
CLIPS = {
    "Harbour Lights.mp4": dict(shot=1.0, brightness=0.75, motion=0.4, sound="rhythm",
                               level_db=-12, seed=1),
    "City Rush.mp4": dict(shot=1.0, brightness=0.7, motion=0.4, sound="rhythm", bpm=128,
                          level_db=-13, seed=2),
    "Night Lake.mp4": dict(shot=None, brightness=0.15, colour=0.2, motion=0.01, sound="tone",
                           level_db=-36, seed=3),
}


class Counting:
    """The real describer, counting its calls."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, path):
        from recbot.retrieval.descriptors import describe

        self.calls.append(path.name)
        return describe(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("own-videos")
    settings = Settings(data_dir=root)
    data = Data(settings)
    store = VectorStore(open_client(path=root / "chroma"), "hash-64")
    ledger = Ledger(settings.ledger_path)
    media = root / "videos"
    media.mkdir()
    for name, kw in CLIPS.items():
        write_clip(media / name, seconds=12, **kw)
    describer = Counting()
    ingester = Ingester(store, ledger, FakeTranscriber(dict.fromkeys(CLIPS, NARRATION)),
                        HashEmbedder(), data.catalog, describer=describer)
    report = ingester.ingest([str(media)])
    assert len(report.ingested) == 3 and not report.failed
    data.forget_catalog()
    index = Index(settings, data, store=store,
                  searcher=Searcher(store, HashEmbedder(), data.catalog, ledger.current_sources))
    ws = Workspace(settings, data=data, index=index)
    return ws, ingester, describer, media


@pytest.fixture
def ask(world, tmp_path):
    ws = world[0]
    memory = Memory(tmp_path / "sessions.sqlite")
    agent = Agent(ws, None, memory)
    yield lambda text, **kw: agent.ask(text, k=5, **kw)
    memory.close()


def _titles(answer) -> list[str]:
    return [r.title for r in answer.recommendations]


def test_more_like_my_video_puts_the_one_that_looks_and_sounds_alike_first(ask):
    answer = ask("more like Harbour Lights")
    titles = _titles(answer)
    assert titles[0] == "City Rush", titles
    assert len(titles) == 5 and "Harbour Lights" not in titles
    first = answer.recommendations[0]
    assert first.movie_id >= USER_ITEM_BASE
    # the explanation cites the descriptors, compared
    assert "a cut every 1." in first.explanation.lower(), first.explanation
    assert "Harbour Lights every 1." in first.explanation, first.explanation
    assert "bright" in first.explanation and "loud" in first.explanation
    assert "Few people in the ratings" not in answer.reply      # no "thin data" note for it
    # the card shows what it sounds and looks like
    from recbot.agent.explain.cards import card_line

    line = card_line(first.info)
    assert "your video" in line and "a cut every 1." in line and "bright" in line, line
    # Night Lake shares only the narration: after City Rush, if at all, and said so
    if "Night Lake" in titles:
        lake = answer.recommendations[titles.index("Night Lake")]
        assert "said" in lake.explanation, lake.explanation


@pytest.mark.parametrize("text, first, reason", [
    ("something fast-paced and loud", {"Harbour Lights", "City Rush"}, "as you asked"),
    ("a calm, dark one", {"Night Lake"}, "dark"),
    ("algo tranquilo y oscuro", {"Night Lake"}, "oscuro"),
    ("我想看节奏快的", {"Harbour Lights", "City Rush"}, "剪辑"),
])
def test_asks_of_how_it_looks_and_sounds_rank_own_videos_first(ask, text, first, reason):
    answer = ask(text)
    titles = _titles(answer)
    assert titles[0] in first, titles
    assert len(titles) == 5                 # catalog films follow: never a short list
    assert reason in answer.recommendations[0].explanation, answer.recommendations[0].explanation
    if len(first) == 2:
        assert set(titles[:2]) == first, titles
    else:
        assert "Harbour Lights" not in titles[:1] and "City Rush" not in titles[:1]


def test_with_no_own_videos_a_feel_ask_answers_from_the_catalog(make_agent):
    answer = make_agent().ask("something fast-paced and loud", k=5)
    assert len(answer.recommendations) == 5
    assert all(r.movie_id < USER_ITEM_BASE for r in answer.recommendations)


def test_why_the_first_one_cites_its_sound_and_picture(ask):
    first = ask("a calm, dark one")
    why = ask("why the first one?", session=first.session)
    assert "Night Lake" in why.reply and "among your videos by how they sound and look" \
        in why.reply, why.reply


def test_reingest_unchanged_does_nothing_and_a_changed_file_replaces_its_descriptors(world):
    ws, ingester, describer, media = world
    before = dict(ws.data.ledger.features())
    calls = len(describer.calls)
    report = ingester.ingest([str(media)])
    assert len(report.unchanged) == 3 and not report.ingested
    assert len(describer.calls) == calls                 # nothing read again
    assert ws.data.ledger.features() == before
    # Night Lake is re-cut: bright now, a new shot every second
    write_clip(media / "Night Lake.mp4", seconds=12, shot=1.0, brightness=0.8, sound="rhythm",
               level_db=-12, seed=9)
    report = ingester.ingest([str(media)])
    assert [e["title"] for e in report.ingested] == ["Night Lake"]
    assert report.ingested[0]["sound_picture"]["cuts"] == 11
    ws.data.forget_catalog()
    lake = next(v for v in ws.data.videos.values() if v.path.endswith("Night Lake.mp4"))
    assert lake.descriptors.words()["light"] == "bright"
    source = lake.path
    live = ws.data.ledger.current_sources()[source]
    windows = ws.index.store.get_metadata("transcripts", where={"source": source})
    assert windows and all(m["content_hash"] == live for m in windows.values())
