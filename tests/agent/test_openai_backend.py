"""The openai backend against OpenAI-compatible HTTP servers on 127.0.0.1: a scripted
one for every failure path, and llama_cpp.server with SmolLM2 for the real thing."""

from __future__ import annotations

import json
import socket

import pytest

from recbot.agent.candidates import Candidate
from recbot.agent.explain.grounding import check_explanation
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
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"] == {**SCHEMA,
                                                                "additionalProperties": False}


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


# -- OpenAI conventions: the model name ---------------------------------------------------


def test_the_only_model_of_a_self_hosted_server_is_used():
    with FakeOpenAI(models=("qwen2.5:7b",)) as server:
        chat = OpenAIChat(server.base_url, None, timeout=5)
        assert chat.known_model is None          # not known before asking
        assert chat.chat(USER) == "OK"
        assert server.last_request["model"] == "qwen2.5:7b"
        assert chat.known_model == "qwen2.5:7b"
        assert [c.path for c in server.calls].count("/v1/models") == 1   # asked once


def test_several_models_need_recbot_llm_model():
    names = ("llama3.1:8b", "qwen2.5:7b", "mistral:7b", "gemma2:9b", "phi3:mini", "smollm2",
             "tinyllama")
    with FakeOpenAI(models=names) as server:
        chat = OpenAIChat(server.base_url, None, timeout=5)
        chat.load()                              # the worker's call: quiet
        assert chat.known_model is None
        with pytest.raises(LLMError) as err:
            chat.chat(USER)
        message = str(err.value)
        assert "\n" not in message and "RECBOT_LLM_MODEL" in message and "7 models" in message
        assert all(n in message for n in names[:5]) and not any(n in message for n in names[5:])
        with pytest.raises(LLMError, match="RECBOT_LLM_MODEL"):   # again, without re-listing
            _ = chat.model
        assert not server.requests                  # never asked a model at random
        assert [c.path for c in server.calls].count("/v1/models") == 1


def test_no_models_listed_is_an_error():
    with FakeOpenAI(models=()) as server:
        with pytest.raises(LLMError, match="RECBOT_LLM_MODEL"):
            _ = OpenAIChat(server.base_url, None, timeout=5).model


def test_a_configured_model_wins_and_is_never_looked_up():
    with FakeOpenAI(models=("a", "b")) as server:
        chat = OpenAIChat(server.base_url, "b", timeout=5)
        assert chat.known_model == "b" and chat.chat(USER) == "OK"
        assert server.last_request["model"] == "b"
        assert all(c.path != "/v1/models" for c in server.calls)


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "https://api.openai.com/v1/"])
def test_hosted_openai_defaults_to_gpt_4o_mini_without_listing(url):
    """On api.openai.com the documented default is used; the models list is never asked
    for. No real network: the client is swapped for one whose transport records requests
    (and would offer a different model if the list were asked for)."""
    import httpx
    import openai

    from recbot.agent.llm import describe
    from recbot.agent.llm.openai_chat import DEFAULT_OPENAI_MODEL

    assert DEFAULT_OPENAI_MODEL == "gpt-4o-mini"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"object": "list", "data": [
            {"id": "gpt-3.5-turbo", "object": "model", "created": 0, "owned_by": "x"}]})

    chat = OpenAIChat(url, None, api_key="sk-test", timeout=5)
    assert describe(chat) == {"backend": "openai", "model": "gpt-4o-mini"}
    chat.client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0,
                                http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert chat.model == "gpt-4o-mini"
    assert not seen


def test_an_openai_look_alike_host_is_self_hosted():
    from recbot.agent.llm.openai_chat import is_hosted_openai

    assert is_hosted_openai("https://api.openai.com/v1") and is_hosted_openai("api.openai.com/v1")
    assert not is_hosted_openai("http://127.0.0.1:11434/v1")
    assert not is_hosted_openai("https://api.openai.com.example.org/v1")
    assert OpenAIChat("http://api.openai.com.example.org/v1").known_model is None


