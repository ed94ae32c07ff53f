"""What has been ingested: one SQLite file in the data dir.

The ledger is the single switch that makes a file's new transcript windows
visible: windows are written to the vector store first, then the ledger row is
updated in one transaction, then the old windows are deleted. Search only trusts
windows whose (source, content hash) the ledger names, so a crash at any point
never shows a mix of old and new windows, and the next ingest cleans up.

It also holds the catalog items created for files that matched no movie.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Ids for a user's own items start here, far above MovieLens ids.
USER_ITEM_BASE = 1_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    store TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    movie_id INTEGER NOT NULL,
    windows INTEGER NOT NULL,
    embed_model TEXT NOT NULL,
    transcriber TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    duration REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (store, path)
);
CREATE TABLE IF NOT EXISTS user_items (
    movie_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    year INTEGER,
    source_path TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class MediaRecord:
    path: str
    content_hash: str
    movie_id: int
    windows: int
    embed_model: str
    transcriber: str
    linked_by: str
    duration: float | None


@dataclass(frozen=True, slots=True)
class UserItem:
    movie_id: int
    title: str
    year: int | None
    source_path: str


def _locked(method):
    """One thread at a time on the connection (the chat's workers share one ledger)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class Ledger:
    """Safe to share between threads: one connection, every method under one lock."""

    def __init__(self, path: str | Path, store_key: str = "local") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store_key = store_key
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @_locked
    def close(self) -> None:
        self._db.close()

    @_locked
    def get(self, path: str) -> MediaRecord | None:
        row = self._db.execute(
            "SELECT path, content_hash, movie_id, windows, embed_model, transcriber, linked_by, "
            "duration FROM media WHERE store = ? AND path = ?", (self.store_key, path)).fetchone()
        return MediaRecord(*row) if row else None

    @_locked
    def records(self) -> list[MediaRecord]:
        rows = self._db.execute(
            "SELECT path, content_hash, movie_id, windows, embed_model, transcriber, linked_by, "
            "duration FROM media WHERE store = ? ORDER BY path", (self.store_key,)).fetchall()
        return [MediaRecord(*r) for r in rows]

    @_locked
    def current_sources(self) -> dict[str, str]:
        """source path -> the content hash whose windows are live."""
        return dict(self._db.execute("SELECT path, content_hash FROM media WHERE store = ?",
                                     (self.store_key,)).fetchall())

    @_locked
    def record(self, rec: MediaRecord) -> None:
        """Make ``rec`` the live version of its path (one atomic statement)."""
        self._db.execute(
            "INSERT INTO media (store, path, content_hash, movie_id, windows, embed_model, "
            "transcriber, linked_by, duration, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (store, path) DO UPDATE SET content_hash=excluded.content_hash, "
            "movie_id=excluded.movie_id, windows=excluded.windows, "
            "embed_model=excluded.embed_model, transcriber=excluded.transcriber, "
            "linked_by=excluded.linked_by, duration=excluded.duration, "
            "updated_at=excluded.updated_at",
            (self.store_key, rec.path, rec.content_hash, rec.movie_id, rec.windows,
             rec.embed_model, rec.transcriber, rec.linked_by, rec.duration, time.time()))

    @_locked
    def user_items(self) -> list[UserItem]:
        rows = self._db.execute(
            "SELECT movie_id, title, year, source_path FROM user_items ORDER BY movie_id").fetchall()
        return [UserItem(*r) for r in rows]

    @_locked
    def user_item_for(self, source_path: str) -> UserItem | None:
        row = self._db.execute("SELECT movie_id, title, year, source_path FROM user_items "
                               "WHERE source_path = ?", (source_path,)).fetchone()
        return UserItem(*row) if row else None

    @_locked
    def add_user_item(self, title: str, year: int | None, source_path: str) -> UserItem:
        """A new catalog item for a file that matched no movie (idempotent per path)."""
        existing = self.user_item_for(source_path)
        if existing:
            return existing
        self._db.execute("BEGIN IMMEDIATE")
        try:
            (top,) = self._db.execute("SELECT COALESCE(MAX(movie_id), ?) FROM user_items",
                                      (USER_ITEM_BASE,)).fetchone()
            movie_id = int(top) + 1
            self._db.execute("INSERT INTO user_items VALUES (?,?,?,?,?)",
                             (movie_id, title, year, source_path, time.time()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return UserItem(movie_id, title, year, source_path)
