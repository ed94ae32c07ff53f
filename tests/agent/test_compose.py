"""The composition root (agent.compose): the agent the TUI and `recbot ask` build, with the
parts a caller passes in. The session world of conftest.py (bundled data, real iALS, a real
Chroma store with a transcript of The Matrix searched with a hashed-word embedder)."""

from __future__ import annotations

import gc
import json

import pytest

from recbot.agent import compose
from recbot.agent.compose import build_agent, build_workspace
from recbot.agent.llm import LLMError
from recbot.agent.memory import Memory
from recbot.agent.service import ChatService
from recbot.agent.settings import Settings
from recbot.agent.workspace import Data, Index, Workspace

MATRIX = 2571
RED_PILL = "a film about taking the red pill and kung fu in a simulated world"


class RecordingSearcher:
    """A real searcher that notes the queries it is asked."""

    def __init__(self, inner) -> None:
        self.inner, self.queries = inner, []

    def search(self, query, k=10, filters=None):
        self.queries.append(query)
        return self.inner.search(query, k=k, filters=filters)


@pytest.fixture
def recorded(monkeypatch):
    """Every agent built through compose.build_agent, with the arguments it was built from."""
    calls = []
    real = compose.build_agent

    def recording(*args, **kwargs):
        agent = real(*args, **kwargs)
        calls.append((args, kwargs, agent))
        return agent

    monkeypatch.setattr(compose, "build_agent", recording)
    return calls


def test_the_agent_searches_with_the_injected_search_part(workspace, memory):
    settings = workspace.settings
    spy = RecordingSearcher(workspace.searcher)
    ws = build_workspace(settings, data=workspace.data, models=workspace.models,
                         index=Index(settings, workspace.data, searcher=spy))
    assert ws.searcher is spy and ws.catalog is workspace.catalog
    agent = build_agent(settings, "none", workspace=ws, memory=memory)
    assert agent.ws is ws and agent.memory is memory and agent.llm is None
    answer = agent.ask(RED_PILL)
    assert spy.queries                                   # the turn searched through it
    matrix = next(r for r in answer.recommendations if r.movie_id == MATRIX)
    # only the injected store holds the transcript: its passage is the evidence
    assert any(f.kind == "transcript" for f in matrix.evidence)


def test_a_part_passed_alone_brings_its_data_and_parts_must_share_one(workspace):
    settings = workspace.settings
    index = Index(settings, workspace.data, searcher=workspace.searcher)
    ws = Workspace(settings, index=index)
    assert ws.data is workspace.data and ws.media.index is index
    with pytest.raises(ValueError, match="share one Data"):
        Workspace(settings, data=Data(settings), index=index)


def test_an_explicit_backend_that_cannot_work_raises_unless_handled(workspace, memory,
                                                                    tmp_path):
    settings = Settings(data_dir=tmp_path)       # no endpoint: "openai" cannot work
    with pytest.raises(LLMError, match="OPENAI_BASE_URL"):
        build_agent(settings, "openai", workspace=workspace, memory=memory)
    errors = []
    agent = build_agent(settings, "openai", workspace=workspace, memory=memory,
                        on_llm_error=errors.append, k=3, use_search=False)
    assert [type(e) for e in errors] == [LLMError] and "OPENAI_BASE_URL" in str(errors[0])
    assert agent.llm is None and agent.llm_info()["backend"] == "none"
    assert (agent.k, agent.use_search) == (3, False)


def test_the_tui_service_builds_its_agent_through_compose(workspace, tmp_path, recorded):
    service = ChatService(Settings(data_dir=tmp_path), "openai", workspace=workspace)
    agent = service.agent
    try:
        assert [c[2] for c in recorded] == [agent] and recorded[0][0][1] == "openai"
        assert agent.ws is workspace and agent.llm is None
        assert "OPENAI_BASE_URL" in service.llm_error            # shown, not raised
        assert service.status()["llm"] == "no LLM"
        answer = service.ask(RED_PILL, on_event=lambda event: None)
        assert MATRIX in [r.movie_id for r in answer.recommendations]
        assert service.agent is agent and len(recorded) == 1    # built once
    finally:
        agent.memory.close()


def test_recbot_ask_builds_its_agent_through_compose(indexed_data_dir, tmp_path, monkeypatch,
                                                     capsys, recorded):
    from recbot.tui import logs
    from recbot.tui.cli import main

    real = compose.build_agent
    memory = Memory(tmp_path / "injected.sqlite")
    monkeypatch.setattr(compose, "build_agent",
                        lambda *a, **kw: real(*a, **{**kw, "memory": memory}))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(indexed_data_dir))
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                       ("TRANSFORMERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false")):
        monkeypatch.setenv(var, value)              # what main() sets, undone afterwards
    try:
        assert main(["ask", "something like Heat", "--llm", "none", "--json"]) == 0
    finally:
        gc.enable()                                 # a one-turn process turns it off
        logs.reset()                                # and main() installed log handlers
    try:
        out = json.loads(capsys.readouterr().out)
        assert len(recorded) == 1 and recorded[0][0][1] == "none"
        assert out["llm"]["backend"] == "none" and out["recommendations"]
        assert memory.exists(out["session"])        # the turn went to the injected memory
    finally:
        memory.close()
