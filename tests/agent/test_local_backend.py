"""The embedded backend: SmolLM2-135M in-process through llama-cpp-python."""

from __future__ import annotations

import json

import pytest

from recbot.agent.llm import gguf
from recbot.agent.llm import LLMError, make_chat_model
from recbot.agent.llm.local import LocalChat
from recbot.agent.settings import Settings
from tests.llm_servers import smollm2_path

SCHEMA = {"type": "object", "properties": {"ids": {"type": "array", "items": {
    "type": "integer", "enum": [318, 356, 296]}, "minItems": 2, "maxItems": 2}},
    "required": ["ids"]}


@pytest.fixture(scope="module")
def smol():
    return LocalChat(smollm2_path(), label="SmolLM2-135M-Instruct", n_ctx=2048, threads=1,
                     timeout=120)


def test_grammar_constrained_json_streams(smol):
    tokens = []
    reply = smol.chat([{"role": "user", "content": "Pick two of 318 Shawshank, 356 Forrest "
                                                  "Gump, 296 Pulp Fiction as JSON."}],
                      schema=SCHEMA, max_tokens=40, temperature=0.0, on_token=tokens.append)
    ids = json.loads(reply, strict=False)["ids"]
    assert len(ids) == 2 and set(ids) <= {318, 356, 296}
    assert len(tokens) > 1


def test_without_the_internals_the_public_api_gives_the_same_constrained_json(monkeypatch):
    from recbot.agent.llm import local

    chat = LocalChat(smollm2_path(), n_ctx=2048, threads=1, timeout=120)
    assert local._Decoder.supported(chat.load())       # the installed version: fast path
    monkeypatch.setattr(local._Decoder, "_LIB_FUNCTIONS", ("no_such_llama_function",))
    assert not local._Decoder.supported(chat.load())
    tokens = []
    reply = chat.chat([{"role": "user", "content": "Pick two of 318 Shawshank, 356 Forrest "
                                                  "Gump, 296 Pulp Fiction as JSON."}],
                      schema=SCHEMA, max_tokens=40, temperature=0.0, on_token=tokens.append)
    ids = json.loads(reply, strict=False)["ids"]
    assert len(ids) == 2 and set(ids) <= {318, 356, 296}
    assert chat.last["prompt"] == 0 and len(tokens) > 1   # the public path answered


def test_a_full_turn_with_the_embedded_model(smol, make_agent):
    ans = make_agent(smol, k=3, rerank_window=6).ask("something like Forrest Gump")
    assert ans.llm["backend"] == "local" and ans.llm["model"] == "SmolLM2-135M-Instruct"
    assert not ans.trace.errors, ans.trace.errors
    ids = [r.movie_id for r in ans.recommendations]
    assert len(ids) == 3 and len(set(ids)) == 3 and 356 not in ids


def test_local_is_chosen_by_name_and_bad_paths_are_one_line(tmp_path):
    settings = Settings(data_dir=tmp_path)
    # auto: no LLM without a server, although llama_cpp and a GGUF are installed here (it
    # measured no better than the deterministic order, bench/results/llm_decision.md)
    assert make_chat_model(settings, None) is None
    model = make_chat_model(settings, "local")
    assert model is not None and model.backend == "local"
    assert model.model in {s.label for s in gguf.installed_models()}
    with pytest.raises(LLMError, match="no such GGUF file"):
        make_chat_model(Settings(data_dir=tmp_path, llm_model=str(tmp_path / "x.gguf")),
                        "local")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    with pytest.raises(LLMError, match="cannot load the GGUF model"):
        LocalChat(broken).load()
