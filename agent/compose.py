"""The composition root: how the TUI (agent.service.ChatService) and `recbot ask` build
their workspace and agent, in one place.

``build_agent(settings, llm_backend)`` wires a workspace (agent.workspace), a chat model
(agent.llm) and the sessions memory into an ``Agent``; pass ``workspace=`` or ``memory=``
to use your own (a test's workspace with its own search part, an in-memory session store).
Nothing heavy is imported until it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .chat import Agent
    from .llm import LLMError
    from .memory import Memory
    from .workspace import Data, Index, Media, Models, Workspace


def build_workspace(settings: Settings, *, data: Data | None = None,
                    models: Models | None = None, index: Index | None = None,
                    media: Media | None = None) -> Workspace:
    """The settings' workspace; any part given replaces the one built from the settings
    (see agent.workspace). Temp files a killed run left in the data dir go first."""
    from .tempfiles import sweep
    from .workspace import Workspace

    sweep(settings)
    return Workspace(settings, data=data, models=models, index=index, media=media)


def build_agent(settings: Settings, llm_backend: str | None = None, *,
                workspace: Workspace | None = None, memory: Memory | None = None,
                on_llm_error: Callable[[LLMError], None] | None = None,
                **agent_options) -> Agent:
    """An agent over the settings' workspace, sessions memory and LLM backend
    (``llm_backend`` one of the registry's names, or None for the configured/automatic one).

    An explicitly chosen backend that cannot work raises ``LLMError``; with
    ``on_llm_error`` the error is handed to it instead and the agent answers without an
    LLM (what the TUI does: it shows why). ``agent_options`` go to ``Agent`` (``k``,
    ``use_search``, ``rerank_window``, ``compact``)."""
    from .chat import Agent
    from .llm import LLMError, make_chat_model
    from .memory import Memory

    ws = workspace if workspace is not None else build_workspace(settings)
    try:
        llm = make_chat_model(settings, llm_backend)
    except LLMError as err:
        if on_llm_error is None:
            raise
        on_llm_error(err)
        llm = None
    if memory is None:
        memory = Memory(settings.sessions_path)
    return Agent(ws, llm, memory, **agent_options)
