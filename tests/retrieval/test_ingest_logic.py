"""Windowing, linking, incremental ingest and search logic.

Real Chroma in a temp dir; fakes (HashEmbedder, FakeTranscriber) stand in for the
models, which have their own real tests (test_transcribe, test_embed, test_retrieval_e2e).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from recbot.retrieval.catalog import load_catalog
from recbot.retrieval.index import build_catalog_index
from recbot.retrieval.ingest import Ingester, LinkError, link_file, title_from_filename, window_id
from recbot.retrieval.ledger import USER_ITEM_BASE, Ledger
from recbot.retrieval.search import Searcher, SearchFilters, parse_genres
from recbot.retrieval.store import CATALOG, TRANSCRIPTS, VectorStore, open_client
from recbot.retrieval.transcribe import Segment
from recbot.retrieval.windows import make_windows
from tests.fakes import FakeTranscriber, HashEmbedder

MOVIES = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy
2,Apollo 13 (1995),Adventure|Drama|IMAX
3,"Lighthouse, The (2019)",Drama|Horror
4,Halloween (1978),Horror
5,Halloween (2007),Horror
6,Seven (a.k.a. Se7en) (1995),Mystery|Thriller
"""

TAGS = """userId,movieId,tag,timestamp
1,2,space,0
1,2,nasa,0
2,3,lighthouse,0
"""


@pytest.fixture
def catalog(tmp_path):
    d = tmp_path / "ml"
    d.mkdir()
    (d / "movies.csv").write_text(MOVIES)
    (d / "tags.csv").write_text(TAGS)
    return load_catalog(d, imdb_csv=None)


@pytest.fixture
def store(tmp_path):
    return VectorStore(open_client(path=tmp_path / "chroma"), "hash-64")


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "ingest.sqlite")
    yield led
    led.close()


def media(tmp_path: Path, name: str, content: bytes = b"fake media bytes") -> Path:
    p = tmp_path / "videos" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content)
    return p


SPACE_SCRIPT = [(0.0, 4.0, "Houston we have a problem."),
                (5.0, 9.0, "The oxygen tank exploded and the crew must fix the spacecraft."),
                (40.0, 44.0, "We are coming home.")]


# ----- windows ---------------------------------------------------------------------------

def test_windows_overlap_and_cover_every_segment():
    segs = [Segment(float(t), float(t) + 4.0, f"s{t}") for t in range(0, 100, 5)]
    wins = make_windows(segs, window=30, overlap=10)
    assert all(w.end - w.start <= 30 for w in wins)
    covered = {word for w in wins for word in w.text.split()}
    assert covered == {s.text for s in segs}
    starts = [w.start for w in wins]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # consecutive windows share the overlap: the next starts 20 s after the previous
    assert all(b - a == pytest.approx(20.0) for a, b in itertools.pairwise(starts))
    assert wins[0].text.split()[-2:] == wins[1].text.split()[:2]


def test_windows_edge_cases():
    assert make_windows([]) == []
    long = [Segment(0.0, 95.0, "a very long monologue"), Segment(96.0, 99.0, "end")]
    wins = make_windows(long, window=30, overlap=10)
    assert [w.text for w in wins] == ["a very long monologue", "end"]
    assert make_windows([Segment(0, 1, "  "), Segment(1, 2, "hi")])[0].text == "hi"
    with pytest.raises(ValueError):
        make_windows(long, window=10, overlap=10)


# ----- linking ---------------------------------------------------------------------------

def test_filename_parsing():
    assert title_from_filename(Path("Blade Runner (1982).mkv")) == ("Blade Runner", 1982)
    assert title_from_filename(Path("the.lighthouse.mp4")) == ("the lighthouse", None)
    assert title_from_filename(Path("Apollo 13 [1995].mp4")) == ("Apollo 13", 1995)


def test_link_rules_in_order(tmp_path, catalog):
    f = media(tmp_path, "Apollo 13 (1995).mp4")
    assert link_file(f, catalog, item_id=1).linked_by == "item-id"
    assert link_file(f, catalog) == link_file(f, catalog)
    got = link_file(f, catalog)
    assert (got.movie_id, got.linked_by) == (2, "filename")

    (f.parent / "manifest.csv").write_text("path,movieId\nApollo 13 (1995).mp4,6\n")
    assert (link_file(f, catalog).movie_id, link_file(f, catalog).linked_by) == (6, "manifest")

    sidecar = f.with_name(f.name + ".json")
    sidecar.write_text(json.dumps({"movieId": 1}))
    assert (link_file(f, catalog).movie_id, link_file(f, catalog).linked_by) == (1, "sidecar")
    sidecar.write_text(json.dumps({"title": "The Lighthouse", "year": 2019}))
    assert link_file(f, catalog).movie_id == 3


