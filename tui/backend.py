"""What the chat app needs from recbot: the ``Backend`` protocol, which
``recbot.agent.service.ChatService`` implements and ``tests/fakes.FakeBackend`` scripts.

The app calls ``status`` and ``feedback``/``profile``/``reset`` on its UI thread (they are
cheap and never touch the network); ``prepare``, ``ask``, ``set_llm`` and ``ingest`` run in
Textual workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from recbot.agent.events import OnEvent

Progress = Callable[[str, int, int], None]   # (step, done, total)


class Backend(Protocol):
    session: str
    llm_error: str | None

    def status(self) -> dict: ...
    def pending_steps(self) -> list[str]: ...
    def prepare(self, progress: Progress) -> None: ...
    def ask(self, text: str, on_event: OnEvent): ...
    def feedback(self, movie_id: int, kind: str) -> None: ...
    def profile(self) -> dict[str, list[str]]: ...
    def reset(self) -> str: ...
    def set_llm(self, name: str) -> str: ...
    def ingest(self, paths: list[str]) -> dict: ...
