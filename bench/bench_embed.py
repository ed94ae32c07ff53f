"""Benchmark: embedding the bundled catalog with each MiniLM variant and speed lever.

    python bench/bench_embed.py [--repeat 2] [--limit N] [--only onnx-int8 ...]

Embeds every catalog document (retrieval.documents.catalog_document) and prints one row per
configuration: seconds (best of --repeat), docs/s, cosine to torch-fp32 (mean and min over
the documents) and the overlap of the top-10 documents for 50 queries with torch-fp32's.
"load s" is the first use: model load, plus the one-time ONNX export for the first onnx row.
"busy" is the CPU (in cores) used by other processes during the best run; timings with
busy > 0.2 are contaminated, rerun them. Rows marked "bench only" are levers measured but
not offered by MiniLMEmbedder; "*" marks the default variant.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.documents import catalog_document
from recbot.retrieval.embed import DEFAULT_VARIANT, MiniLMEmbedder

QUERIES = [
    "a funny animated film about toys", "space rescue mission", "a heist that goes wrong",
    "romantic comedy in New York", "a haunted house horror movie", "courtroom drama",
    "a boxer's comeback", "time travel paradox", "zombie apocalypse survival",
    "a dog's adventure home", "mafia family saga", "a dystopian future society",
    "superheroes saving the world", "high school coming of age", "a serial killer detective",
    "war film about soldiers in world war two", "a musical about dreamers in Los Angeles",
    "pirates and treasure", "artificial intelligence robot becomes self aware",
    "a road trip with friends", "prison escape", "dinosaurs in a theme park",
    "a con artist's elaborate scam", "wizards and magic school", "a shark terrorizes a beach",
    "a biography of a famous musician", "sci-fi about dreams within dreams",
    "martial arts revenge", "a sports underdog team", "cold war spy thriller",
    "a quiet drama about grief", "disaster movie with an asteroid", "vampire romance",
    "an epic fantasy quest to destroy a ring", "a comedy about a wedding gone wrong",
    "alien invasion of earth", "a courtroom thriller about a wrongful conviction",
    "animated film about emotions inside a girl's head", "gangsters in 1930s Chicago",
    "a western with gunslingers", "a mind-bending psychological thriller",
    "a family christmas comedy", "a submarine under pressure", "a journalist uncovering a scandal",
    "a teenage witch", "a dark satire of corporate life", "samurai in feudal Japan",
    "a lonely man falls in love with an operating system", "surviving alone on Mars",
    "directed by Christopher Nolan starring Leonardo DiCaprio",
]


@dataclass
class Row:
    label: str
    make: Callable[[], MiniLMEmbedder]
    batch_size: int = 64
    sorted_batches: bool = True
    default: bool = False
    note: str = ""
    result: dict = field(default_factory=dict)


def _cpu_busy_ticks() -> int | None:
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # all CPUs' busy time (incl. steal) minus this process's user+system time
    return sum(values) - values[3] - values[4] - int(own[11]) - int(own[12])


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float | None]:
    """(result, wall seconds, cores used by other processes meanwhile)."""
    before, start = _cpu_busy_ticks(), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    after = _cpu_busy_ticks()
    busy = None if before is None else (after - before) / os.sysconf("SC_CLK_TCK") / seconds
    return out, seconds, busy


def embed_unsorted(embedder: MiniLMEmbedder, docs: list[str], batch_size: int) -> np.ndarray:
    """Batches in catalog order, to measure what sorting by length saves."""
    backend = embedder._load()
    parts = [backend.encode(docs[i : i + batch_size]) for i in range(0, len(docs), batch_size)]
    out = np.concatenate(parts)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def torch_dynamic_int8(per_channel: bool) -> Callable[[], MiniLMEmbedder]:
    """torch.ao quantize_dynamic on every Linear layer (deprecated API; bench only)."""

    def make() -> MiniLMEmbedder:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        embedder = MiniLMEmbedder(variant="torch-fp32")
        backend = embedder._load()
        spec = {torch.nn.Linear: per_channel_dynamic_qconfig} if per_channel else {torch.nn.Linear}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backend.model = quantize_dynamic(backend.model, spec, dtype=torch.qint8)
        embedder.name += "+torch-int8"
        return embedder

    return make


def rows(cache_dir: str, threads: int | None) -> list[Row]:
    def mk(variant: str, **kw) -> Callable[[], MiniLMEmbedder]:
        kw.setdefault("threads", threads)
        return lambda: MiniLMEmbedder(variant=variant, cache_dir=cache_dir, **kw)

    d = DEFAULT_VARIANT
    return [
        Row("torch-fp32 (reference)", mk("torch-fp32"), default=d == "torch-fp32"),
        Row("torch-fp32, max_seq_length 128", mk("torch-fp32", max_seq_length=128)),
        Row("torch-fp32, unsorted batches", mk("torch-fp32"), sorted_batches=False),
        Row("torch-bf16", mk("torch-bf16"), default=d == "torch-bf16"),
        Row("torch dynamic int8, per-tensor", torch_dynamic_int8(False), note="bench only"),
        Row("torch dynamic int8, per-channel", torch_dynamic_int8(True), note="bench only"),
        Row("onnx-fp32", mk("onnx-fp32"), default=d == "onnx-fp32"),
        Row("onnx-int8", mk("onnx-int8"), default=d == "onnx-int8"),
        Row("onnx-int8, batch 16", mk("onnx-int8"), batch_size=16),
        Row("onnx-int8, batch 32", mk("onnx-int8"), batch_size=32),
        Row("onnx-int8, batch 128", mk("onnx-int8"), batch_size=128),
        Row("onnx-int8, 1 thread", mk("onnx-int8", threads=1)),
        Row("onnx-int8, max_seq_length 128", mk("onnx-int8", max_seq_length=128)),
        Row("onnx-int8, unsorted batches", mk("onnx-int8"), sorted_batches=False),
    ]


def overlap_at_10(docs_a, queries_a, docs_b, queries_b) -> float:
    top_a = np.argsort(-(queries_a @ docs_a.T), axis=1)[:, :10]
    top_b = np.argsort(-(queries_b @ docs_b.T), axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_a, top_b)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest counts")
    ap.add_argument("--limit", type=int, default=None, help="embed only the first N documents")
    ap.add_argument("--threads", type=int, default=None, help="threads (default: per core)")
    ap.add_argument("--only", nargs="*", default=None, help="rows whose label starts so")
    args = ap.parse_args()

    docs = [catalog_document(m) for m in load_catalog(BUNDLED_DATASET_DIR)][: args.limit]
    print(f"{len(docs)} catalog documents, {len(QUERIES)} queries, {os.cpu_count()} CPUs")
    print("| variant | docs | seconds | docs/s | cosine mean | cosine min | overlap@10 "
          "| load s | busy |")
    print("|---|---|---|---|---|---|---|---|---|")
    reference: tuple[np.ndarray, np.ndarray] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as cache_dir:
        first, *others = rows(cache_dir, args.threads)  # the reference always runs
        if args.only:
            others = [r for r in others if any(r.label.startswith(o) for o in args.only)]
        for row in [first, *others]:
            start = time.perf_counter()
            embedder = row.make()
            embedder.embed(["warm up"])
            load = time.perf_counter() - start
            embedder.embed(docs[:64], batch_size=row.batch_size)

            def run(embedder=embedder, row=row) -> np.ndarray:
                if row.sorted_batches:
                    return embedder.embed(docs, batch_size=row.batch_size)
                return embed_unsorted(embedder, docs, row.batch_size)

            best = min((timed(run) for _ in range(max(1, args.repeat))), key=lambda r: r[1])
            vectors, seconds, busy = best
            queries = embedder.embed(QUERIES)
            if reference is None:
                reference = (vectors, queries)
            cosine = np.sum(vectors * reference[0], axis=1)
            overlap = overlap_at_10(vectors, queries, *reference)
            label = f"{row.label} *" if row.default else row.label
            if row.note:
                label += f" ({row.note})"
            busy_text = "n/a" if busy is None else f"{busy:.2f}"
            print(f"| {label} | {len(docs)} | {seconds:.1f} | {len(docs) / seconds:.0f} | "
                  f"{cosine.mean():.4f} | {cosine.min():.4f} | {overlap:.3f} | {load:.1f} | "
                  f"{busy_text} |", flush=True)


if __name__ == "__main__":
    main()
