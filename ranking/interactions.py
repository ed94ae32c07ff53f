"""Ratings as a user x item sparse matrix, with the external ids on both axes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
    # the content hash, once computed (or read from a model file that recorded it)
    known_fingerprint: str | None = field(default=None, compare=False, repr=False)
    _item_index: dict | None = field(default=None, compare=False, repr=False)

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
        return {int(u): i for i, u in enumerate(self.user_ids.tolist())}

    def item_index(self) -> dict[int, int]:
        """movieId -> column; built once (callers must not change it)."""
        if self._item_index is None:
            object.__setattr__(self, "_item_index",
                               {int(m): i for i, m in enumerate(self.item_ids.tolist())})
        return self._item_index

    def fingerprint(self) -> str:
        """A content hash of ids and ratings: a model trained on other data has another one."""
        if self.known_fingerprint is not None:
            return self.known_fingerprint
        h = hashlib.sha256()
        for arr in (self.user_ids, self.item_ids, self.ratings.indptr, self.ratings.indices,
                    self.ratings.data):
            a = np.ascontiguousarray(arr)
            h.update(str(a.dtype).encode() + str(a.shape).encode())
            h.update(a.tobytes())
        object.__setattr__(self, "known_fingerprint", h.hexdigest()[:16])
        return self.known_fingerprint

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

    Ids are read as exact int64 (never through float: 2**53 + 1 stays itself) and ratings
    as finite float32; a cell that does not fit raises, naming its line. Raises
    InteractionsError with one line naming the file and the problem.
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
    floats = [c for c in ("userId", "movieId") if df[c].dtype != np.int64]
    # A blank line (one at the end, say) turns every column float: without blank lines the
    # same rows in the same order, and int64 again if each cell is an integer that fits.
    again = pd.read_csv(path, engine="c", skipinitialspace=True, skip_blank_lines=True,
                        usecols=lambda c: str(c).strip() in floats) if floats else None
    for col in ("userId", "movieId"):
        out[col] = _id_column(path, df, col, lines, again)
    out["rating"] = _rating_column(path, df, lines)
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


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_ID_RANGE = f"ids must be whole numbers between {INT64_MIN} and {INT64_MAX}"


def _raw_cells(path: Path, df: pd.DataFrame, col: str) -> pd.Series:
    """The cells of ``col`` as written in the file (stripped), for the rows kept in ``df``.

    Only read when the fast path cannot vouch for a column: the file is parsed again with
    the same options, so row positions (``df.index``) line up.
    """
    import pandas as pd

    raw = pd.read_csv(path, engine="c", skipinitialspace=True, skip_blank_lines=False,
                      usecols=lambda c: str(c).strip() == col, dtype=str,
                      keep_default_na=False)
    cells = raw.iloc[:, 0].to_numpy(dtype=object)[df.index.to_numpy()]
    return pd.Series(cells, dtype=object).astype(str).str.strip()


def _shown(text: str) -> str:
    return repr(text[:40] + ("…" if len(text) > 40 else "")) if text else "an empty cell"


def _id_column(path: Path, df: pd.DataFrame, col: str, lines: np.ndarray,
               again: pd.DataFrame | None) -> np.ndarray:
    """``col`` as exact int64; a cell that is not a whole number in the int64 range raises.

    pandas' C parser yields int64 only when every cell parsed as an integer that fits (no
    float on the way), so that case costs nothing. Anything else (a float column from a
    decimal, an empty cell or a blank line; uint64 or object from an overflow) is checked
    again from the file's text, never through float.
    """
    values = df[col]
    if values.dtype == np.int64:
        return values.to_numpy()
    if again is not None:   # ``col`` read again without the blank lines
        again.columns = [str(c).strip() for c in again.columns]
        if again[col].dtype == np.int64 and len(again) == len(df):
            return again[col].to_numpy()
    text = _raw_cells(path, df, col)
    whole = text.str.fullmatch(r"[+-]?[0-9]+").to_numpy(dtype=bool)
    fits = whole.copy()
    # Fewer than 19 characters always fit; the rest are compared as Python ints (exact).
    long = np.flatnonzero(whole & (text.str.len().to_numpy() >= 19))
    fits[long] = [INT64_MIN <= int(t) <= INT64_MAX for t in text.iloc[long]]
    if not fits.all():
        row = int(np.flatnonzero(~fits)[0])
        cell = text.iloc[row]
        if whole[row]:
            raise InteractionsError(
                f"{path}: line {lines[row]}: {col} {cell[:40]} does not fit a 64-bit integer; "
                f"{_ID_RANGE}")
        raise InteractionsError(
            f"{path}: line {lines[row]}: {col} must be an integer number, got {_shown(cell)}; "
            f"{_ID_RANGE} (no decimals or exponents)")
    return text.astype("int64").to_numpy()


def _rating_column(path: Path, df: pd.DataFrame, lines: np.ndarray) -> np.ndarray:
    """Ratings as float32; NaN, infinity and numbers too large for float32 raise."""
    import pandas as pd

    values = pd.to_numeric(df["rating"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(over="ignore"):
        small = values.astype(np.float32)
    bad = ~np.isfinite(small)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        cell = str(_raw_cells(path, df.iloc[[row]], "rating")[0])
        if np.isnan(values[row]):
            raise InteractionsError(
                f"{path}: line {lines[row]}: rating must be a float number, got {_shown(cell)}; "
                "give a finite number such as 3.5")
        raise InteractionsError(
            f"{path}: line {lines[row]}: rating {_shown(cell)} is infinite or too large for "
            "a 32-bit float; give a finite number such as 3.5")
    return small
