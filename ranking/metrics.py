"""Top-k ranking metrics for one user: ``ranked`` is the recommended list, ``relevant`` the held-out set."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np


def _hits(ranked: Sequence[int], relevant: Collection[int], k: int) -> np.ndarray:
    rel = set(relevant)
    return np.array([1.0 if item in rel else 0.0 for item in list(ranked)[:k]])


def recall_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Hits in the top k divided by min(k, |relevant|), so a perfect list scores 1."""
    if not relevant:
        return 0.0
    return float(_hits(ranked, relevant, k).sum() / min(k, len(relevant)))


def precision_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    return float(_hits(ranked, relevant, k).sum() / k)


def ndcg_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """Binary-gain NDCG with log2 discounts; the ideal list puts min(k, |relevant|) hits first."""
    if not relevant:
        return 0.0
    hits = _hits(ranked, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((hits * discounts[: len(hits)]).sum())
    idcg = float(discounts[: min(k, len(relevant))].sum())
    return dcg / idcg


def average_precision_at_k(ranked: Sequence[int], relevant: Collection[int], k: int) -> float:
    """AP@k: mean of precision@i at each hit position i <= k, over min(k, |relevant|)."""
    if not relevant:
        return 0.0
    hits = _hits(ranked, relevant, k)
    if not hits.any():
        return 0.0
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precisions * hits).sum() / min(k, len(relevant)))


def coverage(recommended_lists: Sequence[Sequence[int]], n_items: int) -> float:
    """Share of the catalog that appears in at least one user's list."""
    if n_items <= 0:
        return 0.0
    seen = {item for lst in recommended_lists for item in lst}
    return len(seen) / n_items
