"""What the user's own videos say, found by asks in Chinese and Spanish (issue 33, item 1:
the multilingual embedder for the catalog and transcripts): the windows of each live
ingest are embedded with USE beside the catalog, kept in transcripts-multilingual.npz,
and searched with their passage and timestamp as evidence."""

from __future__ import annotations

import shutil

import pytest

from recbot.agent.chat import Agent
from recbot.agent.memory import Memory
from recbot.agent.settings import Settings
from recbot.agent.workspace import Data, Index, Workspace
from recbot.retrieval.ingest import Ingester
from recbot.retrieval.ledger import Ledger
from recbot.retrieval.search import Searcher
from recbot.retrieval.store import VectorStore, open_client
from tests.agent.conftest import TRANSCRIPTS
from tests.fakes import FakeTranscriber, HashEmbedder

APOLLO = 150


@pytest.fixture(scope="module")
def world(workspace, tmp_path_factory):
    """A data dir of its own with the two ingests of the agent tests, the multilingual
    catalog vectors copied from the shared workspace (same catalog: not embedded again)."""
    shared = workspace.index
    if not shared.multilingual_is_current():
        shared.build_multilingual()
    root = tmp_path_factory.mktemp("spoken-world")
    settings = Settings(data_dir=root)
    data = Data(settings)
    store = VectorStore(open_client(path=root / "chroma"), "hash-64")
    ledger = Ledger(settings.ledger_path)
    media = root / "videos"
    media.mkdir()
    for name, item in (("matrix.wav", 2571), ("apollo.wav", APOLLO)):
        (media / name).write_bytes(b"fake media " + name.encode())
        Ingester(store, ledger, FakeTranscriber(TRANSCRIPTS), HashEmbedder(),
                 data.catalog).ingest([str(media / name)], item_id=item)
    index = Index(settings, data, store=store,
                  searcher=Searcher(store, HashEmbedder(), data.catalog, ledger.current_sources))
    index.multilingual_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared.multilingual_path, index.multilingual_path)
    ws = Workspace(settings, data=data, index=index)
    return ws, ledger, media


def test_spanish_and_chinese_asks_find_what_a_video_says(world, tmp_path):
    ws, ledger, _ = world
    index = ws.index
    windows = sum(r.windows for r in ledger.records())
    assert windows >= 3
    assert not index.multilingual_is_current()       # the videos are not embedded yet
    assert index.build_multilingual() == windows     # their windows, not the catalog
    assert index.multilingual_is_current()
    for ask, lang in (("la tripulación fabrica un filtro de dióxido de carbono con cinta "
                       "adhesiva", "es"), ("宇航员用胶带做了一个二氧化碳过滤器", "zh")):
        hits = index.search(ask, k=5, lang=lang)
        assert hits and hits[0].movie_id == APOLLO, [h.title for h in hits]
        spoken = [e for e in hits[0].evidence if e.kind == "transcript"]
        assert spoken and spoken[0].start == 42.0 and "duct tape" in spoken[0].text
    memory = Memory(tmp_path / "sessions.sqlite")
    answer = Agent(ws, None, memory).ask("la película en la que fabrican un filtro de dióxido "
                                         "de carbono con cinta adhesiva", k=5)
    first = answer.recommendations[0]
    assert first.movie_id == APOLLO, [r.title for r in answer.recommendations]
    assert "0:42" in first.explanation and "Sus diálogos coinciden" in first.explanation
    memory.close()


def test_a_new_ingest_is_embedded_alone_and_a_torn_file_rebuilt(world):
    ws, ledger, media = world
    index = ws.index
    index.build_multilingual()
    scripts = {**TRANSCRIPTS, "heist.wav": [(0.0, 5.0, "The crew drills into the vault.")]}
    (media / "heist.wav").write_bytes(b"fake media heist")
    Ingester(index.store, ledger, FakeTranscriber(scripts), HashEmbedder(),
             ws.data.catalog).ingest([str(media / "heist.wav")], item_id=2571)
    assert not index.multilingual_is_current()
    assert index.build_multilingual() == 1            # only the new video's window
    path = index.multilingual_spoken_path
    path.write_bytes(path.read_bytes()[:100])
    assert not index.multilingual_is_current()
    windows = sum(r.windows for r in ledger.records())
    assert index.build_multilingual() == windows      # all windows again, nothing crashes
    assert index.multilingual_is_current()


def test_an_ingest_whose_windows_are_gone_is_not_embedded_at_every_ask(world):
    ws, ledger, _ = world
    index = ws.index
    index.build_multilingual()
    ws.index.store.delete("transcripts", list(ws.index.store.get_metadata("transcripts")))
    index.multilingual_spoken_path.unlink()
    assert index.build_multilingual() == 0            # nothing to read: noted, not retried
    assert index.multilingual_is_current()
