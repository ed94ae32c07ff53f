"""Ranking metrics against values worked out by hand in the comments."""

from math import log2

import numpy as np
import pytest

from recbot.ranking.metrics import (
    average_precision_at_k,
    coverage,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

METRICS = (recall_at_k, precision_at_k, ndcg_at_k, average_precision_at_k)

# ranked [1, 2, 3, 4], relevant {2, 4, 9}
RANKED, RELEVANT = [1, 2, 3, 4], {2, 4, 9}


def test_one_hit_in_the_top_three():
    # top 3 = [1, 2, 3]: one hit (2) at rank 2
    k = 3
    # recall = hits / min(k, |relevant|) = 1 / 3
    assert recall_at_k(RANKED, RELEVANT, k) == pytest.approx(1 / 3)
    # precision = hits / k = 1 / 3
    assert precision_at_k(RANKED, RELEVANT, k) == pytest.approx(1 / 3)
    # DCG = 1/log2(3); ideal puts 3 hits first: 1/log2(2) + 1/log2(3) + 1/log2(4)
    assert ndcg_at_k(RANKED, RELEVANT, k) == pytest.approx(
        (1 / log2(3)) / (1 + 1 / log2(3) + 1 / log2(4)))
    # AP = (precision@2 = 1/2) / min(3, 3) = 1/6
    assert average_precision_at_k(RANKED, RELEVANT, k) == pytest.approx(1 / 6)


def test_two_hits_in_the_top_four():
    # top 4 = [1, 2, 3, 4]: hits at ranks 2 and 4
    k = 4
    assert recall_at_k(RANKED, RELEVANT, k) == pytest.approx(2 / 3)  # 2 / min(4, 3)
    assert precision_at_k(RANKED, RELEVANT, k) == pytest.approx(2 / 4)
    # DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3) + 1/log2(4) (only 3 relevant)
    assert ndcg_at_k(RANKED, RELEVANT, k) == pytest.approx(
        (1 / log2(3) + 1 / log2(5)) / (1 + 1 / log2(3) + 1 / log2(4)))
    # AP = (1/2 + 2/4) / min(4, 3) = 1/3
    assert average_precision_at_k(RANKED, RELEVANT, k) == pytest.approx(1 / 3)


def test_order_matters_for_ndcg_and_ap_but_not_recall():
    relevant = {1, 2}
    good, late = [1, 2, 9], [9, 1, 2]
    assert recall_at_k(late, relevant, 3) == recall_at_k(good, relevant, 3) == 1.0
    assert ndcg_at_k(good, relevant, 3) == pytest.approx(1.0)
    # DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    assert ndcg_at_k(late, relevant, 3) == pytest.approx(
        (1 / log2(3) + 1 / log2(4)) / (1 + 1 / log2(3)))
    assert average_precision_at_k(good, relevant, 3) == pytest.approx(1.0)
    # AP = (1/2 + 2/3) / 2 = 7/12
    assert average_precision_at_k(late, relevant, 3) == pytest.approx(7 / 12)


def test_a_perfect_list_scores_one():
    ranked = [4, 9, 2, 1]
    for metric in (recall_at_k, ndcg_at_k, average_precision_at_k):
        assert metric(ranked, RELEVANT, 3) == pytest.approx(1.0), metric.__name__
    assert precision_at_k(ranked, RELEVANT, 3) == pytest.approx(1.0)


def test_more_relevant_items_than_k_can_still_score_one():
    # 5 relevant, k = 2: the denominators use min(k, |relevant|) = 2
    ranked, relevant = [1, 2, 7], {1, 2, 3, 4, 5}
    assert recall_at_k(ranked, relevant, 2) == pytest.approx(1.0)
    assert ndcg_at_k(ranked, relevant, 2) == pytest.approx(1.0)
    assert average_precision_at_k(ranked, relevant, 2) == pytest.approx(1.0)


def test_k_larger_than_the_list():
    # ranked [5, 7], relevant {7}, k = 10: one hit at rank 2
    ranked, relevant, k = [5, 7], {7}, 10
    assert recall_at_k(ranked, relevant, k) == pytest.approx(1.0)  # 1 / min(10, 1)
    assert precision_at_k(ranked, relevant, k) == pytest.approx(1 / 10)  # over k slots, not 2
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(1 / log2(3))  # IDCG = 1
    assert average_precision_at_k(ranked, relevant, k) == pytest.approx(1 / 2)


@pytest.mark.parametrize("metric", METRICS)
def test_no_hits_scores_zero(metric):
    assert metric([1, 3, 5], {2, 4}, 3) == 0.0


@pytest.mark.parametrize("metric", METRICS)
def test_nothing_relevant_scores_zero(metric):
    assert metric([1, 2, 3], set(), 3) == 0.0


@pytest.mark.parametrize("metric", METRICS)
def test_an_empty_list_scores_zero(metric):
    assert metric([], {1, 2}, 5) == 0.0


@pytest.mark.parametrize("metric", METRICS)
def test_numpy_inputs_match_python_inputs(metric):
    # evaluate() passes numpy int64 arrays; they must match Python ints
    ranked = np.array(RANKED, dtype=np.int64)
    assert metric(ranked, RELEVANT, 4) == pytest.approx(metric(RANKED, RELEVANT, 4))
    assert metric(ranked, RELEVANT, 4) > 0


def test_coverage_counts_distinct_items_over_the_catalog():
    # items 1, 2, 3 appear somewhere: 3 of 10
    assert coverage([[1, 2], [2, 3], []], 10) == pytest.approx(0.3)
    assert coverage([np.array([4, 5]), np.array([5])], 4) == pytest.approx(0.5)
    assert coverage([], 10) == 0.0
    assert coverage([[1]], 0) == 0.0
