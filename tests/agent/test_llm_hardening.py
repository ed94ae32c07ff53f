"""An LLM server that misbehaves costs one deadline, once: real servers on 127.0.0.1 that
stream only keep-alive comments, accept and never answer, refuse, or keep failing; and
the LLM timeout setting, which must be a usable number of seconds."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from recbot.agent.llm import LLMError
from recbot.agent.llm.openai_chat import OpenAIChat
from recbot.tui.cli import main
from tests.llm_servers import FakeOpenAI, KeepAliveServer, SilentServer, free_port

USER = [{"role": "user", "content": "pick"}]
HANG = 60.0   # s: a call still running this long has no deadline (the LLM timeout is 1 s)


def chat_in_thread(model: OpenAIChat, **kw) -> tuple[threading.Thread, dict]:
    """``model.chat`` on a thread of its own, so that a call that never ends fails the test
    instead of hanging it: ``out`` gets "reply" or "error" when it ends."""
    out: dict = {}

    def run() -> None:
        try:
            out["reply"] = model.chat(USER, **kw)
        except LLMError as err:
            out["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def ended_with_error(thread: threading.Thread, out: dict) -> LLMError:
    thread.join(HANG)
    assert not thread.is_alive(), f"the LLM call was still running after {HANG:g} s"
    assert "error" in out, out
    return out["error"]


# -- one total deadline, however the server streams ------------------------------------


def test_a_stream_of_keep_alive_comments_only_ends_at_the_deadline():
    with KeepAliveServer() as server:
        model = OpenAIChat(server.base_url, "m", timeout=1)
        err = ended_with_error(*chat_in_thread(model))
        assert "within 1 s" in str(err) and "\n" not in str(err)
        assert server.hung_up.wait(HANG)          # the connection was closed, not left open


def test_keep_alive_comments_after_the_first_tokens_end_at_the_deadline():
    with KeepAliveServer(tokens=('{"ids"', ": [1")) as server:
        tokens: list[str] = []
        model = OpenAIChat(server.base_url, "m", timeout=1)
        err = ended_with_error(*chat_in_thread(model, on_token=tokens.append))
        assert tokens == ['{"ids"', ": [1"]       # streamed as they came, then cut
        assert "within 1 s" in str(err)
        assert server.hung_up.wait(HANG)


def test_a_server_that_streams_too_slowly_fails_the_call_but_is_not_marked_down():
    with KeepAliveServer(tokens=('{"ids"', ": [1")) as server:
        model = OpenAIChat(server.base_url, "m", timeout=1)
        err = ended_with_error(*chat_in_thread(model))
        assert "within 1 s" in str(err) and not model.down    # the next turn tries again


def test_abandoning_returns_a_call_in_flight_at_once_and_hangs_up():
    """What the chat does on quit: the caller is not left waiting for the deadline."""
    from recbot.agent.llm import abandon_calls

    with KeepAliveServer() as server:
        model = OpenAIChat(server.base_url, "m", timeout=600)
        thread, out = chat_in_thread(model)
        while server.streams == 0 and thread.is_alive():
            thread.join(0.05)
        assert abandon_calls() == 1
        err = ended_with_error(thread, out)
        assert "abandoned" in str(err) and model.down
        assert server.hung_up.wait(HANG)


# -- a failed server is marked down ----------------------------------------------------


def test_a_server_that_never_answers_costs_one_timeout_per_process(make_agent):
    with SilentServer() as server:
        agent = make_agent(OpenAIChat(server.base_url, "m", timeout=1))
        first = agent.ask("something like Forrest Gump")
        assert server.accepted == 1               # the rerank timed out; explain skipped it
        assert len(first.trace.errors) == 1, first.trace.errors
        assert "within 1 s" in first.trace.errors[0]
        assert "answering without it from now on" in first.trace.errors[0]   # the note
        second = agent.ask("something like Heat")
        assert server.accepted == 1               # not asked again
        assert second.trace.errors == [] and not second.llm["used"]   # no second note
        assert len(second.recommendations) == 5
        assert all(r.explained_by == "template" for r in second.recommendations)


def test_a_refused_connection_marks_the_server_down(make_agent):
    agent = make_agent(OpenAIChat(f"http://127.0.0.1:{free_port()}/v1", "m", timeout=5))
    first = agent.ask("something like Forrest Gump")
    assert len(first.trace.errors) == 1 and "cannot reach" in first.trace.errors[0]
    assert "from now on" in first.trace.errors[0]
    second = agent.ask("something like Heat")
    assert second.trace.errors == [] and len(second.recommendations) == 5


def test_loading_a_server_that_never_answers_marks_it_down():
    """The chat looks the model up while it prepares: a silent server is found out
    there, once, and the first turn does not wait for it again."""
    with SilentServer() as server:
        model = OpenAIChat(server.base_url, None, timeout=1)
        with pytest.raises(LLMError, match="within 1 s"):
            model.load()
        with pytest.raises(LLMError, match="from now on"):
            model.chat(USER)
        assert server.accepted == 1


def test_repeated_errors_mark_the_server_down():
    with FakeOpenAI() as fake:
        for _ in range(6):
            fake.fail(500, "boom")
        model = OpenAIChat(fake.base_url, "m", timeout=5)
        for _ in range(2):
            with pytest.raises(LLMError, match="HTTP 500") as err:
                model.chat(USER)
            assert "from now on" not in str(err.value) and not model.down
        with pytest.raises(LLMError, match=r"\(3 failures in a row\); answering without it"):
            model.chat(USER)
        with pytest.raises(LLMError):
            model.chat(USER)
        assert len(fake.requests) == 3            # the fourth call never reached it


def test_a_failure_between_answers_does_not_mark_the_server_down():
    with FakeOpenAI() as fake:
        fake.fail(500, "boom").reply("a").fail(500, "boom").reply("b").fail(500, "boom")
        model = OpenAIChat(fake.base_url, "m", timeout=5)
        got = []
        for _ in range(5):
            try:
                got.append(model.chat(USER))
            except LLMError:
                got.append(None)
        assert got == [None, "a", None, "b", None] and model.down is None
        assert model.chat(USER) == "OK"


# -- RECBOT_LLM_TIMEOUT and llm_timeout --------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_an_unusable_llm_timeout_variable_is_one_line_and_exit_2(value, tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.setenv("RECBOT_LLM_TIMEOUT", value)
    assert main(["--data-dir", str(tmp_path), "title", "Heat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recbot: error: RECBOT_LLM_TIMEOUT: llm_timeout must be a number "
                          "of seconds above 0") and repr(value) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("text", ['{"llm_timeout": 0}', '{"llm_timeout": -1}',
                                  '{"llm_timeout": NaN}', '{"llm_timeout": "nan"}',
                                  '{"llm_timeout": Infinity}', '{"llm_timeout": "inf"}'])
def test_an_unusable_llm_timeout_in_the_config_is_one_line_and_exit_2(text, tmp_path, capsys):
    config = Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json"
    config.write_text(text)
    assert main(["--data-dir", str(tmp_path), "title", "Heat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recbot: error: {config}: llm_timeout must be a number of seconds "
                          "above 0")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert config.read_text() == text and not any(tmp_path.iterdir())


def test_a_usable_llm_timeout_is_taken(monkeypatch):
    from recbot.agent.settings import Settings

    config = Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json"
    config.write_text(json.dumps({"llm_timeout": "2.5"}))
    assert Settings.load().llm_timeout == 2.5
    monkeypatch.setenv("RECBOT_LLM_TIMEOUT", "90")
    assert Settings.load().llm_timeout == 90.0
