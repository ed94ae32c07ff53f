"""Conversation memory in SQLite (``sessions.sqlite`` in the data dir).

A *session* holds its turns, the items shown in each (with their explanations and
evidence, so "why #2?" answers from what was actually shown), the feedback given
(like / dislike / seen) and its active constraints. What is said in a chat stays in its
session; the *profile* holds only what the user put there on purpose (card keys, `/like`,
`recbot profile --like`), so a film marked seen that way stays out of later sessions too,
and `forget` takes a film out of both. Each turn is
written in one transaction: a crash leaves the previous turn intact.

A data dir that cannot be written (read-only, or a full disk) still opens, read-only:
what only reads (the profile, an export, a chat turn) works, a turn is not saved (one
note says so), and an edit the user asked for fails with one line saying why. A session
whose stored state cannot be read is set aside (its rows kept under ``<id>.damaged``) and
starts afresh, with a note; ``notes`` holds these lines for the caller to show.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FEEDBACK_KINDS = ("like", "dislike", "seen")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL,
    state TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL, n INTEGER NOT NULL, at REAL NOT NULL,
    user TEXT NOT NULL, reply TEXT NOT NULL, answer TEXT NOT NULL,
    PRIMARY KEY (session_id, n));
CREATE TABLE IF NOT EXISTS shown (
    session_id TEXT NOT NULL, turn INTEGER NOT NULL, pos INTEGER NOT NULL,
    movie_id INTEGER NOT NULL, item TEXT NOT NULL,
    PRIMARY KEY (session_id, turn, pos));
CREATE TABLE IF NOT EXISTS feedback (
    session_id TEXT NOT NULL, movie_id INTEGER NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (session_id, movie_id));
CREATE TABLE IF NOT EXISTS profile (
    movie_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    movie_id INTEGER PRIMARY KEY, rating REAL NOT NULL, source TEXT NOT NULL, at REAL NOT NULL);
"""


class MemoryError_(Exception):
    """The sessions database cannot be used; the message says why."""


DAMAGED = ".damaged"   # the id suffix of a session set aside because it could not be read
_LOW_SPACE = 1 << 20   # bytes: below this, a failed write is put down to a full disk
_FULL = "full"
_READ_ONLY = "read-only"


def _writable(path: Path) -> bool:
    """Whether ``path`` (or, while it does not exist, its nearest existing parent) can be
    written: access(2) knows permissions and read-only mounts, for root too."""
    for place in (path, *path.parents):
        if place.exists():
            return os.access(place, os.W_OK)
    return False


def _free_bytes(path: Path) -> int | None:
    for place in (path, *path.parents):
        try:
            return shutil.disk_usage(place).free
        except OSError:
            continue
    return None


