"""The logistic regression of bench/polarity_classifier.py (the experiment behind issue #30's
item 3) on data it must separate: a skewed toy set like ReDial's (few not-liked)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import polarity_classifier as pc  # noqa: E402


def test_balanced_logistic_regression_finds_the_rare_class():
    rng = np.random.default_rng(1)
    liked = rng.normal(0.5, 0.3, size=(200, 4))
    not_liked = rng.normal(-0.5, 0.3, size=(10, 4))
    x = np.vstack([liked, not_liked])
    y = np.r_[np.ones(200), np.zeros(10)]
    w = pc.train(x, y)
    rec_liked, rec_not = pc.recalls(y, pc.prob(w, x) >= 0.5)
    assert rec_liked > 0.95 and rec_not > 0.9
    groups = np.arange(len(y)) % 7
    p = pc.cv_probs(x, y, groups)
    t = pc.best_threshold(y, p)
    assert 0.05 <= t <= 0.95
    assert sum(pc.recalls(y, p >= t)) >= sum(pc.recalls(y, p >= 0.05))
