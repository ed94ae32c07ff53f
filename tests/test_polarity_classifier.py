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
    liked, not_liked = pc.recalls(y, p >= t)
    assert liked > 0.9 and not_liked > 0.8        # out of fold, both classes found
    # a threshold is chosen where the rare class is found, not at the edge of the grid
    assert pc.best_threshold(np.r_[np.ones(5), np.zeros(5)],
                             np.r_[np.full(5, 0.8), np.full(5, 0.3)]) in \
        [round(v, 2) for v in np.linspace(0.31, 0.8, 50)]
