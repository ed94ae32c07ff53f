"""The learned piece of the sentiment reader: for a film the rules leave without a verdict (a
bare mention: "I watched X last week", "X (2017)"), a logistic regression over the message's
sentence vector says whether the user liked it.

The rules decide first ("I loved X", "something like X", "I hated X"); the model only turns a
bare mention into a liked one (``Mention.sentiment = "like"``, ``Mention.learned``), and marks
a film only said to be seen as liked too (``learned``; it stays seen); it never
overrules a rule, never makes a film disliked, and records no feedback: a liked film it reads
is a taste for this conversation's preference state (at half the confidence of a liked film
the user names), nothing stored; ``ask --json`` still calls it a seed. ``rules/polarity.json`` is made by ``bench/polarity_classifier.py --write`` from
ReDial's learn part (see ``bench/results/polarity_classifier.md``); it applies only with the
embedder it was trained on (the bundled MiniLM): with any other the rules read alone.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np

MODEL = Path(__file__).parent / "rules" / "polarity.json"


class PolarityModel:
    def __init__(self, weights: np.ndarray, threshold: float, embedder: str) -> None:
        self.weights = weights
        self.threshold = threshold
        self.embedder = embedder

    @classmethod
    def load(cls, path: Path = MODEL) -> PolarityModel | None:
        """The shipped model, or None when its file is missing or damaged (rules alone)."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            w = np.asarray(d["weights"], dtype=np.float64)
            t = float(d["threshold"])
            name = str(d["embedder"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if w.ndim != 1 or len(w) < 2 or not np.isfinite(w).all() or not 0.0 < t < 1.0:
            return None
        return cls(w, t, name)

    def prob(self, vectors: np.ndarray) -> np.ndarray:
        """P(liked) for each row of ``vectors`` (sentence vectors of masked messages)."""
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.weights) - 1:
            raise ValueError(f"vectors of {x.shape[-1]} numbers; the model reads "
                             f"{len(self.weights) - 1}")
        z = x @ self.weights[:-1] + self.weights[-1]
        return 1.0 / (1.0 + np.exp(-z))


@functools.cache
def model() -> PolarityModel | None:
    return PolarityModel.load()


def masked(text: str, names) -> str:
    """``text`` with each film name (and a year after it) written as "X": the words around a
    title, not the title, say what the user thought of it."""
    names = sorted({n for n in names if n}, key=len, reverse=True)
    if not names:
        return text
    pattern = "|".join(re.escape(n) for n in names)
    return re.sub(rf"(?<!\w)(?:{pattern})(?:\s*\(\d{{4}}\))?(?!\w)", "X", text)


def bare(intent) -> list:
    """The mentions the rules left without a verdict on taste: seeds named with no sentiment,
    and films only said to be seen ("I've seen X a hundred times")."""
    return [m for m in [*intent.seeds, *intent.seen] if m.movie_id is not None
            and m.sentiment in ("neutral", "seen") and not m.learned]


def refine(intent, embedder, polarity: PolarityModel | None = None) -> int:
    """Read the bare mentions of ``intent`` with the model; each it finds liked becomes a
    liked mention (sentiment "like" for a seed; ``learned``). Returns how many changed. Nothing happens
    without a model, without a bare mention, or with an embedder the model was not trained
    on."""
    polarity = polarity if polarity is not None else model()
    films = bare(intent)
    if polarity is None or not films or getattr(embedder, "name", None) != polarity.embedder:
        return 0
    from .intent import _TYPOGRAPHIC     # the reader's text: "Schindler’s List" as spotted

    text = masked(intent.text.translate(_TYPOGRAPHIC), [m.text for m in intent.mentions])
    p = float(polarity.prob(np.asarray(embedder.embed([text])))[0])
    if p < polarity.threshold:
        return 0
    for m in films:
        if m.sentiment == "neutral":
            m.sentiment = "like"
        m.learned = True     # a seen film stays seen (no pick), and is a taste too
    return len(films)
