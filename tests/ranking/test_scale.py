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


def test_model_files_are_aligned_for_mapping_and_old_savez_files_still_load(tmp_path):
    from recbot.ranking import store
    from recbot.ranking.models import ALSRanker

    rng = np.random.default_rng(5)
    R = sp.random(60, 40, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    R.data = rng.choice([2.0, 4.0, 5.0], size=R.nnz).astype(np.float32)
    ranker = ALSRanker(factors=8, iterations=2).fit(Interactions(np.arange(60), np.arange(40), R))
    path = store.save(ranker, tmp_path / "m.npz")
    mapped = store.open_arrays(path)
    with np.load(path) as plain:   # still an ordinary .npz
        assert set(plain.files) == {f"{k}.npy" for k in mapped} or set(plain.files) == set(mapped)
        for name in plain.files:
            np.testing.assert_array_equal(mapped[name.removesuffix(".npy")], plain[name])
    for name, arr in mapped.items():
        if arr.size:
            assert isinstance(arr, np.memmap) and arr.ctypes.data % store.ALIGN == 0, name
    # a file np.savez wrote (payloads at odd offsets) is read, not mapped, and gives the same
    old = tmp_path / "old.npz"
    np.savez(old, **{k: np.asarray(v) for k, v in mapped.items()})
    again = store.open_arrays(old)
    for name, arr in mapped.items():
        np.testing.assert_array_equal(again[name], arr)
    loaded = store.load(path, verify=False)
    assert loaded.interactions.fingerprint() == ranker.interactions.fingerprint()
    assert loaded.recommend(3, n=5) == ranker.recommend(3, n=5)
    assert loaded.recommend_for_items([1, 2], n=5) == ranker.recommend_for_items([1, 2], n=5)


def test_co_ratings_snapshot_answers_as_the_built_one(tmp_path):
    from recbot.agent.explain.evidence import CoRatings

    rng = np.random.default_rng(6)
    R = sp.random(80, 30, density=0.3, random_state=rng, format="csr", dtype=np.float32)
    R.data = rng.choice([1.0, 3.5, 4.0, 5.0], size=R.nnz).astype(np.float32)
    inter = Interactions(np.arange(80), np.arange(100, 130), R)
    built = CoRatings(inter)
    with open(tmp_path / "co.npz", "wb") as fh:
        built.save(fh)
    snap = CoRatings.load(tmp_path / "co.npz", inter)
    for seed in (100, 105, 129):
        assert snap.neighbours(seed, n=10) == built.neighbours(seed, n=10)
        for item in (101, 117):
            assert snap.lift(seed, item) == built.lift(seed, item)
    other = Interactions(np.arange(81), np.arange(100, 130), sp.vstack([R, R[:1]]).tocsr())
    with pytest.raises(ValueError, match="snapshot"):
        CoRatings.load(tmp_path / "co.npz", other)
