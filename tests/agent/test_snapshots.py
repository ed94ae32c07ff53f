"""What a scripted turn reads ready-made: the catalog snapshot (JSON), the ratings fingerprint, the
index note and the catalog's vector mirror. Real data dir (bundled data, real Chroma and
MiniLM, real implicit); each cache must give what the full path gives and step aside as
soon as its sources change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recbot.agent.settings import Settings
from recbot.agent.workspace import Workspace
from recbot.retrieval.mirror import CatalogMirror
from recbot.retrieval.store import read_generation
from recbot.retrieval.search import SearchFilters
from recbot.retrieval.store import CATALOG


@pytest.fixture(scope="module")
def data_dir(indexed_data_dir, tmp_path_factory):
    """A private copy: these tests write snapshots and one of them writes to the store."""
    copy = tmp_path_factory.mktemp("snap") / "data"
    shutil.copytree(indexed_data_dir, copy)
    return copy


def _ws(data_dir) -> Workspace:
    return Workspace(Settings.load(data_dir=data_dir))


def test_the_catalog_snapshot_is_the_catalog_and_holds_its_title_index(data_dir):
    first = _ws(data_dir)
    built = first.base_catalog
    snaps = list((data_dir / "models" / "builtin").glob("catalog-*.json"))
    assert len(snaps) == 1
    loaded = _ws(data_dir).base_catalog
    assert [m for m in loaded] == [m for m in built]
    assert loaded.popularity == built.popularity
    assert "titles" in loaded.__dict__            # no title index rebuilt per turn
    assert loaded.titles.resolve("forest gump").best.movie_id == 356


def test_a_torn_catalog_snapshot_is_rebuilt_not_trusted(data_dir):
    _ = _ws(data_dir).base_catalog
    (snap,) = (data_dir / "models" / "builtin").glob("catalog-*.json")
    snap.write_bytes(snap.read_bytes()[:1000])
    catalog = _ws(data_dir).base_catalog
    assert len(catalog) > 9000 and catalog[356].title == "Forrest Gump"
    assert snap.stat().st_size > 1000                 # written again, whole


def test_the_trained_model_loads_without_parsing_ratings_csv(data_dir, monkeypatch):
    expected = _ws(data_dir).ranker("als")           # notes the ratings fingerprint
    from recbot.ranking import interactions

    def refuse(*a, **k):
        raise AssertionError("ratings.csv was parsed")

    monkeypatch.setattr(interactions, "read_ratings", refuse)
    ws = _ws(data_dir)
    ranker = ws.ranker("als")
    assert ws.interactions.fingerprint() == expected.interactions.fingerprint()
    np.testing.assert_array_equal(ranker.model.item_factors, expected.model.item_factors)


def test_a_changed_ratings_file_is_read_again(tmp_path):
    from recbot.retrieval.catalog import BUNDLED_DATASET_DIR

    dataset = tmp_path / "mine"
    shutil.copytree(BUNDLED_DATASET_DIR, dataset)
    settings = Settings.load(data_dir=tmp_path / "data", dataset=str(dataset))
    before = Workspace(settings).ranker("als").interactions
    with (dataset / "ratings.csv").open("a") as fh:
        fh.write("999999,1,5.0,0\n")               # a new user who loved Toy Story
    ws = Workspace(settings)
    after = ws.ranker("als").interactions
    assert after.fingerprint() != before.fingerprint()
    assert 999999 in after.user_index() and 999999 not in before.user_index()


def test_the_mirror_is_an_exact_search_of_the_store(data_dir):
    ws = _ws(data_dir)
    assert ws.index_is_current()
    mirror = CatalogMirror.load(ws._mirror_path, ws.embedder.name,
                                read_generation(ws._generation_path))
    assert mirror is not None and len(mirror) == len(ws.catalog)
    ids, vectors, metas = ws.store.get_vectors(CATALOG)      # what Chroma holds
    vec = ws.embedder.embed(["a heist that goes wrong"])[0]
    for filters in (SearchFilters(), SearchFilters(genres=("Comedy",), year_min=1990),
                    SearchFilters(year_max=1960)):
        where = filters.where(CATALOG)
        got = mirror.query(CATALOG, vec, 20, where)
        keep = [j for j, m in enumerate(metas) if _fits(m, filters)]
        # the exact scores, in float64: the mirror's list must be the 20 best of them, best
        # first. Identical documents score the same up to float32 rounding (~1e-7), which
        # differs between BLAS kernels, so their order among themselves is not asserted.
        exact = dict(zip([ids[j] for j in keep],
                         vectors[keep].astype(np.float64) @ vec.astype(np.float64)))
        got_ids = [i for i, *_ in got]
        assert len(got_ids) == len(set(got_ids)) == 20 and set(got_ids) <= set(exact)
        np.testing.assert_allclose([exact[i] for i in got_ids],
                                   sorted(exact.values(), reverse=True)[:20], atol=1e-6)
        np.testing.assert_allclose([s for _, s, *_ in got], [exact[i] for i in got_ids],
                                   atol=1e-6)
        chroma = ws.store.query(CATALOG, vec, 20, where)
        # Chroma's HNSW is approximate (and the catalog holds many identical documents,
        # which its graph handles badly): never better than the exact answer
        assert got[0][1] >= chroma[0][1] - 1e-5
        if filters.year_max == 1960:   # a small filtered set: Chroma finds the same best
            assert chroma[0][0] == got[0][0]


def _fits(meta: dict, filters: SearchFilters) -> bool:
    if any(not meta.get(f"genre:{g}") for g in filters.genres):
        return False
    year = meta.get("year")
    if filters.year_min is not None and (year is None or year < filters.year_min):
        return False
    return filters.year_max is None or (year is not None and year <= filters.year_max)


def _uses_mirror(ws) -> bool:
    store = ws.searcher.store
    return isinstance(getattr(store, "mirror", store), CatalogMirror)


def test_a_write_to_the_store_retires_the_mirror_and_a_check_renews_it(data_dir):
    ws = _ws(data_dir)
    assert ws.index_is_current()
    stamp = read_generation(ws._generation_path)
    assert CatalogMirror.load(ws._mirror_path, ws.embedder.name, stamp) is not None
    ws.store.upsert(CATALOG, ["movie-1"], ws.embedder.embed(["changed"]), None,
                    [{"movie_id": 1, "year": 1995}])
    assert read_generation(ws._generation_path) != stamp
    fresh = _ws(data_dir)
    assert CatalogMirror.load(fresh._mirror_path, fresh.embedder.name,
                              read_generation(fresh._generation_path)) is None
    assert not _uses_mirror(fresh)                                   # Chroma again
    again = _ws(data_dir)
    assert again.index_is_current()                  # the full check, then a new copy
    assert _uses_mirror(again)


def test_a_torn_mirror_is_not_used_and_opening_chroma_does_not_retire_it(data_dir):
    ws = _ws(data_dir)
    assert ws.index_is_current()
    ws.store.count(CATALOG)                          # opening and reading Chroma
    assert _uses_mirror(_ws(data_dir))
    ws._mirror_path.write_bytes(ws._mirror_path.read_bytes()[:5000])
    torn = _ws(data_dir)
    assert not _uses_mirror(torn)
    assert torn.searcher.search("a heist that goes wrong", k=3)


def test_a_scripted_turn_imports_neither_chromadb_nor_pandas(indexed_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(indexed_data_dir, data)
    env = {**os.environ, "RECBOT_DATA_DIR": str(data)}
    code = textwrap.dedent("""
        import sys
        from recbot.tui.cli import main
        assert main(["ask", sys.argv[1], "--llm", "none"]) == 0
        print("MODULES", "chromadb" in sys.modules, "pandas" in sys.modules,
              "torch" in sys.modules)
    """)
    for ask in ("something like Heat", "a heist movie with a twist"):
        runs = [subprocess.run([sys.executable, "-c", code, ask], env=env, capture_output=True,
                               text=True, timeout=300, check=False) for _ in range(2)]
        for run in runs:
            assert run.returncode == 0, run.stderr[-1500:]
        first, second = (r.stdout.split("MODULES")[1].split() for r in runs)
        assert first[2] == "False"                      # never torch
        assert second == ["False", "False", "False"], (ask, second)   # warm: neither
        assert runs[0].stdout.split("(session")[0] == runs[1].stdout.split("(session")[0]
