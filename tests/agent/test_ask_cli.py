"""`recbot ask` through the real console script on the bundled data, no LLM."""

from __future__ import annotations

import json
import os

import pytest
import subprocess
import sys
from pathlib import Path

RECBOT = Path(sys.executable).with_name("recbot")


def ask(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir)}
    env.pop("RECBOT_LLM_BASE_URL", None)
    return subprocess.run([str(RECBOT), "ask", *args], check=False, capture_output=True,
                          text=True, env=env, timeout=300)


def ask_json(data_dir: Path, *args: str) -> dict:
    res = ask(data_dir, *args, "--json", "--llm", "none")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.smoke
def test_multi_turn_session_through_the_command(indexed_data_dir):
    first = ask_json(indexed_data_dir, "something like Forrest Gump")
    assert set(first) >= {"reply", "recommendations", "resolved", "llm", "session"}
    assert first["llm"] == {"backend": "none", "model": None, "used": False}
    assert first["resolved"] == [{"mention": "Forrest Gump", "movie_id": 356,
                                  "title": "Forrest Gump", "role": "seed"}]
    recs = first["recommendations"]
    assert len(recs) == 5
    for r in recs:
        assert set(r) >= {"movie_id", "title", "year", "genres", "score", "explanation",
                          "evidence"}
        assert r["explanation"] and all({"kind", "text"} <= set(e) for e in r["evidence"])
    sid = first["session"]
    more = ask_json(indexed_data_dir, "loved the first one, more like that", "--session", sid)
    assert recs[0]["title"] in more["reply"]
    shown = [r["movie_id"] for r in more["recommendations"]]
    assert recs[0]["movie_id"] not in shown and len(shown) == 5
    why = ask_json(indexed_data_dir, "why #2?", "--session", sid)
    assert more["recommendations"][1]["title"] in why["reply"]
    nope = ask_json(indexed_data_dir, "not that one", "--session", sid)
    assert more["recommendations"][1]["movie_id"] not in [r["movie_id"] for r in
                                                           nope["recommendations"]]
    assert nope["recommendations"]


def test_text_output_names_backend_and_session(indexed_data_dir):
    res = ask(indexed_data_dir, "a funny animated film, nothing before 2000", "--llm", "none",
              "--k", "3")
    assert res.returncode == 0, res.stderr
    assert "no LLM" in res.stdout and "--session" in res.stdout
    assert res.stdout.count("\n 1. ") + res.stdout.count("\n 2. ") + res.stdout.count("\n 3. ") == 3


def test_bad_input_is_one_line_and_nonzero(indexed_data_dir):
    res = ask(indexed_data_dir, "x" * 100_000)
    assert res.returncode == 2 and "keep it under" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    res = ask(indexed_data_dir, "hi \x07 there")
    assert res.returncode == 2 and "control characters" in res.stderr
    res = ask(indexed_data_dir, "something like Heat", "--session", "nope")
    assert res.returncode == 1 and "no session" in res.stderr
    res = ask(indexed_data_dir, "something like Heat", "--llm", "openai")
    assert res.returncode == 1 and "RECBOT_LLM_BASE_URL" in res.stderr


def test_openai_with_only_openai_base_url_against_the_strict_server(indexed_data_dir):
    """The OpenAI client's own variable is enough; every schema recbot sends passes the
    strict-mode check the hosted API applies (the fake refuses loose ones with HTTP 400)."""
    from tests.llm_servers import MODEL_ID, FakeOpenAI, strict_schema_error

    with FakeOpenAI(default_reply='{"ids": []}') as server:
        env = {**os.environ, "RECBOT_DATA_DIR": str(indexed_data_dir),
               "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        env.pop("RECBOT_LLM_BASE_URL", None)
        res = subprocess.run([str(RECBOT), "ask", "something like Heat", "--llm", "openai",
                              "--json"], check=False, capture_output=True, text=True, env=env,
                             timeout=300)
        assert res.returncode == 0, res.stderr
        answer = json.loads(res.stdout)
        assert answer["llm"]["backend"] == "openai" and answer["llm"]["model"] == MODEL_ID
        assert len(answer["recommendations"]) == 5
        schemas = [r["response_format"] for r in server.requests if "response_format" in r]
        assert schemas, "recbot asked the server for no structured answer"
        for fmt in schemas:
            assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
            assert strict_schema_error(fmt["json_schema"]["schema"]) is None
        assert all(r.get("model") == MODEL_ID for r in server.requests)
        assert "Authorization" in {k.title() for k in server.calls[-1].headers} or \
            any("sk-test" in v for c in server.calls for v in c.headers.values())


def test_stdin_continue_sessions_ids_and_completion(indexed_data_dir):
    """The CLI habits of `llm` and oterm users: a message from stdin (`-`), `--continue`
    the latest session, `recbot sessions`, IMDb and TMDB ids in `ask --json`, and a shell
    completion script."""
    env = {**os.environ, "RECBOT_DATA_DIR": str(indexed_data_dir)}
    env.pop("RECBOT_LLM_BASE_URL", None)

    def run(*args, stdin=None):
        res = subprocess.run([str(RECBOT), *args], input=stdin, capture_output=True, text=True,
                             env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        return res.stdout

    first = json.loads(run("ask", "-", "--json", "--llm", "none",
                           stdin="something like Heat\n"))
    assert "Heat" in first["reply"] and len(first["recommendations"]) == 5
    links = {}
    from tests.conftest import REPO
    import csv

    with (REPO / "retrieval/data/ml-latest-small/links.csv").open(newline="") as fh:
        links = {int(r["movieId"]): r for r in csv.DictReader(fh)}
    for r in first["recommendations"]:
        assert r["imdb_id"] == f"tt{links[r['movie_id']]['imdbId']}"
        assert r["tmdb_id"] == int(links[r["movie_id"]]["tmdbId"])
    listed = json.loads(run("sessions", "--json"))
    assert listed[0]["session"] == first["session"]
    assert listed[0]["turns"] == 1 and listed[0]["last"].strip() == "something like Heat"
    more = json.loads(run("ask", "--continue", "none of these", "--json", "--llm", "none"))
    assert more["session"] == first["session"]
    assert not {r["movie_id"] for r in first["recommendations"]} & \
        {r["movie_id"] for r in more["recommendations"]}
    assert first["session"] in run("sessions")
    script = run("completion", "bash")
    assert "complete -o default -F _recbot recbot" in script and "ask) opts=" in script \
        and "--continue" in script
    check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # the completion itself, in bash: commands, a command's options, after a global option
    for words, cword, expect in ((["recbot", "as"], 1, "ask"),
                                 (["recbot", "ask", "--co"], 2, "--continue"),
                                 (["recbot", "--data-dir", "d", "ask", "--js"], 4, "--json")):
        probe = (script + f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={cword}; _recbot; "
                 'echo "${COMPREPLY[@]}"')
        got = subprocess.run(["bash", "-c", probe], capture_output=True, text=True)
        assert expect in got.stdout.split(), (words, got.stdout, got.stderr)
