import pytest

from recbot.tui import logs


@pytest.fixture(autouse=True)
def log_dir(tmp_path_factory, monkeypatch):
    """The chat writes its log (and fd 2) to a fresh dir, never the user's log dir; what
    `recbot.tui.cli.main` installed on the root logger goes after each test."""
    path = tmp_path_factory.mktemp("recbot-log")
    monkeypatch.setenv("RECBOT_LOG_DIR", str(path))
    yield path
    logs.reset()
