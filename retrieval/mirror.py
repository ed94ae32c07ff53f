"""A read-only copy of the catalog collection's vectors, for processes that only query it.

Chroma is the store: every write goes there. But a scripted turn (`recbot ask`) is a new
process each time, and importing chromadb alone costs ~0.7 s, against ~2 ms for an exact
cosine search over the catalog's ~10 k vectors in numpy. So after an index check finds the
local store current, its catalog vectors and the metadata the filters need (movie id,
year, genres) are written to one ``.npz`` beside it, stamped with the store's generation
token, which recbot's ``VectorStore`` renews before every write (upsert, delete, drop).
``CatalogMirror.load`` returns None once the token differs (a write, an ingest, a
rebuild), or the file is unreadable, and the caller writes a new one or opens Chroma.
Only the catalog collection is mirrored; transcripts are always queried in Chroma.
The search here is exact, where Chroma's HNSW is approximate: the catalog holds many
near-identical documents (films with only a year and genres), which its graph handles
badly, so the exact answer is also the better one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .store import CATALOG, VectorStore

FORMAT = 1
_GENRE = "genre:"


class CatalogMirror:
    """``query()`` with VectorStore's signature over the mirrored catalog collection."""

    def __init__(self, ids: list[str], vectors: np.ndarray, movie_ids: np.ndarray,
                 years: np.ndarray, genres: list[str], flags: np.ndarray,
                 stamp: str | None = None) -> None:
        self.stamp = stamp          # the store generation it was copied under
        self.ids = ids
        self.vectors = np.asarray(vectors, np.float32)
        self.movie_ids = movie_ids
        self.years = years          # -1: unknown
        self.genres = genres
        self.flags = flags          # (records, genres) bool
        self._column = {g: i for i, g in enumerate(genres)}

    def __len__(self) -> int:
        return len(self.ids)

    # ----- files --------------------------------------------------------------------------
    @staticmethod
    def write(store: VectorStore, path: Path, stamp: str) -> CatalogMirror:
        ids, vectors, metas = store.get_vectors(CATALOG)
        genres = sorted({k[len(_GENRE):] for m in metas for k, v in m.items()
                         if k.startswith(_GENRE) and v})
        column = {g: i for i, g in enumerate(genres)}
        flags = np.zeros((len(ids), len(genres)), dtype=bool)
        for row, meta in enumerate(metas):
            for key, value in meta.items():
                if key.startswith(_GENRE) and value:
                    flags[row, column[key[len(_GENRE):]]] = True
        mirror = CatalogMirror(
            ids, vectors, np.array([int(m["movie_id"]) for m in metas], dtype=np.int64),
            np.array([int(m.get("year", -1)) for m in metas], dtype=np.int64), genres, flags,
            stamp)
        header = {"format": FORMAT, "embed_model": store.embed_model, "stamp": stamp,
                  "genres": genres}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                         ids=np.array(ids), vectors=mirror.vectors, movie_ids=mirror.movie_ids,
                         years=mirror.years, flags=flags)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return mirror

    @staticmethod
    def load(path: Path, embed_model: str, stamp: str | None) -> CatalogMirror | None:
        """The mirror at ``path`` if it was written under this generation, else None."""
        if stamp is None:
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(z["header"].tobytes().decode())
                if header != {"format": FORMAT, "embed_model": embed_model, "stamp": stamp,
                              "genres": header.get("genres")}:
                    return None
                return CatalogMirror([str(i) for i in z["ids"]], z["vectors"], z["movie_ids"],
                                     z["years"], list(header["genres"]), z["flags"], stamp)
        except Exception:  # noqa: BLE001 — torn (BadZipFile), missing, foreign: not a mirror
            return None

    # ----- queries ------------------------------------------------------------------------
    def count(self, kind: str) -> int:
        return len(self) if kind == CATALOG else 0

    def query(self, kind: str, embedding: np.ndarray, n: int,
              where: dict | None = None) -> list[tuple[str, float, str, dict]]:
        """(id, cosine similarity, document, metadata) best first, exact; equal scores in
        record order."""
        if kind != CATALOG:
            raise ValueError("the mirror holds the catalog collection only")
        keep = self._where(where)
        rows = np.flatnonzero(keep) if keep is not None else None
        if n < 1 or not len(self) or (rows is not None and not len(rows)):
            return []
        q = np.asarray(embedding, np.float32)
        if rows is not None and len(rows) * 8 < len(self):
            sims = self.vectors[rows] @ q       # a narrow filter: copying its rows is cheap
        else:
            # One pass over the whole matrix, then pick: copying the kept rows out first
            # (``vectors[rows]``) costs several times the product at 87 k x 384.
            sims = self.vectors @ q
            if rows is not None:
                sims = sims[rows]
        top = _best(sims, n)
        out = []
        for j in top:
            r = rows[j] if rows is not None else j
            meta = {"movie_id": int(self.movie_ids[r])}
            if self.years[r] >= 0:
                meta["year"] = int(self.years[r])
            out.append((self.ids[r], float(sims[j]), "", meta))
        return out

    def _where(self, where: dict | None) -> np.ndarray | None:
        """Chroma's ``where`` as a row mask, for the clauses SearchFilters builds."""
        if not where:
            return None
        if "$and" in where:
            mask = np.ones(len(self), dtype=bool)
            for clause in where["$and"]:
                mask &= self._where(clause)
            return mask
        ((key, cond),) = where.items()
        if key.startswith(_GENRE):
            col = self._column.get(key[len(_GENRE):])
            if cond is not True:
                raise ValueError(f"unsupported genre clause {where!r}")
            return np.zeros(len(self), bool) if col is None else self.flags[:, col].copy()
        if key == "year" and isinstance(cond, dict) and len(cond) == 1:
            ((op, value),) = cond.items()
            known = self.years >= 0
            if op == "$gte":
                return known & (self.years >= int(value))
            if op == "$lte":
                return known & (self.years <= int(value))
        raise ValueError(f"unsupported where clause {where!r}")


def _best(sims: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores, best first, ties by index: what a stable sort of
    all of them gives, at the cost of a partition (a full sort of 87 k scores is ~6 ms)."""
    if n >= len(sims):
        return np.argsort(-sims, kind="stable")
    kth = np.partition(sims, len(sims) - n)[len(sims) - n]   # the n-th best score
    above = np.flatnonzero(sims > kth)
    tied = np.flatnonzero(sims == kth)[: n - len(above)]
    top = np.concatenate([above, tied])
    return top[np.lexsort((top, -sims[top]))]
