"""Holdout splits, top-k over unseen items, offline evaluation, and reading ratings files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recbot.ranking.errors import InteractionsError, RankingError
from recbot.ranking.evaluate import evaluate, holdout_split, top_k_unseen
from recbot.ranking.interactions import Interactions, read_ratings
from recbot.ranking.metrics import ndcg_at_k

from .checkerboard import build, make_checkerboard

# ----- holdout_split ---------------------------------------------------------------

LOW_RATINGS = (3.5, 3.0, 1.0, 0.5)  # below the 4.0 like threshold
# user id -> (number of likes, number of low ratings); expected test size round(0.2 * likes)
PROFILES = {1: (9, 3), 2: (10, 2), 3: (13, 4), 4: (17, 1), 5: (22, 0), 6: (28, 4), 7: (0, 4)}
EXPECTED_TEST_SIZE = {2: 2, 3: 3, 4: 3, 5: 4, 6: 6}  # 2.0, 2.6, 3.4, 4.4, 5.6 rounded


@pytest.fixture(scope="module")
def mixed() -> Interactions:
    rows = []
    for u, (likes, lows) in PROFILES.items():
        # items 1..likes; 4.0 (exactly the threshold) counts as a like
        rows += [(u, 1 + j, (4.0, 4.5, 5.0)[j % 3]) for j in range(likes)]
        rows += [(u, 31 + j, LOW_RATINGS[j % 4]) for j in range(lows)]
    return Interactions.from_arrays(*zip(*rows))


def _row(inter: Interactions, user: int) -> dict[int, float]:
    r = inter.ratings[inter.user_index()[user]]
    return {int(inter.item_ids[c]): float(v) for c, v in zip(r.indices, r.data)}


def test_only_users_with_ten_likes_get_a_test_set(mixed):
    split = holdout_split(mixed, seed=0)
    index = mixed.user_index()
    assert set(split.test) == {index[u] for u in EXPECTED_TEST_SIZE}


def test_test_size_is_a_fifth_of_the_likes(mixed):
    split = holdout_split(mixed, seed=0)
    index = mixed.user_index()
    assert {u: len(split.test[index[u]]) for u in EXPECTED_TEST_SIZE} == EXPECTED_TEST_SIZE


def test_held_out_likes_leave_train_and_nothing_else_does(mixed):
    split = holdout_split(mixed, seed=3)
    assert split.train.ratings.shape == mixed.ratings.shape
    assert np.array_equal(split.train.item_ids, mixed.item_ids)
    assert np.array_equal(split.train.user_ids, mixed.user_ids)
    index = mixed.user_index()
    for u in PROFILES:
        before, after = _row(mixed, u), _row(split.train, u)
        held = {int(mixed.item_ids[c]) for c in split.test.get(index[u], [])}
        assert held.isdisjoint(after)
        assert all(before[m] >= 4.0 for m in held), "held out a rating below the like threshold"
        assert after == {m: r for m, r in before.items() if m not in held}
    assert split.train.nnz == mixed.nnz - sum(EXPECTED_TEST_SIZE.values())


def test_same_seed_same_split_other_seed_other_split(mixed):
    a, b, c = holdout_split(mixed, seed=7), holdout_split(mixed, seed=7), holdout_split(mixed, seed=8)
    assert a.seed == 7 and c.seed == 8
    assert a.test.keys() == b.test.keys() == c.test.keys()
    assert all(np.array_equal(a.test[u], b.test[u]) for u in a.test)
    assert (a.train.ratings != b.train.ratings).nnz == 0
    assert any(not np.array_equal(a.test[u], c.test[u]) for u in a.test)


def test_min_positives_and_fraction_are_honoured(mixed):
    split = holdout_split(mixed, seed=0, min_positives=5, test_fraction=0.5)
    index = mixed.user_index()
    # user 1 now qualifies with 9 likes -> round(4.5) = 4 (banker's rounding); user 7 never
    assert {u: len(split.test[index[u]]) for u in (1, 2, 3)} == {1: 4, 2: 5, 3: 6}
    assert index[7] not in split.test


def test_nobody_with_enough_likes_is_an_error(mixed):
    with pytest.raises(RankingError, match="100"):
        holdout_split(mixed, min_positives=100)


# ----- top_k_unseen ----------------------------------------------------------------

SCORES = np.array([[0.1, 0.9, 0.5, 0.3, 0.7],
                   [0.8, 0.2, 0.6, 0.4, 0.1],
                   [0.5, 0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
SEEN = sp.csr_matrix(np.array([[0, 1, 0, 0, 0],   # row 0 saw column 1 (its best)
                               [0, 0, 0, 0, 0],   # row 1 saw nothing
                               [1, 1, 1, 1, 0]],  # row 2 saw all but column 4
                              dtype=np.float32))


def test_top_k_unseen_by_hand():
    top = top_k_unseen(SCORES, SEEN, 3)
    assert top.tolist() == [[4, 2, 3], [0, 2, 3], [4, -1, -1]]


def test_top_k_unseen_clips_k_to_the_catalog_and_pads_with_minus_one():
    top = top_k_unseen(SCORES, SEEN, 50)
    assert top.tolist() == [[4, 2, 3, 0, -1], [0, 2, 3, 1, 4], [4, -1, -1, -1, -1]]


def test_top_k_unseen_leaves_the_scores_alone():
    scores = SCORES.copy()
    top_k_unseen(scores, SEEN, 3)
    assert np.array_equal(scores, SCORES)


def test_top_k_unseen_never_returns_a_seen_column():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 25)).astype(np.float32)
    seen = sp.random(40, 25, density=0.6, format="lil", random_state=1, dtype=np.float32)
    seen[0, :] = 1.0  # one user has seen everything
    seen = sp.csr_matrix(seen)
    top = top_k_unseen(scores, seen, 10)
    dense = seen.toarray() > 0
    assert (top[0] == -1).all()
    for u in range(40):
        valid = top[u][top[u] >= 0]
        assert not dense[u, valid].any()
        assert len(valid) == min(10, int((~dense[u]).sum()))
        assert (top[u][len(valid):] == -1).all(), "padding must come last"
        s = scores[u, valid]
        assert (np.diff(s) <= 0).all()
        unseen = np.flatnonzero(~dense[u])
        assert set(valid) == set(unseen[np.argsort(-scores[u, unseen])][: len(valid)])


# ----- evaluate --------------------------------------------------------------------

@pytest.fixture(scope="module")
def three_blocks():
    # 60 users x 36 items; every user likes all 12 items of their block (+ one 1.0 rating
    # elsewhere), so holdout leaves exactly 2 unseen items in their block, both relevant.
    board = make_checkerboard(n_blocks=3, users_per_block=20, items_per_block=12, held_out=0,
                              like_ratings=(4.0, 4.5, 5.0))
    return holdout_split(board.interactions, seed=0)


@pytest.mark.parametrize("name", ["als", "ease", "itemknn"])
def test_personalised_rankers_find_the_held_out_block_items(three_blocks, name):
    result = evaluate(build(name), three_blocks, k=5)
    assert result.n_users == 60
    assert result.ndcg > 0.95
    assert result.recall > 0.95
    assert result.map > 0.95
    assert result.precision == pytest.approx(2 / 5, abs=0.02)  # 2 relevant in 5 slots


def test_popularity_is_far_behind_on_the_checkerboard(three_blocks):
    pop = evaluate(build("pop"), three_blocks, k=5)
    ease = evaluate(build("ease"), three_blocks, k=5)
    assert pop.ndcg < 0.5 < ease.ndcg
    assert pop.coverage < ease.coverage


def test_evaluate_agrees_with_recommend(three_blocks):
    ranker = build("als")
    result = evaluate(ranker, three_blocks, k=5)
    train = three_blocks.train
    cols = train.item_index()
    by_hand = []
    for row, held in three_blocks.test.items():
        ranked = [cols[c.item_id] for c in ranker.recommend(int(train.user_ids[row]), n=5)]
        by_hand.append(ndcg_at_k(ranked, set(held.tolist()), 5))
    assert result.ndcg == pytest.approx(float(np.mean(by_hand)))


def test_evaluate_result_fields_and_batching(three_blocks):
    ranker = build("ease")
    full = evaluate(ranker, three_blocks, k=3)
    assert (full.name, full.k, full.params) == ("ease", 3, ranker.params())
    assert 0.0 < full.coverage <= 1.0 and full.fit_seconds >= 0.0
    d = full.as_dict()
    assert d["ranker"] == "ease" and d["users"] == 60 and d["ndcg"] == full.ndcg
    small = evaluate(ranker, three_blocks, k=3, batch_size=7, fit=False)
    assert (small.recall, small.ndcg, small.precision, small.map, small.coverage) == \
        (full.recall, full.ndcg, full.precision, full.map, full.coverage)


def test_evaluate_without_fit_uses_the_trained_model(three_blocks):
    ranker = build("pop").fit(three_blocks.train)
    trained_on = ranker.interactions
    evaluate(ranker, three_blocks, k=5, fit=False)
    assert ranker.interactions is trained_on
    with pytest.raises(RankingError, match="fit"):
        evaluate(build("pop"), three_blocks, fit=False)


# ----- reading ratings -------------------------------------------------------------

def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_ratings_parses_a_movielens_file(tmp_path):
    path = _write(tmp_path, "ratings.csv",
                  "userId,movieId,rating,timestamp\n1, 10, 4.5, 964982703\n2,10,3,964982224\n")
    df = read_ratings(path)
    assert df["userId"].tolist() == [1, 2] and df["movieId"].tolist() == [10, 10]
    assert df["rating"].tolist() == [4.5, 3.0]
    assert str(df["userId"].dtype) == "int64" and str(df["rating"].dtype) == "float32"
    assert df["timestamp"].tolist() == [964982703, 964982224]
    inter = Interactions.from_frame(df)
    assert inter.user_ids.tolist() == [1, 2] and inter.item_ids.tolist() == [10]


def test_timestamp_is_optional(tmp_path):
    df = read_ratings(_write(tmp_path, "no_ts.csv", "userId,movieId,rating\n1,2,5\n"))
    assert list(df.columns) == ["userId", "movieId", "rating"]


@pytest.mark.parametrize("name, text, message", [
    ("missing_col.csv", "userId,movieId,timestamp\n1,2,3\n", "missing column.*rating"),
    ("bad_rating.csv", "userId,movieId,rating\n1,10,4.0\n1,11,great\n", "line 3: rating.*'great'"),
    ("bad_user.csv", "userId,movieId,rating\n1,10,4.0\n2,10,4.0\nx,11,3\n", "line 4: userId"),
    ("fractional_movie.csv", "userId,movieId,rating\n1,10.5,4.0\n", "line 2: movieId.*integer"),
    ("empty.csv", "", "empty"),
    ("header_only.csv", "userId,movieId,rating,timestamp\n", "no ratings"),
    ("duplicate.csv", "userId,movieId,rating\n1,10,4\n1,11,3\n1,10,5\n",
     "line 4: duplicate rating for userId 1, movieId 10"),
    ("ragged.csv", "userId,movieId,rating\n1,10,4\n1,11,3,99,100\n", "not a readable CSV"),
])
def test_read_ratings_errors_name_the_file_and_the_problem(tmp_path, name, text, message):
    path = _write(tmp_path, name, text)
    with pytest.raises(InteractionsError, match=message) as err:
        read_ratings(path)
    assert name in str(err.value)
    assert "\n" not in str(err.value)


def test_read_ratings_missing_file(tmp_path):
    with pytest.raises(InteractionsError, match="no such file") as err:
        read_ratings(tmp_path / "nowhere.csv")
    assert "nowhere.csv" in str(err.value)


def test_line_numbers_count_blank_lines(tmp_path):
    path = _write(tmp_path, "blank_line.csv", "userId,movieId,rating\n1,10,4.0\n\n2,10,abc\n")
    with pytest.raises(InteractionsError, match="line 4"):
        read_ratings(path)


# ----- interactions ----------------------------------------------------------------

def test_fingerprint_follows_the_data():
    a = Interactions.from_arrays([1, 1, 2], [10, 20, 10], [4.0, 3.0, 5.0])
    same = Interactions.from_arrays([2, 1, 1], [10, 20, 10], [5.0, 3.0, 4.0])
    other = Interactions.from_arrays([1, 1, 2], [10, 20, 10], [4.0, 3.5, 5.0])
    assert a.fingerprint() == same.fingerprint()
    assert a.fingerprint() != other.fingerprint()


def test_a_catalog_fixes_the_item_axis():
    inter = Interactions.from_arrays([1, 2], [30, 10], [4.0, 5.0], item_ids=np.array([30, 20, 10]))
    assert inter.item_ids.tolist() == [30, 20, 10]
    assert inter.ratings.toarray().tolist() == [[4.0, 0.0, 0.0], [0.0, 0.0, 5.0]]
    with pytest.raises(InteractionsError, match="not in the item list"):
        Interactions.from_arrays([1], [99], [4.0], item_ids=np.array([10, 20]))


def test_repeated_pairs_keep_the_last_rating_instead_of_adding_up():
    inter = Interactions.from_arrays([1, 1, 2], [10, 10, 10], [4.0, 5.0, 3.0])
    assert inter.nnz == 2
    assert inter.ratings[0, 0] == 5.0
