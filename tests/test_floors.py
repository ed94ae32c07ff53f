"""The declared dependency floors work: a fresh venv gets the lowest versions that the
declared ranges allow (uv's ``--resolution lowest-direct``: for each of recbot's own
requirements, its floor), and the smoke set (``pytest -m smoke``: the chat on a fresh data
dir, the TUI, ingest's descriptors, Whisper, the MCP server) passes on them.

It found ``av>=12`` too low (``StreamContainer.best`` is PyAV 13's) and ``textual>=0.86``
(``notify(markup=...)`` is 3.1's)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO

TOOLS = ["pytest", "pytest-timeout", "pytest-asyncio"]   # the test tools: newest


def _floors() -> dict[str, Version]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for text in deps:
        req = Requirement(text)
        low = [s.version for s in req.specifier if s.operator in (">=", "==")]
        assert low, f"{text}: every dependency declares its floor"
        out[req.name.lower().replace("_", "-")] = Version(low[0])
    return out


@pytest.mark.timeout(3600)    # a venv, every dependency at its floor, then the smoke set
def test_the_declared_floors_install_and_pass_the_smoke_set(tmp_path):
    venv = tmp_path / "floors"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"

    def run(*args, **kw):
        res = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
        assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
        return res.stdout

    run(py, "-m", "pip", "install", "-q", "uv", timeout=600)
    uv = venv / "bin" / "uv"
    run(uv, "pip", "install", "--python", py, "--resolution", "lowest-direct", "-e", REPO,
        timeout=1800)
    run(uv, "pip", "install", "--python", py, *TOOLS, timeout=600)
    got = dict(line.split("==", 1) for line in run(uv, "pip", "freeze", "--python", py)
               .splitlines() if "==" in line)
    got = {k.lower().replace("_", "-"): Version(v) for k, v in got.items()}
    for name, floor in _floors().items():
        have = got[name]
        # the floor itself, or its first release when the floor names no patch ("3.5": 3.5.1)
        assert have >= floor and have.release[:len(floor.release)] == floor.release, \
            (name, str(floor), str(have))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECBOT_", "OPENAI_", "VIRTUAL_ENV", "PYTEST_"))}
    res = subprocess.run([str(py), "-m", "pytest", "-m", "smoke", "-q", "-p", "no:cacheprovider"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-4000:]
    assert " passed" in res.stdout and " failed" not in res.stdout
