"""What has been ingested: one SQLite file in the data dir.

The ledger is the single switch that makes a file's new transcript windows
visible: windows are written to the vector store first, then the ledger row is
updated in one transaction, then the old windows are deleted. Search only trusts
windows whose (source, content hash) the ledger names, so a crash at any point
never shows a mix of old and new windows, and the next ingest cleans up.

It also holds the catalog items created for files that matched no movie.

A ledger that is not a readable database (overwritten, truncated, damaged) is found when it
is opened and raises :class:`CorruptLedgerError` naming the file: the commands that only
read it go on without the user's items (:class:`UnusableLedger`), and `recbot ingest` moves
it aside (:func:`set_aside_if_corrupt`, never deleting it) and starts a new one.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import RetrievalError

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
CREATE TABLE IF NOT EXISTS features (
    store TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, path)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
# After a damaged ledger is set aside, the new one's items get ids above this many per
# ledger set aside before: an id a profile still holds never names a different file.
_IDS_PER_GENERATION = 1_000_000


class LedgerError(RetrievalError):
    """The ledger file cannot be used; the message names it and says what to do."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason     # SQLite's words, e.g. "file is not a database"


class CorruptLedgerError(LedgerError):
    """The ledger file is not a readable SQLite database (overwritten, truncated, damaged)."""


