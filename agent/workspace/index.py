"""Search: the embedder, the Chroma store, the catalog's vector mirror, the index build and
check, the searcher, and the real seekers' contexts (chat neighbours).

A scripted turn starts a new process each time, so the catalog index's vectors are kept
ready-made beside the models (retrieval/mirror.py), with a note of the last index check
(so a turn that needs no search never opens Chroma). Any change to the store, or a failed
read, falls back to Chroma.

The check compares the movies, not their texts; the texts that change without the dataset
changing (the document layout, ``DOCUMENTS``; the real seekers' words, from the shipped
contexts; the user's plot text, ``recbot data enrich``) are recorded by each build, and the
check asks for an (incremental) build when they differ.
"""

from __future__ import annotations

# What a catalog document is made of (retrieval.documents): a change here makes the next
# check ask for an (incremental) build, which re-embeds the documents whose text changed
DOCUMENTS = "seekers-1"

import logging
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from .data import Data, write_atomic

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from recbot.retrieval.index import IndexReport
    from recbot.retrieval.search import Searcher
    from recbot.retrieval.store import VectorStore


class _SplitStore:
    """The catalog collection from its mirror, everything else from Chroma (opened on the
    first query that needs it)."""

    def __init__(self, mirror, store: Callable) -> None:
        self.mirror, self._store = mirror, store

    def query(self, kind: str, embedding, n: int, where: dict | None = None):
        from recbot.retrieval.store import CATALOG

        if kind == CATALOG:
            return self.mirror.query(kind, embedding, n, where)
        return self._store().query(kind, embedding, n, where)


