"""Semantic search over catalog documents and transcript windows, one hit per movie.

Every hit carries its evidence: the transcript passages (with timestamps and the
file they came from) and the catalog fields (overview, tags, …) that the agent
can cite. Evidence is data, never instructions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .documents import directed_by
from .store import CATALOG, TRANSCRIPTS, VectorStore, genre_key

_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(["a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "with", "about", "that", "this", "is", "are", "was", "it", "its", "film", "movie", "something", "where", "they", "their", "there", "from", "by"])


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # transcript | overview | tags | genres | title | director | cast
    text: str
    start: float | None = None
    end: float | None = None
    source: str | None = None
    score: float | None = None     # a transcript passage: its similarity to the query

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end,
               "source": self.source}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class Hit:
    movie_id: int
    title: str
    year: int | None
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def spoken(self) -> float:
        """How near its best transcript passage is to the query (0 without one)."""
        return max((e.score or 0.0 for e in self.evidence if e.kind == "transcript"),
                   default=0.0)

    def as_dict(self) -> dict:
        return {"movie_id": self.movie_id, "title": self.title, "year": self.year,
                "score": round(self.score, 4), "evidence": [e.as_dict() for e in self.evidence]}


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Hard constraints. ``genres``: every one must be present; years inclusive."""

    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    exclude: frozenset[int] = field(default_factory=frozenset)

    def where(self, kind: str = CATALOG) -> dict | None:
        """Chroma ``where`` for a collection: catalog records carry genre flags,
        transcript windows a genre list."""
        if kind == CATALOG:
            clauses: list[dict] = [{genre_key(g): True} for g in self.genres]
        else:
            clauses = [{"genres": {"$contains": g}} for g in self.genres]
        if self.year_min is not None:
            clauses.append({"year": {"$gte": int(self.year_min)}})
        if self.year_max is not None:
            clauses.append({"year": {"$lte": int(self.year_max)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@lru_cache(maxsize=65536)   # field texts repeat (tags, genres): a turn words ~500 of them
def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def catalog_evidence(movie, query: str | frozenset[str]) -> list[Evidence]:
    """The catalog fields of ``movie`` as evidence, those sharing words with the query
    (its text, or its words from ``_words``) first."""
    items: list[Evidence] = []
    if movie is None:
        return items
    if movie.overview:
        items.append(Evidence("overview", movie.overview))
    if movie.tags:
        items.append(Evidence("tags", ", ".join(movie.tags)))
    if movie.genres:
        items.append(Evidence("genres", ", ".join(movie.genres)))
    if movie.director:
        items.append(Evidence("director", directed_by(movie)))
    if movie.stars:
        items.append(Evidence("cast", ", ".join(movie.stars)))
    items.append(Evidence("title", movie.label() if hasattr(movie, "label") else movie.title))
    q = _words(query) if isinstance(query, str) else query
    return sorted(items, key=lambda e: -len(q & _words(e.text)))  # stable: fields keep order


class Searcher:
    """``search(query, k, filters)`` over both collections.

    ``live_sources`` returns {source path: content hash} of ingested files; transcript
    windows of any other version (a half-finished or superseded ingest) are ignored.
    """

    def __init__(self, store: VectorStore, embedder, catalog,
                 live_sources: Callable[[], dict[str, str]] | None = None,
                 *, max_transcript_evidence: int = 2, max_catalog_evidence: int = 3) -> None:
        self.store = store
        self.embedder = embedder
        self.catalog = catalog
        self.live_sources = live_sources or (dict)
        self.max_transcript_evidence = max_transcript_evidence
        self.max_catalog_evidence = max_catalog_evidence

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        query = " ".join(query.split())
        if not query or k < 1:
            return []
        return self.search_vector(self.embedder.embed([query])[0], query, k, filters)

    def search_vector(self, vec, query: str, k: int = 10,
                      filters: SearchFilters | None = None) -> list[Hit]:
        """``search`` for a query vector made elsewhere (what a conversation said, mixed);
        ``query``: its words, which order each hit's catalog evidence."""
        filters = filters or SearchFilters()
        if k < 1:
            return []
        # One catalog record per movie, so k + excluded records hold the k best; a movie
        # has many transcript windows, so those are fetched deeper. (A deeper catalog pool
        # only cost time: 4x the records from Chroma's HNSW is ~3x slower at 87 k films.)
        pool = max(4 * k, 40) + len(filters.exclude)
        best: dict[int, float] = {}
        passages: dict[int, list[tuple[float, Evidence]]] = {}
        for _, sim, _, meta in self.store.query(CATALOG, vec, k + len(filters.exclude),
                                                filters.where(CATALOG)):
            mid = int(meta["movie_id"])
            best[mid] = max(best.get(mid, -1.0), sim)
        live = self.live_sources()
        if live:
            for _, sim, doc, meta in self.store.query(TRANSCRIPTS, vec, pool,
                                                        filters.where(TRANSCRIPTS)):
                src = meta.get("source")
                if live.get(src) != meta.get("content_hash"):
                    continue
                mid = int(meta["movie_id"])
                best[mid] = max(best.get(mid, -1.0), sim)
                passages.setdefault(mid, []).append(
                    (sim, Evidence("transcript", doc, float(meta.get("start", 0.0)),
                                   float(meta.get("end", 0.0)), src, sim)))
        ranked = sorted((m for m in best if m not in filters.exclude),
                        key=lambda m: (-best[m], m))[:k]
        hits = []
        words = _words(query)
        for mid in ranked:
            movie = self.catalog.get(mid)
            ev = [e for _, e in sorted(passages.get(mid, []), key=lambda p: -p[0])]
            ev = ev[: self.max_transcript_evidence]
            ev += catalog_evidence(movie, words)[: self.max_catalog_evidence]
            hits.append(Hit(mid, movie.title if movie else str(mid),
                            movie.year if movie else None, best[mid], tuple(ev)))
        return hits


def parse_genres(values: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """Map user-typed genre names onto the catalog's spelling ("sci-fi" -> "Sci-Fi")."""
    lookup = {g.lower().replace("-", "").replace(" ", ""): g for g in known}
    out = []
    for v in values:
        key = v.lower().replace("-", "").replace(" ", "")
        if key not in lookup:
            raise ValueError(f"unknown genre {v!r}; choose from {', '.join(sorted(lookup.values()))}")
        out.append(lookup[key])
    return tuple(out)
