"""The index check notices the user's plot text (`recbot data enrich`): a real Chroma store
and a hashed-word embedder over a small MovieLens dataset, one fresh workspace per "start"."""

from __future__ import annotations

import pytest

from recbot.agent.settings import Settings
from recbot.agent.workspace import Data, Index, enrich_plots
from recbot.retrieval.store import VectorStore, open_client
from tests.fakes import HashEmbedder

MOVIES = ("movieId,title,genres\n"
          "1,Toy Story (1995),Animation|Children\n"
          "2,Jumanji (1995),Adventure\n"
          "3,Grumpier Old Men (1995),Comedy\n"
          "4,Heat (1995),Action|Crime\n")
LINKS = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,8844\n3,0113228,15602\n4,0113277,949\n"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    # no real seekers' contexts: their vectors are another check, not this one's
    monkeypatch.setenv("RECBOT_CONTEXTS", str(tmp_path / "no-contexts.jsonl.gz"))
    dataset = tmp_path / "ml"
    dataset.mkdir()
    (dataset / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (dataset / "links.csv").write_text(LINKS, encoding="utf-8")
    (dataset / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,5.0,0\n"
                                         "1,2,4.0,0\n2,3,3.0,0\n2,4,5.0,0\n", encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", dataset=str(dataset))


def _start(settings) -> Index:
    """What a new process has: fresh parts over the same data dir."""
    store = VectorStore(open_client(path=settings.chroma_dir), "hash-64",
                        settings.data_dir / "chroma-generation")
    return Index(settings, Data(settings), embedder=HashEmbedder(), store=store)


def test_new_plot_text_makes_the_index_stale_and_a_build_embeds_only_those_films(
        settings, tmp_path):
    report = _start(settings).build_index()
    assert (report.added, report.updated) == (4, 0)
    assert _start(settings).index_is_current()          # the note

    source = tmp_path / "plots.csv"
    source.write_text("imdbId,plot\ntt0114709,A cowboy doll feels replaced.\n"
                      "tt0113277,A thief and a detective circle each other.\n", encoding="utf-8")
    assert enrich_plots(settings, source).stored == 2
    index = _start(settings)
    # the films and their ids are the same: only the plot text tells the index is stale
    assert index.data.catalog.id_digest() and len(index.data.catalog) == 4
    assert not index.index_is_current()
    report = index.build_index()
    assert (report.added, report.updated, report.unchanged) == (0, 2, 2)
    assert _start(settings).index_is_current()
    hits = _start(settings).search("a thief and a detective", k=1)
    assert hits[0].movie_id == 4


def test_an_index_from_before_the_texts_record_gets_one_incremental_build(settings):
    index = _start(settings)
    index.build_index()
    index.texts_record.unlink()                          # as an index built before this
    again = _start(settings)
    assert not again.index_is_current()
    report = again.build_index()                         # nothing changed: nothing embedded
    assert report.embedded == 0 and _start(settings).index_is_current()
