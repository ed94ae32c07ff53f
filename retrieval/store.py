"""The vector store: Chroma collections for catalog documents and transcript windows.

Collections are named after the embedding model that filled them
(``recbot-catalog--all-minilm-l6-v2-int8``), so a different model gets fresh
collections instead of mixing vector spaces. Local by default
(``chromadb.PersistentClient`` in the data dir); a Chroma server through
``HttpClient`` when a URL is given: with a token (chromadb's token auth, sent as
``Authorization: Bearer`` or ``X-Chroma-Token``) and a tenant and database, all checked when
the client opens, so a wrong one is one line saying which and what to do.
"""

from __future__ import annotations

import functools
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
AUTH_HEADERS = ("Authorization", "X-Chroma-Token")
DEFAULT_TENANT = "default_tenant"       # chromadb.config's, without importing chromadb
DEFAULT_DATABASE = "default_database"
_TOKEN_AUTH = "chromadb.auth.token_authn.TokenAuthClientProvider"


class StoreError(RetrievalError):
    """The vector store cannot be opened or answered with an error."""


class StoreDamagedError(StoreError):
    """A local store's files cannot be read (a garbled segment); ``kind`` is the collection
    that failed, ``reason`` Chroma's first line."""

    def __init__(self, message: str, kind: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "model"


def collection_name(kind: str, embed_model: str) -> str:
    return f"{_PREFIX}{kind}--{_slug(embed_model)}"


def open_client(path: str | Path | None = None, url: str | None = None, *,
                token: str | None = None, auth_header: str = "Authorization",
                tenant: str = DEFAULT_TENANT, database: str = DEFAULT_DATABASE):
    """A Chroma client: HttpClient for ``url`` (http://host:port), else PersistentClient at
    ``path``. ``token``, ``auth_header``, ``tenant`` and ``database`` apply to a server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if url:
        return _open_server(url, token, auth_header, tenant, database)
    if path is None:
        raise StoreError("no Chroma path or URL given")
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"{path}: cannot create the Chroma store ({err.strerror or err}); "
                         f"{_place_advice(err)}") from None
    try:
        return chromadb.PersistentClient(path=str(path),
                                         settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:  # noqa: BLE001 (any failure: cannot open)
        raise StoreError(f"{path}: cannot open the Chroma store ({_first_line(exc)})") from None


def _place_advice(err: OSError) -> str:
    """What to do when the data dir refuses a write."""
    import errno

    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full; free some space and run again (nothing stored was lost)"
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ("the data dir is read-only; make it writable, or point --data-dir "
                "(RECBOT_DATA_DIR) to a writable dir")
    return "check the data dir and the disk"


def _open_server(url: str, token: str | None, auth_header: str, tenant: str, database: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StoreError(f"--chroma-url {url!r} is not an http(s)://host:port URL")
    if auth_header not in AUTH_HEADERS:
        raise StoreError(f"the Chroma auth header must be one of {', '.join(AUTH_HEADERS)}, "
                         f"not {auth_header!r}")
    auth = {}
    if token:
        # chromadb's own client provider: it formats the header (Bearer or bare) and keeps
        # the token a SecretStr; it also rejects tokens HTTP headers cannot carry.
        auth = dict(chroma_client_auth_provider=_TOKEN_AUTH,
                    chroma_client_auth_credentials=token,
                    chroma_auth_token_transport_header=auth_header)
    try:
        # opening asks the server who we are (the token) and checks tenant and database
        client = chromadb.HttpClient(
            host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https", tenant=tenant, database=database,
            settings=ChromaSettings(anonymized_telemetry=False, **auth))
        client.heartbeat()
    except Exception as exc:  # noqa: BLE001 — chromadb raises many kinds; sorted out below
        raise _server_error(exc, url, token, auth_header, tenant, database) from None
    return client


_REFUSED = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|permission denied|"
                      r"authentication|AuthError", re.IGNORECASE)


def _server_error(exc: BaseException, url: str, token: str | None, auth_header: str,
                  tenant: str, database: str) -> StoreError:
    """One line for a server that could not be opened: what is wrong and what to do."""
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError, NotFoundError

    text = _first_line(exc)
    if token:
        text = text.replace(token, "***")   # the token never reaches a message or a log
    if isinstance(exc, httpx.TransportError) or text.startswith("Could not connect to a Chroma"):
        return StoreError(f"cannot reach the Chroma server at {url} ({text}); "
                          "start it with `chroma run` or drop --chroma-url")
    if (isinstance(exc, NotFoundError) and re.match(r"tenant\b", text, re.IGNORECASE)) \
            or text.startswith("Could not connect to tenant"):
        return StoreError(
            f"the Chroma server at {url} has no tenant {tenant!r}; set RECBOT_CHROMA_TENANT "
            f"to one it has, or create it (chromadb.AdminClient().create_tenant({tenant!r}))")
    if isinstance(exc, NotFoundError) and re.match(r"database\b", text, re.IGNORECASE):
        return StoreError(
            f"the Chroma server at {url} has no database {database!r} in tenant {tenant!r}; "
            f"set RECBOT_CHROMA_DATABASE to one it has, or create it (chromadb.AdminClient()"
            f".create_database({database!r}, tenant={tenant!r}))")
    if isinstance(exc, ValueError) and text.startswith("Invalid token"):
        return StoreError("RECBOT_CHROMA_TOKEN holds characters an HTTP header cannot carry "
                          "(only ASCII letters, digits and punctuation); check the token")
    if isinstance(exc, (ChromaAuthError, AuthorizationError)) or _REFUSED.search(text):
        if not token:
            return StoreError(
                f"the Chroma server at {url} asks for a token ({text}); set "
                f"RECBOT_CHROMA_TOKEN (and RECBOT_CHROMA_AUTH_HEADER=X-Chroma-Token if the "
                f"server reads that header)")
        other = next(h for h in AUTH_HEADERS if h != auth_header)
        return StoreError(
            f"the Chroma server at {url} refused the token sent as {auth_header} ({text}); "
            f"check RECBOT_CHROMA_TOKEN, or set RECBOT_CHROMA_AUTH_HEADER={other} if the "
            f"server reads that header")
    return StoreError(f"the Chroma server at {url} could not be opened ({text}); check "
                      "--chroma-url and the server's log")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _answers(method):
    """Chroma's own failures of a local store (a garbled segment: ``InternalError``) become
    one StoreDamagedError line saying which dir and what to do, never a traceback."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            from chromadb.errors import InternalError

            path = self.path
            if path is None or not isinstance(exc, InternalError):
                raise
            kind = args[0] if args and args[0] in (CATALOG, TRANSCRIPTS) else None
            if kind == CATALOG:
                fix = "`recbot index` rebuilds it"
            else:
                fix = (f"move {path} aside and run `recbot index` to start the store afresh "
                       "(ingested files then need `recbot ingest` again)")
            what = "the catalog index in the Chroma store" if kind == CATALOG else \
                "the Chroma store"
            reason = _first_line(exc)
            raise StoreDamagedError(f"{path}: {what} is damaged ({reason}); {fix}", kind,
                                    reason) from exc
    return wrapper


class VectorStore:
    """Catalog and transcript collections for one embedding model."""

    def __init__(self, client, embed_model: str, generation_path: Path | None = None) -> None:
        self.client = client
        self.embed_model = embed_model
        self.generation_path = generation_path
        self._collections: dict[str, Any] = {}

    @property
    def path(self) -> Path | None:
        """The local store's dir, None for a server or an in-memory store."""
        try:
            settings = self.client.get_settings()
        except Exception:  # noqa: BLE001 — a client without settings: not a local one
            return None
        if not getattr(settings, "is_persistent", False):
            return None
        return Path(settings.persist_directory)

    def _bump(self) -> None:
        """A new generation token before every write: copies of the store (the catalog
        mirror) made under an older token are retired, even if the write fails midway."""
        if self.generation_path is not None:
            bump_generation(self.generation_path)

    @_answers
    def collection(self, kind: str):
        if kind not in self._collections:
            self._collections[kind] = self.client.get_or_create_collection(
                collection_name(kind, self.embed_model), embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embed_model": self.embed_model, "kind": kind})
        return self._collections[kind]

    @_answers
    def other_model_collections(self, kind: str) -> list[str]:
        """Collections of ``kind`` filled by other embedding models (stale vector spaces)."""
        mine = collection_name(kind, self.embed_model)
        prefix = f"{_PREFIX}{kind}--"
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return [n for n in names if n.startswith(prefix) and n != mine]

    @_answers
    def drop(self, name: str) -> None:
        self._bump()
        self.client.delete_collection(name)
        self._collections = {k: v for k, v in self._collections.items() if v.name != name}

    @_answers
    def count(self, kind: str) -> int:
        return self.collection(kind).count()

    @_answers
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

    @_answers
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

    @_answers
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

    @_answers
    def get_records(self, kind: str, ids: Sequence[str]) -> dict[str, tuple[str, dict]]:
        if not ids:
            return {}
        got = self.collection(kind).get(ids=list(ids), include=["documents", "metadatas"])
        return {i: (d or "", m or {}) for i, d, m in zip(got["ids"], got["documents"],
                                                          got["metadatas"])}

    @_answers
    def delete(self, kind: str, ids: Iterable[str], batch: int = 5000) -> int:
        ids = list(ids)
        if ids:
            self._bump()
        for start in range(0, len(ids), batch):
            self.collection(kind).delete(ids=ids[start:start + batch])
        return len(ids)

    @_answers
    def query(self, kind: str, embedding: np.ndarray, n: int,
              where: dict | None = None) -> list[tuple[str, float, str, dict]]:
        """(id, cosine similarity, document, metadata) best first."""
        if n < 1:
            return []
        # No count() first: chromadb >= 1.0 answers fewer results (none for an empty
        # collection) rather than failing, and on a server each call is a round trip.
        res = self.collection(kind).query(
            query_embeddings=np.asarray(embedding, np.float32)[None, :], n_results=n,
            where=where, include=["documents", "metadatas", "distances"])
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
