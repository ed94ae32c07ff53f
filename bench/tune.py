"""Choose ranker defaults on a validation split carved out of a *training* split.

The outer split (seed S) is the one `recbot eval --seed S` reports; here only its
training part is used: it is split again (seed S + 1000) into fit/validation, and
each configuration is scored on the validation likes. Nothing here sees test data.

    python bench/tune.py als      # grid over factors/regularization/alpha/low_weight
    python bench/tune.py ease     # grid over l2/low_weight
"""

from __future__ import annotations

import itertools
import sys

from recbot.ranking.evaluate import evaluate, holdout_split
from recbot.ranking.interactions import Interactions, read_ratings
from recbot.ranking.models import make_ranker
from recbot.retrieval.datasets import bundled_dataset_dir

GRIDS = {
    "als": {"factors": [128, 256, 512], "regularization": [20.0, 30.0, 50.0],
            "alpha": [3.0, 5.0, 8.0], "low_weight": [0.0, 0.3, 0.6],
            "confidence": ["binary", "stars"]},
    "ease": {"l2": [100.0, 200.0, 300.0, 500.0, 1000.0], "low_weight": [0.0, 0.3],
             "confidence": ["binary", "stars"]},
    "itemknn": {"k": [50, 100, 200, 400], "low_weight": [0.0, 0.3]},
}


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "als"
    seed = int(argv[1]) if len(argv) > 1 else 0
    inter = Interactions.from_frame(read_ratings(bundled_dataset_dir() / "ratings.csv"))
    outer = holdout_split(inter, seed=seed)
    inner = holdout_split(outer.train, seed=seed + 1000)
    grid = GRIDS[name]
    keys = list(grid)
    rows = []
    print(f"validation split: {len(inner.test)} users, ranker {name}")
    print(" | ".join(keys) + " | ndcg@10 | recall@10 | fit s")
    for values in itertools.product(*grid.values()):
        params = dict(zip(keys, values))
        r = evaluate(make_ranker(name, **params), inner)
        rows.append((r.ndcg, params))
        print(" | ".join(str(v) for v in values)
              + f" | {r.ndcg:.4f} | {r.recall:.4f} | {r.fit_seconds:.1f}", flush=True)
    best = max(rows, key=lambda x: x[0])
    print(f"best: {best[1]} ndcg@10={best[0]:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
