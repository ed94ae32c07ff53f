"""Rankers that must not grow with films squared: item-kNN in blocks, EASE's size limit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import recbot.ranking.models as models
from recbot.ranking.errors import RankingError
from recbot.ranking.interactions import Interactions
from recbot.ranking.models import EASERanker, ItemKNNRanker


def dense_knn(X: sp.csr_matrix, k: int, shrink: float) -> np.ndarray:
    """The textbook version: full cosine matrix, each column's k largest kept (ties too)."""
    Xb = abs(X).toarray().astype(np.float64)
    C = Xb.T @ Xb
    norms = np.sqrt(np.diag(C))
    S = C / (np.outer(norms, norms) + shrink + 1e-9)
    np.fill_diagonal(S, 0.0)
    thresh = -np.partition(-S, k - 1, axis=0)[k - 1]
    S[S < thresh[None, :]] = 0.0
    return S


@pytest.mark.parametrize("block", [1, 7, 64, 4096])
@pytest.mark.parametrize("k, shrink", [(5, 0.0), (12, 3.0)])
def test_item_knn_in_blocks_equals_the_dense_computation(block, k, shrink):
    rng = np.random.default_rng(block + k)
    X = sp.random(300, 90, density=0.08, random_state=rng, format="csr", dtype=np.float32)
    X.data = rng.choice([-0.3, 1.0, 2.0], size=X.nnz).astype(np.float32)
    got = ItemKNNRanker(k=k, shrink=shrink)._item_item(X, block=block)
    assert sp.issparse(got) and got.shape == (90, 90)
    want = dense_knn(X, k, shrink)
    np.testing.assert_allclose(got.toarray(), want, atol=1e-5)
    assert (got.getnnz(axis=0) <= k + 3).all()   # k per item (a tie may add one or two)


def test_ease_refuses_more_films_than_its_limit_with_what_to_use(monkeypatch):
    rng = np.random.default_rng(0)
    R = sp.random(40, 30, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    R.data = rng.choice([2.0, 4.0, 5.0], size=R.nnz).astype(np.float32)
    inter = Interactions(np.arange(1, 41), np.arange(1, 31), R)
    monkeypatch.setattr(models, "EASE_MAX_ITEMS", 10)
    with pytest.raises(RankingError, match=r"EASE needs a dense .* use als .* or itemknn"):
        EASERanker().fit(inter)
    monkeypatch.setattr(models, "EASE_MAX_ITEMS", 30)
    assert EASERanker().fit(inter).recommend(1, n=3)   # at the limit it still runs exactly


def test_als_fold_in_equals_implicits_recalculate_user():
    from recbot.ranking.models import ALSRanker

    rng = np.random.default_rng(3)
    R = sp.random(200, 80, density=0.1, random_state=rng, format="csr", dtype=np.float32)
    R.data = rng.choice([1.0, 2.5, 4.0, 5.0], size=R.nnz).astype(np.float32)
    ranker = ALSRanker(factors=16, iterations=3).fit(Interactions(np.arange(200), np.arange(80), R))
    profiles = sp.csr_matrix(np.array([[2.0, 0, -2.0, 1.0] + [0] * 76, [0] * 79 + [2.0],
                                       [0] * 80], dtype=np.float32))
    ours = ranker.fold_in(profiles)
    theirs = ranker.model.recalculate_user(np.arange(3), profiles)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.abs(ours[:2]).max() > 0 and not ours[2].any()
