import importlib.abc
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The repository root is on sys.path while pytest runs (it holds the ``tests`` package),
# so its folders agent/, retrieval/, ranking/, tui/ would import as top-level packages.
# They are installed only as recbot.agent, recbot.retrieval, ...: a bare import is a bug
# that a wheel would show, so it fails here too.
_BARE = frozenset({"agent", "retrieval", "ranking", "tui"})


class _NoBareImports(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BARE:
            raise ImportError(f"import recbot.{name}, not {name}: the repository's folders are "
                              "installed only inside the recbot package")
        return None


sys.meta_path.insert(0, _NoBareImports())


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Never let a test touch the user's real data, config, cache or log dirs."""
    data_dir = tmp_path_factory.mktemp("recbot-data")
    monkeypatch.setenv("RECBOT_DATA_DIR", str(data_dir))
    for name in ("CONFIG", "CACHE", "LOG"):
        monkeypatch.setenv(f"RECBOT_{name}_DIR", str(tmp_path_factory.mktemp(f"recbot-{name}")))
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "RECBOT_LLM_BASE_URL", "RECBOT_LLM",
                 "RECBOT_CHROMA_URL", "RECBOT_CHROMA_TOKEN", "RECBOT_CHROMA_AUTH_HEADER",
                 "RECBOT_CHROMA_TENANT", "RECBOT_CHROMA_DATABASE", "RECBOT_RANKER_ENGINE",
                 "RECBOT_SPARK_MASTER"):
        monkeypatch.delenv(name, raising=False)
    return data_dir


@pytest.fixture(scope="session")
def indexed_data_dir(tmp_path_factory):
    """A data dir with the bundled catalog indexed by the real `recbot index` (MiniLM,
    Chroma) and the MF model trained: the state a user has after the first run. Shared
    by the end-to-end tests of `recbot ask` and the TUI; they must not change the index."""
    import os
    import subprocess
    import sys

    data_dir = tmp_path_factory.mktemp("recbot-indexed")
    recbot = Path(sys.executable).with_name("recbot")
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir)}
    for name in ("CONFIG", "CACHE", "LOG"):
        env[f"RECBOT_{name}_DIR"] = str(tmp_path_factory.mktemp(f"indexed-{name}"))
    for args in (["index"], ["similar", "Toy Story", "-n", "1"]):
        res = subprocess.run([str(recbot), *args], check=False, capture_output=True, text=True,
                             env=env, timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]
    return data_dir
