"""Where recbot's log goes, and keeping library noise off the chat screen.

The log is ``recbot.log`` in the platform's user log dir (``~/.local/state/recbot/log`` on
Linux), or in ``$RECBOT_LOG_DIR``. ``setup`` sends the root logger there (rotating, 1 MB x 3)
and, with ``console``, warnings to stderr too. While the chat runs, ``TerminalGuard`` points
file descriptor 2 at the same file: C libraries (OpenBLAS, onnxruntime, ...) write their
warnings straight to fd 2, below anything Python or Textual can capture, and would
otherwise paint over the screen. Python ``warnings`` are routed to logging for the run.
A log file that stops taking writes (a full disk) is turned off for the run after one
line of warning, instead of logging's traceback on every record.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import warnings
from pathlib import Path
from typing import TextIO

LOG_NAME = "recbot.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_recbot_handler"      # "file" or "console" on the handlers this module installs


class LogFileError(Exception):
    """The log file cannot be written; the message says where and what to do."""


def log_dir() -> Path:
    """``$RECBOT_LOG_DIR``, else the platform's user log dir for recbot."""
    env = os.environ.get("RECBOT_LOG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("recbot", appauthor=False))


def log_file() -> Path:
    return log_dir() / LOG_NAME


def short_path(path: Path | str) -> str:
    """``path`` with the home directory written as ``~``."""
    text = str(path)
    home = str(Path.home())
    if home and home != "/" and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text


def _open_error(path: Path, err: OSError) -> LogFileError:
    reason = err.strerror or str(err)
    return LogFileError(f"cannot write the log file {path} ({reason}); "
                        "set RECBOT_LOG_DIR to a writable directory")


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file; the first write that fails with an OSError (no space left,
    an I/O error) says so in one line on stderr and turns the file off for the run."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        err = sys.exc_info()[1]
        if not isinstance(err, OSError):
            super().handleError(record)      # a bad format string: logging's own report
            return
        if self.failed:
            return
        self.failed = True
        try:
            sys.stderr.write(f"recbot: warning: cannot write the log file {self.baseFilename}"
                             f" ({err.strerror or err}); not logging to it for the rest of "
                             "this run\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass      # stderr may be that very file (the chat points fd 2 at it)


def _file_handler(path: Path) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _LogFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as err:
        raise _open_error(path, err) from None
    handler.setFormatter(logging.Formatter(FORMAT))
    setattr(handler, _MARK, "file")
    return handler


def _ours(kind: str) -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, _MARK, None) == kind]


def _drop(kind: str) -> None:
    root = logging.getLogger()
    for h in _ours(kind):
        root.removeHandler(h)
        h.close()


class _PlainFormatter(logging.Formatter):
    """A warning on the terminal quotes paths and titles: no escape sequence of theirs
    (or of a traceback's text) reaches it."""

    def format(self, record: logging.LogRecord) -> str:
        from recbot.agent.display import printable

        return printable(super().format(record))


def setup(verbose: bool = False, *, console: bool = True) -> Path:
    """Log to the log file at INFO (DEBUG when ``verbose``) and, with ``console``, to
    stderr at WARNING (INFO when ``verbose``). Calling it again replaces what an earlier
    call installed. Returns the log file; raises LogFileError when it cannot be written."""
    path = log_file()
    handler = _file_handler(path)          # fails before anything changed
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    _drop("file")
    _drop("console")
    root.addHandler(handler)
    if console:
        out = logging.StreamHandler(sys.stderr)
        out.setLevel(logging.INFO if verbose else logging.WARNING)
        out.setFormatter(_PlainFormatter("recbot: %(levelname)s: %(name)s: %(message)s"))
        setattr(out, _MARK, "console")
        root.addHandler(out)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return path


def reset() -> None:
    """Take out (and close) the handlers ``setup`` installed."""
    _drop("file")
    _drop("console")


class TerminalGuard:
    """Keeps everything but the UI off the terminal while a full-screen app runs.

    ``start()`` makes sure the log file is being written (installing a file handler when
    ``setup`` has not run), points fd 2 at it, mutes the console log
    handler ``setup`` installed (its stream is fd 2 now: the lines would land twice) and
    routes Python warnings to logging. It returns ``terminal``, a file on a duplicate of the
    original fd 2 for the UI to draw on. ``stop()`` undoes all of it; it may be called more
    than once. ``terminal`` stays open until ``close()`` (the UI may still write to it while
    it shuts down)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.terminal: TextIO | None = None
        self._saved_fd: int | None = None
        self._installed: logging.Handler | None = None
        self._root_level: int | None = None
        self._muted: list[tuple[logging.Handler, int]] = []
        self._warnings = False

    def start(self) -> TextIO:
        """Raises LogFileError (nothing changed) when the log file cannot be written."""
        root = logging.getLogger()
        current = [Path(h.baseFilename) for h in _ours("file") if hasattr(h, "baseFilename")]
        path = current[0] if current else log_file()          # where ``setup`` logs, if it ran
        handler = None if current else _file_handler(path)   # makes the dir, or raises
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as err:
            if handler is not None:
                handler.close()
            raise _open_error(path, err) from None
        if handler is not None:
            root.addHandler(handler)
            self._installed = handler
            if root.getEffectiveLevel() > logging.INFO:
                self._root_level = root.level
                root.setLevel(logging.INFO)
        self.path = path
        for stream in (sys.stderr, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        self._saved_fd = os.dup(2)
        encoding = getattr(sys.__stderr__, "encoding", None) or "utf-8"
        self.terminal = open(os.dup(self._saved_fd), "w", encoding=encoding,  # noqa: SIM115
                             errors="replace")
        os.dup2(fd, 2)
        os.close(fd)
        for h in _ours("console"):
            self._muted.append((h, h.level))
            h.setLevel(logging.CRITICAL + 1)
        if getattr(warnings.showwarning, "__module__", "") != "logging":
            logging.captureWarnings(True)
            self._warnings = True
        logging.getLogger(__name__).info("recbot chat started; fd 2 goes to this file")
        return self.terminal

    def stop(self) -> None:
        if self._saved_fd is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(self._saved_fd, 2)
        os.close(self._saved_fd)
        self._saved_fd = None
        if self._warnings:
            logging.captureWarnings(False)
            self._warnings = False
        for h, level in self._muted:
            h.setLevel(level)
        self._muted = []
        root = logging.getLogger()
        if self._installed is not None:
            root.removeHandler(self._installed)
            self._installed.close()
            self._installed = None
        if self._root_level is not None:
            root.setLevel(self._root_level)
            self._root_level = None

    def close(self) -> None:
        self.stop()
        if self.terminal is not None:
            try:
                self.terminal.close()
            except OSError:
                pass
            self.terminal = None
