"""The Ranker interface and the shared logic every implementation inherits.

A ranker learns from an :class:`Interactions` matrix of explicit ratings. It turns
ratings into training weights (``rating >= positive_threshold`` counts as a like),
and answers in external ids (MovieLens ``userId`` / ``movieId``).

Implementations only provide ``_fit(X)`` and ``_score(X_rows, rows)``; recommending,
cold-start fold-in, similar items and explanations are built on those here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import scipy.sparse as sp

from .errors import RankingError
from .interactions import Interactions

# What a liked / disliked title counts as when a brand-new user is folded in.
LIKED_RATING = 5.0
CONFIDENCE_MODES = ("binary", "stars")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked item: external movie id and the ranker's score (higher is better)."""

    item_id: int
    score: float


@dataclass(frozen=True, slots=True)
class Contribution:
    """How much one liked item pushed the explained item up (``share`` sums to 1 over positives)."""

    item_id: int
    score: float
    share: float


@dataclass(frozen=True, slots=True)
class Explanation:
    item_id: int
    score: float
    contributions: tuple[Contribution, ...]


@runtime_checkable
class Ranker(Protocol):
    name: str

    def fit(self, interactions: Interactions) -> Self: ...

    def recommend(self, user_id: int, n: int = 10, exclude: Iterable[int] = ()) -> list[Candidate]: ...

    def rated_by(self, user_id: int) -> list[int]: ...

    def recommend_for_items(self, liked: Iterable[int], disliked: Iterable[int] = (),
                            n: int = 10) -> list[Candidate]: ...

    def similar_items(self, item_id: int, n: int = 10) -> list[Candidate]: ...

    def explain(self, user_or_liked: int | Iterable[int], item_id: int, n: int = 5) -> Explanation: ...


class UnknownUserError(RankingError):
    pass


class UnknownItemError(RankingError):
    pass


