"""The Chroma server path with a token, a tenant and a database.

A real `chroma run` on 127.0.0.1 behind a token gate (tests/chroma_server.py: the Rust
server of chromadb >= 1.0 has no auth of its own), the real `recbot` command, real MiniLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recbot.retrieval.store import StoreError, open_client
from tests.chroma_server import chroma_run, token_gate
from tests.retrieval.test_retrieval_e2e import MOVIES, RATINGS  # the same tiny set

RECBOT = Path(sys.executable).with_name("recbot")

TOKEN = "recbot-test-t0ken_42"
TENANT, DATABASE = "film-club", "catalog"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(the gate, the server's own URL): a tenant and database made for recbot on it."""
    import chromadb
    from chromadb.config import Settings

    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as url:
        admin = chromadb.AdminClient(Settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host="127.0.0.1",
            chroma_server_http_port=int(url.rsplit(":", 1)[1]), anonymized_telemetry=False))
        admin.create_tenant(TENANT)
        admin.create_database(DATABASE, tenant=TENANT)
        with token_gate(url, TOKEN) as gate:
            yield gate, url


@pytest.fixture
def gate(server):
    gate, _ = server
    gate.token, gate.header = TOKEN, "Authorization"
    gate.seen.clear()
    return gate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("small-ml")
    (d / "movies.csv").write_text(MOVIES)
    (d / "ratings.csv").write_text(RATINGS)
    return d


def recbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(RECBOT), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env}, check=False)


def collections(url: str, tenant: str, database: str) -> list[str]:
    import chromadb
    from chromadb.config import Settings

    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port), tenant=tenant, database=database,
                                 settings=Settings(anonymized_telemetry=False))
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def test_index_and_search_through_a_token_server_in_its_own_tenant_and_database(
        server, gate, dataset, tmp_path):
    _, url = server
    env = {"RECBOT_DATA_DIR": str(tmp_path / "data"), "RECBOT_CHROMA_URL": gate.url,
           "RECBOT_CHROMA_TOKEN": TOKEN, "RECBOT_CHROMA_TENANT": TENANT,
           "RECBOT_CHROMA_DATABASE": DATABASE}
    # (the tiny set has no tags: Jaws is known by its people; Heat's document carries what
    # ReDial seekers asked for, "crime, mafia, murder", which a shark attack resembles)
    res = recbot("-v", "--dataset", str(dataset), "search",
                 "a Steven Spielberg horror film starring Roy Scheider", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["results"][0]["title"] == "Jaws"
    # every request carried the token, as a bearer token
    assert gate.seen and all(h.get("Authorization") == f"Bearer {TOKEN}" for h in gate.seen)
    assert gate.refused == 0
    # the records live in recbot's tenant/database, none in the default one
    assert any(n.startswith("recbot-catalog--") for n in collections(url, TENANT, DATABASE))
    assert not collections(url, "default_tenant", "default_database")
    assert not (tmp_path / "data" / "chroma").exists(), "nothing in the local store"
    # the token is never printed or logged (-v logs to stderr and the log file)
    logs = "".join(p.read_text(errors="replace")
                   for p in Path(os.environ["RECBOT_LOG_DIR"]).rglob("*") if p.is_file())
    assert "chroma" in logs.lower() or "search" in logs
    assert TOKEN not in res.stdout + res.stderr + logs


def test_a_wrong_token_is_one_line_and_exit_1_without_the_token(gate, dataset, tmp_path):
    wrong = "not-the-t0ken"
    env = {"RECBOT_DATA_DIR": str(tmp_path / "data"), "RECBOT_CHROMA_URL": gate.url,
           "RECBOT_CHROMA_TOKEN": wrong}
    res = recbot("--dataset", str(dataset), "search", "anything", env=env)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "refused the token" in res.stderr and "RECBOT_CHROMA_TOKEN" in res.stderr
    assert wrong not in res.stderr and TOKEN not in res.stderr
    assert gate.refused


def test_the_token_goes_in_the_header_the_server_reads(gate):
    gate.header = "X-Chroma-Token"
    client = open_client(url=gate.url, token=TOKEN, auth_header="X-Chroma-Token",
                         tenant=TENANT, database=DATABASE)
    assert (client.tenant, client.database) == (TENANT, DATABASE)
    assert all(h.get("X-Chroma-Token") == TOKEN and "Authorization" not in h
               for h in gate.seen)
    # sent as a bearer token instead, this server refuses it, and says which header to try
    with pytest.raises(StoreError, match="RECBOT_CHROMA_AUTH_HEADER=X-Chroma-Token"):
        open_client(url=gate.url, token=TOKEN)


@pytest.mark.parametrize("kwargs, says", [
    ({}, r"asks for a token \(Forbidden\); set RECBOT_CHROMA_TOKEN"),
    ({"token": TOKEN, "tenant": "no-such-tenant"},
     r"has no tenant 'no-such-tenant'; set RECBOT_CHROMA_TENANT .*create_tenant"),
    ({"token": TOKEN, "tenant": TENANT, "database": "no-such-db"},
     rf"has no database 'no-such-db' in tenant '{TENANT}'; set RECBOT_CHROMA_DATABASE"),
    ({"token": "white space"}, r"RECBOT_CHROMA_TOKEN holds characters an HTTP header cannot"),
])
def test_what_is_wrong_with_the_server_settings_is_said_in_one_line(gate, kwargs, says):
    with pytest.raises(StoreError, match=says) as err:
        open_client(url=gate.url, **kwargs)
    message = str(err.value)
    assert "\n" not in message and TOKEN not in message and "white space" not in message
