"""The LLM test servers themselves, driven by the real ``openai`` client: the scripted
FakeOpenAI, and llama_cpp.server running SmolLM2-135M (``smol_url`` in conftest)."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.llm_servers import FakeOpenAI

USER = [{"role": "user", "content": "Recommend a movie."}]
IDS = [318, 356, 296]
SCHEMA = {
    "type": "object",
    "properties": {
        "ids": {"type": "array", "items": {"type": "integer", "enum": IDS},
                "minItems": 1, "maxItems": 3},
    },
    "required": ["ids"],
    "additionalProperties": False,
}
PICK = [
    {"role": "system", "content": "You pick movies by id. Answer only JSON like {\"ids\": [318]}."},
    {"role": "user", "content": "Pick two of: 318 Shawshank, 356 Forrest Gump, 296 Pulp Fiction."},
]


def client(base_url: str, timeout: float = 10.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="test", max_retries=0, timeout=timeout)


def assert_matches_schema(text: str) -> None:
    data = json.loads(text)
    assert set(data) == {"ids"}
    assert 1 <= len(data["ids"]) <= 3
    assert all(isinstance(i, int) and i in IDS for i in data["ids"])


# -- FakeOpenAI -----------------------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def test_fake_lists_models(fake):
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/v1")
    assert [m.id for m in client(fake.base_url).models.list()] == ["fake-model"]


def test_fake_non_streaming_reply_and_recorded_request(fake):
    fake.reply('{"ids": [318]}')
    response = client(fake.base_url).chat.completions.create(
        model="m", messages=USER, max_tokens=32, temperature=0.1,
        response_format={"type": "json_object", "schema": SCHEMA},
    )
    assert response.choices[0].message.content == '{"ids": [318]}'
    assert response.choices[0].finish_reason == "stop"
    (request,) = fake.requests
    assert request["messages"] == USER
    assert request["max_tokens"] == 32
    assert request["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert not request.get("stream")


def test_fake_streams_deltas_then_done(fake):
    fake.reply("Heat (1995) is a crime epic.")
    stream = client(fake.base_url).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices]
    assert len([d for d in deltas if d]) > 1  # really split
    assert "".join(d or "" for d in deltas) == "Heat (1995) is a crime epic."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6
    assert fake.last_request["stream"] is True


@pytest.mark.parametrize("strict_schemas", [True, False], ids=["strict", "lenient"])
def test_fake_checks_strict_schemas_unless_told_not_to(strict_schemas):
    loose = {k: v for k, v in SCHEMA.items() if k != "additionalProperties"}
    formats = {"strict-ok": {"name": "pick", "schema": SCHEMA, "strict": True},
               "strict-loose": {"name": "pick", "schema": loose, "strict": True},
               "not-strict": {"name": "pick", "schema": loose}}
    with FakeOpenAI(strict_schemas=strict_schemas) as server:
        api = client(server.base_url)
        outcomes = {}
        for label, spec in formats.items():
            try:
                api.chat.completions.create(model="m", messages=USER, response_format={
                    "type": "json_schema", "json_schema": spec})
                outcomes[label] = 200
            except openai.BadRequestError as err:
                outcomes[label] = err.status_code
                assert err.body["param"] == "response_format"
                assert "'pick'" in err.body["message"] and "additionalProperties" in \
                    err.body["message"]
        assert len(server.requests) == 3          # refused requests are recorded too
    assert outcomes == {"strict-ok": 200, "strict-loose": 400 if strict_schemas else 200,
                        "not-strict": 200}


def test_fake_exact_chunks_and_default_reply(fake):
    fake.reply("ab", chunks=["a", "b"])
    api = client(fake.base_url)
    stream = api.chat.completions.create(model="m", messages=USER, stream=True)
    assert [c.choices[0].delta.content for c in stream] == ["", "a", "b", None]
    for _ in range(2):  # queue empty: the default reply, every time
        reply = api.chat.completions.create(model="m", messages=USER)
        assert reply.choices[0].message.content == "OK"
    assert len(fake.requests) == 3 and fake.pending() == 0


def test_fake_500_is_internal_server_error(fake):
    fake.fail(500, "boom")
    with pytest.raises(openai.InternalServerError, match="boom"):
        client(fake.base_url).chat.completions.create(model="m", messages=USER)
    fake.fail(500)
    with pytest.raises(openai.InternalServerError):  # before any chunk, for streams too
        client(fake.base_url).chat.completions.create(model="m", messages=USER, stream=True)


def test_fake_hang_times_out_and_does_not_block_shutdown():
    started = time.monotonic()
    with FakeOpenAI() as server:
        server.hang(60)
        with pytest.raises(openai.APITimeoutError):
            client(server.base_url, timeout=0.3).chat.completions.create(
                model="m", messages=USER)
    assert time.monotonic() - started < 5


def test_fake_malformed_json_body(fake):
    fake.raw(b'{"choices": [')
    # openai 3.54 lets the decoder's error through unwrapped
    with pytest.raises(ValueError):
        client(fake.base_url).chat.completions.create(model="m", messages=USER)
    fake.raw(b"not json", content_type="text/plain")
    # ...and returns a non-JSON body as a plain str instead of a ChatCompletion
    reply = client(fake.base_url).chat.completions.create(model="m", messages=USER)
    assert reply == "not json"


def test_fake_stream_cut_off_mid_json(fake):
    api = client(fake.base_url)
    fake.truncate_stream('{"ids": [1,')  # connection dropped inside the chunked body
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in api.chat.completions.create(model="m", messages=USER, stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == '{"ids": [1,'

    fake.truncate_stream('{"ids": [1,', abort=False)  # clean end, but no finish nor [DONE]
    chunks = list(api.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == '{"ids": [1,'
    assert all(c.choices[0].finish_reason is None for c in chunks)

    fake.truncate_stream('{"ids": [1,')  # non-streaming: body shorter than Content-Length
    with pytest.raises(openai.APIConnectionError):
        api.chat.completions.create(model="m", messages=USER)
    # the server is still fine afterwards
    assert api.chat.completions.create(model="m", messages=USER).choices[0].message.content == "OK"


# -- llama_cpp.server + SmolLM2-135M --------------------------------------------------------


def test_llama_server_streams_a_chat_turn(smol_url):
    stream = client(smol_url, timeout=60).chat.completions.create(
        model="smollm2", messages=USER, stream=True, max_tokens=24, temperature=0)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_llama_server_json_object_with_schema_is_constrained(smol_url, stream):
    """llama_cpp.server 0.3.36 turns {"type": "json_object", "schema": ...} into a grammar."""
    kwargs = {"model": "smollm2", "messages": PICK, "max_tokens": 48, "temperature": 0,
              "response_format": {"type": "json_object", "schema": SCHEMA}}
    api = client(smol_url, timeout=60)
    if stream:
        text = "".join(c.choices[0].delta.content or ""
                       for c in api.chat.completions.create(stream=True, **kwargs) if c.choices)
    else:
        text = api.chat.completions.create(**kwargs).choices[0].message.content
    assert_matches_schema(text)


def test_llama_server_rejects_json_schema_response_format(smol_url):
    """The OpenAI-style {"type": "json_schema", ...} fails request validation in 0.3.36
    (response_format.type must be 'text' or 'json_object'), reported as HTTP 500."""
    with pytest.raises(openai.InternalServerError, match="json_object"):
        client(smol_url, timeout=60).chat.completions.create(
            model="smollm2", messages=PICK, max_tokens=48, temperature=0,
            response_format={"type": "json_schema", "json_schema": {
                "name": "pick", "schema": SCHEMA, "strict": True}})
