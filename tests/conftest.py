from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Never let a test touch the user's real data dir."""
    data_dir = tmp_path_factory.mktemp("recbot-data")
    monkeypatch.setenv("RECBOT_DATA_DIR", str(data_dir))
    return data_dir
