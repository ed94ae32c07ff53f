"""Choose SparkALSRanker's defaults on a validation split, as bench/tune.py does for als.

The outer split (seed S) is the one `recbot eval --seed S` reports; only its training
part is used here: it is split again (seed S + 1000) into fit/validation. Nothing here
sees test data. Each Spark configuration is fitted once (local[2] by default) and scored
twice on the validation likes:

* "spark NDCG": the validation users' own Spark user factors (what `recbot rank
  --engine spark` and `recbot eval` use);
* "fold-in NDCG": the same users folded in from their fit-part ratings with Spark's item
  factors held fixed, for a grid of fold-in (alpha, regularization) — how the chat serves
  a new user from a Spark-trained model.

    python bench/tune_spark.py                        # the grid below
    python bench/tune_spark.py reg_param=0.02,0.05 factors=64,128   # another grid
    RECBOT_SPARK_MASTER=spark://host:7077 python bench/tune_spark.py
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

from recbot.ranking.evaluate import evaluate, holdout_split, top_k_unseen
from recbot.ranking.interactions import Interactions, read_ratings
from recbot.ranking.metrics import ndcg_at_k
from recbot.ranking.models import ALSRanker
from recbot.ranking.spark import SparkALSRanker, spark_session
from recbot.retrieval.datasets import bundled_dataset_dir

GRID = {"factors": [64], "reg_param": [0.01, 0.05, 0.2], "spark_alpha": [1.0, 5.0, 20.0],
        "confidence": ["binary", "stars"], "low_weight": [0.3]}
FOLD_IN = {"alpha": [0.5, 1.0, 2.0, 5.0], "regularization": [10.0, 30.0, 100.0, 300.0, 1000.0]}


def parse_grid(args: list[str]) -> dict:
    grid = dict(GRID)
    for arg in args:
        key, _, values = arg.partition("=")
        kind = str if key == "confidence" else (int if key in ("factors", "iterations",
                                                               "blocks") else float)
        grid[key] = [kind(v) for v in values.split(",")]
    return grid


def fold_in_ndcg(ranker: ALSRanker, split, alpha: float, regularization: float,
                 k: int = 10) -> float:
    """NDCG@k of the validation users folded in (their fit-part weights) with the model's
    item factors fixed, as a new user's are in the chat."""
    users = np.array(sorted(split.test), dtype=np.int64)
    model = ranker.model
    model.alpha, model.regularization, ranker._gram = alpha, regularization, None
    U = ranker.fold_in(ranker._X[users])
    top = top_k_unseen(U @ model.item_factors.T, split.train.ratings[users], k)
    return float(np.mean([ndcg_at_k(t[t >= 0], set(split.test[int(u)].tolist()), k)
                          for u, t in zip(users, top)]))


def best_fold_in(ranker: ALSRanker, split) -> tuple[float, dict]:
    scores = {(a, r): fold_in_ndcg(ranker, split, a, r)
              for a, r in itertools.product(FOLD_IN["alpha"], FOLD_IN["regularization"])}
    (a, r), best = max(scores.items(), key=lambda x: x[1])
    return best, {"alpha": a, "regularization": r}


def main(argv: list[str]) -> None:
    seed = 0
    inter = Interactions.from_frame(read_ratings(bundled_dataset_dir() / "ratings.csv"))
    outer = holdout_split(inter, seed=seed)
    inner = holdout_split(outer.train, seed=seed + 1000)
    grid = parse_grid(argv)
    spark = spark_session(os.environ.get("RECBOT_SPARK_MASTER") or "local[2]")
    print(f"validation split: {len(inner.test)} users; spark {spark.version}")

    ref = ALSRanker()
    r = evaluate(ref, inner)
    fold = fold_in_ndcg(ref, inner, ref.alpha, ref.regularization)
    print(f"implicit als (defaults): NDCG@10 {r.ndcg:.4f}, fold-in {fold:.4f}, "
          f"fit {r.fit_seconds:.1f} s\n")

    keys = list(grid)
    print(" | ".join(keys) + " | spark NDCG@10 | fold-in NDCG@10 | fold-in alpha, reg | fit s")
    rows = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(keys, values))
        ranker = SparkALSRanker(spark=spark, **params)
        r = evaluate(ranker, inner)
        fold, fold_params = best_fold_in(ranker, inner)
        rows.append((r.ndcg, fold, params, fold_params))
        print(" | ".join(str(v) for v in values) + f" | {r.ndcg:.4f} | {fold:.4f} | "
              f"{fold_params['alpha']}, {fold_params['regularization']} | "
              f"{r.fit_seconds:.1f}", flush=True)
    ndcg, fold, params, fold_params = max(rows, key=lambda x: x[0])
    print(f"\nbest: {params} spark NDCG@10={ndcg:.4f}; its fold-in {fold_params} "
          f"NDCG@10={fold:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
