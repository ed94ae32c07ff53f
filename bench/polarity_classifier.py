"""The learned piece of recbot's sentiment reader (issue #30, item 3): a logistic regression
over the sentence vector of a seeker's message, deciding whether the seeker liked a film the
message names *where the rules give no verdict* (a bare mention: "I watched X last week").

Data: ReDial, as bench_sentiment.py reads it (the seeker's messages; the truth is the seeker's
own answer, ``initiatorQuestions[id].liked``, 1 liked / 0 not liked). One example per seeker
message naming a film with an answer, the film names written as "X" (the words around a
title, not the title, carry the sentiment; ``recbot.agent.reader.polarity.masked``), labelled
with that film's answer. Features: the bundled MiniLM sentence vector recbot already computes
(384 numbers). Model: logistic regression (numpy, L2, classes weighted to balance), trained
on the *learn* part only (conversationId % 3 != 0). The threshold is chosen there too, by
5-fold cross-validation grouped by dialogue: the best balanced accuracy (mean of the two
recalls) on the messages the model will decide, those whose film the rules read as a bare
mention or only as seen. The measure part is not looked at: bench_sentiment.py measures the reader with the
model (``--write`` ships it) against the rules alone.

    python bench/polarity_classifier.py [--write] [--out bench/results/polarity_classifier.md]

``--write``: save the model to ``agent/reader/rules/polarity.json`` (what recbot loads).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sentiment as bs  # noqa: E402


def examples(part: str):
    """Per seeker message naming a film with an answer: (masked text, label 1 liked / 0 not,
    dialogue id, whether the rules read that film in that message as a bare mention)."""
    from bench_redial import NameMapper

    from recbot.agent.reader.mentions import MentionFinder
    from recbot.agent.reader.polarity import masked

    catalog, _ = bs.load_finder(None)
    finder = MentionFinder(catalog)
    mapper = NameMapper(catalog)
    max_year = max((m.year or 0 for m in catalog), default=0) or 2018
    stats = bs.Stats()
    rows = []
    for s in bs.load_seekers(part=part):
        reading = bs.read_dialogue(s, finder, max_year, stats, learned=False)
        names = list(s.names.values())
        truth = dict(s.films)
        for said, cats in zip(s.said, reading.per_message):
            for rid in said.ids:
                if rid not in truth:
                    continue
                mid = mapper.map(s.names[rid]) if s.names.get(rid) else None
                bare = mid is not None and cats.get(mid, set()) in ({bs.C_BARE}, {bs.C_SEEN})
                rows.append((masked(said.text, names), 1 if truth[rid] == bs.LIKED else 0,
                             s.cid, bare))
    return rows


def train(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 400,
          lr: float = 0.5) -> np.ndarray:
    """Logistic regression by gradient descent, classes weighted to balance; returns w
    (the last entry is the bias)."""
    xb = np.hstack([x, np.ones((len(x), 1), dtype=x.dtype)])
    w = np.zeros(xb.shape[1])
    pos = max(1, int(y.sum()))
    neg = max(1, len(y) - pos)
    weight = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * neg))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ ((p - y) * weight) / len(y) + l2 * np.r_[w[:-1], 0.0]
        w -= lr * grad
    return w


def prob(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))


def recalls(y: np.ndarray, liked: np.ndarray) -> tuple[float, float]:
    return (float(liked[y == 1].mean()) if (y == 1).any() else 0.0,
            float((~liked)[y == 0].mean()) if (y == 0).any() else 0.0)


def cv_probs(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5,
             seed: int = 0) -> np.ndarray:
    """Out-of-fold P(liked) for every example, folds grouped by dialogue."""
    rng = np.random.default_rng(seed)
    ids = np.unique(groups)
    fold_of = dict(zip(rng.permutation(ids), np.arange(len(ids)) % folds))
    fold = np.array([fold_of[g] for g in groups])
    out = np.zeros(len(y))
    for f in range(folds):
        test = fold == f
        out[test] = prob(train(x[~test], y[~test]), x[test])
    return out


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold with the best mean of the two recalls (ties: the lowest)."""
    grid = np.round(np.linspace(0.05, 0.95, 91), 2)
    return float(max(grid, key=lambda t: (sum(recalls(y, p >= t)), -t)))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent
                                         / "results/polarity_classifier.md"))
    ap.add_argument("--write", action="store_true",
                    help="save the model where recbot loads it (agent/reader/rules/polarity.json)")
    args = ap.parse_args(argv[1:])
    from recbot.agent.reader.polarity import MODEL
    from recbot.retrieval.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    rows = examples("learn")
    x = np.asarray(embedder.embed([r[0] for r in rows]))
    y = np.array([r[1] for r in rows])
    groups = np.array([r[2] for r in rows])
    bare = np.array([r[3] for r in rows])
    cv = cv_probs(x, y, groups)
    threshold = best_threshold(y[bare], cv[bare])
    w = train(x, y)
    all_l, all_n = recalls(y, cv >= threshold)
    bare_l, bare_n = recalls(y[bare], cv[bare] >= threshold)
    lines = [
        f"# bench/polarity_classifier.py — the learned sentiment reader ({datetime.date.today()})",
        "",
        f"Training: ReDial learn part, {len(y)} seeker messages naming a film with an answer "
        f"({int(y.sum())} liked, {int((y == 0).sum())} not liked), names as \"X\"; "
        f"{int(bare.sum())} of them name a film the rules read as a bare mention or only as seen "
        f"({int(y[bare].sum())} liked, {int((y[bare] == 0).sum())} not), the messages the "
        f"model decides. Features: {embedder.name} sentence vectors. Threshold "
        f"**{threshold:.2f}**: the best mean recall on those, 5-fold cross-validation grouped by "
        "dialogue.", "",
        "Cross-validated on the learn part (the measure part is bench_sentiment.py's):", "",
        "| messages | recall on liked | recall on not liked |", "|---|---|---|",
        f"| every message naming a film | {all_l:.3f} | {all_n:.3f} |",
        f"| bare mentions and seen films only (what the model decides) | {bare_l:.3f} | {bare_n:.3f} |", "",
        "recbot uses it only to read a bare mention as liked (never disliked: on bare mentions "
        "its not-liked side is too often wrong to take a seed away); see "
        "bench/results/sentiment.md for the reader with and without it on the measure part.",
    ]
    md = "\n".join(lines) + "\n"
    if args.write:
        MODEL.write_text(json.dumps({
            "about": "recbot's learned sentiment reader (agent/reader/polarity.py), made by "
                     "bench/polarity_classifier.py --write from ReDial's learn part "
                     "(CC BY 4.0, Li et al., NeurIPS 2018)",
            "embedder": embedder.name, "threshold": threshold,
            "trained_on": {"messages": int(len(y)), "liked": int(y.sum()),
                           "not_liked": int((y == 0).sum())},
            "weights": [round(float(v), 6) for v in w]}, indent=1) + "\n", encoding="utf-8")
    if args.out:
        Path(args.out).write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
