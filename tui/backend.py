"""What the chat app needs from recbot, behind a small interface the tests can fake.

``AgentBackend`` wraps the real agent: it knows what a first run must prepare (the
catalog index, the MF model, the LLM), prepares it with progress, and runs turns. It
imports nothing heavy until a method needs it, so the app paints at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Progress = Callable[[str, int, int], None]   # (step, done, total)
Event = Callable[[str, object], None]


class Backend(Protocol):
    session: str

    def status(self) -> dict: ...
    def pending_steps(self) -> list[str]: ...
    def prepare(self, progress: Progress) -> None: ...
    def ask(self, text: str, on_event: Event): ...
    def feedback(self, movie_id: int, kind: str) -> None: ...
    def profile(self) -> dict[str, list[str]]: ...
    def reset(self) -> str: ...
    def set_llm(self, name: str) -> str: ...
    def ingest(self, paths: list[str]) -> dict: ...


class AgentBackend:
    """The real thing: ``settings`` from the CLI, ``llm`` one of openai/local/none/None."""

    def __init__(self, settings, llm: str | None = None) -> None:
        self.settings = settings
        self.llm_choice = llm
        self._agent = None
        self._ws = None
        self.session = ""
        self.llm_error: str | None = None

    # -- set-up ------------------------------------------------------------------------------
    @property
    def workspace(self):
        if self._ws is None:
            from agent.workspace import Workspace

            self._ws = Workspace(self.settings)
        return self._ws

    @property
    def agent(self):
        if self._agent is None:
            from agent.chat import Agent
            from agent.llm import LLMError, make_chat_model
            from agent.memory import Memory

            try:
                llm = make_chat_model(self.settings, self.llm_choice)
            except LLMError as err:
                self.llm_error, llm = str(err), None
            self._agent = Agent(self.workspace, llm, Memory(self.settings.sessions_path))
            sessions = self._agent.memory.sessions()
            self.session = sessions[0][0] if sessions else self._agent.memory.new_session()
        return self._agent

    def pending_steps(self) -> list[str]:
        """What a first run must still build (cheap checks)."""
        steps = []
        if not self.workspace.index_is_current():
            steps.append("catalog index")
        from ranking.models import make_ranker
        from ranking.store import model_path

        ws = self.workspace
        if not model_path(ws.settings.models_dir / ws.dataset_key, make_ranker("als"),
                          ws.interactions).is_file():
            steps.append("MF model")
        return steps

    def prepare(self, progress: Progress) -> None:
        ws = self.workspace
        if not ws.index_is_current():
            progress("catalog index", 0, len(ws.catalog))
            ws.build_index(progress=lambda done, total: progress("catalog index", done, total))
        progress("MF model", 0, 1)
        ws.ranker("als")
        progress("MF model", 1, 1)
        progress("LLM", 0, 1)
        agent = self.agent
        if agent.llm is not None and hasattr(agent.llm, "load"):
            try:
                agent.llm.load()
            except Exception as err:  # noqa: BLE001 — a broken LLM means "answer without it"
                self.llm_error, agent.llm = str(err), None
        progress("LLM", 1, 1)
        agent.warm()

    # -- turns -------------------------------------------------------------------------------
    def status(self) -> dict:
        agent = self._agent
        if agent is None:
            return {"llm": "starting…", "catalog": None, "session": self.session}
        info = agent.llm_info()
        llm = "no LLM" if info["backend"] == "none" else f"{info['backend']}: {info['model']}"
        return {"llm": llm, "catalog": len(agent.catalog), "session": self.session}

    def ask(self, text: str, on_event: Event):
        return self.agent.ask(text, self.session, on_event=on_event)

    def feedback(self, movie_id: int, kind: str) -> None:
        self.agent.memory.add_feedback(self.session, {int(movie_id): kind})

    def profile(self) -> dict[str, list[str]]:
        agent = self.agent
        out: dict[str, list[str]] = {"like": [], "dislike": [], "seen": []}
        for movie_id, kind in agent.memory.profile().items():
            movie = agent.catalog.get(movie_id)
            out.setdefault(kind, []).append(movie.label() if movie else str(movie_id))
        return out

    def reset(self) -> str:
        self.session = self.agent.memory.new_session()
        return self.session

    def set_llm(self, name: str) -> str:
        from agent.llm import LLMError, make_chat_model

        try:
            model = make_chat_model(self.settings, name)
        except LLMError as err:
            return f"cannot switch: {err}"
        self.agent.llm = model
        self.llm_choice = name
        return self.status()["llm"]

    def ingest(self, paths: list[str]) -> dict:
        """Transcribe, link and index files (slow: run it in a worker)."""
        ws = self.workspace
        report = ws.ingest(paths)
        if not ws.index_is_current():
            ws.build_index()
        if self._agent is not None:   # new items of the user's own join the catalog
            for name in ("catalog", "generator"):
                self._agent.__dict__.pop(name, None)
        return {"ingested": len(report.ingested), "unchanged": len(report.unchanged),
                "failed": [f"{f['path']}: {f['error']}" for f in report.failed]}
