"""The chat as a long-lived service: what the TUI talks to, and all it talks to.

``ChatService`` owns one workspace, one agent and the current session. It knows what a
first run must prepare (catalog index, MF model, LLM) and prepares it with progress; it
runs turns, records feedback, switches the LLM and reports status. Nothing heavy is
imported until a method needs it, so the app paints at once; ``status()`` never touches
the network or the disk, so the UI thread may call it at any time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .events import OnEvent
from .settings import Settings

if TYPE_CHECKING:
    from .chat import Agent, Answer
    from .workspace import Workspace

Progress = Callable[[str, int, int], None]   # (step, done, total)


class ChatService:
    """``settings`` from the CLI; ``llm`` one of the registry's names or None (auto);
    ``workspace`` one built elsewhere (agent.compose.build_workspace), else the settings'."""

    def __init__(self, settings: Settings, llm: str | None = None, *,
                 workspace: Workspace | None = None) -> None:
        self.settings = settings
        self.llm_choice = llm
        self._agent: Agent | None = None
        self._ws: Workspace | None = workspace
        self._lock = threading.Lock()   # building the agent happens once, on one thread
        self.session = ""
        self.llm_error: str | None = None
        self.note: str | None = None     # what the user should hear on start (memory's notes)

    # -- set-up ------------------------------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        if self._ws is None:
            from .compose import build_workspace

            self._ws = build_workspace(self.settings)
        return self._ws

    @property
    def agent(self) -> Agent:
        with self._lock:
            if self._agent is None:
                from .compose import build_agent

                agent = build_agent(self.settings, self.llm_choice, workspace=self.workspace,
                                    on_llm_error=self._no_llm)
                sessions = agent.memory.sessions()
                self.session = sessions[0][0] if sessions else agent.memory.new_session()
                if sessions:     # one that cannot be read is set aside now, not every turn
                    agent.memory.load(self.session)
                notes = agent.memory.take_notes()
                if unsaved := agent.memory.unsaved_note():    # a read-only data dir
                    notes.append(unsaved)
                self.note = "; ".join(notes) or None
                self._agent = agent
        return self._agent

    def _no_llm(self, err: Exception) -> None:
        """The chosen LLM cannot work: the chat runs without one and the status says why."""
        self.llm_error = str(err)

    def pending_steps(self) -> list[str]:
        """What a first run must still build (cheap checks)."""
        return self.workspace.pending_steps()

    def prepare(self, progress: Progress) -> None:
        """Everything a quick first turn needs; run it on a worker thread."""
        self.workspace.prepare(progress)
        progress("LLM", 0, 1)
        agent = self.agent
        error = agent.load_llm()
        if error:
            self.llm_error = error
        progress("LLM", 1, 1)
        agent.warm()

    # -- turns -------------------------------------------------------------------------------
    def status(self) -> dict:
        """``{"llm", "catalog", "session"}`` for the status bar (no I/O)."""
        agent = self._agent
        if agent is None:
            return {"llm": "starting…", "catalog": None, "session": self.session}
        info = agent.llm_info()
        if info["backend"] == "none":
            llm = "no LLM"
        else:
            llm = f"{info['backend']}: {info['model'] or 'server default'}"
        return {"llm": llm, "catalog": agent.catalog_size, "session": self.session}

    def ask(self, text: str, on_event: OnEvent) -> Answer:
        return self.agent.ask(text, self.session, on_event=on_event)

    def feedback(self, movie_id: int, kind: str) -> None:
        self.agent.memory.add_feedback(self.session, {int(movie_id): kind})

    def profile(self) -> dict[str, list[str]]:
        return self.agent.profile_labels()

    def forget(self, title: str) -> str:
        """Take a film out of the profile and this session; what happened, in words."""
        res = self.agent.catalog.titles.resolve(title)
        if res.best is None:
            return f"no film matches {title!r}"
        gone = self.agent.memory.forget([res.best.movie_id], self.session)
        label = res.best.label()
        return f"forgot {label}" if gone else f"{label} was not in your profile or this chat"

    def import_ratings(self, path: str, user: int | None = None) -> str:
        """A ratings export into the profile (all or nothing); the report in words.
        Raises ImportFileError for a file that cannot be imported."""
        from .importer import read_ratings

        report = read_ratings(Path(path).expanduser(), self.agent.catalog, user=user)
        self.agent.memory.import_ratings(report.ratings, report.format)
        return report.summary()

    def taste(self) -> list[str]:
        """The profile's taste as chart lines (empty without likes)."""
        from .explain.cards import taste, taste_lines

        memory = self.agent.memory
        return taste_lines(taste(memory.profile(), self.agent.catalog, memory.ratings()))

    def reset(self) -> str:
        self.session = self.agent.memory.new_session()
        return self.session

    def history(self, limit: int = 20) -> dict:
        """The current session as stored, for a restarted chat to show: ``{"session",
        "updated" (epoch seconds or None), "turns": [{"user", "reply", "kind",
        "recommendations": [Recommendation]}], "feedback": {movie_id: kind}}``, the last
        ``limit`` turns oldest first. Cheap (one SQLite read); call it after ``prepare``."""
        from .chat import Recommendation

        memory = self.agent.memory
        sid = self.session
        turns = [{"user": t["user"], "reply": t["reply"], "kind": t["kind"],
                  "recommendations": [Recommendation.from_dict(item) for item in t["shown"]]}
                 for t in memory.history(sid, limit)]
        feedback = memory.load(sid).feedback if memory.exists(sid) else {}
        return {"session": sid, "updated": memory.updated(sid), "turns": turns,
                "feedback": feedback}

    def export(self, path: str, fmt: str | None = None) -> str:
        """The current session's last list and the profile into ``path`` (format from
        ``fmt`` or the suffix); what was written, in words. Raises ExportError."""
        target = Path(path).expanduser()
        data = export_data(self.agent.memory, self.agent.catalog, self.session,
                           self.workspace.data.external_ids)
        write_export(data, target, export_format(target, fmt))
        n = len(data["recommendations"])
        return f"Exported {n} film{'' if n == 1 else 's'} and your profile to {path}"

    def set_llm(self, name: str) -> str:
        """Switch the backend (loads it: call from a worker). The new status line, or why
        the switch could not happen."""
        error = self.agent.set_llm(name)
        if error:
            return f"cannot switch: {error}"
        self.llm_choice = name
        return self.status()["llm"]

    def ingest(self, paths: list[str]) -> dict:
        """Transcribe, link and index files (slow: run it in a worker)."""
        ws = self.workspace
        report = ws.ingest(paths)
        if not ws.index_is_current():
            ws.build_index()
        if self._agent is not None:   # new items of the user's own join the catalog
            self._agent.refresh_catalog()
        return {"ingested": len(report.ingested), "unchanged": len(report.unchanged),
                "failed": [f"{f['path']}: {f['error']}" for f in report.failed]}


