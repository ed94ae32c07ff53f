"""Offline evaluation: random per-user holdout of liked items, all-unrated-items ranking."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .base import BaseRanker
from .errors import RankingError
from .interactions import Interactions
from .metrics import average_precision_at_k, coverage, ndcg_at_k, precision_at_k, recall_at_k


@dataclass(frozen=True, slots=True)
class Split:
    """``train`` keeps every rating except the held-out likes in ``test`` (row -> item columns)."""

    train: Interactions
    test: dict[int, np.ndarray]
    seed: int


@dataclass(frozen=True, slots=True)
class EvalResult:
    name: str
    k: int
    recall: float
    ndcg: float
    precision: float
    map: float
    coverage: float
    n_users: int
    fit_seconds: float
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ranker": self.name, "k": self.k, "recall": self.recall, "ndcg": self.ndcg,
                "precision": self.precision, "map": self.map, "coverage": self.coverage,
                "users": self.n_users, "fit_seconds": self.fit_seconds, "params": self.params}


def holdout_split(inter: Interactions, *, seed: int = 0, test_fraction: float = 0.2,
                  min_positives: int = 10, positive_threshold: float = 4.0) -> Split:
    """For users with >= ``min_positives`` likes (rating >= threshold) hold out
    ``round(test_fraction * likes)`` of them at random."""
    rng = np.random.default_rng(seed)
    R = inter.ratings.tocsr()
    keep = np.ones(R.nnz, dtype=bool)
    test: dict[int, np.ndarray] = {}
    for u in range(R.shape[0]):
        lo, hi = R.indptr[u], R.indptr[u + 1]
        pos = np.flatnonzero(R.data[lo:hi] >= positive_threshold)
        if len(pos) < min_positives:
            continue
        n_test = max(1, round(test_fraction * len(pos)))
        chosen = rng.choice(pos, size=n_test, replace=False)
        keep[lo + chosen] = False
        test[u] = np.sort(R.indices[lo + chosen])
    if not test:
        raise RankingError(f"no user has {min_positives} or more ratings >= {positive_threshold}; "
                           "nothing to evaluate")
    coo = R.tocoo()
    train = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=R.shape)
    train.sort_indices()
    return Split(inter.with_ratings(train), test, seed)


def top_k_unseen(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Row-wise top-k column indices after removing each row's ``seen`` columns."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    rows, cols = seen.nonzero() if seen.nnz else (np.zeros(0, int), np.zeros(0, int))
    scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    # never return a masked item, even when a user has seen almost everything
    valid = np.isfinite(np.take_along_axis(scores, top, axis=1))
    return np.where(valid, top, -1)


def evaluate(ranker: BaseRanker, split: Split, *, k: int = 10, batch_size: int = 512,
             fit: bool = True) -> EvalResult:
    """Fit on ``split.train`` (unless ``fit=False``) and score the held-out likes."""
    t0 = time.perf_counter()
    if fit:
        ranker.fit(split.train)
    fit_seconds = time.perf_counter() - t0
    train = split.train.ratings
    users = np.array(sorted(split.test), dtype=np.int64)
    sums = np.zeros(4)
    lists: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        rows = users[start:start + batch_size]
        top = top_k_unseen(ranker.score_users(rows), train[rows], k)
        for u, ranked in zip(rows, top):
            ranked = ranked[ranked >= 0]
            rel = set(split.test[int(u)].tolist())
            lists.append(ranked)
            sums += (recall_at_k(ranked, rel, k), ndcg_at_k(ranked, rel, k),
                     precision_at_k(ranked, rel, k), average_precision_at_k(ranked, rel, k))
    n = len(users)
    rec, ndcg, prec, ap = (sums / n).tolist()
    return EvalResult(ranker.name, k, rec, ndcg, prec, ap,
                      coverage([lst.tolist() for lst in lists], train.shape[1]), n, fit_seconds,
                      ranker.params())
