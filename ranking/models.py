"""Ranker implementations: iALS (the MF ranker) and the baselines it is measured against."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .base import BaseRanker
from .errors import RankingError


_THREADPOOLS = None


def one_blas_thread():
    """A context with BLAS on one thread. For the small solves of one chat turn: with two
    BLAS threads and another process on the second core, a 256 x 256 solve took 130 ms
    instead of 1 ms (measured while an MF fit ran)."""
    global _THREADPOOLS
    from threadpoolctl import ThreadpoolController

    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


class _Factors:
    """A restored iALS model: its factors and the two hyper-parameters fold-in reads."""

    __slots__ = ("user_factors", "item_factors", "alpha", "regularization")

    def __init__(self, user_factors, item_factors, alpha: float, regularization: float) -> None:
        self.user_factors, self.item_factors = user_factors, item_factors
        self.alpha, self.regularization = alpha, regularization


class ALSRanker(BaseRanker):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via the ``implicit`` library.

    Defaults follow "Revisiting the Performance of iALS" (Rendle et al. 2021): many
    factors with strong regularisation. They were chosen on a validation split carved
    out of the training data (see bench/tune_als.py), never on reported test numbers.
    """

    name = "als"

    def __init__(self, *, factors: int = 256, regularization: float = 30.0, alpha: float = 5.0,
                 iterations: int = 15, random_state: int = 42, num_threads: int = 0,
                 confidence: str = "stars", **kwargs) -> None:
        super().__init__(confidence=confidence, **kwargs)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.model = None
        self._gram: np.ndarray | None = None   # Y'Y + λI of the item factors, for fold-in

    def params(self) -> dict:
        return {**super().params(), "factors": self.factors, "regularization": self.regularization,
                "alpha": self.alpha, "iterations": self.iterations,
                "random_state": self.random_state}

    def _new_model(self):
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # implicit parallelises itself and warns when a multithreaded BLAS would fight it;
        # construction and fitting run with BLAS limited to one thread.
        with threadpool_limits(1, "blas"):
            return AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.random_state,
                num_threads=self.num_threads, dtype=np.float32)

    def _fit(self, X: sp.csr_matrix) -> None:
        from threadpoolctl import threadpool_limits

        self._gram = None
        self.model = self._new_model()
        with threadpool_limits(1, "blas"):
            self.model.fit(X, show_progress=False)

    def _user_factors(self, X_rows: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        if rows is not None:
            return self.model.user_factors[rows]
        return self.fold_in(X_rows)

    def fold_in(self, X_rows: sp.csr_matrix) -> np.ndarray:
        """User factors for profiles the model never saw: the least-squares step of iALS
        with the item factors fixed, as ``implicit``'s ``recalculate_user`` computes it
        (confidence ``alpha * w``; a negative weight is a 0 preference with confidence
        ``|w|``). Done here in numpy with the Gram matrix kept: implicit's call costs
        25-60 ms a turn on 2 cores (threads started per call), this one ~2 ms."""
        m = self.model
        x = sp.csr_matrix(X_rows, dtype=np.float64) * float(m.alpha)
        if self._gram is None:
            Y = m.item_factors.astype(np.float64)
            self._gram = Y.T @ Y + float(m.regularization) * np.eye(Y.shape[1])
        out = np.zeros((x.shape[0], m.item_factors.shape[1]), dtype=np.float32)
        for u in range(x.shape[0]):
            lo, hi = x.indptr[u], x.indptr[u + 1]
            if lo == hi:
                continue
            c = x.data[lo:hi]
            Yi = m.item_factors[x.indices[lo:hi]].astype(np.float64)
            A = self._gram + (Yi.T * (np.abs(c) - 1.0)) @ Yi
            b = np.maximum(c, 0.0) @ Yi
            out[u] = np.linalg.solve(A, b)    # (numpy's: scipy.linalg costs 40 ms to import)
        return out

    def _score(self, X_rows, rows):
        if rows is not None:
            return self._user_factors(X_rows, rows) @ self.model.item_factors.T
        with one_blas_thread():   # a chat turn's fold-in: small, and never waits on a busy core
            return self._user_factors(X_rows, rows) @ self.model.item_factors.T

    def _explainer(self):
        """implicit's model, for its ``explain``: a restored ranker holds only the factors
        until a reason asks for it (importing implicit costs ~70 ms of a scripted turn)."""
        if isinstance(self.model, _Factors):
            model = self._new_model()
            model.user_factors = self.model.user_factors
            model.item_factors = self.model.item_factors
            self.model = model
        return self.model

    def _contributions(self, x_row, row, item):
        x = sp.csr_matrix(x_row)
        _, top, _ = self._explainer().explain(0, x, item, N=max(x.nnz, 1))
        cols = np.array([c for c, _ in top], dtype=np.int64)
        contrib = np.array([s for _, s in top], dtype=np.float64)
        score = float(self._user_factors(x, None if row is None else np.array([row]))[0]
                      @ self.model.item_factors[item])
        return score, cols, contrib

    def explain_many(self, liked, item_ids, n: int = 5):
        """One fold-in and one Cholesky factorisation for all items (implicit's
        ``user_weights``), instead of one per item."""
        from .base import Contribution, Explanation

        x = sp.csr_matrix(self._profile(list(liked), ()))
        if x.nnz == 0:
            return {}
        user = self._user_factors(x, None)[0]
        ids = self.interactions.item_ids
        weights = None
        out = {}
        for item in item_ids:
            col = self._item_index.get(int(item))
            if col is None:
                continue
            _, top, weights = self._explainer().explain(0, x, col, user_weights=weights,
                                                        N=x.nnz)
            contrib = np.array([s for _, s in top], dtype=np.float64)
            total = float(contrib[contrib > 0].sum()) or 1.0
            parts = tuple(Contribution(int(ids[c]), float(s), float(max(s, 0.0) / total))
                          for c, s in top[:n])
            out[int(item)] = Explanation(int(item), float(user @ self.model.item_factors[col]),
                                         parts)
        return out

    def state(self) -> dict[str, np.ndarray]:
        self.fold_in(sp.csr_matrix((0, self.model.item_factors.shape[0])))   # computes the Gram
        return {"user_factors": self.model.user_factors, "item_factors": self.model.item_factors,
                "gram": self._gram}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.model = _Factors(np.ascontiguousarray(state["user_factors"], dtype=np.float32),
                              np.ascontiguousarray(state["item_factors"], dtype=np.float32),
                              self.alpha, self.regularization)
        # saved with the model: 0.13 s of a `recbot ask` for 87k films otherwise
        self._gram = np.asarray(state["gram"]) if "gram" in state else None


class _LinearItemRanker(BaseRanker):
    """Scores are ``x @ B`` for an item-item matrix B over the items that have any signal."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._active: np.ndarray | None = None  # training columns B covers
        self._B = None

    def _item_item(self, Xa: sp.csr_matrix):
        raise NotImplementedError

    def _fit(self, X):
        self._active = np.flatnonzero(np.diff(X.tocsc().indptr) > 0)
        self._B = self._item_item(X[:, self._active].tocsr())

    def _score(self, X_rows, rows):
        n_items = X_rows.shape[1]
        out = np.zeros((X_rows.shape[0], n_items), dtype=np.float32)
        part = sp.csr_matrix(X_rows)[:, self._active] @ self._B
        out[:, self._active] = part.toarray() if sp.issparse(part) else part
        return out

    def _contributions(self, x_row, row, item):
        x = sp.csr_matrix(x_row)
        pos = np.searchsorted(self._active, item)
        if pos >= len(self._active) or self._active[pos] != item:
            return 0.0, np.zeros(0, np.int64), np.zeros(0)
        cols = x.indices
        act = np.searchsorted(self._active, cols)
        ok = (act < len(self._active)) & (self._active[np.minimum(act, len(self._active) - 1)] == cols)
        cols, act, vals = cols[ok], act[ok], x.data[ok]
        col_b = self._B[:, [pos]]
        col_b = col_b.toarray().ravel() if sp.issparse(col_b) else np.asarray(col_b).ravel()
        contrib = vals * col_b[act]
        return float(contrib.sum()), cols.astype(np.int64), contrib.astype(np.float64)

    def state(self) -> dict[str, np.ndarray]:
        B = self._B
        if sp.issparse(B):
            B = sp.csr_matrix(B)
            return {"active": self._active, "B_data": B.data, "B_indices": B.indices,
                    "B_indptr": B.indptr, "B_shape": np.array(B.shape)}
        return {"active": self._active, "B": B}

    def restore(self, state):
        self._active = state["active"]
        if "B" in state:
            self._B = state["B"]
        else:
            self._B = sp.csr_matrix((state["B_data"], state["B_indices"], state["B_indptr"]),
                                    shape=tuple(state["B_shape"]))


# EASE inverts a dense films x films Gram matrix: 20k films take 3.2 GB (float64) and
# minutes on 2 cores; ml-25m's 59k rated films would take 28 GB. Above this, it refuses.
EASE_MAX_ITEMS = 20_000


class EASERanker(_LinearItemRanker):
    """EASE^R (Steck 2019): closed-form item-item model, B = I - P diagMat(1/diag(P)), P = (X'X + λI)^-1.

    Exact, so it only runs up to ``EASE_MAX_ITEMS`` rated films (see ``check_size``)."""

    name = "ease"

    def __init__(self, *, l2: float = 300.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.l2 = l2

    def params(self) -> dict:
        return {**super().params(), "l2": self.l2}

    @staticmethod
    def check_size(n_items: int) -> None:
        """RankingError when a dense n_items² model would not fit: says why and what instead."""
        if n_items > EASE_MAX_ITEMS:
            gb = n_items ** 2 * 8 / 1e9
            raise RankingError(
                f"EASE needs a dense {n_items:,} x {n_items:,} matrix ({gb:.1f} GB) for these "
                f"{n_items:,} rated films and runs only up to {EASE_MAX_ITEMS:,}; use als (the "
                f"default MF ranker) or itemknn, which scale with the ratings")

    def _fit(self, X):
        self.check_size(int((np.diff(X.tocsc().indptr) > 0).sum()))
        super()._fit(X)

    def _item_item(self, Xa):
        from scipy.linalg import cho_factor, cho_solve

        G = (Xa.T @ Xa).toarray().astype(np.float64)
        G[np.diag_indices_from(G)] += self.l2
        P = cho_solve(cho_factor(G, overwrite_a=True, check_finite=False),
                      np.eye(G.shape[0]), overwrite_b=True, check_finite=False)
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
        return B.astype(np.float32)


class ItemKNNRanker(_LinearItemRanker):
    """Item-based kNN with cosine similarity, keeping the ``k`` nearest neighbours of each item."""

    name = "itemknn"

    def __init__(self, *, k: int = 100, shrink: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.k = k
        self.shrink = shrink

    def params(self) -> dict:
        return {**super().params(), "k": self.k, "shrink": self.shrink}

    def _item_item(self, Xa, block: int = 2048):
        """Cosine similarities kept sparse: each item's ``k`` nearest neighbours, computed a
        block of items at a time (never a dense films x films matrix: ml-32m has 84k)."""
        Xb = sp.csc_matrix(Xa, dtype=np.float32, copy=True)
        Xb.data = np.abs(Xb.data)  # similarity from co-occurrence of any signal
        n = Xb.shape[1]
        norms = np.sqrt(np.asarray(Xb.multiply(Xb).sum(axis=0)).ravel()).astype(np.float32)
        XbT = Xb.T.tocsr()
        k = min(self.k, n - 1)
        rows, cols, vals = [], [], []
        for lo in range(0, n, block):
            hi = min(lo + block, n)
            # C[:, lo:hi]: every item's co-occurrence with the items of this block
            C = (XbT @ Xb[:, lo:hi]).toarray()
            S = C / (np.outer(norms, norms[lo:hi]) + self.shrink + 1e-9)
            S[np.arange(lo, hi), np.arange(hi - lo)] = 0.0
            if 0 < k < n - 1:
                # keep each item's k most similar neighbours, ties with the k-th included
                # (column-wise: S[j, i] feeds item i)
                thresh = -np.partition(-S, k - 1, axis=0)[k - 1]
                S[S < thresh[None, :]] = 0.0
            r, c = np.nonzero(S)
            rows.append(r)
            cols.append(c + lo)
            vals.append(S[r, c])
        cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt))
        return sp.csr_matrix((cat(vals, np.float32), (cat(rows, np.int64), cat(cols, np.int64))),
                             shape=(n, n))


class PopularityRanker(BaseRanker):
    """Most-liked items first, the same list for everyone."""

    name = "pop"

    def __init__(self, *, low_weight: float = 0.0, **kwargs) -> None:
        super().__init__(low_weight=low_weight, **kwargs)  # count likes only

    def _fit(self, X):
        Xp = X.copy()
        Xp.data = (Xp.data > 0).astype(np.float32)
        self._pop = np.asarray(Xp.sum(axis=0)).ravel().astype(np.float32)

    def _score(self, X_rows, rows):
        return np.broadcast_to(self._pop, (X_rows.shape[0], len(self._pop))).copy()

    def _contributions(self, x_row, row, item):
        return float(self._pop[item]), np.zeros(0, np.int64), np.zeros(0)

    def state(self):
        return {"pop": self._pop}

    def restore(self, state):
        self._pop = state["pop"]


RANKERS: dict[str, type[BaseRanker]] = {
    cls.name: cls for cls in (ALSRanker, EASERanker, ItemKNNRanker, PopularityRanker)}

# Rankers that train through an optional extra (Spark: `pip install 'recbot[spark]'` and a
# JVM). Found by name like the others, so their saved models load (without the extra), but
# not in RANKERS, the rankers every install runs in-process.
OPTIONAL_RANKERS: dict[str, str] = {"spark-als": "recbot.ranking.spark:SparkALSRanker"}


def make_ranker(name: str, **params) -> BaseRanker:
    """A ranker by registry name (``als``, ``ease``, ``itemknn``, ``pop``, ``spark-als``)."""
    cls = RANKERS.get(name)
    if cls is None and name in OPTIONAL_RANKERS:
        import importlib

        module, _, attr = OPTIONAL_RANKERS[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
    if cls is None:
        raise RankingError(f"unknown ranker {name!r}; choose one of "
                           f"{', '.join([*RANKERS, *OPTIONAL_RANKERS])}")
    return cls(**params)