def test_the_missing_endpoint_error_names_both_variables(tmp_path):
    from recbot.agent.llm import make_chat_model
    from recbot.agent.settings import Settings

    with pytest.raises(LLMError) as err:
        make_chat_model(Settings(data_dir=tmp_path), "openai")
    assert "OPENAI_BASE_URL" in str(err.value) and "RECBOT_LLM_BASE_URL" in str(err.value)


# -- OpenAI conventions: strict schemas ---------------------------------------------------


def grounding_schemas(make_agent) -> dict[str, dict]:
    """The schemas the agent really sends, from its real code paths: full mode (rerank,
    explain) and compact mode (one choice), recorded by a model that then fails."""
    from tests.fakes import FakeChatModel

    schemas = {}
    for compact in (False, True):
        model = FakeChatModel()                  # no script: every call raises LLMError
        make_agent(model, compact=compact).ask("something like Forrest Gump")
        for _, schema in model.calls:
            key = next(iter(schema["properties"]))
            schemas[key] = schema
    assert set(schemas) == {"ids", "reasons", "best"}, schemas
    return schemas


def test_strict_schema_makes_the_real_grounding_schemas_acceptable(make_agent):
    from recbot.agent.llm.openai_chat import strict_schema
    from tests.llm_servers import strict_schema_error

    for key, schema in grounding_schemas(make_agent).items():
        original = json.dumps(schema, sort_keys=True)
        assert strict_schema_error(schema) is not None, key      # as built: refused
        strict = strict_schema(schema)
        assert strict_schema_error(strict) is None, (key, strict_schema_error(strict))
        assert json.dumps(schema, sort_keys=True) == original      # the input is untouched
        assert strict["additionalProperties"] is False
        assert strict["required"] == list(schema["properties"]) == schema["required"]
        # what strict mode supports survives: enums and array lengths
        for name, array in strict["properties"].items():
            assert array["minItems"] == schema["properties"][name]["minItems"] > 0
            assert array["maxItems"] == schema["properties"][name]["maxItems"]
            assert array["items"].get("enum") or array["items"]["properties"]["id"]["enum"]
    reasons = strict_schema(grounding_schemas(make_agent)["reasons"])
    item = reasons["properties"]["reasons"]["items"]
    assert item["additionalProperties"] is False and item["required"] == ["id", "text"]
    assert item["properties"]["id"]["enum"]
    assert "maxLength" not in item["properties"]["text"]
    assert item["properties"]["text"]["description"] == "at most 110 characters"


def test_strict_schema_covers_nesting_optional_keys_and_keywords():
    from recbot.agent.llm.openai_chat import strict_schema
    from tests.llm_servers import strict_schema_error

    loose = {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1, "pattern": "^[a-z]+$"},
        "when": {"type": "string", "format": "date"},
        "site": {"type": "string", "format": "uri"},
        "tags": {"type": "array", "uniqueItems": True, "minItems": 1,
                 "items": {"$ref": "#/$defs/tag"}},
        "pick": {"oneOf": [{"type": "object", "properties": {"n": {"type": "integer",
                                                                   "minimum": 1}}},
                           {"type": "null"}]}},
        "required": ["name", "tags", "pick", "when", "site"],
        "$defs": {"tag": {"type": "object", "properties": {"label": {"type": "string"},
                                                            "weight": {"type": "number"}},
                          "required": ["label"], "additionalProperties": True}}}
    assert strict_schema_error(loose) is not None
    strict = strict_schema(loose)
    assert strict_schema_error(strict) is None, strict_schema_error(strict)
    props = strict["properties"]
    assert props["name"]["pattern"] == "^[a-z]+$" and "minLength" not in props["name"]
    assert props["when"]["format"] == "date" and "format" not in props["site"]
    assert props["tags"]["minItems"] == 1 and "uniqueItems" not in props["tags"]
    assert "oneOf" not in props["pick"]
    pick = props["pick"]["anyOf"][0]     # "n" was optional: now required, and may be null
    assert pick["required"] == ["n"] and pick["additionalProperties"] is False
    assert pick["properties"]["n"] == {"anyOf": [{"type": "integer", "minimum": 1},
                                                 {"type": "null"}]}
    tag = strict["$defs"]["tag"]
    assert tag["required"] == ["label", "weight"] and tag["additionalProperties"] is False
    assert tag["properties"]["weight"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}


