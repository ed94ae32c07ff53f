"""The catalog index: one embedded document per movie, kept in step with the catalog.

Incremental: each record carries a hash of its document text, so only new or
changed movies are embedded; movies gone from the catalog are removed. Batches
are written as they are embedded, so an interrupted build resumes where it
stopped. Collections of another embedding model are dropped, never mixed. A catalog
collection whose files cannot be read (a garbled segment) is dropped and built again:
everything in it comes from the catalog.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .documents import catalog_document
from .store import CATALOG, StoreDamagedError, VectorStore, collection_name, genre_flags

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexReport:
    added: int
    updated: int
    removed: int
    unchanged: int
    dropped_collections: tuple[str, ...] = ()

    @property
    def embedded(self) -> int:
        return self.added + self.updated


def doc_id(movie_id: int) -> str:
    return f"movie-{movie_id}"


# Part of every record's hash: a change to what a record holds rewrites old records.
RECORD_FORMAT = "3"   # 3: documents without titles


def _doc_hash(text: str) -> str:
    return hashlib.sha1(f"{RECORD_FORMAT}\n{text}".encode()).hexdigest()[:16]


def index_needs_work(store: VectorStore, catalog) -> bool:
    """Cheap check: does the index hold a record per movie (ignores changed texts)?"""
    return store.count(CATALOG) != len(catalog)


def build_catalog_index(store: VectorStore, catalog, embedder, *, batch_size: int = 512,
                        progress: Callable[[int, int], None] | None = None,
                        said: Mapping[int, tuple[str, ...]] | None = None) -> IndexReport:
    """Bring the catalog collection in line with ``catalog``; returns what changed.
    ``said``: per film, the words real seekers asked for before it was suggested."""
    dropped = tuple(store.other_model_collections(CATALOG))
    for name in dropped:
        store.drop(name)
    try:
        existing = {i: m.get("doc_hash") for i, m in store.get_metadata(CATALOG).items()}
    except StoreDamagedError as err:
        if err.kind != CATALOG:
            raise
        # derived data only: drop the damaged collection and embed the catalog again
        log.warning("the catalog index in %s is damaged (%s); rebuilding it", store.path,
                    err.reason)
        store.drop(collection_name(CATALOG, store.embed_model))
        existing = {}
    todo = []
    unchanged = 0
    wanted = set()
    for movie in catalog:
        did = doc_id(movie.movie_id)
        wanted.add(did)
        text = catalog_document(movie, (said or {}).get(movie.movie_id, ()))
        h = _doc_hash(text)
        if existing.get(did) == h:
            unchanged += 1
        else:
            todo.append((did, text, h, movie))
    removed = [i for i in existing if i not in wanted]
    store.delete(CATALOG, removed)
    added = sum(1 for did, *_ in todo if did not in existing)
    total = len(todo)
    # Longest first across the whole list, so every embedding batch pads little.
    todo.sort(key=lambda row: -len(row[1]))
    if progress:
        progress(0, total)
    # Writing a chunk (HNSW inserts, in Chroma's native code) overlaps embedding the next.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for start in range(0, total, batch_size):
            chunk = todo[start:start + batch_size]
            vectors = embedder.embed([t for _, t, _, _ in chunk], batch_size=64)
            if pending is not None:
                pending.result()
            # No document text (rebuilt from the catalog when needed); genres as flags.
            pending = writer.submit(
                store.upsert, CATALOG, [d for d, *_ in chunk], vectors, None,
                [{"movie_id": m.movie_id, "year": m.year, "doc_hash": h, **genre_flags(m.genres)}
                 for _, _, h, m in chunk])
            if progress:
                progress(min(start + batch_size, total), total)
        if pending is not None:
            pending.result()
    return IndexReport(added, total - added, len(removed), unchanged, dropped)
