"""Conversation memory in SQLite (``sessions.sqlite`` in the data dir).

A *session* holds its turns, the items shown in each (with their explanations and
evidence, so "why #2?" answers from what was actually shown), the feedback given
(like / dislike / seen) and its active constraints. What is said in a chat stays in its
session; the *profile* holds only what the user put there on purpose (card keys, `/like`,
`recbot profile --like`), so a film marked seen that way stays out of later sessions too,
and `forget` takes a film out of both. Each turn is
written in one transaction: a crash leaves the previous turn intact.
"""

from __future__ import annotations

import functools
import json
import secrets
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
                raise MemoryError_(f"{self.path}: the sessions database failed ({err}); "
                                   "check the disk and that no other program holds it") from None
    return wrapper


class Memory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise MemoryError_(f"{self.path}: cannot open the sessions database ({err}); "
                               "move it aside to start afresh") from None

    def close(self) -> None:
        self.db.close()

    # -- sessions ----------------------------------------------------------------------------
    @_locked
    def new_session(self) -> str:
        sid = secrets.token_hex(4)
        now = time.time()
        self.db.execute("INSERT INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                        (sid, now, now))
        return sid

    @_locked
    def exists(self, sid: str) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is not None

    @_locked
    def ensure(self, sid: str) -> None:
        now = time.time()
        self.db.execute("INSERT OR IGNORE INTO sessions (id, created, updated) VALUES (?, ?, ?)",
                        (sid, now, now))

    @_locked
    def sessions(self) -> list[tuple[str, float, int]]:
        return self.db.execute(
            "SELECT s.id, s.updated, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id) "
            "FROM sessions s ORDER BY s.updated DESC").fetchall()

    @_locked
    def load(self, sid: str) -> SessionState:
        row = self.db.execute("SELECT state FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise KeyError(sid)
        st = SessionState(sid, state=json.loads(row[0] or "{}"))
        st.turns = self.db.execute("SELECT COALESCE(MAX(n), 0) FROM turns WHERE session_id = ?",
                                   (sid,)).fetchone()[0]
        st.feedback = dict(self.db.execute(
            "SELECT movie_id, kind FROM feedback WHERE session_id = ?", (sid,)).fetchall())
        st.shown_ids = {r[0] for r in self.db.execute(
            "SELECT movie_id FROM shown WHERE session_id = ?", (sid,))}
        last = self.db.execute("SELECT MAX(turn) FROM shown WHERE session_id = ?",
                               (sid,)).fetchone()[0]
        if last is not None:
            st.last_shown = [json.loads(r[0]) for r in self.db.execute(
                "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos",
                (sid, last))]
        return st

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
            try:
                kind = (json.loads(answer or "{}") or {}).get("kind", "")
            except ValueError:
                kind = ""
            shown = [json.loads(r[0]) for r in self.db.execute(
                "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos",
                (sid, n))]
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
        items = [json.loads(r[0]) for r in self.db.execute(
            "SELECT item FROM shown WHERE session_id = ? AND turn = ? ORDER BY pos", (sid, last))]
        return (row[0] if row else ""), items

    @_locked
    def latest_with_list(self) -> str | None:
        """The most recently updated session that showed a list, None if none did."""
        row = self.db.execute(
            "SELECT s.id FROM sessions s WHERE EXISTS (SELECT 1 FROM shown h WHERE "
            "h.session_id = s.id) ORDER BY s.updated DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    @_locked
    def profile(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT movie_id, kind FROM profile").fetchall())

    @_locked
    def record_turn(self, sid: str, user: str, reply: str, answer: dict, state: dict,
                    shown: list[dict], feedback: dict[int, str]) -> int:
        """Store one turn atomically; returns its number."""
        now = time.time()
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