def test_the_strict_server_refuses_a_loose_schema_like_openai(fake):
    """The real openai client against the fake: a strict json_schema format whose objects
    allow extra keys is a 400 with OpenAI's error body, before any reply is used."""
    import openai

    fake.reply('{"ids": [1]}')
    api = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0, timeout=5)
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="m", messages=USER, response_format={
            "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA,
                                                   "strict": True}})
    assert err.value.status_code == 400
    assert err.value.body == {
        "message": "Invalid schema for response_format 'answer': In context=(), "
                   "'additionalProperties' is required to be supplied and to be false.",
        "type": "invalid_request_error", "param": "response_format", "code": None}
    assert fake.pending() == 1                       # the scripted reply is still there
    # not strict, or another format: accepted as before
    reply = api.chat.completions.create(model="m", messages=USER, response_format={
        "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}})
    assert reply.choices[0].message.content == '{"ids": [1]}'


@pytest.mark.parametrize("schema, message", [
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
      "required": ["a"], "additionalProperties": False},
     "In context=(), 'required' is required to be supplied and to be an array including "
     "every key in properties. Missing 'b'."),
    ({"type": "object", "properties": {"r": {"type": "array", "items": {
        "type": "object", "properties": {"t": {"type": "string", "maxLength": 5}},
        "required": ["t"], "additionalProperties": False}}},
      "required": ["r"], "additionalProperties": False},
     "In context=('properties', 'r', 'items', 'properties', 't'), 'maxLength' is not "
     "permitted."),
], ids=["required", "maxLength"])
def test_the_strict_server_names_the_offending_place(fake, schema, message):
    import openai

    api = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0, timeout=5)
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="m", messages=USER, response_format={
            "type": "json_schema", "json_schema": {"name": "pick", "schema": schema,
                                                   "strict": True}})
    assert err.value.body["message"] == f"Invalid schema for response_format 'pick': {message}"


def test_a_grounding_schema_goes_through_the_strict_server(fake, make_agent):
    """OpenAIChat sends each real grounding schema as strict json_schema and the strict
    server takes it at once: no 400, no fallback to another format."""
    schemas = grounding_schemas(make_agent)
    fake.reply('{"reasons": []}')
    chat = OpenAIChat(fake.base_url, "m", timeout=5)
    assert chat.chat(USER, schema=schemas["reasons"]) == '{"reasons": []}'
    for key in ("ids", "best"):
        chat.chat(USER, schema=schemas[key])
    assert [r["response_format"]["type"] for r in fake.requests] == ["json_schema"] * 3
    assert chat._form == "json_schema"


@pytest.mark.parametrize("compact", [False, True], ids=["full", "compact"])
def test_a_full_turn_through_the_strict_server(fake, make_agent, compact):
    agent = make_agent(OpenAIChat(fake.base_url, "m", timeout=5), compact=compact)
    ans = agent.ask("something like Forrest Gump")
    formats = [r["response_format"]["type"] for r in fake.requests]
    assert formats == ["json_schema"] * (1 if compact else 2)
    assert not any("400" in e for e in ans.trace.errors), ans.trace.errors


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
    with pytest.raises(LLMError, match="cannot reach"):
        chat.load()                 # the worker's call: a dead server is said once, and down
    assert chat.down and describe(chat)["model"] is None    # unreachable: still unknown
    with pytest.raises(LLMError, match="cannot reach") as err:
        _ = chat.model
    assert "RECBOT_LLM_MODEL" not in str(err.value)   # a dead server is not a model question
