"""One suite for every ranker in ``RANKERS``, on a checkerboard with a known answer.

A ranker added to the registry is picked up by every test here automatically; only
the known-answer tests leave out the non-personalised baseline (``pop``), which has its own.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import scipy.sparse as sp

from recbot.ranking import store
from recbot.ranking.base import Candidate, Explanation, Ranker, UnknownItemError, UnknownUserError
from recbot.ranking.errors import ModelError, RankingError
from recbot.ranking.interactions import Interactions
from recbot.ranking.models import RANKERS, make_ranker

from .checkerboard import Checkerboard, build, make_checkerboard

NOT_PERSONALISED = {"pop"}
LINEAR = {"ease", "itemknn"}  # score = x @ B, so contributions add up to the score
UNKNOWN_ID = 999_999


@pytest.fixture(scope="module")
def board() -> Checkerboard:
    return make_checkerboard()


@pytest.fixture(scope="module")
def fitted(board):
    """Rankers trained on the board, once per module; tests must not mutate them."""
    cache: dict[str, Ranker] = {}

    def get(name: str) -> Ranker:
        if name not in cache:
            cache[name] = build(name).fit(board.interactions)
        return cache[name]

    return get


@pytest.fixture(params=sorted(RANKERS))
def ranker(request, fitted):
    return fitted(request.param)


@pytest.fixture(params=sorted(set(RANKERS) - NOT_PERSONALISED))
def personalised(request, fitted):
    return fitted(request.param)


@pytest.fixture(params=sorted(LINEAR))
def linear(request, fitted):
    return fitted(request.param)


def ids(cands: list[Candidate]) -> list[int]:
    return [c.item_id for c in cands]


def assert_well_formed(cands: list[Candidate], n: int, catalog: set[int]) -> None:
    assert len(cands) <= n
    assert len(set(ids(cands))) == len(cands), "duplicate items"
    assert set(ids(cands)) <= catalog
    scores = [c.score for c in cands]
    assert all(isinstance(s, float) and np.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True), "scores must not increase down the list"


# ----- the registry and the interface ----------------------------------------------

def test_registry_is_keyed_by_ranker_name():
    assert {"als", "ease", "itemknn", "pop"} <= set(RANKERS)
    for name, cls in RANKERS.items():
        assert cls.name == name
        assert make_ranker(name).name == name


def test_make_ranker_names_the_valid_choices():
    with pytest.raises(RankingError, match="als.*ease.*itemknn.*pop"):
        make_ranker("svd++")


def test_satisfies_the_ranker_protocol(ranker):
    assert isinstance(ranker, Ranker)


def test_unfitted_ranker_says_to_call_fit(ranker, board):
    fresh = build(ranker.name)
    with pytest.raises(RankingError, match="fit"):
        fresh.recommend(board.users[0])
    with pytest.raises(RankingError, match="fit"):
        fresh.recommend_for_items(list(board.blocks[0][:2]))


def test_fit_refuses_an_empty_matrix(ranker):
    empty = Interactions(np.array([1]), np.array([1, 2]), sp.csr_matrix((1, 2), dtype=np.float32))
    with pytest.raises(RankingError, match="empty"):
        build(ranker.name).fit(empty)


def test_same_random_state_same_recommendations(ranker, board):
    again = build(ranker.name).fit(board.interactions)
    for user in board.users[::7]:
        assert again.recommend(user, n=5) == ranker.recommend(user, n=5)


# ----- recommend -------------------------------------------------------------------

def test_recommend_never_returns_a_rated_item(ranker, board):
    for user in board.users:
        recs = ranker.recommend(user, n=100)
        assert not set(ids(recs)) & board.rated[user]
        # every unrated item has a finite score, so all of them come back
        assert set(ids(recs)) == board.all_items - board.rated[user]


@pytest.mark.parametrize("n", [1, 3, 7, 100])
def test_recommend_returns_at_most_n_distinct_items_best_first(ranker, board, n):
    for user in board.users[::5]:
        recs = ranker.recommend(user, n=n)
        assert_well_formed(recs, n, board.all_items)
        assert len(recs) == min(n, len(board.all_items - board.rated[user]))


@pytest.fixture(scope="module")
def noisy() -> Interactions:
    """Random ratings, tie-free scores and a catalog big enough that numpy's partial sort
    (argpartition) does not come back sorted by accident."""
    rng = np.random.default_rng(0)
    mask = rng.random((40, 1200)) < 0.05
    users, items = np.nonzero(mask)
    ratings = rng.choice([1.0, 2.5, 3.0, 4.0, 4.5, 5.0], size=len(users))
    return Interactions.from_arrays(users + 1, items * 2 + 1, ratings)


def test_recommend_matches_brute_force_over_score_users(ranker, noisy):
    model = build(ranker.name).fit(noisy)
    scores = model.score_users(np.arange(noisy.n_users))
    cols = noisy.item_index()
    for row in range(0, noisy.n_users, 4):
        user = int(noisy.user_ids[row])
        unseen = np.setdiff1d(np.arange(noisy.n_items), noisy.ratings[row].indices)
        ranked = np.sort(scores[row, unseen].astype(np.float64))[::-1]
        for n in (3, 600):
            recs = model.recommend(user, n=n)
            assert [c.score for c in recs] == pytest.approx(ranked[:n].tolist(), rel=1e-5, abs=1e-6)
            assert [c.score for c in recs] == pytest.approx(
                [float(scores[row, cols[c.item_id]]) for c in recs], rel=1e-5, abs=1e-6)


def test_recommend_with_n_zero_is_empty(ranker, board):
    assert ranker.recommend(board.users[0], n=0) == []


def test_recommend_honours_exclude(ranker, board):
    user = board.users[3]
    unseen = sorted(board.all_items - board.rated[user])
    exclude = [*board.held_out[user], unseen[-1], UNKNOWN_ID]  # unknown ids are ignored
    recs = ranker.recommend(user, n=100, exclude=exclude)
    assert not set(ids(recs)) & set(exclude)
    assert set(ids(recs)) == set(unseen) - set(exclude)


def test_recommend_agrees_with_score_users(ranker, board):
    index = board.interactions.user_index()
    user = board.users[5]
    scores = ranker.score_users(np.array([index[user]]))
    assert scores.shape == (1, board.interactions.n_items)
    cols = board.interactions.item_index()
    for c in ranker.recommend(user, n=100):
        assert c.score == pytest.approx(float(scores[0, cols[c.item_id]]), rel=1e-5, abs=1e-6)


def test_unknown_user_raises(ranker):
    with pytest.raises(UnknownUserError, match=str(UNKNOWN_ID)):
        ranker.recommend(UNKNOWN_ID)
    with pytest.raises(UnknownUserError):
        ranker.explain(UNKNOWN_ID, 1000)


def test_unknown_item_raises(ranker, board):
    with pytest.raises(UnknownItemError, match=str(UNKNOWN_ID)):
        ranker.similar_items(UNKNOWN_ID)
    with pytest.raises(UnknownItemError):
        ranker.explain(board.users[0], UNKNOWN_ID)


# ----- cold start ------------------------------------------------------------------

def test_recommend_for_items_never_returns_the_profile_or_exclusions(ranker, board):
    a, b = board.blocks
    liked, disliked, exclude = [a[0], a[1]], [b[0]], [a[2], UNKNOWN_ID]
    recs = ranker.recommend_for_items(liked, disliked, n=100, exclude=exclude)
    assert_well_formed(recs, 100, board.all_items)
    assert set(ids(recs)) == board.all_items - {*liked, *disliked, *exclude}


def test_recommend_for_items_ignores_unknown_items(ranker, board):
    a = board.blocks[0]
    assert ranker.recommend_for_items([UNKNOWN_ID]) == []
    assert ranker.recommend_for_items([a[0], UNKNOWN_ID], n=5) == ranker.recommend_for_items([a[0]], n=5)


@pytest.mark.parametrize("n", [1, 4, 100])
def test_similar_items_excludes_the_item_itself(ranker, board, n):
    item = board.blocks[1][4]
    sims = ranker.similar_items(item, n=n)
    assert item not in ids(sims)
    assert_well_formed(sims, n, board.all_items)
    assert len(sims) == min(n, len(board.all_items) - 1)


# ----- known answers (personalised rankers) ----------------------------------------

def test_recommends_the_held_out_item_first(personalised, board):
    wrong = {u: (personalised.recommend(u, n=1)[0].item_id, board.held_out[u][0])
             for u in board.users if ids(personalised.recommend(u, n=1)) != list(board.held_out[u])}
    assert not wrong, f"(got, expected) per user: {wrong}"


@pytest.mark.parametrize("block", [0, 1])
def test_recommend_for_items_ranks_the_liked_block_first(personalised, board, block):
    items = board.blocks[block]
    liked = [items[1], items[4], items[7]]
    recs = personalised.recommend_for_items(liked, n=len(items) - len(liked))
    assert set(ids(recs)) == set(items) - set(liked)


@pytest.mark.parametrize("block, j", [(0, 0), (0, 5), (1, 9)])
def test_similar_items_come_from_the_same_block(personalised, board, block, j):
    items = board.blocks[block]
    sims = personalised.similar_items(items[j], n=len(items) - 1)
    assert set(ids(sims)) == set(items) - {items[j]}


@pytest.mark.parametrize("block", [0, 1])
def test_dislike_pushes_down_the_disliked_items_neighbours(personalised, board, block):
    liked = board.blocks[block][0]
    other = board.blocks[1 - block]
    disliked = other[3]
    without = {c.item_id: c.score for c in personalised.recommend_for_items([liked], n=100)}
    with_dislike = {c.item_id: c.score
                    for c in personalised.recommend_for_items([liked], [disliked], n=100)}
    for item in set(other) - {disliked}:
        assert with_dislike[item] < without[item], item
    # the liked block still leads
    top = sorted(with_dislike, key=with_dislike.get, reverse=True)[: len(board.blocks[block]) - 1]
    assert set(top) == set(board.blocks[block]) - {liked}


def test_explain_credits_the_liked_block(personalised, board):
    user = board.users[2]
    rec = personalised.recommend(user, n=1)[0]
    exp = personalised.explain(user, rec.item_id, n=len(board.rated[user]))
    assert isinstance(exp, Explanation)
    assert exp.item_id == rec.item_id
    assert exp.score == pytest.approx(rec.score, rel=1e-4)
    parts = exp.contributions
    # one contribution per rated item (n is large enough for all of them)
    assert {p.item_id for p in parts} == board.rated[user]
    assert [p.score for p in parts] == sorted((p.score for p in parts), reverse=True)
    assert sum(p.share for p in parts) == pytest.approx(1.0, abs=1e-6)
    assert all(p.share == 0.0 for p in parts if p.score <= 0)
    block = set(board.block_items(user))
    assert sum(p.share for p in parts if p.item_id in block) > 0.9
    assert parts[0].item_id in block


def test_explain_a_list_of_liked_items(personalised, board):
    a, b = board.blocks
    liked = [a[0], a[1], a[2], b[5]]
    target = a[3]
    exp = personalised.explain(liked, target, n=10)
    assert {p.item_id for p in exp.contributions} <= set(liked)
    assert sum(p.share for p in exp.contributions) == pytest.approx(1.0, abs=1e-6)
    assert sum(p.share for p in exp.contributions if p.item_id in a) > 0.9
    rec = {c.item_id: c.score for c in personalised.recommend_for_items(liked, n=100)}
    assert exp.score == pytest.approx(rec[target], rel=1e-4)


def test_explain_n_limits_the_contributions(personalised, board):
    user = board.users[0]
    rec = personalised.recommend(user, n=1)[0]
    full = personalised.explain(user, rec.item_id, n=100).contributions
    top2 = personalised.explain(user, rec.item_id, n=2).contributions
    assert len(top2) == 2
    assert top2 == full[:2]


def test_linear_contributions_add_up_to_the_score(linear, board):
    ranker = linear
    for user in board.users[::6]:
        for rec in ranker.recommend(user, n=3):
            exp = ranker.explain(user, rec.item_id, n=100)
            assert sum(p.score for p in exp.contributions) == pytest.approx(exp.score, rel=1e-4)
            assert exp.score == pytest.approx(rec.score, rel=1e-4)


def test_linear_models_never_let_an_item_vouch_for_itself(linear, board):
    user = board.users[7]
    for item in sorted(board.rated[user])[:3]:
        exp = linear.explain(user, item, n=100)
        assert all(p.score == 0.0 for p in exp.contributions if p.item_id == item)


def test_itemknn_keeps_the_k_nearest_neighbours_of_each_item():
    rng = np.random.default_rng(3)
    users, items = np.nonzero(rng.random((50, 30)) < 0.5)
    inter = Interactions.from_arrays(users, items, rng.choice([2.0, 4.0, 5.0], size=len(users)))
    knn = make_ranker("itemknn", k=3).fit(inter)
    for item in range(0, 30, 5):
        others = [i for i in range(30) if i != item]
        exp = knn.explain(others, item, n=100)
        assert sum(p.score != 0.0 for p in exp.contributions) == 3, item


# ----- popularity ------------------------------------------------------------------

@pytest.mark.parametrize("confidence", ["binary", "stars"])
def test_pop_ranks_by_number_of_likes(confidence):
    # movie 10: liked (4.0) by 5 users   -> 5
    # movie 20: liked (5.0) by 3 users   -> 3  (higher stars do not count more)
    # movie 30: liked by 2, 3.5 by 1     -> 2  (below the like threshold: not counted)
    # movie 40: rated 1.0 by 6 users     -> 0
    rows = ([(u, 10, 4.0) for u in range(1, 6)] + [(u, 20, 5.0) for u in range(1, 4)]
            + [(1, 30, 4.5), (2, 30, 4.0), (3, 30, 3.5)] + [(u, 40, 1.0) for u in range(1, 7)])
    users, items, ratings = zip(*rows)
    pop = make_ranker("pop", confidence=confidence).fit(Interactions.from_arrays(users, items, ratings))
    assert pop.recommend_for_items([40], n=3) == [Candidate(10, 5.0), Candidate(20, 3.0),
                                                   Candidate(30, 2.0)]
    # user 6 rated only movie 40
    assert ids(pop.recommend(6, n=10)) == [10, 20, 30]
    # user 4 rated 10 and 40
    assert pop.recommend(4, n=10) == [Candidate(20, 3.0), Candidate(30, 2.0)]
    exp = pop.explain(6, 20)
    assert exp.score == 3.0 and exp.contributions == ()


def test_pop_scores_are_like_counts_for_everyone(board):
    # each board item is liked by 18 users and rated 1.0 by 2, which must not count
    pop = build("pop").fit(board.interactions)
    a, b = board.blocks
    for user in board.users[::9]:
        assert {c.score for c in pop.recommend(user, n=100)} == {18.0}
    assert {c.score for c in pop.recommend_for_items([a[0]], [b[0]], n=100)} == {18.0}


# ----- training weights ------------------------------------------------------------

@pytest.mark.parametrize("confidence, expected", [
    ("binary", [1.0, 1.0, 1.0, 0.3, 0.3]),
    ("stars", [2.0, 1.5, 1.0, 0.3, 0.3]),
])
def test_weights_from_ratings(confidence, expected):
    ranker = build("ease")
    ranker.confidence = confidence
    R = sp.csr_matrix(np.array([[5.0, 4.5, 4.0, 3.5, 0.5]], dtype=np.float32))
    assert ranker.weights(R).toarray()[0].tolist() == pytest.approx(expected)


def test_zero_low_weight_drops_non_likes():
    R = sp.csr_matrix(np.array([[5.0, 3.0, 1.0]], dtype=np.float32))
    W = build("pop").weights(R)
    assert W.nnz == 1 and W.toarray()[0].tolist() == [1.0, 0.0, 0.0]


def test_unknown_confidence_mode_is_refused():
    with pytest.raises(RankingError, match="binary, stars"):
        make_ranker("ease", confidence="likes")


# ----- persistence -----------------------------------------------------------------

def test_save_load_round_trip_gives_identical_answers(ranker, board, tmp_path):
    path = store.save(ranker, tmp_path / "model.npz")
    loaded = store.load(path, expect_fingerprint=board.interactions.fingerprint())
    assert type(loaded) is type(ranker)
    assert loaded.params() == ranker.params()
    for user in board.users[::3]:
        assert loaded.recommend(user, n=5) == ranker.recommend(user, n=5)
    a, b = board.blocks
    assert loaded.recommend_for_items([a[0], a[1]], [b[2]], n=8) == \
        ranker.recommend_for_items([a[0], a[1]], [b[2]], n=8)
    assert loaded.similar_items(b[3], n=5) == ranker.similar_items(b[3], n=5)
    user = board.users[1]
    assert loaded.explain(user, board.held_out[user][0]) == ranker.explain(user, board.held_out[user][0])


def test_load_refuses_a_model_trained_on_other_data(ranker, tmp_path):
    path = store.save(ranker, tmp_path / "model.npz")
    with pytest.raises(ModelError, match="other data"):
        store.load(path, expect_fingerprint="0" * 16)


def _changed(board: Checkerboard) -> Interactions:
    """The board plus one more rating."""
    R = board.interactions.ratings.tolil()
    R[0, R.shape[1] - 1] = 4.0
    return board.interactions.with_ratings(R.tocsr())


def test_load_or_fit_reuses_the_cached_model(ranker, board, tmp_path):
    first = build(ranker.name)
    assert store.load_or_fit(first, board.interactions, tmp_path) is first
    path = store.model_path(tmp_path, first, board.interactions)
    assert path.is_file()
    stamp = path.stat().st_mtime_ns
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))  # so a rewrite would show
    stamp = path.stat().st_mtime_ns

    second = build(ranker.name)
    cached = store.load_or_fit(second, board.interactions, tmp_path)
    assert cached is not second and not second.is_fitted, "it refit instead of loading"
    assert path.stat().st_mtime_ns == stamp, "the cached file was rewritten"
    user = board.users[4]
    assert cached.recommend(user, n=5) == first.recommend(user, n=5)


def test_load_or_fit_retrains_when_the_data_changes(ranker, board, tmp_path):
    old = store.load_or_fit(build(ranker.name), board.interactions, tmp_path)
    old_path = store.model_path(tmp_path, old, board.interactions)
    changed = _changed(board)
    assert changed.fingerprint() != board.interactions.fingerprint()

    fresh = build(ranker.name)
    new = store.load_or_fit(fresh, changed, tmp_path)
    assert new is fresh and new.interactions.fingerprint() == changed.fingerprint()
    new_path = store.model_path(tmp_path, new, changed)
    assert new_path.is_file() and not old_path.exists()
    store.load(new_path, expect_fingerprint=changed.fingerprint())


@pytest.mark.parametrize("content", [b"not a model at all", b"PK\x03\x04 truncated zip"])
def test_a_garbage_model_file_is_an_error_and_gets_retrained(ranker, board, tmp_path, content):
    path = store.model_path(tmp_path, build(ranker.name), board.interactions)
    path.write_bytes(content)
    with pytest.raises(ModelError, match=path.name):
        store.load(path)
    fresh = build(ranker.name)
    assert store.load_or_fit(fresh, board.interactions, tmp_path) is fresh
    assert fresh.is_fitted
    reloaded = store.load(path, expect_fingerprint=board.interactions.fingerprint())
    assert reloaded.recommend(board.users[0], n=3) == fresh.recommend(board.users[0], n=3)


def test_a_truncated_model_file_is_an_error(board, tmp_path):
    path = store.save(build("ease").fit(board.interactions), tmp_path / "model.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError, match="model.npz"):
        store.load(path)


def test_a_model_from_another_format_version_is_an_error(tmp_path):
    path = tmp_path / "model.npz"
    meta = {"format": store.FORMAT_VERSION + 1, "ranker": "pop", "params": {}, "fingerprint": "x"}
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(ModelError, match="format"):
        store.load(path)


def test_an_empty_model_file_is_a_model_error(board, tmp_path):
    path = store.model_path(tmp_path, build("pop"), board.interactions)
    path.write_bytes(b"")
    with pytest.raises(ModelError):
        store.load(path)


def test_a_model_file_missing_its_arrays_is_a_model_error(tmp_path):
    path = tmp_path / "model.npz"
    meta = {"format": store.FORMAT_VERSION, "ranker": "pop", "params": {}, "fingerprint": "x"}
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(ModelError):
        store.load(path)


@pytest.mark.parametrize("name", sorted(RANKERS))
def test_a_title_both_liked_and_disliked_counts_as_disliked(name, board):
    ranker = build(name).fit(board.interactions)
    a = int(board.interactions.item_ids[0])
    assert ranker.recommend_for_items([a], [a], n=5) == []


def test_explain_many_matches_explain_one_by_one(personalised, board):
    a, b = board.blocks
    liked = [a[0], a[1], a[2], b[5]]
    targets = [a[3], a[4], b[6], 10**9]          # the last one is unknown: left out
    many = personalised.explain_many(liked, targets, n=3)
    assert set(many) == set(targets[:3])
    for t in targets[:3]:
        one = personalised.explain(liked, t, n=3)
        assert many[t].score == pytest.approx(one.score, rel=1e-4, abs=1e-6)
        assert [p.item_id for p in many[t].contributions] == [p.item_id for p in one.contributions]
        assert [p.share for p in many[t].contributions] == pytest.approx(
            [p.share for p in one.contributions], abs=1e-5)
