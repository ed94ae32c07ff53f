"""Ratings as a user x item sparse matrix, with the external ids on both axes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .errors import InteractionsError

if TYPE_CHECKING:
    import pandas as pd

RATING_COLUMNS = ("userId", "movieId", "rating")


@dataclass(frozen=True, slots=True)
class Interactions:
    """Explicit ratings in CSR form. Row ``u`` is user ``user_ids[u]``, column ``i`` is item ``item_ids[i]``.

    Ratings are stored as given (any float, 0.5 stars in MovieLens); each ranker turns
    them into its own training weights.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: sp.csr_matrix

    @property
    def n_users(self) -> int:
        return self.ratings.shape[0]

    @property
    def n_items(self) -> int:
        return self.ratings.shape[1]

    @property
    def nnz(self) -> int:
        return self.ratings.nnz

    def user_index(self) -> dict[int, int]:
        return {int(u): i for i, u in enumerate(self.user_ids)}

    def item_index(self) -> dict[int, int]:
        return {int(m): i for i, m in enumerate(self.item_ids)}

    def fingerprint(self) -> str:
        """A content hash of ids and ratings: a model trained on other data has another one."""
        h = hashlib.sha256()
        for arr in (self.user_ids, self.item_ids, self.ratings.indptr, self.ratings.indices,
                    self.ratings.data):
            a = np.ascontiguousarray(arr)
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def with_ratings(self, ratings: sp.csr_matrix) -> Interactions:
        """Same id axes, other values (a train split, say)."""
        return Interactions(self.user_ids, self.item_ids, sp.csr_matrix(ratings))

    @classmethod
    def from_arrays(cls, users, items, ratings, *, item_ids: np.ndarray | None = None) -> Interactions:
        """Build from parallel arrays of external ids. ``item_ids`` fixes the item axis (a catalog)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        values = np.asarray(ratings, dtype=np.float32)
        user_ids, rows = np.unique(users, return_inverse=True)
        if item_ids is None:
            item_ids, cols = np.unique(items, return_inverse=True)
        else:
            item_ids = np.asarray(item_ids, dtype=np.int64)
            order = np.argsort(item_ids)
            pos = np.searchsorted(item_ids, items, sorter=order)
            pos = np.clip(pos, 0, len(item_ids) - 1)
            cols = order[pos]
            if len(items) and not np.array_equal(item_ids[cols], items):
                raise InteractionsError("ratings mention items that are not in the item list")
        # A repeated (user, item) keeps its last rating; COO->CSR would otherwise add them up.
        flat = rows.astype(np.int64) * max(len(item_ids), 1) + cols
        _, last = np.unique(flat[::-1], return_index=True)
        keep = len(flat) - 1 - last
        rows, cols, values = rows[keep], cols[keep], values[keep]
        m = sp.csr_matrix((values, (rows, cols)), shape=(len(user_ids), len(item_ids)),
                          dtype=np.float32)
        m.sort_indices()
        return cls(user_ids, np.asarray(item_ids, dtype=np.int64), m)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, item_ids: np.ndarray | None = None) -> Interactions:
        return cls.from_arrays(df["userId"].to_numpy(), df["movieId"].to_numpy(),
                               df["rating"].to_numpy(), item_ids=item_ids)


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Read and validate a MovieLens-style ratings CSV (userId,movieId,rating[,timestamp]).

    Raises InteractionsError with one line naming the file and the problem.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InteractionsError(f"{path}: no such file; pass a ratings CSV with columns "
                                "userId,movieId,rating,timestamp")
    if path.stat().st_size == 0:
        raise InteractionsError(f"{path}: the file is empty; expected a header "
                                "userId,movieId,rating,timestamp and one row per rating")
    try:
        df = pd.read_csv(path, engine="c", skipinitialspace=True, skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteractionsError(f"{path}: not a readable CSV ({first})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in RATING_COLUMNS if c not in df.columns]
    if missing:
        raise InteractionsError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(df.columns) or 'none'}"
            " (expected userId,movieId,rating,timestamp)")
    df = df.dropna(how="all")  # blank lines; the index keeps each row's place in the file
    if df.empty:
        raise InteractionsError(f"{path}: has a header but no ratings")
    lines = df.index.to_numpy() + 2
    out = pd.DataFrame()
    for col, kind in (("userId", "integer"), ("movieId", "integer"), ("rating", "float")):
        num = pd.to_numeric(df[col], errors="coerce")
        values = num.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        if kind == "integer":
            bad |= np.isfinite(values) & (values % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InteractionsError(
                f"{path}: line {lines[row]}: {col} must be {'an ' if kind == 'integer' else 'a '}"
                f"{kind} number, got {df[col].iloc[row]!r}")
        out[col] = values.astype(np.int64 if kind == "integer" else np.float32)
    if "timestamp" in df.columns:
        ts = pd.to_numeric(df["timestamp"], errors="coerce").fillna(0)
        out["timestamp"] = ts.to_numpy(dtype=np.int64)
    dup = out.duplicated(["userId", "movieId"], keep="first")
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InteractionsError(
            f"{path}: line {lines[row]}: duplicate rating for userId {out['userId'].iloc[row]}, "
            f"movieId {out['movieId'].iloc[row]}; keep one row per (user, movie)")
    return out