class BaseRanker:
    """Shared behaviour; subclasses set ``name`` and implement ``_fit`` and ``_score``."""

    name: ClassVar[str] = "base"

    def __init__(self, *, positive_threshold: float = 4.0, low_weight: float = 0.3,
                 confidence: str = "binary") -> None:
        if confidence not in CONFIDENCE_MODES:
            raise RankingError(f"confidence must be one of {', '.join(CONFIDENCE_MODES)}, "
                               f"not {confidence!r}")
        self.positive_threshold = positive_threshold
        self.low_weight = low_weight
        self.confidence = confidence
        self.interactions: Interactions | None = None
        self._weights: sp.csr_matrix | None = None
        self._users: dict[int, int] | None = None
        self._item_index: dict[int, int] = {}

    # Training weights and the user index are only needed for training users' rows; a
    # loaded model computes them on first use (a chat turn for a new user never does:
    # for 32 M ratings that is 1.5 s of every `recbot ask`).
    @property
    def _X(self) -> sp.csr_matrix | None:
        if self._weights is None and self.interactions is not None:
            self._weights = self.weights(self.interactions.ratings)
        return self._weights

    @_X.setter
    def _X(self, value: sp.csr_matrix | None) -> None:
        self._weights = value

    @property
    def _user_index(self) -> dict[int, int]:
        if self._users is None:
            self._users = self.interactions.user_index() if self.interactions is not None else {}
        return self._users

    @_user_index.setter
    def _user_index(self, value: dict[int, int] | None) -> None:
        self._users = value

    # ----- what subclasses provide -------------------------------------------------
    def _fit(self, X: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _score(self, X_rows: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        """Dense scores (len(X_rows) x n_items) for profile rows; ``rows`` are the training
        user rows they belong to, or None for folded-in users."""
        raise NotImplementedError

    def _contributions(self, x_row: sp.csr_matrix, row: int | None, item: int) -> tuple[float, np.ndarray, np.ndarray]:
        """(score, profile item columns, their contribution to ``item``); linear models override."""
        raise NotImplementedError

    def params(self) -> dict:
        """Hyperparameters that define the model (saved with it; part of the cache key)."""
        return {"positive_threshold": self.positive_threshold, "low_weight": self.low_weight,
                "confidence": self.confidence}

    # ----- shared ------------------------------------------------------------------
    def weights(self, ratings: sp.csr_matrix) -> sp.csr_matrix:
        """Ratings -> training weights.

        A like (rating >= ``positive_threshold``) weighs 1, or with ``confidence="stars"``
        one more per star above the threshold (4 -> 1, 4.5 -> 1.5, 5 -> 2); any other
        rating weighs ``low_weight`` (a weaker "watched it" signal when positive, a dislike
        when negative, dropped at 0).
        """
        X = ratings.copy().astype(np.float32)
        r = X.data
        like = 1.0 if self.confidence == "binary" else r - self.positive_threshold + 1.0
        X.data = np.where(r >= self.positive_threshold, like, self.low_weight).astype(np.float32)
        X.eliminate_zeros()
        return X

    def fit(self, interactions: Interactions) -> Self:
        if interactions.nnz == 0:
            raise RankingError("cannot train on an empty ratings matrix")
        self.interactions = interactions
        self._user_index = interactions.user_index()
        self._item_index = interactions.item_index()
        self._X = self.weights(interactions.ratings)
        self._fit(self._X)
        return self

    @property
    def is_fitted(self) -> bool:
        return self.interactions is not None

    def _require_fit(self) -> Interactions:
        if self.interactions is None:
            raise RankingError(f"the {self.name} ranker is not trained yet; call fit() first")
        return self.interactions

    def score_users(self, rows: np.ndarray) -> np.ndarray:
        """Scores for training users by row index (used by evaluation and batch ranking)."""
        self._require_fit()
        rows = np.asarray(rows, dtype=np.int64)
        return self._score(self._X[rows], rows)

    def _row(self, user_id: int) -> int:
        try:
            return self._user_index[int(user_id)]
        except KeyError:
            raise UnknownUserError(f"user {user_id} has no ratings in the training data") from None

    def _col(self, item_id: int) -> int:
        try:
            return self._item_index[int(item_id)]
        except KeyError:
            raise UnknownItemError(f"movie {item_id} has no ratings in the training data") from None

    def _profile(self, liked: Iterable[int], disliked: Iterable[int]) -> sp.csr_matrix:
        inter = self._require_fit()
        like_w = float(self.weights(sp.csr_matrix([[LIKED_RATING]])).sum()) or 1.0
        cols, vals = [], []
        for item in liked:
            if int(item) in self._item_index:
                cols.append(self._item_index[int(item)])
                vals.append(like_w)
        for item in disliked:
            if int(item) in self._item_index:
                cols.append(self._item_index[int(item)])
                vals.append(-like_w)
        x = sp.csr_matrix((np.asarray(vals, np.float32), ([0] * len(cols), cols)),
                          shape=(1, inter.n_items))
        x.sum_duplicates()
        return x

    def _top(self, scores: np.ndarray, n: int, exclude_cols: np.ndarray) -> list[Candidate]:
        scores = scores.astype(np.float64, copy=True)
        if len(exclude_cols):
            scores[exclude_cols] = -np.inf
        n = int(min(n, np.isfinite(scores).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        ids = self.interactions.item_ids
        return [Candidate(int(ids[i]), float(scores[i])) for i in top]

    def _exclude_cols(self, items: Iterable[int]) -> list[int]:
        return [self._item_index[int(i)] for i in items if int(i) in self._item_index]

    def rated_by(self, user_id: int) -> list[int]:
        """The items a training user rated (seen: never recommended back to them)."""
        inter = self._require_fit()
        return [int(inter.item_ids[i]) for i in inter.ratings[self._row(user_id)].indices]

    def recommend(self, user_id: int, n: int = 10, exclude: Iterable[int] = ()) -> list[Candidate]:
        """Top-n items for a training user, never one they rated nor one in ``exclude``."""
        inter = self._require_fit()
        row = self._row(user_id)
        scores = self._score(self._X[[row]], np.array([row]))[0]
        seen = inter.ratings[row].indices
        excl = np.concatenate([seen, np.asarray(self._exclude_cols(exclude), dtype=np.int64)])
        return self._top(scores, n, excl.astype(np.int64))

    def recommend_for_items(self, liked: Iterable[int], disliked: Iterable[int] = (),
                            n: int = 10, exclude: Iterable[int] = ()) -> list[Candidate]:
        """Cold start: fold in a brand-new user from a few liked (and disliked) movies."""
        disliked = list(disliked)
        liked = [i for i in liked if i not in set(disliked)]  # a later "not for me" wins
        x = self._profile(liked, disliked)
        if x.nnz and not (x.data > 0).any():
            return []  # only dislikes: nothing to fold in a taste from
        if x.nnz == 0:
            return []
        scores = self._score(x, None)[0]
        excl = self._exclude_cols([*liked, *disliked, *exclude])
        return self._top(scores, n, np.asarray(excl, dtype=np.int64))

    def similar_items(self, item_id: int, n: int = 10) -> list[Candidate]:
        """Items a fan of ``item_id`` would be recommended (fold-in from that one like)."""
        self._col(item_id)
        return self.recommend_for_items([item_id], n=n)

    def explain(self, user_or_liked: int | Iterable[int], item_id: int, n: int = 5) -> Explanation:
        """Which liked items pushed ``item_id`` up: a training user id, or a list of liked movies."""
        col = self._col(item_id)
        if isinstance(user_or_liked, (int, np.integer)):
            row = self._row(int(user_or_liked))
            x, r = self._X[[row]], row
        else:
            x, r = self._profile(list(user_or_liked), ()), None
        score, cols, contrib = self._contributions(x, r, col)
        pos = contrib > 0
        total = float(contrib[pos].sum()) or 1.0
        order = np.argsort(-contrib, kind="stable")[:n]
        ids = self.interactions.item_ids
        parts = tuple(Contribution(int(ids[cols[i]]), float(contrib[i]),
                                   float(max(contrib[i], 0.0) / total)) for i in order)
        return Explanation(int(item_id), float(score), parts)

    def explain_many(self, liked: Iterable[int], item_ids: Iterable[int],
                     n: int = 5) -> dict[int, Explanation]:
        """``explain(liked, item)`` for many items; items MF doesn't know are left out.
        Rankers may share work between the items (ALS factorises the user once)."""
        liked = list(liked)
        out: dict[int, Explanation] = {}
        for item in item_ids:
            if int(item) in self._item_index:
                out[int(item)] = self.explain(liked, int(item), n=n)
        return out
