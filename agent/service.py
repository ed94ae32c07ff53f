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
    """``settings`` from the CLI; ``llm`` one of the registry's names or None (auto)."""

    def __init__(self, settings: Settings, llm: str | None = None) -> None:
        self.settings = settings
        self.llm_choice = llm
        self._agent: Agent | None = None
        self._ws: Workspace | None = None
        self._lock = threading.Lock()   # building the agent happens once, on one thread
        self.session = ""
        self.llm_error: str | None = None

    # -- set-up ------------------------------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        if self._ws is None:
            from .workspace import Workspace

            self._ws = Workspace(self.settings)
        return self._ws

    @property
    def agent(self) -> Agent:
        with self._lock:
            if self._agent is None:
                from .chat import Agent
                from .llm import LLMError, make_chat_model
                from .memory import Memory

                try:
                    llm = make_chat_model(self.settings, self.llm_choice)
                except LLMError as err:
                    self.llm_error, llm = str(err), None
                agent = Agent(self.workspace, llm, Memory(self.settings.sessions_path))
                sessions = agent.memory.sessions()
                self.session = sessions[0][0] if sessions else agent.memory.new_session()
                self._agent = agent
        return self._agent

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
        from .cards import taste, taste_lines

        memory = self.agent.memory
        return taste_lines(taste(memory.profile(), self.agent.catalog, memory.ratings()))

    def reset(self) -> str:
        self.session = self.agent.memory.new_session()
        return self.session

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