def _is_corrupt(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or \
        "malformed" in str(exc) or "not a database" in str(exc)


def _ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    if _is_corrupt(exc):
        return CorruptLedgerError(
            f"the ingest ledger {path} is damaged ({exc}): your ingested files are left out; "
            "`recbot ingest PATH...` moves it aside and starts a new one (or move it aside "
            "yourself)", str(exc))
    return LedgerError(f"cannot use the ingest ledger {path} ({exc})", str(exc))


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
    """One thread at a time on the connection (the chat's workers share one ledger); a
    database error becomes a LedgerError naming the file."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise _ledger_error(self.path, exc) from None
    return wrapper


class Ledger:
    """Safe to share between threads: one connection, every method under one lock."""

    def __init__(self, path: str | Path, store_key: str = "local") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store_key = store_key
        self._lock = threading.RLock()
        self.read_only = False
        try:
            self._db = self._connect()
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None
        try:
            # a damaged page is found now, not halfway through an ingest (the file is small)
            if self._db.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
                raise sqlite3.DatabaseError("database disk image is malformed")
            if not self.read_only:
                self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._db.close()
            raise _ledger_error(self.path, exc) from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return db
        except sqlite3.Error as exc:
            db.close()
            name = getattr(exc, "sqlite_errorname", "")
            if not (self.path.is_file() and name.startswith(("SQLITE_READONLY",
                                                             "SQLITE_CANTOPEN"))):
                raise
        # A data dir that cannot be written (read-only mount or permissions): read the file
        # as it is. Nobody can write it either (WAL needs files beside it), so "immutable"
        # is true; a write raises "attempt to write a readonly database".
        from urllib.parse import quote

        uri = f"file:{quote(os.fsencode(self.path.resolve()))}?mode=ro&immutable=1"
        self.read_only = True
        return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None,
                               check_same_thread=False)

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

    def _writable(self) -> None:
        if self.read_only:
            raise LedgerError(f"cannot write the ingest ledger {self.path}: its directory is "
                              "read-only; make the data dir writable to ingest", "read-only")

    @_locked
    def features(self, path: str | None = None) -> dict[str, str]:
        """source path -> the JSON its ingest stored about its sound, picture and speech
        (``retrieval.ingest``), for the live version of each file only (of ``path`` alone
        when given)."""
        where, args = ("AND f.path = ?", (self.store_key, path)) if path is not None \
            else ("", (self.store_key,))
        try:
            rows = self._db.execute(
                "SELECT f.path, f.body FROM features f JOIN media m ON m.store = f.store AND "
                "m.path = f.path AND m.content_hash = f.content_hash WHERE f.store = ? "
                + where, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):    # a read-only ledger of an older recbot
                return {}
            raise
        return dict(rows)

    @_locked
    def record(self, rec: MediaRecord, features: str | None = None) -> None:
        """Make ``rec`` the live version of its path, with ``features`` (JSON) or none, in
        one transaction."""
        self._writable()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._record(rec)
            if features is None:
                self._db.execute("DELETE FROM features WHERE store = ? AND path = ?",
                                 (self.store_key, rec.path))
            else:
                self._db.execute(
                    "INSERT INTO features (store, path, content_hash, body) VALUES (?,?,?,?) "
                    "ON CONFLICT (store, path) DO UPDATE SET content_hash=excluded.content_hash, "
                    "body=excluded.body", (self.store_key, rec.path, rec.content_hash, features))
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:    # (SQLite may have ended it itself: disk full)
                self._db.execute("ROLLBACK")
            raise

    def _record(self, rec: MediaRecord) -> None:
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
        self._writable()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            floor = self._db.execute("SELECT value FROM meta WHERE key = 'user_item_floor'"
                                     ).fetchone()
            (top,) = self._db.execute("SELECT COALESCE(MAX(movie_id), ?) FROM user_items",
                                      (floor[0] if floor else USER_ITEM_BASE,)).fetchone()
            movie_id = int(top) + 1
            self._db.execute("INSERT INTO user_items VALUES (?,?,?,?,?)",
                             (movie_id, title, year, source_path, time.time()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return UserItem(movie_id, title, year, source_path)


class UnusableLedger:
    """Stands in for a ledger that cannot be opened: reads find nothing (no ingested files,
    no items of the user's own), writes raise ``error``. Commands that only read go on."""

    def __init__(self, error: LedgerError) -> None:
        self.error = error
        self.path = None

    def close(self) -> None:
        pass

    def get(self, path: str) -> MediaRecord | None:
        return None

    def records(self) -> list[MediaRecord]:
        return []

    def current_sources(self) -> dict[str, str]:
        return {}

    def user_items(self) -> list[UserItem]:
        return []

    def user_item_for(self, source_path: str) -> UserItem | None:
        return None

    def record(self, rec: MediaRecord, features: str | None = None) -> None:
        raise self.error

    def features(self, path: str | None = None) -> dict[str, str]:
        return {}

    def add_user_item(self, title: str, year: int | None, source_path: str) -> UserItem:
        raise self.error


def set_aside_if_corrupt(path: str | Path) -> tuple[Path, str] | None:
    """When ``path`` is a damaged ledger, rename it (with its -wal and -shm files) to
    ``<name>.corrupt-<timestamp>`` and start a new, empty ledger in its place, whose own
    items get ids no earlier ledger gave. Returns (where it went, what was wrong); None
    when the ledger is sound or absent. Nothing is deleted."""
    path = Path(path)
    if not path.exists():
        return None
    # two ingests at once: the check and the rename happen under one lock, so the second
    # finds the first one's new ledger sound instead of setting it aside too
    lock = _aside_lock(path)
    try:
        return _set_aside(path)
    finally:
        if lock is not None:
            os.close(lock)        # closing the file releases the lock


def _aside_lock(path: Path) -> int | None:
    """An exclusive lock on ``<ledger>.lock`` beside the ledger (waits for another holder);
    None when the folder takes no new file (read-only: nothing can be renamed anyway)."""
    import fcntl

    try:
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _set_aside(path: Path) -> tuple[Path, str] | None:
    if not path.exists():
        return None
    try:
        Ledger(path).close()
        return None
    except CorruptLedgerError as exc:
        reason = exc.reason
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:     # another ingest set it aside first
        return None
    except OSError as err:        # a read-only dir, a full disk: say so, keep the file
        raise LedgerError(f"{path} is damaged ({reason}) and cannot be moved aside "
                          f"({err.strerror or err}); make its folder writable, or move it "
                          "aside yourself, then run `recbot ingest` again") from None
    for suffix in ("-wal", "-shm"):   # they belong to the damaged file: keep them with it
        try:
            os.rename(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    generations = sum(1 for _ in path.parent.glob(f"{path.name}.corrupt-*[0-9]"))
    fresh = Ledger(path)
    try:
        with fresh._lock:
            fresh._db.execute("INSERT OR REPLACE INTO meta VALUES ('user_item_floor', ?)",
                              (USER_ITEM_BASE + _IDS_PER_GENERATION * generations,))
    finally:
        fresh.close()
    return aside, reason
