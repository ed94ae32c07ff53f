"""Temp files a killed run left behind: known by recbot's own naming, removed by a later run.

Every atomic write goes through a temp file beside its target, renamed over it when whole
(``tempfile.mkstemp``: ``<name><8 random>.tmp`` or ``.<name>.<8 random>.tmp``; the bundled
model's verdict stamps ``<sha16>.<pid>.tmp``), and builds go through temp dirs
(``.onnx-<8 random>`` for the embedder, ``.tmp-<8 random>`` for a dataset being unpacked).
A run killed with -9 (or a power cut) leaves them, one possibly as big as a profile export
or a dataset. ``sweep`` removes those of recbot's own dirs once they are an hour old (a
write in progress in another process is never that old); it lists a handful of small
dirs, never a tree, so it is cheap enough for every start. ``sweep_beside`` does the same
next to an output file the user named, for that file's temps only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

from .settings import Settings

log = logging.getLogger(__name__)

STALE_AFTER = 3600.0    # seconds without a change before a temp file counts as left behind
_RANDOM = r"[a-z0-9_]{8}"                  # the random part of tempfile's names
_TEMP_FILE = re.compile(rf".+{_RANDOM}\.tmp")
_STAMP_FILE = re.compile(r"[0-9a-f]{16}\.\d+\.tmp")   # retrieval.bundled's verdicts
_TEMP_DIR = re.compile(rf"\.(?:onnx|tmp)-{_RANDOM}")   # retrieval.embed, retrieval.datasets


def remove_stale(directory: Path, pattern: re.Pattern, *, dirs: bool = False,
                 older_than: float = STALE_AFTER, now: float | None = None) -> list[Path]:
    """Delete the entries of ``directory`` (not below it) whose whole name matches
    ``pattern``, files (or, with ``dirs``, directories) unchanged for ``older_than``
    seconds; symlinks are left alone. What could not be removed stays, silently."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    now = time.time() if now is None else now
    removed = []
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if entry.is_symlink() or entry.is_dir() != dirs:
                continue
            if now - _last_change(entry) < older_than:
                continue
            if dirs:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _last_change(entry: os.DirEntry) -> float:
    """When ``entry`` last changed; for a dir, anything in it (a build writes below it)."""
    latest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        for root, names, files in os.walk(entry.path):
            for name in (*names, *files):
                try:
                    latest = max(latest, os.lstat(os.path.join(root, name)).st_mtime)
                except OSError:
                    pass
    return latest


def sweep(settings: Settings) -> list[Path]:
    """Remove stale temps from the data dir, its models dirs, the datasets dir and the
    verdict stamps' cache; returns what went."""
    from recbot.retrieval.bundled import stamp_dir

    # the data dir may be one the user chose: only the temps of recbot's own files there
    # (the store's generation token, the plot text)
    own = "|".join(re.escape(n) for n in ("chroma-generation", settings.plots_path.name))
    removed = remove_stale(settings.data_dir, re.compile(rf"\.?(?:{own})\.?{_RANDOM}\.tmp"))
    try:
        models = [Path(e.path) for e in os.scandir(settings.models_dir)
                  if e.is_dir(follow_symlinks=False)]
    except OSError:
        models = []
    for folder in models:          # each dataset's snapshots, the embedder, chat contexts
        removed += remove_stale(folder, _TEMP_FILE)
        removed += remove_stale(folder, _TEMP_DIR, dirs=True)
        removed += remove_stale(folder / "verified", _STAMP_FILE)
    removed += remove_stale(settings.datasets_dir, _TEMP_DIR, dirs=True)
    removed += remove_stale(stamp_dir(), _STAMP_FILE)
    if removed:
        log.info("removed %d temp file(s) a killed run left: %s", len(removed),
                 ", ".join(str(p) for p in removed))
    return removed


def sweep_beside(target: Path) -> list[Path]:
    """Remove stale temps of an atomic write of ``target`` (``.<name>.<8 random>.tmp``)
    from its directory: only that file's, since the directory is the user's."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{_RANDOM}\.tmp")
    return remove_stale(target.parent, pattern)