def test_link_year_and_ambiguity(tmp_path, catalog):
    assert link_file(media(tmp_path, "Halloween (2007).mp4"), catalog).movie_id == 5
    new = link_file(media(tmp_path, "Halloween.mp4"), catalog)
    assert new.movie_id is None and new.linked_by == "new-item", "ambiguous without a year"
    mine = link_file(media(tmp_path, "Grandma's 80th Birthday (2021).mp4"), catalog)
    assert (mine.movie_id, mine.title, mine.year) == (None, "Grandma's 80th Birthday", 2021)
    assert link_file(media(tmp_path, "Apollo 13 (1970).mp4"), catalog).movie_id is None


def test_link_errors_name_the_culprit(tmp_path, catalog):
    f = media(tmp_path, "x.mp4")
    with pytest.raises(LinkError, match="--item-id: movieId 999"):
        link_file(f, catalog, item_id=999)
    side = f.with_name("x.mp4.json")
    side.write_text("{not json")
    with pytest.raises(LinkError, match="x.mp4.json"):
        link_file(f, catalog)
    side.unlink()
    (f.parent / "manifest.csv").write_text("path,movieId\nx.mp4,abc\n")
    with pytest.raises(LinkError, match="line 2"):
        link_file(f, catalog)


# ----- ingest ----------------------------------------------------------------------------

def make_ingester(store, ledger, catalog, scripts, **kw):
    return Ingester(store, ledger, FakeTranscriber(scripts, kw.pop("fail", None)),
                    HashEmbedder(), catalog, **kw)


def transcript_ids(store) -> dict[str, dict]:
    return store.get_metadata(TRANSCRIPTS)


def test_ingest_then_search_finds_the_passage(tmp_path, store, ledger, catalog):
    f = media(tmp_path, "Apollo 13 (1995).mp4")
    ing = make_ingester(store, ledger, catalog, {f.name: SPACE_SCRIPT})
    report = ing.ingest([f])
    assert [e["movie_id"] for e in report.ingested] == [2] and not report.failed
    searcher = Searcher(store, ing.embedder, catalog, ledger.current_sources)
    hits = searcher.search("crew fix the spacecraft oxygen", k=3)
    assert hits[0].movie_id == 2
    ev = hits[0].evidence[0]
    assert ev.kind == "transcript" and "spacecraft" in ev.text
    assert ev.start <= 5.0 and ev.end >= 9.0 and ev.source == str(f.resolve())


def test_reingest_unchanged_is_a_noop_and_changed_replaces_all_windows(tmp_path, store, ledger,
                                                                       catalog):
    f = media(tmp_path, "Apollo 13 (1995).mp4", b"version one")
    ing = make_ingester(store, ledger, catalog, {f.name: SPACE_SCRIPT})
    ing.ingest([f])
    first = transcript_ids(store)
    ing.transcriber.calls.clear()

    again = ing.ingest([f])
    assert again.unchanged and not again.ingested and ing.transcriber.calls == []
    assert transcript_ids(store) == first

    f.write_bytes(b"version two")
    ing.transcriber.scripts[f.name] = [(0.0, 3.0, "An entirely new narration about cats.")]
    ing.ingest([f])
    now = transcript_ids(store)
    assert len(now) == 1 and not set(now) & set(first)
    assert {m["content_hash"] for m in now.values()} == {ledger.get(str(f.resolve())).content_hash}


def test_one_bad_file_never_stops_the_others(tmp_path, store, ledger, catalog):
    from recbot.retrieval.errors import RetrievalError

    good = media(tmp_path, "Apollo 13 (1995).mp4")
    bad = media(tmp_path, "broken.mp4")
    ing = make_ingester(store, ledger, catalog, {good.name: SPACE_SCRIPT},
                        fail={"broken.mp4": RetrievalError(f"{bad}: no audio stream")})
    report = ing.ingest([tmp_path / "videos", tmp_path / "missing.mp4"])
    assert [e["movie_id"] for e in report.ingested] == [2]
    failed = {Path(x["path"]).name: x["error"] for x in report.failed}
    assert set(failed) == {"broken.mp4", "missing.mp4"}
    assert "no audio stream" in failed["broken.mp4"]


def test_unmatched_file_becomes_a_recommendable_item(tmp_path, store, ledger, catalog):
    f = media(tmp_path, "Grandma's 80th Birthday (2021).mp4")
    ing = make_ingester(store, ledger, catalog, {f.name: [(0, 3, "happy birthday grandma")]})
    entry = ing.ingest([f]).ingested[0]
    assert entry["movie_id"] > USER_ITEM_BASE and entry["linked_by"] == "new-item"
    assert ing.ingest([f]).unchanged, "the same file keeps its item"
    items = ledger.user_items()
    assert [(i.title, i.year) for i in items] == [("Grandma's 80th Birthday", 2021)]
    merged = catalog.with_user_items(items)
    assert merged.titles.resolve("grandmas 80th birthday").best.movie_id == entry["movie_id"]
    hits = Searcher(store, ing.embedder, merged, ledger.current_sources).search("birthday grandma")
    assert hits[0].movie_id == entry["movie_id"]


