"""recbot: a conversational movie recommender for the terminal.

The installed package is ``recbot`` alone; its parts live in the repository's top-level
folders and are installed as subpackages:

* ``recbot.retrieval`` — catalog, titles, datasets, Whisper, MiniLM, Chroma, search
* ``recbot.ranking``   — the MF ranker, baselines and offline evaluation
* ``recbot.agent``     — one chat turn: understanding, candidates, evidence, LLMs, memory
* ``recbot.tui``       — the ``recbot`` command and the Textual chat
"""

from __future__ import annotations

from pathlib import Path as _Path

# Run from the repository root (``python -m recbot`` after a plain ``pip install .``), this
# folder comes first on sys.path and shadows the installed package; its parts are then the
# repository's top-level folders beside it: look for them there too. (Installed, the parts
# are inside this folder and nothing is added.)
_root = _Path(__file__).resolve().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "tui" / "__init__.py").is_file():
    __path__.append(str(_root))
del _Path, _root


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recbot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> str:
    # read from the installed metadata on first use: importlib.metadata costs ~50 ms,
    # and a scripted turn does not need it
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    raise AttributeError(f"module 'recbot' has no attribute {name!r}")
