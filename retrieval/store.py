"""The vector store: Chroma collections for catalog documents and transcript windows.

Collections are named after the embedding model that filled them
(``recbot-catalog--all-minilm-l6-v2-int8``), so a different model gets fresh
collections instead of mixing vector spaces. Local by default
(``chromadb.PersistentClient`` in the data dir); a Chroma server through
``HttpClient`` when a URL is given.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from .errors import RetrievalError

log = logging.getLogger(__name__)

CATALOG = "catalog"
TRANSCRIPTS = "transcripts"
_PREFIX = "recbot-"


class StoreError(RetrievalError):
    """The vector store cannot be opened or answered with an error."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "model"


def collection_name(kind: str, embed_model: str) -> str:
    return f"{_PREFIX}{kind}--{_slug(embed_model)}"


def open_client(path: str | Path | None = None, url: str | None = None):
    """A Chroma client: HttpClient for ``url`` (http://host:port), else PersistentClient at ``path``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"--chroma-url {url!r} is not an http(s)://host:port URL")
        try:
            client = chromadb.HttpClient(host=parts.hostname,
                                         port=parts.port or (443 if parts.scheme == "https" else 8000),
                                         ssl=parts.scheme == "https", settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 — chromadb raises many kinds; all mean "not reachable"
            raise StoreError(f"cannot reach the Chroma server at {url} ({_first_line(exc)}); "
                             "start it with `chroma run` or drop --chroma-url") from None
        return client
    if path is None:
        raise StoreError("no Chroma path or URL given")
    Path(path).mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # noqa: BLE001 (any failure: cannot open)
        raise StoreError(f"{path}: cannot open the Chroma store ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class VectorStore:
    """Catalog and transcript collections for one embedding model."""

    def __init__(self, client, embed_model: str, generation_path: Path | None = None) -> None:
        self.client = client
        self.embed_model = embed_model
        self.generation_path = generation_path
        self._collections: dict[str, Any] = {}

    def _bump(self) -> None:
        """A new generation token before every write: copies of the store (the catalog
        mirror) made under an older token are retired, even if the write fails midway."""
        if self.generation_path is not None:
            bump_generation(self.generation_path)

    def collection(self, kind: str):
        if kind not in self._collections:
            self._collections[kind] = self.client.get_or_create_collection(
                collection_name(kind, self.embed_model), embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embed_model": self.embed_model, "kind": kind})
        return self._collections[kind]

    def other_model_collections(self, kind: str) -> list[str]:
        """Collections of ``kind`` filled by other embedding models (stale vector spaces)."""
        mine = collection_name(kind, self.embed_model)
        prefix = f"{_PREFIX}{kind}--"
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return [n for n in names if n.startswith(prefix) and n != mine]

    def drop(self, name: str) -> None:
        self._bump()
        self.client.delete_collection(name)
        self._collections = {k: v for k, v in self._collections.items() if v.name != name}

    def count(self, kind: str) -> int:
        return self.collection(kind).count()

    def upsert(self, kind: str, ids: Sequence[str], embeddings: np.ndarray,
               documents: Sequence[str] | None, metadatas: Sequence[dict]) -> None:
        """Write records; ``documents=None`` stores no text (Chroma's full-text indexing
        of documents is a third of the write time, and catalog texts live in the catalog)."""
        if not ids:
            return
        self._bump()
        self.collection(kind).upsert(
            ids=list(ids), embeddings=np.asarray(embeddings, np.float32),
            documents=None if documents is None else list(documents),
            metadatas=[_clean(m) for m in metadatas])

    def get_metadata(self, kind: str, where: dict | None = None,
                     batch: int = 5000) -> dict[str, dict]:
        """id -> metadata for every record (optionally filtered), fetched in pages."""
        col = self.collection(kind)
        out: dict[str, dict] = {}
        offset = 0
        while True:
            got = col.get(where=where, include=["metadatas"], limit=batch, offset=offset)
            for i, m in zip(got["ids"], got["metadatas"]):
                out[i] = m or {}
            if len(got["ids"]) < batch:
                return out
            offset += batch

    def get_vectors(self, kind: str, batch: int = 5000) -> tuple[list[str], np.ndarray, list[dict]]:
        """Every record's id, embedding and metadata, fetched in pages."""
        col = self.collection(kind)
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        metas: list[dict] = []
        offset = 0
        while True:
            got = col.get(include=["embeddings", "metadatas"], limit=batch, offset=offset)
            ids += got["ids"]
            vectors.append(np.asarray(got["embeddings"], np.float32).reshape(len(got["ids"]), -1))
            metas += [m or {} for m in got["metadatas"]]
            if len(got["ids"]) < batch:
                break
            offset += batch
        return ids, np.vstack(vectors) if ids else np.zeros((0, 0), np.float32), metas

    def get_records(self, kind: str, ids: Sequence[str]) -> dict[str, tuple[str, dict]]:
        if not ids:
            return {}
        got = self.collection(kind).get(ids=list(ids), include=["documents", "metadatas"])
        return {i: (d or "", m or {}) for i, d, m in zip(got["ids"], got["documents"],
                                                          got["metadatas"])}

    def delete(self, kind: str, ids: Iterable[str], batch: int = 5000) -> int:
        ids = list(ids)
        if ids:
            self._bump()
        for start in range(0, len(ids), batch):
            self.collection(kind).delete(ids=ids[start:start + batch])
        return len(ids)

    def query(self, kind: str, embedding: np.ndarray, n: int,
              where: dict | None = None) -> list[tuple[str, float, str, dict]]:
        """(id, cosine similarity, document, metadata) best first."""
        col = self.collection(kind)
        total = col.count()
        if total == 0:
            return []
        res = col.query(query_embeddings=np.asarray(embedding, np.float32)[None, :],
                        n_results=min(n, total), where=where,
                        include=["documents", "metadatas", "distances"])
        return [(i, 1.0 - float(d), doc or "", meta or {}) for i, d, doc, meta in
                zip(res["ids"][0], res["distances"][0], res["documents"][0], res["metadatas"][0])]


def read_generation(path: Path) -> str | None:
    """The store's generation token (None before the first write that set one)."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def bump_generation(path: Path) -> str:
    import os
    import tempfile
    import uuid

    token = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token)
    os.replace(tmp, path)
    return token


def genre_key(genre: str) -> str:
    return f"genre:{genre}"


def genre_flags(genres: Iterable[str]) -> dict[str, bool]:
    """Genres as one boolean key each: Chroma writes these ~3x faster than a list value."""
    return {genre_key(g): True for g in genres}


def _clean(meta: dict) -> dict:
    """Chroma rejects None values and empty lists: leave such keys out."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in meta.items()
            if v is not None and not (isinstance(v, (list, tuple)) and not v)}