class Index:
    """The catalog index and search over ``data``'s catalog.

    ``embedder``, ``store`` and ``searcher`` replace the ones built from the settings (a
    test's small embedder, an in-memory store, a searcher over its own store)."""

    def __init__(self, settings: Settings, data: Data, *, embedder=None,
                 store: VectorStore | None = None, searcher: Searcher | None = None) -> None:
        self.settings = settings
        self.data = data
        self._mirror = None
        for name, given in (("embedder", embedder), ("store", store), ("searcher", searcher)):
            if given is not None:
                self.__dict__[name] = given   # in place of the cached property

    @cached_property
    def embedder(self):
        from recbot.retrieval.embed import MiniLMEmbedder

        return MiniLMEmbedder(self.settings.embed_model,
                              cache_dir=self.settings.models_dir / "embeddings")

    @cached_property
    def store(self) -> VectorStore:
        from recbot.retrieval.store import VectorStore, open_client

        s = self.settings
        client = open_client(path=s.chroma_dir, url=s.chroma_url, token=s.chroma_token,
                             auth_header=s.chroma_auth_header, tenant=s.chroma_tenant,
                             database=s.chroma_database)
        return VectorStore(client, self.embedder.name,
                           None if self.settings.chroma_url else self.generation_path)

    @property
    def generation_path(self) -> Path:
        return self.settings.data_dir / "chroma-generation"

    @property
    def mirror_path(self) -> Path:
        return self.data.snapshots / "catalog-vectors.npz"

    @property
    def contexts_cache(self) -> Path:
        """Where the real seekers' contexts get their vectors for an embedder other than the
        bundled one (whose vectors ship with recbot)."""
        return self.settings.models_dir / "chat-contexts"

    def _index_note(self) -> dict | None:
        """What the last index check saw: the local store's generation and the catalog. A
        server store (chroma_url) is always asked."""
        from recbot.retrieval.store import read_generation

        if self.settings.chroma_url or not self.settings.chroma_dir.is_dir():
            return None
        generation = read_generation(self.generation_path)
        if generation is None:
            return None
        catalog = self.data.catalog
        return {"embedder": self.embedder.name, "store": generation,
                "catalog": [len(catalog), catalog.id_digest()]}

    @cached_property
    def chat_neighbours(self):
        """The real seekers' contexts (retrieval.prior.ChatNeighbours) with their vectors for
        this embedder attached, or None without contexts or vectors (an index build makes
        the vectors)."""
        from recbot.retrieval.prior import ChatNeighbours

        nb = ChatNeighbours.load()
        return nb if nb.attach(self.embedder.name, self.contexts_cache) else None

    def _contexts_ready(self) -> bool:
        from recbot.retrieval.prior import ChatNeighbours

        return self.chat_neighbours is not None or not ChatNeighbours.load().contexts

    @property
    def texts_record(self) -> Path:
        """The stamp of the texts the last index build embedded (``_texts_stamp``)."""
        return self.data.snapshots / "index-texts.txt"

    def _texts_indexed(self) -> bool:
        """Whether the index was built from the texts the documents hold now: the layout,
        the seekers' words, the user's plot text (``_texts_stamp``).

        Neither the note nor the full check can see them: both compare the movies (count and
        ids), and reading every record's text hash back from Chroma would cost what the
        build costs. Without a record (an index from before the record), one incremental
        build re-embeds what changed."""
        try:
            built = self.texts_record.read_text(encoding="utf-8")
        except FileNotFoundError:
            built = ""
        except (OSError, ValueError):
            return False
        return built == self._texts_stamp()

    def _texts_stamp(self) -> str:
        """Which texts the documents are made of beyond the dataset's files: the document
        layout, the real seekers' words (the shipped contexts) and the user's plot text."""
        from recbot.retrieval.prior import ChatNeighbours

        nb = self.chat_neighbours or ChatNeighbours.load()    # (loaded once, when attached)
        return f"{DOCUMENTS}|{nb.digest}|{self.data.plots_stamp}"

    def _seeker_words(self) -> dict[int, tuple[str, ...]]:
        """Per film, what real seekers had asked for before it was suggested to them."""
        from ..candidates.text import seeker_words

        return seeker_words(self.data.catalog)

    def index_is_current(self) -> bool:
        import json

        from recbot.retrieval.index import index_needs_work
        from recbot.retrieval.store import CATALOG, StoreDamagedError, bump_generation

        if not self._contexts_ready():
            return False
        note_path = self.data.snapshots / "index-check.json"
        note = self._index_note()
        try:
            if note is not None and json.loads(note_path.read_text()) == note:
                return self._texts_indexed()
        except (OSError, ValueError):
            pass
        # the store first: a server that refuses us says so before any build is started
        try:
            current = not index_needs_work(self.store, self.data.catalog) \
                and self._texts_indexed()
        except StoreDamagedError as err:
            if err.kind != CATALOG:
                raise
            return False            # a build drops the damaged catalog index and redoes it
        if current and not self.settings.chroma_url:
            if self._index_note() is None:          # a store from before generation tokens
                bump_generation(self.generation_path)
            self._refresh_mirror()
        return current

    def _refresh_mirror(self) -> None:
        """Copy the catalog vectors out of the (current) local store and note the check."""
        import json

        from recbot.retrieval.mirror import CatalogMirror

        note = self._index_note()
        if note is None:
            return
        try:
            self._mirror = CatalogMirror.write(self.store, self.mirror_path, note["store"])
        except Exception:  # noqa: BLE001 — no mirror: searches go to Chroma, nothing worse
            logger.info("could not write the catalog mirror", exc_info=True)
            return
        write_atomic(self.data.snapshots / "index-check.json",
                     lambda fh: fh.write(json.dumps(note).encode()))

    def _catalog_mirror(self):
        """The catalog mirror of the current store generation, or None."""
        from recbot.retrieval.mirror import CatalogMirror
        from recbot.retrieval.store import read_generation

        if self.settings.chroma_url:
            return None
        generation = read_generation(self.generation_path)
        mirror = self._mirror
        if mirror is None or mirror.stamp != generation:
            mirror = CatalogMirror.load(self.mirror_path, self.embedder.name, generation)
            self._mirror = mirror
        return mirror

    def build_index(self, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        from recbot.retrieval.index import build_catalog_index
        from recbot.retrieval.prior import ChatNeighbours

        catalog = self.data.catalog
        stamp = self._texts_stamp()          # of the texts this catalog's documents hold
        report = build_catalog_index(self.store, catalog, self.embedder, progress=progress,
                                     said=self._seeker_words())
        # a record that cannot be written only means another (quick, incremental) build
        write_atomic(self.texts_record, lambda fh: fh.write(stamp.encode()))
        if self.chat_neighbours is None:
            nb = ChatNeighbours.load()
            nb.ensure_vectors(self.embedder, self.contexts_cache)
            self.__dict__["chat_neighbours"] = nb if nb.vectors is not None else None
        if not self.settings.chroma_url:
            self._refresh_mirror()
        return report

    @cached_property
    def searcher(self) -> Searcher:
        """Search over the store: the catalog through its exact mirror while that matches
        the store's generation (no chromadb import), transcripts in Chroma."""
        from recbot.retrieval.search import Searcher

        data = self.data
        mirror = self._catalog_mirror()
        if mirror is None:
            return Searcher(self.store, self.embedder, data.catalog, data.ledger.current_sources)
        if not self.settings.ledger_path.exists():
            return Searcher(mirror, self.embedder, data.catalog, dict)
        return Searcher(_SplitStore(mirror, lambda: self.store), self.embedder, data.catalog,
                        data.ledger.current_sources)

    def forget_searcher(self) -> None:
        """The catalog changed: the next ``searcher`` is built over the new one."""
        self.__dict__.pop("searcher", None)
        self.__dict__.pop("multilingual_searcher", None)

    def search(self, query: str, *, k: int = 10, genres: Iterable[str] = (),
               year_min: int | None = None, year_max: int | None = None,
               lang: str = "en"):
        """Semantic search over catalog and transcripts (``ValueError`` for an unknown
        genre). Builds nothing: call ``build_index`` first when it is not current, and
        ``build_multilingual`` before a ``lang`` other than English.

        English: the MiniLM index, transcripts included. Any other language: the
        multilingual embedder over the catalog (``multilingual_catalog``)."""
        from recbot.retrieval.search import SearchFilters

        wanted = self.data.genre_names(genres)
        filters = SearchFilters(genres=wanted, year_min=year_min, year_max=year_max)
        if lang != "en":
            return self.multilingual_searcher.search(query, k=k, filters=filters)
        return self.searcher.search(query, k=k, filters=filters)

    # ----- the multilingual catalog -----------------------------------------------------------
    @cached_property
    def multilingual_embedder(self):
        from recbot.retrieval.multilingual import UseEmbedder

        return UseEmbedder(cache_dir=self.settings.models_dir / "embeddings")

    @property
    def multilingual_path(self) -> Path:
        return self.data.snapshots / "catalog-multilingual.npz"

    def _documents(self) -> tuple[list[int], list[str], list[str]]:
        """(movie ids, catalog documents, their hashes), as the MiniLM index embeds them."""
        import hashlib

        from recbot.retrieval.documents import catalog_document

        said = self._seeker_words()
        ids, docs = [], []
        for movie in self.data.catalog:
            ids.append(movie.movie_id)
            docs.append(catalog_document(movie, said.get(movie.movie_id, ())))
        hashes = [hashlib.sha256(d.encode()).hexdigest()[:16] for d in docs]
        return ids, docs, hashes

    def _read_multilingual(self) -> dict[int, tuple[str, object]]:
        """{movie id: (document hash, vector)} kept by the last build; {} when there is
        none or it is unreadable (it is rebuilt: derived data only)."""
        import json

        import numpy as np

        from recbot.retrieval.multilingual import USE_DIM, USE_NAME

        try:
            with np.load(self.multilingual_path, allow_pickle=False) as z:
                header = json.loads(z["header"].tobytes().decode())
                ids, hashes, vectors = z["movie_ids"], z["hashes"], z["vectors"]
                if (header != {"format": 1, "embedder": USE_NAME, "documents": DOCUMENTS}
                        or ids.ndim != 1 or ids.dtype.kind != "i"
                        or vectors.shape != (len(ids), USE_DIM) or vectors.dtype != np.float16
                        or hashes.shape != ids.shape or hashes.dtype.kind != "U"
                        or not np.isfinite(vectors).all()):
                    return {}
                return {int(i): (str(h), v) for i, h, v in zip(ids, hashes, vectors)}
        except Exception:  # noqa: BLE001 — missing, torn, foreign: embed again
            return {}

    def multilingual_is_current(self) -> bool:
        """Whether the kept multilingual vectors are those of the catalog's documents now
        (checked once per catalog and file version in a process: it builds every
        document)."""
        try:
            st = self.multilingual_path.stat()
            key = (id(self.data.catalog), st.st_size, st.st_mtime_ns)
        except OSError:
            return False
        if self.__dict__.get("_multilingual_checked") == key:
            return self._spoken_is_current()
        kept = self._read_multilingual()
        ids, _, hashes = self._documents()
        current = len(kept) == len(ids) and all(kept.get(i, ("",))[0] == h
                                                for i, h in zip(ids, hashes))
        if current:
            self.__dict__["_multilingual_checked"] = key
        return current and self._spoken_is_current()

    def ready_multilingual_searcher(self, status: Callable[[str], None] | None = None):
        """``multilingual_searcher`` over vectors that match the catalog, built first when
        they do not (the first Chinese or Spanish ask, a torn file, a changed catalog)."""
        if not self.multilingual_is_current():
            if status is not None:
                status("indexing the catalog for Chinese and Spanish (the first time takes "
                       "about a minute)")
            self.build_multilingual()
        return self.multilingual_searcher

    def build_multilingual(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed the catalog documents that changed since the last build with the
        multilingual embedder (all of them the first time: ~15 s for 10 k films here), and
        the transcript windows of ingests not embedded yet; returns how many documents and
        windows were embedded."""
        import json

        import numpy as np

        from recbot.retrieval.multilingual import USE_DIM, USE_NAME

        kept = self._read_multilingual()
        ids, docs, hashes = self._documents()
        todo = [j for j, (i, h) in enumerate(zip(ids, hashes)) if kept.get(i, ("",))[0] != h]
        vectors = np.zeros((len(ids), USE_DIM), dtype=np.float16)
        fresh_rows = set(todo)
        for j, i in enumerate(ids):
            if j not in fresh_rows:
                vectors[j] = kept[i][1]
        if progress:
            progress(0, len(todo))
        if todo:
            fresh = self.multilingual_embedder.embed([docs[j] for j in todo], progress=progress)
            vectors[todo] = fresh.astype(np.float16)
        if todo or len(kept) != len(ids):
            header = {"format": 1, "embedder": USE_NAME, "documents": DOCUMENTS}

            def write(fh) -> None:
                np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                         movie_ids=np.array(ids, dtype=np.int64),
                         hashes=np.array(hashes, dtype="<U16"), vectors=vectors)

            write_atomic(self.multilingual_path, write)
        spoken = self._build_spoken()
        self.__dict__.pop("multilingual_searcher", None)
        return len(todo) + spoken

    @cached_property
    def multilingual_searcher(self) -> Searcher:
        """Search with the multilingual embedder: an exact search over the catalog vectors
        ``build_multilingual`` kept, and over the transcript windows of the live ingests
        (``SpokenVectors``), their passages as evidence."""
        import numpy as np

        from recbot.retrieval.index import doc_id
        from recbot.retrieval.mirror import CatalogMirror
        from recbot.retrieval.multilingual import USE_DIM
        from recbot.retrieval.search import Searcher

        kept = self._read_multilingual()
        catalog = self.data.catalog
        movies = [m for m in catalog if m.movie_id in kept]
        genres = sorted({g for m in movies for g in m.genres})
        column = {g: c for c, g in enumerate(genres)}
        flags = np.zeros((len(movies), len(genres)), dtype=bool)
        for r, m in enumerate(movies):
            for g in m.genres:
                flags[r, column[g]] = True
        mirror = CatalogMirror(
            [doc_id(m.movie_id) for m in movies],
            np.array([kept[m.movie_id][1] for m in movies], dtype=np.float32).reshape(
                len(movies), USE_DIM),
            np.array([m.movie_id for m in movies], dtype=np.int64),
            np.array([m.year if m.year is not None else -1 for m in movies], dtype=np.int64),
            genres, flags)
        spoken = SpokenVectors.load(self.multilingual_spoken_path)
        if spoken is None or not len(spoken):
            return Searcher(mirror, self.multilingual_embedder, catalog, dict)
        return Searcher(_SplitStore(mirror, lambda: spoken), self.multilingual_embedder,
                        catalog, self.data.ledger.current_sources)

    # ----- what the user's own videos say, for the multilingual search ------------------------
    @property
    def multilingual_spoken_path(self) -> Path:
        return self.data.snapshots / "transcripts-multilingual.npz"

    def _live_spoken(self) -> dict[str, tuple[str, int]]:
        """{source: (content hash, windows)} of the live ingests ({} without a ledger)."""
        if not self.settings.ledger_path.exists():
            return {}
        return {r.path: (r.content_hash, r.windows) for r in self.data.ledger.records()}

    def _spoken_is_current(self) -> bool:
        """Whether the kept multilingual transcript vectors are those of the live ingests."""
        live = {(src, h) for src, (h, _) in self._live_spoken().items()}
        kept = SpokenVectors.load(self.multilingual_spoken_path)
        have = kept.versions() if kept is not None else set()
        return have == live

    def _build_spoken(self) -> int:
        """Embed the transcript windows of ingests the multilingual file lacks (read from
        the store by their ids); drop those of ingests no longer live. Returns how many
        windows were embedded."""
        live = self._live_spoken()
        versions = {(s, h) for s, (h, _) in live.items()}
        kept = SpokenVectors.load(self.multilingual_spoken_path)
        if kept is not None and kept.versions() == versions:
            return 0
        rows = kept.rows_of(versions) if kept is not None else []
        have = kept.versions() & versions if kept is not None else set()
        fresh = []
        todo = [(s, h, n) for s, (h, n) in live.items() if (s, h) not in have and n > 0]
        if todo:
            from recbot.retrieval.ingest import window_id
            from recbot.retrieval.store import TRANSCRIPTS

            for source, content_hash, windows in todo:
                ids = [window_id(source, content_hash, i) for i in range(windows)]
                got = self.store.get_records(TRANSCRIPTS, ids)
                for wid in ids:
                    doc, meta = got.get(wid, ("", {}))
                    if doc and meta.get("content_hash") == content_hash:
                        fresh.append({"id": wid, "text": doc, "source": source,
                                      "content_hash": content_hash,
                                      "movie_id": int(meta.get("movie_id", -1)),
                                      "start": float(meta.get("start", 0.0)),
                                      "end": float(meta.get("end", 0.0)),
                                      "year": meta.get("year"),
                                      "genres": [str(g) for g in meta.get("genres") or []]})
        import numpy as np

        from recbot.retrieval.multilingual import USE_DIM

        vectors = [r.pop("vector") for r in rows]
        if fresh:
            vectors += list(self.multilingual_embedder.embed([r["text"] for r in fresh]))
        SpokenVectors.write(self.multilingual_spoken_path, rows + fresh,
                            np.array(vectors, dtype=np.float16).reshape(len(rows) + len(fresh),
                                                                        USE_DIM), versions)
        return len(fresh)


class SpokenVectors:
    """The multilingual vectors of the transcript windows of the user's own videos, with
    their text and what the search filters on (``transcripts-multilingual.npz``: a JSON list
    of rows and a float16 matrix; derived data, rebuilt when torn). ``query`` answers for
    the transcripts collection as the store does: (id, cosine, text, metadata), best first.
    """

    def __init__(self, rows: list[dict], vectors, versions: set[tuple[str, str]]) -> None:
        self.rows, self.vectors, self._versions = rows, vectors, versions

    def __len__(self) -> int:
        return len(self.rows)

    def versions(self) -> set[tuple[str, str]]:
        """The ingests (source, content hash) embedded, windows found or not."""
        return set(self._versions)

    def rows_of(self, versions: set[tuple[str, str]]) -> list[dict]:
        """The rows (each with its ``vector``) of those ingests."""
        return [{**r, "vector": v} for r, v in zip(self.rows, self.vectors)
                if (r["source"], r["content_hash"]) in versions]

    @staticmethod
    def write(path: Path, rows: list[dict], vectors, versions: set[tuple[str, str]]) -> None:
        import json

        import numpy as np

        from recbot.retrieval.multilingual import USE_NAME

        header = {"format": 1, "embedder": USE_NAME}
        blob = json.dumps({"versions": sorted(map(list, versions)), "rows": rows},
                          ensure_ascii=False).encode("utf-8")

        def write(fh) -> None:
            np.savez(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8),
                     rows=np.frombuffer(blob, np.uint8), vectors=vectors)

        write_atomic(path, write)

    @classmethod
    def load(cls, path: Path) -> SpokenVectors | None:
        """The file's windows, or None when there is none or it is not one (torn, foreign,
        of other types): it is rebuilt."""
        import json

        import numpy as np

        from recbot.retrieval.multilingual import USE_DIM, USE_NAME

        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(z["header"].tobytes().decode())
                got = json.loads(z["rows"].tobytes().decode("utf-8"))
                vectors = z["vectors"]
            rows, versions = got["rows"], {(str(a), str(b)) for a, b in got["versions"]}
        except Exception:  # noqa: BLE001 — missing, torn, foreign: embed again
            return None
        keys = {"id": str, "text": str, "source": str, "content_hash": str, "movie_id": int,
                "start": float, "end": float}
        if (header != {"format": 1, "embedder": USE_NAME} or not isinstance(rows, list)
                or vectors.dtype != np.float16 or vectors.shape != (len(rows), USE_DIM)
                or not np.isfinite(vectors).all()
                or not all(isinstance(r, dict) and all(isinstance(r.get(k), t if t is not float
                                                                   else (int, float))
                                                       for k, t in keys.items())
                           and isinstance(r.get("genres", []), list) for r in rows)):
            return None
        return cls(rows, vectors.astype(np.float32), versions)

    def query(self, kind: str, embedding, n: int,
              where: dict | None = None) -> list[tuple[str, float, str, dict]]:
        import numpy as np

        if not self.rows or n < 1:
            return []
        keep = np.array([_fits(r, where) for r in self.rows], dtype=bool)
        sims = self.vectors @ np.asarray(embedding, np.float32)
        order = [j for j in np.argsort(-sims, kind="stable") if keep[j]][:n]
        return [(self.rows[j]["id"], float(sims[j]), self.rows[j]["text"],
                 {k: self.rows[j][k] for k in ("movie_id", "source", "content_hash", "start",
                                               "end")}) for j in order]


def _fits(row: dict, where: dict | None) -> bool:
    """A transcript window's row against the ``where`` SearchFilters makes for transcripts
    (genres it must contain, years)."""
    if not where:
        return True
    if "$and" in where:
        return all(_fits(row, clause) for clause in where["$and"])
    ((key, cond),) = where.items()
    if key == "genres":
        return cond.get("$contains") in row.get("genres", [])
    if key == "year":
        year = row.get("year")
        if not isinstance(year, int):
            return False
        ((op, value),) = cond.items()
        return year >= int(value) if op == "$gte" else year <= int(value)
    return False
