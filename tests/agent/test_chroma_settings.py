"""Settings of the Chroma server path: token, auth header, tenant, database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from recbot.agent.settings import ConfigError, Settings
from recbot.tui.cli import main


@pytest.fixture
def config_file() -> Path:
    return Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json"


def test_defaults_are_chromadbs_and_no_token():
    from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT

    from recbot.retrieval import store

    s = Settings.load(env={})
    assert (s.chroma_tenant, s.chroma_database) == (DEFAULT_TENANT, DEFAULT_DATABASE)
    assert (store.DEFAULT_TENANT, store.DEFAULT_DATABASE) == (DEFAULT_TENANT, DEFAULT_DATABASE)
    assert s.chroma_token is None and s.chroma_auth_header == "Authorization"


def test_precedence_flags_over_env_over_file(config_file):
    config_file.write_text(json.dumps({
        "chroma_tenant": "file-tenant", "chroma_database": "file-db",
        "chroma_token": "file-token", "chroma_auth_header": "X-Chroma-Token"}))
    env = {"RECBOT_CONFIG_DIR": str(config_file.parent)}
    s = Settings.load(env=env)
    assert (s.chroma_tenant, s.chroma_database, s.chroma_token, s.chroma_auth_header) == (
        "file-tenant", "file-db", "file-token", "X-Chroma-Token")
    env |= {"RECBOT_CHROMA_TENANT": "env-tenant", "RECBOT_CHROMA_DATABASE": "env-db",
            "RECBOT_CHROMA_TOKEN": "env-token", "RECBOT_CHROMA_AUTH_HEADER": "authorization"}
    s = Settings.load(env=env)
    assert (s.chroma_tenant, s.chroma_database, s.chroma_token, s.chroma_auth_header) == (
        "env-tenant", "env-db", "env-token", "Authorization")   # spelled as Chroma does
    s = Settings.load(env=env, chroma_tenant="flag-tenant", chroma_database="flag-db")
    assert (s.chroma_tenant, s.chroma_database) == ("flag-tenant", "flag-db")
    # an empty variable clears a setting rather than naming an empty tenant
    s = Settings.load(env=env | {"RECBOT_CHROMA_TENANT": "", "RECBOT_CHROMA_TOKEN": ""})
    assert s.chroma_tenant == "default_tenant" and s.chroma_token is None


def test_the_token_is_never_in_the_settings_repr():
    s = Settings.load(env={"RECBOT_CHROMA_TOKEN": "sup3r-secret"})
    assert s.chroma_token == "sup3r-secret" and "sup3r-secret" not in repr(s)


def test_an_unknown_auth_header_is_a_config_error_and_exit_2(monkeypatch, capsys):
    with pytest.raises(ConfigError, match="Authorization .* or X-Chroma-Token, not 'Bearer'"):
        Settings.load(env={"RECBOT_CHROMA_AUTH_HEADER": "Bearer"})
    monkeypatch.setenv("RECBOT_CHROMA_AUTH_HEADER", "Cookie")
    assert main(["title", "Toy Story"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "chroma_auth_header must be" in err


def test_tenant_and_database_flags_reach_the_settings(monkeypatch):
    """The global flags are Settings.load overrides, so they win over env and file."""
    seen = {}

    def fake_load(env=None, **overrides):
        seen.update(overrides)
        raise ConfigError("stop here")

    monkeypatch.setattr(Settings, "load", staticmethod(fake_load))
    assert main(["--chroma-tenant", "t1", "--chroma-database", "d1", "title", "x"]) == 2
    assert seen["chroma_tenant"] == "t1" and seen["chroma_database"] == "d1"
