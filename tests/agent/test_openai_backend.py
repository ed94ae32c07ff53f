"""The openai backend against OpenAI-compatible HTTP servers on 127.0.0.1: a scripted
one for every failure path, and llama_cpp.server with SmolLM2 for the real thing."""

from __future__ import annotations

import json
import socket

import pytest

from recbot.agent.candidates import Candidate
from recbot.agent.grounding import check_explanation
from recbot.agent.llm import LLMError
from recbot.agent.llm.openai_chat import OpenAIChat
from tests.llm_servers import FakeOpenAI

SCHEMA = {"type": "object", "properties": {"ids": {"type": "array", "items": {
    "type": "integer", "enum": [1, 2, 3]}, "minItems": 1, "maxItems": 2}}, "required": ["ids"]}
USER = [{"role": "user", "content": "pick"}]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def test_streams_and_asks_for_the_schema(fake):
    fake.reply('{"ids": [2, 1]}', chunks=['{"ids"', ': [2,', ' 1]}'])
    tokens = []
    model = OpenAIChat(fake.base_url, "fake-model", timeout=5)
    assert model.chat(USER, schema=SCHEMA, on_token=tokens.append) == '{"ids": [2, 1]}'
    assert len(tokens) == 3
    body = fake.last_request
    assert body["stream"] is True and body["model"] == "fake-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_falls_back_to_json_object_schema_and_remembers(fake):
    fake.fail(500, "response_format type json_schema is not supported")
    fake.reply('{"ids": [3]}').reply('{"ids": [1]}')
    model = OpenAIChat(fake.base_url, "m", timeout=5)
    assert model.chat(USER, schema=SCHEMA) == '{"ids": [3]}'
    assert model.chat(USER, schema=SCHEMA) == '{"ids": [1]}'
    formats = [r.get("response_format", {}).get("type") for r in fake.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert fake.requests[1]["response_format"]["schema"] == SCHEMA


def test_first_model_of_the_server_when_none_is_configured(fake):
    assert OpenAIChat(fake.base_url, None).model == "fake-model"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("script", ["down", "hang", "500", "malformed", "truncated",
                                    "html"])
def test_every_failure_is_one_llm_error(fake, script):
    url = f"http://127.0.0.1:{closed_port()}/v1" if script == "down" else fake.base_url
    {"hang": lambda: fake.hang(5), "500": lambda: fake.fail(500, "boom").fail(500, "boom"),
     "malformed": lambda: fake.raw(b'{"choices": [{"mess'),
     "truncated": lambda: fake.truncate_stream('{"ids": [1,'),
     "html": lambda: fake.raw(b"<html>bad gateway</html>", status=200,
                              content_type="text/html")}.get(script, lambda: None)()
    model = OpenAIChat(url, "m", timeout=1.0)
    with pytest.raises(LLMError) as err:
        model.chat(USER, max_tokens=8)
    assert "\n" not in str(err.value) and str(err.value)


@pytest.mark.parametrize("script", ["down", "hang", "500", "malformed", "truncated", "ids"])
def test_agent_answers_through_every_failure(fake, make_agent, script):
    base = [r.movie_id for r in make_agent().ask("something like Forrest Gump").recommendations]
    if script == "hang":
        fake.hang(5).hang(5)
    elif script == "500":
        for _ in range(6):
            fake.fail(500, "internal error")
    elif script == "malformed":
        fake.raw(b"{not json").raw(b"{not json")
    elif script == "truncated":
        fake.truncate_stream('{"ids": [5').truncate_stream('{"reasons": [{"id"')
    else:  # hallucinated and duplicate IDs, invented facts
        fake.reply(json.dumps({"ids": [999999, 356, 356, 1]}))
        fake.reply(json.dumps({"reasons": [{"id": 1, "text": "Stars Tom Cruise, 99% loved it."}]}))
    url = f"http://127.0.0.1:{closed_port()}/v1" if script == "down" else fake.base_url
    agent = make_agent(OpenAIChat(url, "m", timeout=1.0))
    ans = agent.ask("something like Forrest Gump")
    ids = [r.movie_id for r in ans.recommendations]
    assert len(ids) == 5 and len(set(ids)) == 5 and 356 not in ids and 999999 not in ids
    assert all(r.explained_by == "template" for r in ans.recommendations)
    if script == "ids":
        assert ans.trace.dropped_ids >= 2 and not ans.trace.errors
    else:
        assert ids == base and ans.trace.errors and not ans.llm["used"]


def test_full_turn_with_a_real_llama_cpp_server(smol_url, make_agent):
    """SmolLM2-135M behind llama_cpp.server, driven through the openai client: rerank
    and explanations under a JSON schema, streamed; whatever it says is checked."""
    model = OpenAIChat(smol_url, None, timeout=120)
    tokens = []
    model_reply = model.chat([{"role": "user", "content": "Say hello."}], max_tokens=8,
                             on_token=tokens.append)
    assert model_reply and tokens
    events = []
    agent = make_agent(model, k=3, rerank_window=8)
    ans = agent.ask("something like Forrest Gump", on_event=lambda e: events.append(type(e).__name__))
    assert ans.llm["backend"] == "openai" and ans.llm["model"]
    assert not ans.trace.errors, ans.trace.errors        # constrained JSON always parses
    assert ans.trace.calls == 2 and "Reason" in events
    ids = [r.movie_id for r in ans.recommendations]
    assert len(ids) == 3 and len(set(ids)) == 3 and 356 not in ids
    assert set(ids) <= set(ans.candidates)
    for r in ans.recommendations:
        c = Candidate(r.movie_id, r.title, r.year, r.genres, r.score, {}, r.evidence)
        assert check_explanation(r.explanation, c, "something like Forrest Gump") is None


def test_the_registry_names_the_valid_backends(tmp_path):
    from recbot.agent.llm import BACKENDS, REGISTRY, make_chat_model
    from recbot.agent.settings import Settings

    assert set(BACKENDS) == {"auto", *REGISTRY} and {"openai", "local", "none"} <= set(REGISTRY)
    with pytest.raises(LLMError) as err:
        make_chat_model(Settings(data_dir=tmp_path), "gpt-nonsense")
    assert "'gpt-nonsense'" in str(err.value)
    assert all(name in str(err.value) for name in BACKENDS)
    assert make_chat_model(Settings(data_dir=tmp_path), "none") is None


def test_status_never_asks_the_server(tmp_path):
    """The TUI's status line reads the model name without a network call: with nothing
    listening, describe() answers at once and the name is simply not known yet."""
    from recbot.agent.llm import describe
    from tests.llm_servers import free_port

    chat = OpenAIChat(f"http://127.0.0.1:{free_port()}/v1", timeout=5)
    assert describe(chat) == {"backend": "openai", "model": None}
    chat.load()                     # the worker's call: fails quietly, chat reports later
    assert describe(chat)["model"] == "default"
