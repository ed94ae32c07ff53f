"""Benchmark: semantic search over a catalog the size of ml-32m's (87,585 films).

    python bench/bench_search_scale.py [--work /tmp/recbot-search-scale] [--runs 3]
                                       [--label after] [--no-server] [--profile]
    python bench/bench_search_scale.py --report     # rewrite the .md from the .json

1. The catalog: bench/make_movielens.py --films 87585 --movies-only (movies.csv, links.csv,
   tags.csv; no ratings), loaded with recbot's load_catalog.
2. The index, through recbot's real path: build_catalog_index into a Chroma
   PersistentClient with the default embedder (int8 MiniLM on onnxruntime), timed (docs/s),
   then the catalog mirror (retrieval/mirror.py) as the workspace writes it. Both stay in
   the work dir, so a rerun reuses them (the build numbers of the first run are kept).
   With the server on (default), a `chroma run` on 127.0.0.1 gets the same records
   (vectors copied from the local store, not re-embedded), kept in the work dir too.
3. 200 varied queries (descriptions, moods, tags; half with a genre and/or year filter,
   each with 0-60 films to exclude, as a turn passes its seen and shown films), 30 warm-up
   ones first. For each store (the mirror's exact numpy search, the local path; Chroma's
   HNSW in the persistent client; Chroma through the server) the whole
   ``Searcher.search(query, k=100, filters)`` a chat turn makes is timed, and inside it the
   query embedding and the vector search (the store's ``query`` call, whatever pool the
   searcher asks for), by wrapping embedder and store.

Every invocation adds ``--runs`` runs to its label in the JSON, so two code versions can be
measured in turns on a shared machine; the report shows, per measure, the run with the
median p95 (every run's p95 beside it).

Targets (issue 15): vector search p95 <= 20 ms, whole search() p95 <= 30 ms.
Writes bench/results/search_scale.json and search_scale.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from recbot.retrieval.catalog import load_catalog
from recbot.retrieval.embed import MiniLMEmbedder
from recbot.retrieval.index import build_catalog_index, index_needs_work
from recbot.retrieval.mirror import CatalogMirror
from recbot.retrieval.search import SearchFilters, Searcher
from recbot.retrieval.store import (CATALOG, VectorStore, bump_generation, open_client,
                                    read_generation)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHROMA = Path(sys.executable).with_name("chroma")
FILMS = 87_585

SUBJECTS = [
    "astronauts stranded in space", "a heist that goes wrong", "a haunted house in the woods",
    "a detective hunting a serial killer", "a boxer's comeback", "a road trip with friends",
    "a sad love story on a ship", "dinosaurs in a theme park", "a shark attacking a beach town",
    "a courtroom drama about justice", "soldiers in world war ii", "cowboys and a gunfight",
    "a talking animal who wants to be a hero", "time travel to fix the past",
    "robots that become self-aware", "a family reunion at christmas", "a con artist's last job",
    "a coming of age summer", "a small town with a dark secret", "an alien invasion",
    "a zombie outbreak in a city", "a musician chasing fame", "a dancer preparing for a show",
    "a prison escape", "a mafia family feud", "a treasure hunt in the jungle",
    "a dragon and a young knight", "a spy uncovering a conspiracy", "a teacher who inspires",
    "a widow starting over", "a submarine under attack", "a ghost haunting a lighthouse",
    "a car chase through the city", "a martial arts master's revenge",
    "a journalist exposing corruption", "a volcano about to erupt", "a fairy tale kingdom",
    "a psychological game between two strangers", "a pilot lost over the ocean",
    "a dystopia where the state watches everyone",
]
STYLES = [
    "{s}", "a film about {s}", "something like {s}", "a {m} movie about {s}",
    "{m} film with {s}", "I want {s}, nothing too {n}", "movies where {s}",
    "a {m} story: {s}",
]
MOODS = ["funny", "dark", "tense", "emotional", "quirky", "atmospheric", "slow", "epic",
         "scary", "romantic", "thought-provoking", "fast paced", "melancholy", "witty"]
TAGGY = [
    "great soundtrack and beautiful visuals", "twist ending", "cult film", "based on a book",
    "true story", "hand-drawn animation", "femme fatale noir", "whodunit", "tearjerker",
    "dark comedy satire", "haunted house gore", "space aliens dystopia", "heist gangster",
    "family kids talking animals", "explosions and car chases", "world war ii military",
    "love story chick flick", "singing broadway musical", "magic dragons fairy tale",
    "character study", "masterpiece with great acting", "underrated classic",
]
GENRES = ["Comedy", "Drama", "Thriller", "Horror", "Sci-Fi", "Romance", "Action", "Crime",
          "Animation", "Documentary", "Adventure", "Western"]


def make_queries(catalog, n: int = 200, seed: int = 0) -> list[tuple[str, SearchFilters]]:
    """``n`` distinct queries; half filtered (a genre, a year range or both), each with
    0-60 films to exclude."""
    rng = random.Random(seed)
    ids = [m.movie_id for m in catalog]
    texts: list[str] = []
    seen: set[str] = set()
    pool = [*SUBJECTS, *TAGGY]
    while len(texts) < n:
        s = rng.choice(pool)
        text = rng.choice(STYLES).format(s=s, m=rng.choice(MOODS), n=rng.choice(MOODS))
        if text not in seen:
            seen.add(text)
            texts.append(text)
    out = []
    for i, text in enumerate(texts):
        kind = i % 6
        genres = (rng.choice(GENRES),) if kind in (1, 3) else ()
        year_min = year_max = None
        if kind in (2, 3):
            year_min = rng.choice([1950, 1970, 1980, 1990, 2000, 2010])
            year_max = year_min + rng.choice([9, 19, 29])
        exclude = frozenset(rng.sample(ids, rng.randint(0, 60)))
        out.append((text, SearchFilters(genres=genres, year_min=year_min, year_max=year_max,
                                        exclude=exclude)))
    return out


# ----- measuring ---------------------------------------------------------------------------

def stats(seconds) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max()), "n": int(ms.size)}


class Clock:
    """Wraps an embedder or a store and adds the time its ``method`` calls take to
    ``spent``."""

    def __init__(self, inner, method: str) -> None:
        self.inner, self.method, self.spent = inner, method, 0.0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name != self.method:
            return attr

        def call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - t
        return call


def measure_store(store, embedder, catalog, queries, warm: int = 30) -> dict:
    """search() a turn makes, and its parts, over ``queries``: stats per measure."""
    emb, st = Clock(embedder, "embed"), Clock(store, "query")
    searcher = Searcher(st, emb, catalog)
    for text, filters in queries[:warm]:
        searcher.search(text, k=100, filters=filters)
    parts: dict[str, list[float]] = {"embed": [], "vector": [], "total": []}
    filtered = []
    for text, filters in queries:
        emb.spent = st.spent = 0.0
        t = time.perf_counter()
        searcher.search(text, k=100, filters=filters)
        parts["total"].append(time.perf_counter() - t)
        parts["embed"].append(emb.spent)
        parts["vector"].append(st.spent)
        filtered.append(filters.where() is not None)
    filtered = np.array(filtered)
    total, vector = np.array(parts["total"]), np.array(parts["vector"])
    rest = total - vector - np.array(parts["embed"])
    return {
        "vector": stats(vector), "search": stats(total),
        "vector_unfiltered": stats(vector[~filtered]), "vector_filtered": stats(vector[filtered]),
        "search_unfiltered": stats(total[~filtered]), "search_filtered": stats(total[filtered]),
        "parts_ms": {"embed": float(np.median(parts["embed"]) * 1000),
                     "vector": float(np.median(vector) * 1000),
                     "rest": float(np.median(rest) * 1000),
                     "total": float(np.median(total) * 1000)},
    }


# ----- setting up --------------------------------------------------------------------------

def ensure_dataset(work: Path, films: int) -> Path:
    out = work / f"ml-{films}"
    if not (out / "movies.csv").is_file():
        subprocess.run([sys.executable, str(HERE / "make_movielens.py"), "--films", str(films),
                        "--movies-only", "--out", str(out)], check=True)
    return out


def ensure_index(work: Path, catalog, embedder) -> tuple[VectorStore, dict]:
    generation = work / "chroma-generation"
    store = VectorStore(open_client(path=work / "chroma"), embedder.name, generation)
    note_path = work / "index-build.json"
    if index_needs_work(store, catalog) or not note_path.exists():
        t = time.perf_counter()
        last = [t]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 15 or done == total:
                last[0] = time.perf_counter()
                el = last[0] - t
                print(f"  indexed {done:,}/{total:,} in {el:.0f} s "
                      f"({done / max(el, 1e-9):.0f} docs/s)", flush=True)

        report = build_catalog_index(store, catalog, embedder, progress=progress)
        build = time.perf_counter() - t
        note = {"docs": report.embedded, "seconds": round(build, 1),
                "docs_per_s": round(report.embedded / build, 1),
                "when": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg()[0]}
        note_path.write_text(json.dumps(note))
    return store, json.loads(note_path.read_text())


def ensure_mirror(work: Path, store: VectorStore) -> tuple[CatalogMirror, float | None]:
    generation = work / "chroma-generation"
    path = work / "catalog-vectors.npz"
    stamp = read_generation(generation) or bump_generation(generation)
    mirror = CatalogMirror.load(path, store.embed_model, stamp)
    if mirror is not None:
        return mirror, None
    t = time.perf_counter()
    mirror = CatalogMirror.write(store, path, stamp)
    return mirror, time.perf_counter() - t


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("chroma run did not start listening within 120 s")


def fill_server(server: VectorStore, local: VectorStore) -> float | None:
    """Copy the local catalog records (vectors and metadata) to the server once."""
    if server.count(CATALOG) == local.count(CATALOG):
        return None
    t = time.perf_counter()
    ids, vectors, metas = local.get_vectors(CATALOG)
    for start in range(0, len(ids), 2000):
        server.upsert(CATALOG, ids[start:start + 2000], vectors[start:start + 2000], None,
                      metas[start:start + 2000])
    return time.perf_counter() - t


# ----- the report --------------------------------------------------------------------------

MEASURES = [  # (key, name, target ms)
    ("vector", "vector search in search() (the store's query call)", 20),
    ("vector_unfiltered", "  the same, queries without filters", 20),
    ("vector_filtered", "  the same, queries with a genre/year filter", 20),
    ("search", "whole search(), k=100 (a chat turn)", 30),
    ("search_unfiltered", "  the same, queries without filters", 30),
    ("search_filtered", "  the same, queries with a genre/year filter", 30),
]


def median_run(rows: list[dict]) -> dict:
    """The run whose p95 is the median one, with every run's p95 beside it."""
    pick = dict(sorted(rows, key=lambda r: r["p95"])[(len(rows) - 1) // 2])
    pick["p95_runs"] = [round(r["p95"], 1) for r in rows]
    return pick


def write_report(data: dict) -> None:
    lines = ["# bench/bench_search_scale.py: semantic search at ml-32m catalog size", ""]
    if data.get("summary"):
        lines += [data["summary"], ""]
    for label, res in data["labels"].items():
        env, runs = res["env"], res["runs"]
        loads = ", ".join(f"{r['load']:.1f}" for r in runs)
        lines += [f"## {label}", "",
                  f"{env['films']:,} films, {env['vectors']:,} vectors x {env['dim']}, embedder "
                  f"{env['embedder']}, {env['cpus']} CPUs; {env['queries']} queries after "
                  f"{env['warm']} warm-up ones; {len(runs)} runs ({runs[0]['when']} to "
                  f"{runs[-1]['when']}, load average {loads} at their starts: the machine was "
                  f"shared with other jobs). Per measure the run with the median p95 is "
                  f"shown, every run's p95 in brackets.", ""]
        b = res["index"]
        lines += [f"Index build (recbot's build_catalog_index, {b['when']}): {b['docs']:,} "
                  f"documents in {b['seconds']:.0f} s = **{b['docs_per_s']:.0f} docs/s** "
                  f"(load average {b['load']:.1f}); catalog mirror written in "
                  f"{res['mirror_write_s']:.1f} s, loaded in {res['mirror_load_s']:.2f} s."]
        if res.get("server_fill_s"):
            lines.append(f"Server filled (vectors copied, not re-embedded) in "
                         f"{res['server_fill_s']:.0f} s.")
        lines += ["", "| store | measure | p50 ms | p95 ms | max ms | target |",
                  "|---|---|---|---|---|---|"]
        emb = median_run([r["embed"] for r in runs])
        lines.append(f"| - | query embedding alone (1 query) | {emb['p50']:.1f} | "
                     f"{emb['p95']:.1f} ({', '.join(map(str, emb['p95_runs']))}) | "
                     f"{emb['max']:.1f} | |")
        for store in runs[0]["stores"]:
            for key, name, target in MEASURES:
                row = median_run([r["stores"][store][key] for r in runs])
                ok = "met" if row["p95"] <= target else "**missed**"
                lines.append(f"| {store} | {name} | {row['p50']:.1f} | {row['p95']:.1f} "
                             f"({', '.join(map(str, row['p95_runs']))}) | {row['max']:.1f} | "
                             f"p95 <= {target}: {ok} |")
        lines += ["", "Where search() spends its time (median ms per call in the median run; "
                  "medians of each part, so they need not add up):", "",
                  "| store | query embedding | vector search | merge + evidence | total |",
                  "|---|---|---|---|---|"]
        for store in runs[0]["stores"]:
            rows = sorted(runs, key=lambda r: r["stores"][store]["search"]["p95"])
            part = rows[(len(rows) - 1) // 2]["stores"][store]["parts_ms"]
            lines.append(f"| {store} | {part['embed']:.2f} | {part['vector']:.2f} | "
                         f"{part['rest']:.2f} | {part['total']:.2f} |")
        if res.get("notes"):
            lines += ["", res["notes"]]
        lines.append("")
    (RESULTS / "search_scale.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/recbot-search-scale")
    ap.add_argument("--films", type=int, default=FILMS)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-server", action="store_true", help="skip the `chroma run` path")
    ap.add_argument("--label", default="run", help="the result set these runs join")
    ap.add_argument("--fresh", action="store_true", help="drop the label's earlier runs")
    ap.add_argument("--profile", action="store_true",
                    help="print a cProfile of search() on the mirror")
    ap.add_argument("--report", action="store_true", help="only rewrite the .md")
    args = ap.parse_args()
    path = RESULTS / "search_scale.json"
    data = json.loads(path.read_text()) if path.exists() else {"labels": {}}
    if args.report:
        write_report(data)
        return
    # a terminated bench still stops its server (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    catalog = load_catalog(ensure_dataset(work, args.films))
    print(f"catalog: {len(catalog):,} films in {time.perf_counter() - t:.1f} s", flush=True)
    embedder = MiniLMEmbedder(cache_dir=work / "models" / "embeddings")
    embedder.embed(["warm up"])
    store, build = ensure_index(work, catalog, embedder)
    print(f"index: {build}", flush=True)
    mirror, mirror_s = ensure_mirror(work, store)
    if mirror_s is not None:
        build["mirror_write_s"] = round(mirror_s, 1)
        (work / "index-build.json").write_text(json.dumps(build))
    t = time.perf_counter()
    CatalogMirror.load(work / "catalog-vectors.npz", embedder.name,
                       read_generation(work / "chroma-generation"))
    mirror_load = time.perf_counter() - t
    queries = make_queries(catalog, args.queries)
    texts = [q for q, _ in queries]

    stores = {"mirror (exact numpy)": mirror, "Chroma persistent (HNSW)": store}
    server_proc = server_fill = None
    runs = []
    try:
        if not args.no_server:
            server_proc, url = start_server(work / "server")
            server = VectorStore(open_client(url=url), embedder.name)
            server_fill = fill_server(server, store)
            stores["Chroma server (HNSW, HTTP)"] = server
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            row = {"when": time.strftime("%Y-%m-%d %H:%M"), "load": os.getloadavg()[0],
                   "stores": {}}
            for text in texts[:30]:
                embedder.embed([text])
            seconds = []
            for text in texts:
                t = time.perf_counter()
                embedder.embed([text])
                seconds.append(time.perf_counter() - t)
            row["embed"] = stats(seconds)
            for name, st in stores.items():
                got = row["stores"][name] = measure_store(st, embedder, catalog, queries)
                print(f"  {name}: vector p50 {got['vector']['p50']:.1f} p95 "
                      f"{got['vector']['p95']:.1f}; search() p50 {got['search']['p50']:.1f} "
                      f"p95 {got['search']['p95']:.1f} ms", flush=True)
            runs.append(row)
        if args.profile:
            prof = cProfile.Profile()
            searcher = Searcher(mirror, embedder, catalog)
            prof.enable()
            for text, filters in queries:
                searcher.search(text, k=100, filters=filters)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    finally:
        if server_proc is not None:
            server_proc.terminate()
            server_proc.wait(timeout=30)

    res = data["labels"].get(args.label) if not args.fresh else None
    res = res or {"runs": []}
    res.update({
        "env": {"films": len(catalog), "vectors": len(mirror),
                "dim": int(mirror.vectors.shape[1]), "embedder": embedder.name,
                "cpus": os.cpu_count(), "queries": len(queries), "warm": 30,
                "python": platform.python_version(), "numpy": np.__version__},
        "index": build, "mirror_write_s": build.get("mirror_write_s", mirror_s),
        "mirror_load_s": mirror_load,
        "server_fill_s": server_fill or res.get("server_fill_s")})
    res["runs"] += runs
    data["labels"][args.label] = res
    path.write_text(json.dumps(data, indent=2) + "\n")
    write_report(data)
    print((RESULTS / "search_scale.md").read_text())


if __name__ == "__main__":
    main()
