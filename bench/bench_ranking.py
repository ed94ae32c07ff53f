"""Benchmark: the MF ranker against EASE and the other baselines over several seeds.

    python bench/bench_ranking.py [--seeds 0 1 2] [--k 10]

Prints one row per (seed, ranker) with the same metrics as `recbot eval`, then the
MF/EASE NDCG ratio per seed and the MF training time on the full bundled data.
Defaults are the rankers' defaults (chosen by bench/tune.py on validation splits).
"""

from __future__ import annotations

import argparse
import statistics
import time

from recbot.ranking.evaluate import evaluate, holdout_split
from recbot.ranking.interactions import Interactions, read_ratings
from recbot.ranking.models import make_ranker
from recbot.retrieval.datasets import bundled_dataset_dir

RANKERS = ("als", "ease", "itemknn", "pop")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    inter = Interactions.from_frame(read_ratings(bundled_dataset_dir() / "ratings.csv"))
    k = args.k
    print(f"ml-latest-small: {inter.n_users} users, {inter.n_items} items, {inter.nnz} ratings")
    print(f"| seed | ranker | NDCG@{k} | Recall@{k} | Precision@{k} | MAP@{k} | coverage | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for seed in args.seeds:
        split = holdout_split(inter, seed=seed)
        by_name = {}
        for name in RANKERS:
            r = evaluate(make_ranker(name), split, k=k)
            by_name[name] = r
            print(f"| {seed} | {name} | {r.ndcg:.4f} | {r.recall:.4f} | {r.precision:.4f} | "
                  f"{r.map:.4f} | {r.coverage:.3f} | {r.fit_seconds:.1f} |", flush=True)
        ratios.append(by_name["als"].ndcg / by_name["ease"].ndcg)
    print()
    print("| seed | MF NDCG / EASE NDCG |")
    print("|---|---|")
    for seed, ratio in zip(args.seeds, ratios):
        print(f"| {seed} | {ratio:.3f} |")
    times = []
    for _ in range(3):
        t = time.perf_counter()
        make_ranker("als").fit(inter)
        times.append(time.perf_counter() - t)
    print(f"\nMF training on the full data: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, 3 runs)")


if __name__ == "__main__":
    main()