# -- export ------------------------------------------------------------------------------
EXPORT_FORMATS = ("json", "csv")
EXPORT_COLUMNS = ("section", "rank", "movie_id", "title", "year", "reason", "imdb_id",
                  "tmdb_id")


class ExportError(Exception):
    """The export cannot be written; the message says why (nothing was written)."""


def export_format(path: Path | None, fmt: str | None = None) -> str:
    """``fmt`` if given, else from the suffix of ``path`` (.csv / .json), else json."""
    if fmt:
        if fmt not in EXPORT_FORMATS:
            raise ExportError(f"the export format must be one of {', '.join(EXPORT_FORMATS)}, "
                              f"not {fmt!r}")
        return fmt
    return "csv" if path is not None and path.suffix.lower() == ".csv" else "json"


def export_data(memory, catalog, sid: str | None, ids=None) -> dict:
    """``{"session", "ask", "recommendations": [{"rank", "movie_id", "title", "year",
    "reason"}], "profile": {"likes", "dislikes", "seen": [{"movie_id", "title", "year"}]}}``:
    the latest list session ``sid`` showed (``ask`` the message it answered) and the profile
    every session uses. ``sid`` None: no list, the profile only. ``ids`` (movie id ->
    {"imdb_id", "tmdb_id"}, ``Data.external_ids``) adds what is known of those to each film."""
    ids = ids or (lambda movie_id: {})
    ask, items = memory.last_list(sid) if sid else ("", [])
    recs = [{"rank": pos, "movie_id": int(item["movie_id"]), "title": item.get("title", ""),
             "year": item.get("year"), "reason": item.get("explanation", ""),
             **ids(int(item["movie_id"]))}
            for pos, item in enumerate(items, 1)]
    profile: dict[str, list[dict]] = {"likes": [], "dislikes": [], "seen": []}
    section = {"like": "likes", "dislike": "dislikes", "seen": "seen"}
    for movie_id, kind in sorted(memory.profile().items()):
        movie = catalog.get(movie_id)
        profile[section.get(kind, kind)].append(
            {"movie_id": int(movie_id), "title": movie.title if movie else str(movie_id),
             "year": movie.year if movie else None, **ids(int(movie_id))})
    return {"session": sid, "ask": ask, "recommendations": recs, "profile": profile}


def render_export(data: dict, fmt: str) -> str:
    """The export as text. CSV: one table, columns ``section,rank,movie_id,title,year,
    reason,imdb_id,tmdb_id``; section is recommendation, like, dislike or seen (rank and reason only for
    recommendations). Text cells are made safe for a spreadsheet (see csv_cell)."""
    from recbot.retrieval.safe_text import csv_cell, json_text

    if fmt == "json":
        import json

        return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EXPORT_COLUMNS)
    # every text cell is one plain line, and one a spreadsheet would run as a formula
    # ("=HYPERLINK(…)", a file name) starts with an apostrophe instead
    for r in data["recommendations"]:
        w.writerow(["recommendation", r["rank"], r["movie_id"], csv_cell(r["title"]),
                    "" if r["year"] is None else r["year"], csv_cell(r["reason"]),
                    r.get("imdb_id", ""), r.get("tmdb_id", "")])
    for key, section in (("likes", "like"), ("dislikes", "dislike"), ("seen", "seen")):
        for m in data["profile"][key]:
            w.writerow([section, "", m["movie_id"], csv_cell(m["title"]),
                        "" if m["year"] is None else m["year"], "", m.get("imdb_id", ""),
                        m.get("tmdb_id", "")])
    return buf.getvalue()


def write_export(data: dict, path: Path, fmt: str) -> None:
    """Write ``path`` atomically (a temporary file beside it, then rename): it holds the
    whole export or is left as it was. A FIFO or a character device (``/dev/stdout``, a
    named pipe a program reads) is written into, never replaced; a socket or a block device
    is refused."""
    from .outfile import OutputError, write_output
    from .tempfiles import sweep_beside

    sweep_beside(Path(path))     # what a killed export left beside it
    try:
        write_output(Path(path), render_export(data, fmt))
    except OutputError as err:
        raise ExportError(str(err)) from None