def _item(text) -> dict | None:
    """A stored list item, or None for a damaged one."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    from .state import Recommendation

    try:
        Recommendation.from_dict(value)      # what every reader of the list builds from it
    except (KeyError, TypeError, ValueError):
        return None
    return value


@dataclass(slots=True)
class SessionState:
    id: str
    turns: int = 0
    state: dict = field(default_factory=dict)             # constraints, seeds, focus, user_id
    feedback: dict[int, str] = field(default_factory=dict)
    shown_ids: set[int] = field(default_factory=set)
    last_shown: list[dict] = field(default_factory=list)  # items of the latest list, in order

    def ids(self, kind: str) -> list[int]:
        return [m for m, k in self.feedback.items() if k == kind]


def _json_dict(text) -> dict:
    """A stored JSON object, or {} for anything else (a damaged row)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _locked(method):
    """One connection serves the chat's worker thread and its UI thread: one at a time."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as err:
                trouble = self._trouble(err)
                if trouble is not None:
                    raise MemoryError_(f"cannot save to {self.path}: {self._why(trouble)}"
                                       ) from None
                raise MemoryError_(f"{self.path}: the sessions database failed ({err}); "
                                   "check the disk and that no other program holds it") from None
    return wrapper


class Memory:
    """``readonly``: why nothing can be saved (the data dir is read-only, the disk is
    full), None while it can; ``notes``: lines for the user (a session set aside, a turn
    not saved), taken with ``take_notes``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self.readonly: str | None = None
        self.notes: list[str] = []
        self._unsaved_noted = False
        if not _writable(self.path.parent) or (self.path.exists()
                                               and not _writable(self.path)):
            self.readonly = _READ_ONLY
            self.db = self._open_readonly()
            return
        db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            if db is not None:
                db.close()
            trouble = self._trouble(err)
            if trouble is None:
                code = getattr(err, "sqlite_errorcode", 0) & 0xFF
                advice = ("move it aside to start afresh" if code in (11, 26)   # CORRUPT, NOTADB
                          else "check the disk and the file's permissions")
                raise MemoryError_(f"{self.path}: cannot open the sessions database ({err}); "
                                   f"{advice}") from None
            self.readonly = trouble      # what only reads still works
            self.db = self._open_readonly()
            return
        self.db = db

    def _open_readonly(self) -> sqlite3.Connection:
        """The database opened read-only (``mode=ro``); an empty one in memory when there
        is none yet. Raises MemoryError_ saying why nothing could be written."""
        try:
            if not self.path.exists():
                db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                db.executescript(_SCHEMA)
                return db
            uri = self.path.resolve().as_uri() + "?mode=ro"
            try:
                db = sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None,
                                     check_same_thread=False)
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return db
            except sqlite3.OperationalError:
                # A WAL database needs its -shm file, which a read-only dir or a full disk
                # cannot hold; with no unsaved log beside it, the file alone is the whole
                # database and can be read as it is.
                wal = self.path.with_name(self.path.name + "-wal")
                if wal.exists() and wal.stat().st_size:
                    raise
            db = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None,
                                 check_same_thread=False)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except (sqlite3.Error, OSError) as err:
            raise MemoryError_(f"{self.path}: cannot open the sessions database ({err}): "
                               f"{self._why(self.readonly or _READ_ONLY)}") from None

    def _trouble(self, err: BaseException) -> str | None:
        """_FULL or _READ_ONLY when ``err`` comes from a full disk or a place that cannot
        be written, else None (sqlite says "disk I/O error" for both, so the disk is asked)."""
        number = getattr(err, "errno", None)
        if number in (errno.ENOSPC, errno.EDQUOT):
            return _FULL
        if number in (errno.EROFS, errno.EACCES, errno.EPERM):
            return _READ_ONLY
        code = getattr(err, "sqlite_errorcode", None)
        if code is None:
            return None
        code &= 0xFF
        if code == 13:                     # SQLITE_FULL
            return _FULL
        if code == 8:                      # SQLITE_READONLY
            return _READ_ONLY
        if code in (10, 14):               # SQLITE_IOERR, SQLITE_CANTOPEN
            free = _free_bytes(self.path.parent)
            if free is not None and free < _LOW_SPACE:
                return _FULL
            if not _writable(self.path.parent) or (self.path.exists()
                                                   and not _writable(self.path)):
                return _READ_ONLY
        return None

    def _why(self, trouble: str) -> str:
        """One line: what stops saving, and the fix."""
        if trouble == _FULL:
            return (f"the disk holding {self.path.parent} is full; free some space and try "
                    "again (nothing stored was lost)")
        return (f"{self.path.parent} is read-only; make it writable, or point --data-dir "
                "(RECBOT_DATA_DIR) to a writable dir (nothing stored was changed)")

    def _refuse_write(self) -> None:
        if self.readonly is not None:
            raise MemoryError_(f"cannot save to {self.path}: {self._why(self.readonly)}")

    def unsaved_note(self, trouble: str | None = None) -> str | None:
        """The line saying a chat is not saved, and why; None while it is saved."""
        trouble = trouble or self.readonly
        return None if trouble is None else f"this chat is not saved: {self._why(trouble)}"

    def _not_saved(self, trouble: str | None = None) -> None:
        """A chat turn on a store that cannot be written: answered, not saved (noted once)."""
        if not self._unsaved_noted:
            self._unsaved_noted = True
            self.notes.append(self.unsaved_note(trouble) or "this chat is not saved")

    def take_notes(self) -> list[str]:
        """The notes gathered so far (then forgotten): one line each, for the user."""
        with self._lock:
            notes, self.notes = self.notes, []
        return notes

    def close(self) -> None:
        self.db.close()

    # -- sessions ----------------------------------------------------------------------------
    @_locked
    def new_session(self) -> str:
        sid = secrets.token_hex(4)
        if self.readonly is not None:
            return sid             # answered, never stored (``record_turn`` notes it)
        now = time.time()
        self.db.execute("INSERT INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                        (sid, now, now))
        return sid

    @_locked
    def exists(self, sid: str) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is not None

    @_locked
    def ensure(self, sid: str) -> None:
        if self.readonly is not None:
            return
        now = time.time()
        self.db.execute("INSERT OR IGNORE INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                        (sid, now, now))

    @_locked
    def sessions(self) -> list[tuple[str, float, int]]:
        return self.db.execute(
            "SELECT s.id, s.updated, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
            "FROM sessions s WHERE s.id NOT LIKE ? ORDER BY s.updated DESC",
            (f"%{DAMAGED}%",)).fetchall()

    @_locked
    def load(self, sid: str) -> SessionState:
        """Session ``sid`` as stored (KeyError if there is none). One whose state or last
        list cannot be read is set aside and started afresh, with a note."""
        row = self.db.execute("SELECT state FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None:
            if self.readonly is not None:
                return SessionState(sid)     # a session this read-only run started
            raise KeyError(sid)
        try:
            state = json.loads(row[0] or "{}")
        except ValueError as err:
            return self._set_aside(sid, f"its stored state is not valid JSON: {err.msg}")
        if not isinstance(state, dict):
            return self._set_aside(sid, "its state is not a JSON object")
        st = SessionState(sid, state=state)
        st.turns = self.db.execute("SELECT COALESCE(MAX(n), 0) FROM turns WHERE session_id = ?",
                                   (sid,)).fetchone()[0]
        st.feedback = dict(self.db.execute(
            "SELECT movie_id, kind FROM feedback WHERE session_id = ?", (sid,)).fetchall())
        st.shown_ids = {r[0] for r in self.db.execute(
            "SELECT movie_id FROM shown WHERE session_id = ?", (sid,))}
        last = self.db.execute("SELECT MAX(turn) FROM shown WHERE session_id = ?",
                               (sid,)).fetchone()[0]
        if last is not None:
            st.last_shown = [_item(r[0]) for r in self.db.execute(
                "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos",
                (sid, last))]
            if None in st.last_shown:
                return self._set_aside(sid, "an item of its last list is not readable")
        return st

    def _set_aside(self, sid: str, why: str) -> SessionState:
        """Move session ``sid``'s rows under ``<sid>.damaged`` (kept, never read again)
        and start ``sid`` afresh; the note says which session and where it went."""
        if self.readonly is not None:
            self.notes.append(f"session {sid} cannot be read ({why}); this chat starts "
                              f"afresh and the stored session is left as it was")
            return SessionState(sid)
        aside = f"{sid}{DAMAGED}"
        n = 1
        while self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (aside,)).fetchone():
            n += 1
            aside = f"{sid}{DAMAGED}{n}"
        now = time.time()
        with self._tx():
            for table, column in (("sessions", "id"), ("turns", "session_id"),
                                  ("shown", "session_id"), ("feedback", "session_id")):
                self.db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?",
                                (aside, sid))
            self.db.execute("INSERT INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                            (sid, now, now))
        self.notes.append(f"session {sid} could not be read ({why}); it was set aside as "
                          f"{aside} and {sid} starts afresh")
        return SessionState(sid)

    @_locked
    def updated(self, sid: str) -> float | None:
        """When session ``sid`` last changed (epoch seconds), None if there is no such session."""
        row = self.db.execute("SELECT updated FROM sessions WHERE id = ?", (sid,)).fetchone()
        return None if row is None else row[0]

    @_locked
    def history(self, sid: str, limit: int = 20) -> list[dict]:
        """The last ``limit`` turns of session ``sid``, oldest first: ``{"n", "at", "user",
        "reply", "kind", "shown"}`` with ``shown`` the items of the list the turn showed
        (empty for a turn without one). Everything comes from what each turn stored."""
        rows = self.db.execute(
            "SELECT n, at, user, reply, answer FROM turns WHERE session_id = ? "
            "ORDER BY n DESC LIMIT ?", (sid, max(int(limit), 0))).fetchall()
        out = []
        for n, at, user, reply, answer in reversed(rows):
            kind = _json_dict(answer).get("kind", "")
            shown = [item for r in self.db.execute(
                "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos",
                (sid, n)) if (item := _item(r[0])) is not None]
            out.append({"n": n, "at": at, "user": user, "reply": reply, "kind": kind,
                        "shown": shown})
        return out

    @_locked
    def said(self, sid: str, limit: int = 8) -> list[str]:
        """What the user wrote in the last ``limit`` turns of session ``sid``, oldest first."""
        rows = self.db.execute("SELECT user FROM turns WHERE session_id = ? ORDER BY n DESC "
                               "LIMIT ?", (sid, max(int(limit), 0))).fetchall()
        return [r[0] or "" for r in reversed(rows)]

    @_locked
    def last_list(self, sid: str) -> tuple[str, list[dict]]:
        """The latest list session ``sid`` showed: (the message it answered, its items in
        order); ``("", [])`` when the session showed none."""
        last = self.db.execute("SELECT MAX(turn) FROM shown WHERE session_id = ?",
                               (sid,)).fetchone()[0]
        if last is None:
            return "", []
        row = self.db.execute("SELECT user FROM turns WHERE session_id = ? AND n = ?",
                              (sid, last)).fetchone()
        items = [_item(r[0]) for r in self.db.execute(
            "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos", (sid, last))]
        if None in items:     # a damaged list is left out, never half shown
            self.notes.append(f"session {sid}: its last list cannot be read (a damaged "
                              f"row in {self.path.name}); left out")
            return "", []
        return (row[0] if row else ""), items

    @_locked
    def latest_with_list(self) -> str | None:
        """The most recently updated session that showed a list, None if none did."""
        row = self.db.execute(
            "SELECT s.id FROM sessions s WHERE s.id NOT LIKE ? AND EXISTS (SELECT 1 FROM "
            "shown h WHERE h.session_id = s.id) ORDER BY s.updated DESC LIMIT 1",
            (f"%{DAMAGED}%",)).fetchone()
        return None if row is None else row[0]

    @_locked
    def profile(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT movie_id, kind FROM profile").fetchall())

    @_locked
    def record_turn(self, sid: str, user: str, reply: str, answer: dict, state: dict,
                    shown: list[dict], feedback: dict[int, str]) -> int:
        """Store one turn atomically; returns its number. On a store that cannot be written
        (read-only, or the disk is full) the turn is not saved and a note says so."""
        if self.readonly is not None:
            self._not_saved()
            return 0
        now = time.time()
        try:
            return self._record(sid, now, user, reply, answer, state, shown, feedback)
        except sqlite3.Error as err:
            trouble = self._trouble(err)
            if trouble is None:
                raise
            self._not_saved(trouble)           # answered all the same
            return 0

    def _record(self, sid: str, now: float, user: str, reply: str, answer: dict, state: dict,
                shown: list[dict], feedback: dict[int, str]) -> int:
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                            (sid, now, now))
            n = self.db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE session_id = ?",
                                (sid,)).fetchone()[0]
            self.db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                            (sid, n, now, user, reply, json.dumps(answer)))
            for pos, item in enumerate(shown, 1):
                self.db.execute("INSERT INTO shown VALUES (?, ?, ?, ?, ?)",
                                (sid, n, pos, int(item["movie_id"]), json.dumps(item)))
            self._feedback(sid, feedback, now, profile=False)
            self.db.execute("UPDATE sessions SET updated = ?, state = ? WHERE id = ?",
                            (now, json.dumps(state), sid))
        return n

    @_locked
    def add_feedback(self, sid: str | None, feedback: dict[int, str], *,
                     profile: bool = True) -> None:
        """Explicit feedback (a card key, ``/like``): in the session and, by default, in the
        profile. ``sid`` None touches the profile only."""
        self._refuse_write()
        with self._tx():
            if sid is not None:
                self.ensure(sid)
            self._feedback(sid, feedback, time.time(), profile=profile)

    @_locked
    def ratings(self) -> dict[int, float]:
        """Imported ratings (0.5-5), by film."""
        return dict(self.db.execute("SELECT movie_id, rating FROM ratings").fetchall())

    @_locked
    def import_ratings(self, ratings: dict[int, float], source: str) -> None:
        """Ratings from a file, with the like / dislike / seen each implies, in one
        transaction: all of them are stored or none."""
        from .importer import kind_of

        self._refuse_write()
        now = time.time()
        with self._tx():
            for movie_id, rating in ratings.items():
                self.db.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                                (int(movie_id), float(rating), source, now))
            self._feedback(None, {m: kind_of(r) for m, r in ratings.items()}, now,
                           profile=True)

    @_locked
    def forget(self, movie_ids, sid: str | None = None) -> int:
        """Take films out of the profile (and of session ``sid``); returns how many rows went."""
        self._refuse_write()
        gone = 0
        with self._tx():
            for movie_id in movie_ids:
                gone += self.db.execute("DELETE FROM profile WHERE movie_id = ?",
                                        (int(movie_id),)).rowcount
                self.db.execute("DELETE FROM ratings WHERE movie_id = ?", (int(movie_id),))
                if sid is not None:
                    gone += self.db.execute(
                        "DELETE FROM feedback WHERE session_id = ? AND movie_id = ?",
                        (sid, int(movie_id))).rowcount
            if sid is not None:     # and of what the session's preference state carries
                from .preferences import drop_films

                row = self.db.execute("SELECT state FROM sessions WHERE id = ?", (sid,)).fetchone()
                state = _json_dict(row[0]) if row else {}
                prefs = state.get("prefs")
                if isinstance(prefs, list):
                    kept = drop_films(prefs, movie_ids)
                    if len(kept) != len(prefs):
                        state["prefs"] = kept
                        self.db.execute("UPDATE sessions SET state = ? WHERE id = ?",
                                        (json.dumps(state), sid))
        return gone

    def _feedback(self, sid: str | None, feedback: dict[int, str], now: float, *,
                  profile: bool) -> None:
        for movie_id, kind in feedback.items():
            if kind not in FEEDBACK_KINDS:
                raise ValueError(f"feedback must be one of {FEEDBACK_KINDS}, not {kind!r}")
            if sid is not None:
                self.db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                                (sid, int(movie_id), kind, now))
            if profile:
                self.db.execute("INSERT OR REPLACE INTO profile VALUES (?, ?, ?)",
                                (int(movie_id), kind, now))


    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type, *_):
            try:
                self.db.execute("ROLLBACK" if exc_type else "COMMIT")
            except sqlite3.Error:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            return False

    def _tx(self):
        return self._Tx(self.db)