def test_half_written_windows_are_invisible_then_swept(tmp_path, store, ledger, catalog):
    f = media(tmp_path, "Apollo 13 (1995).mp4", b"v1")
    ing = make_ingester(store, ledger, catalog, {f.name: SPACE_SCRIPT})
    ing.ingest([f])
    # a crashed run: new windows written, ledger never switched
    source = str(f.resolve())
    emb = HashEmbedder()
    store.upsert(TRANSCRIPTS, [window_id(source, "f" * 64, 0)],
                 emb.embed(["pirates bury treasure on the island"]),
                 ["pirates bury treasure on the island"],
                 [{"kind": "transcript", "movie_id": 2, "source": source,
                   "content_hash": "f" * 64, "start": 0.0, "end": 1.0}])
    searcher = Searcher(store, emb, catalog, ledger.current_sources)
    assert all(e.text != "pirates bury treasure on the island"
               for h in searcher.search("pirates treasure island") for e in h.evidence)
    report = ing.ingest([f])
    assert report.swept == 1 and report.unchanged
    assert all(m["content_hash"] != "f" * 64 for m in transcript_ids(store).values())


# ----- catalog index and filters ----------------------------------------------------------

def test_catalog_index_is_incremental_and_model_bound(tmp_path, store, catalog):
    emb = HashEmbedder()
    first = build_catalog_index(store, catalog, emb)
    assert (first.added, first.embedded) == (len(catalog), len(catalog))
    again = build_catalog_index(store, catalog, emb)
    assert (again.embedded, again.unchanged) == (0, len(catalog))

    d = tmp_path / "ml2"
    d.mkdir()
    (d / "movies.csv").write_text(MOVIES.replace("Drama|Horror", "Horror").rsplit("6,", 1)[0])
    (d / "tags.csv").write_text(TAGS)
    changed = build_catalog_index(store, load_catalog(d, imdb_csv=None), emb)
    assert (changed.updated, changed.removed, changed.added) == (1, 1, 0)

    other = VectorStore(store.client, "another-model")
    report = build_catalog_index(other, catalog, HashEmbedder(name="another-model"))
    assert report.dropped_collections and report.added == len(catalog)
    names = [c if isinstance(c, str) else c.name for c in store.client.list_collections()]
    assert not any("hash-64" in n for n in names if "catalog" in n)


def test_search_filters_genre_year_and_exclusions(store, catalog):
    emb = HashEmbedder()
    build_catalog_index(store, catalog, emb)
    s = Searcher(store, emb, catalog)
    horror = s.search("halloween horror", k=10, filters=SearchFilters(genres=("Horror",)))
    assert {h.movie_id for h in horror} == {3, 4, 5}
    recent = s.search("halloween", k=10, filters=SearchFilters(genres=("Horror",), year_min=2000))
    assert {h.movie_id for h in recent} == {3, 5}
    old = s.search("halloween", k=10, filters=SearchFilters(year_max=1990, exclude=frozenset({4})))
    assert old == []
    top = s.search("space nasa", k=1)[0]
    assert top.movie_id == 2 and top.evidence[0].kind == "tags"
    assert parse_genres(["sci-fi", "horror"], ["Sci-Fi", "Horror"]) == ("Sci-Fi", "Horror")
    with pytest.raises(ValueError, match="unknown genre"):
        parse_genres(["westerns"], ["Western"])


def test_store_counts_and_collection_names(store):
    assert store.count(CATALOG) == 0
    assert store.collection(CATALOG).name.startswith("recbot-catalog--hash-64")


def test_the_ledger_is_shared_safely_between_threads(tmp_path):
    """The chat's workers use one ledger: calls from other threads work, and concurrent new
    items each get their own id."""
    import threading

    from recbot.retrieval.ledger import MediaRecord

    led = Ledger(tmp_path / "shared.sqlite")
    errors: list[BaseException] = []
    got: list[int] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                item = led.add_user_item(f"clip {n}-{i}", None, f"/v/{n}/{i}.mp4")
                got.append(item.movie_id)
                led.record(MediaRecord(f"/v/{n}/{i}.mp4", "h", item.movie_id, 1, "m", "t",
                                       "new item", None))
                led.current_sources()
        except BaseException as err:  # noqa: BLE001 — reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 80 and len(set(got)) == 80
    assert len(led.user_items()) == 80 and len(led.records()) == 80
