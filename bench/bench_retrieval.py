"""Benchmark: catalog index build and query latency.

    python bench/bench_retrieval.py [--skip-100k]

1. Builds the catalog index for the full bundled catalog (9,742 movies) from
   scratch with the default embedder into a temporary Chroma store (target <= 30 s).
2. Query latency p50/p95 over 200 queries at catalog size: the vector search alone,
   and end to end (embed the query + search + evidence) through Searcher.search
   (target p50 <= 20 ms for the search).
3. The same vector search with 100k synthetic vectors added (random unit vectors).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.embed import MiniLMEmbedder
from recbot.retrieval.index import build_catalog_index
from recbot.retrieval.search import Searcher
from recbot.retrieval.store import CATALOG, VectorStore, open_client

QUERIES = ["a funny animated film about toys", "astronauts stranded in space",
           "a heist with a twist ending", "a sad love story on a ship", "shark attacks a beach town",
           "dinosaurs in a theme park", "a boxer's comeback", "a haunted house in the woods",
           "courtroom drama about justice", "a road trip with friends"]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values) * 1000, p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-100k", action="store_true")
    args = ap.parse_args()
    catalog = load_catalog(BUNDLED_DATASET_DIR)
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        store = VectorStore(open_client(path=Path(tmp) / "chroma"), embedder.name)
        t = time.perf_counter()
        report = build_catalog_index(store, catalog, embedder)
        build = time.perf_counter() - t
        print("| step | value |\n|---|---|")
        print(f"| embedder | {embedder.name} |")
        print(f"| catalog index build, {report.embedded} movies | {build:.1f} s "
              f"({report.embedded / build:.0f} docs/s) |")

        qvecs = embedder.embed(QUERIES * 20)
        search_t = []
        for v in qvecs:
            t = time.perf_counter()
            store.query(CATALOG, v, 40)
            search_t.append(time.perf_counter() - t)
        print(f"| vector search, {store.count(CATALOG)} docs, p50 / p95 | "
              f"{pct(search_t, 50):.1f} / {pct(search_t, 95):.1f} ms |")

        searcher = Searcher(store, embedder, catalog)
        e2e = []
        for q in QUERIES * 20:
            t = time.perf_counter()
            searcher.search(q, k=10)
            e2e.append(time.perf_counter() - t)
        print(f"| search() end to end incl. query embedding, p50 / p95 | "
              f"{pct(e2e, 50):.1f} / {pct(e2e, 95):.1f} ms |")

        if not args.skip_100k:
            rng = np.random.default_rng(0)
            col = store.collection(CATALOG)
            t = time.perf_counter()
            for start in range(0, 100_000, 5000):
                vecs = rng.standard_normal((5000, embedder.dim)).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                col.add(ids=[f"synthetic-{start + i}" for i in range(5000)], embeddings=vecs,
                        metadatas=[{"movie_id": -1, "kind": "synthetic"}] * 5000)
            load = time.perf_counter() - t
            big = []
            for v in qvecs:
                t = time.perf_counter()
                store.query(CATALOG, v, 40)
                big.append(time.perf_counter() - t)
            print(f"| load 100k synthetic vectors | {load:.1f} s |")
            print(f"| vector search, {store.count(CATALOG)} vectors, p50 / p95 | "
                  f"{pct(big, 50):.1f} / {pct(big, 95):.1f} ms |")
    print(f"\n(median of {len(search_t)} queries; {statistics.mean(e2e) * 1000:.1f} ms mean e2e)")


if __name__ == "__main__":
    main()
