"""Files the user names for output (``export --out``, ``rank --out``): written whole or not
at all, and never a special file replaced by a regular one.

A regular file (or a new one) is written to a temporary file beside it and renamed over
it, so it holds the whole output or is left as it was; through a symlink, the file it
points to is written and the link stays. A FIFO or a character device is what the user
asked to write *into* (``--out /dev/stdout``, a named pipe another program reads): it is
opened and written, never renamed over (that would turn ``/dev/null`` into a file). A FIFO
nobody reads is refused rather than waited on forever; a socket, a block device or a
directory is refused.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


class OutputError(Exception):
    """The output cannot be written; the message names the path and why (nothing was
    written, or the file is as it was)."""


def write_output(path: Path, text: str | Callable[[TextIO], None]) -> None:
    """Write ``text`` (a string, or a function writing to a text file) to ``path``."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise OutputError(f"cannot write {path} ({err.strerror or err})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_special(path, st.st_mode, text)
        return
    if path.is_symlink():            # a link to a file: write the file, keep the link
        path = Path(os.path.realpath(path))
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: the directory {parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as err:
        raise OutputError(f"cannot write {path} ({_why(err)})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            _put(fh, text)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))   # the file keeps its permissions
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes it private; this is a normal file
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {path} ({_why(err)}); "
                              "the file is as it was") from None
        raise


def _write_special(path: Path, mode: int, text) -> None:
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {path}: it is a directory; give a file name")
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        what = "a socket" if stat.S_ISSOCK(mode) else \
            "a block device" if stat.S_ISBLK(mode) else "not a regular file"
        raise OutputError(f"cannot write {path}: it is {what}; give a file name")
    flags = os.O_WRONLY | os.O_NOCTTY | (os.O_NONBLOCK if stat.S_ISFIFO(mode) else 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if stat.S_ISFIFO(mode) and err.errno == errno.ENXIO:   # no reader at the other end
            raise OutputError(f"cannot write {path}: it is a named pipe and nothing is "
                              "reading it; start the reader first") from None
        raise OutputError(f"cannot write {path} ({_why(err)})") from None
    try:
        if stat.S_ISFIFO(mode):
            os.set_blocking(fd, True)    # opened without waiting; now write at the reader's pace
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            _put(fh, text)
    except OSError as err:
        raise OutputError(f"cannot write {path} ({_why(err)})") from None


def _put(fh: TextIO, text) -> None:
    if isinstance(text, str):
        fh.write(text)
    else:
        text(fh)


def _why(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return f"the disk is full: {err.strerror}"
    if err.errno == errno.EROFS:
        return f"the file system is read-only: {err.strerror}"
    return err.strerror or str(err)
