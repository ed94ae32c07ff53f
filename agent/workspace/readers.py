"""The batch inputs of `recbot rank`: a users file, and a ratings table from a CSV or from
Parquet (a file, or a directory of part files as Spark writes them)."""

from __future__ import annotations

from pathlib import Path


class BatchInputError(ValueError):
    """A users file for batch ranking is malformed; the message names file and line."""


def read_user_ids(path: str | Path) -> list[int]:
    """One userId per line; blank lines and a ``userId`` header are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file; pass a text file with one userId per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"{path}: cannot read it ({exc})") from None
    import re

    users: list[int] = []
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        if not text or (lineno == 1 and text.lower() == "userid"):
            continue
        # ASCII digits only: int() would also take "1_000" and other scripts' digits.
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise BatchInputError(f"{path}: line {lineno}: {text[:40]!r} is not a userId "
                                  "(one integer per line)")
        user = int(text)
        if not -(2**63) <= user < 2**63:
            raise BatchInputError(
                f"{path}: line {lineno}: userId {text[:40]} does not fit a 64-bit integer; "
                f"ids must be whole numbers between {-(2**63)} and {2**63 - 1}")
        users.append(user)
    if not users:
        raise BatchInputError(f"{path}: no userIds in the file (one integer per line)")
    return users


PARQUET_SUFFIXES = (".parquet", ".pq")


def read_train_ratings(path: str | Path):
    """A ratings table (userId, movieId, rating) from a CSV, or from Parquet when the name
    ends in .parquet (a file, or a directory of part files as Spark writes them)."""
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return read_ratings_parquet(path)
    from recbot.ranking.interactions import read_ratings

    return read_ratings(path)


def read_ratings_parquet(path: Path):
    """Parquet ratings, checked like ``read_ratings`` checks a CSV (integer ids, finite
    ratings, one per user and movie); InteractionsError names the file, the row and the fix."""
    import numpy as np
    import pandas as pd

    from recbot.ranking.errors import InteractionsError
    from recbot.ranking.interactions import RATING_COLUMNS

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InteractionsError(f"{path}: reading Parquet needs pyarrow: "
                                "pip install 'recbot[parquet]'") from None
    if not path.exists():
        raise InteractionsError(f"{path}: no such file; pass a ratings CSV or Parquet file "
                                "with columns userId,movieId,rating")
    try:
        import pyarrow.dataset as ds

        names = ds.dataset(path, format="parquet").schema.names   # a file or a directory
        missing = [c for c in RATING_COLUMNS if c not in names]
        if missing:
            raise InteractionsError(
                f"{path}: missing column(s) {', '.join(missing)}; found "
                f"{', '.join(names) or 'none'} (expected userId,movieId,rating)")
        table = pq.read_table(path, columns=list(RATING_COLUMNS))   # only what is used
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteractionsError(f"{path}: not a readable Parquet file ({first})") from None
    if table.num_rows == 0:
        raise InteractionsError(f"{path}: has columns but no ratings")
    out = {}
    for col in RATING_COLUMNS:
        arr = table.column(col)
        numeric = pa.types.is_integer(arr.type) or (col == "rating"
                                                    and pa.types.is_floating(arr.type))
        if not numeric:
            kind = "a number" if col == "rating" else "an integer"
            raise InteractionsError(f"{path}: column {col} is {arr.type}; it must be {kind} "
                                    "column")
        if arr.null_count:
            row = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0]) + 1
            raise InteractionsError(f"{path}: row {row}: {col} is empty")
        values = arr.to_numpy()
        if col == "rating":
            with np.errstate(over="ignore"):
                values = values.astype(np.float32)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0]) + 1
                raise InteractionsError(f"{path}: row {row}: rating must be a finite number "
                                        "that fits a float32")
        else:
            if values.dtype == np.uint64 and (values > np.iinfo(np.int64).max).any():
                row = int(np.flatnonzero(values > np.iinfo(np.int64).max)[0]) + 1
                raise InteractionsError(f"{path}: row {row}: {col} does not fit a 64-bit "
                                        "integer")
            values = values.astype(np.int64)
        out[col] = values
    df = pd.DataFrame(out)
    dup = df.duplicated(["userId", "movieId"], keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InteractionsError(
            f"{path}: row {row + 1}: duplicate rating for userId {df['userId'].iloc[row]}, "
            f"movieId {df['movieId'].iloc[row]}; keep one row per (user, movie)")
    return df
