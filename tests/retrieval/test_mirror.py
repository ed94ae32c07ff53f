"""The catalog mirror's exact search, and the pools search() asks the stores for."""

from __future__ import annotations

import numpy as np
import pytest

from recbot.retrieval.mirror import CatalogMirror
from recbot.retrieval.search import Searcher, SearchFilters
from recbot.retrieval.store import CATALOG, TRANSCRIPTS

GENRES = ["Comedy", "Drama", "Western"]


@pytest.fixture(scope="module")
def mirror() -> CatalogMirror:
    """2,000 records, a quarter of them exact copies of others (as identical documents
    embed identically), genres and years of varied selectivity."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    vectors[1500:] = vectors[rng.integers(0, 1500, 500)]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    flags = np.column_stack([rng.random(2000) < 0.5, rng.random(2000) < 0.4,
                             rng.random(2000) < 0.03])
    years = rng.integers(1920, 2024, 2000)
    years[::50] = -1
    return CatalogMirror([f"movie-{i}" for i in range(2000)], vectors,
                         np.arange(2000, dtype=np.int64), years, GENRES, flags)


def brute_force(mirror: CatalogMirror, vec: np.ndarray, n: int, f: SearchFilters) -> list[str]:
    keep = np.ones(len(mirror), bool)
    for g in f.genres:
        keep &= mirror.flags[:, GENRES.index(g)]
    if f.year_min is not None:
        keep &= (mirror.years >= 0) & (mirror.years >= f.year_min)
    if f.year_max is not None:
        keep &= (mirror.years >= 0) & (mirror.years <= f.year_max)
    rows = np.flatnonzero(keep)
    sims = mirror.vectors[rows] @ vec
    return [mirror.ids[rows[j]] for j in np.argsort(-sims, kind="stable")[:n]]


@pytest.mark.parametrize("filters", [
    SearchFilters(),                                        # every row
    SearchFilters(genres=("Comedy",), year_min=1950),       # a wide filter
    SearchFilters(genres=("Western",)),                     # a narrow one (< 1/8 of rows)
    SearchFilters(year_min=2020, year_max=2021),
    SearchFilters(genres=("Western", "Drama"), year_max=1930),   # next to nothing
], ids=["all", "wide", "narrow", "years", "tiny"])
@pytest.mark.parametrize("n", [1, 37, 5000])
def test_the_mirror_answers_what_a_full_stable_sort_does(mirror, filters, n):
    for seed in range(5):
        vec = mirror.vectors[seed * 300]    # a stored vector: it and its copies tie
        got = mirror.query(CATALOG, vec, n, filters.where(CATALOG))
        assert [i for i, *_ in got] == brute_force(mirror, vec, n, filters)
        sims = [s for _, s, *_ in got]
        assert sims == sorted(sims, reverse=True)


class Recording:
    """A store that records the pool each query asks for."""

    def __init__(self, inner) -> None:
        self.inner, self.asked = inner, []

    def query(self, kind, embedding, n, where=None):
        self.asked.append((kind, n))
        return self.inner.query(kind, embedding, n, where) if kind == CATALOG else []


class Catalog:
    def get(self, movie_id):
        return None


def test_search_asks_the_catalog_for_k_plus_excluded_and_transcripts_deeper(mirror):
    store = Recording(mirror)
    embed = type("E", (), {"embed": lambda self, texts: mirror.vectors[:1]})()
    searcher = Searcher(store, embed, Catalog(), live_sources=lambda: {"a.mp4": "h"})
    exclude = frozenset(range(0, 2000, 7)[:25])
    hits = searcher.search("anything", k=100, filters=SearchFilters(exclude=exclude))
    assert store.asked == [(CATALOG, 125), (TRANSCRIPTS, 425)]
    # the 100 best records not excluded, as a full sort ranks them
    want = [int(i.split("-")[1]) for i in brute_force(mirror, mirror.vectors[0], 2000,
                                                       SearchFilters())]
    assert [h.movie_id for h in hits] == [m for m in want if m not in exclude][:100]
