"""Text from data made safe to show: no escape sequences, no control characters.

Titles, file names, tags, transcripts, an LLM's words and whatever a CSV or a restored data
dir holds can carry terminal escapes (``ESC ] 52`` writes the clipboard, ``ESC [ 2 J``
clears the screen) or bidirectional overrides that reorder what a terminal shows. Every
string recbot prints or writes for another program passes through one of these first.
Plain text (nearly all of it) comes back unchanged, at the cost of one regex search.
"""

from __future__ import annotations

import os
import re

# Escape sequences, whole: CSI (ESC [ or its 8-bit form, ... final), OSC/DCS/SOS/PM/APC
# strings (to BEL or ST, or to the end when unterminated), then any other ESC + one char.
# The 8-bit string starters are removed on their own below: text after a stray one stays.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x7e]?"
)
# Control characters (Unicode Cc: C0, DEL, C1) and the bidirectional overrides and
# isolates (they reorder what a terminal shows); the whitespace among them becomes a space.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = f"[\x00-\x1f\x7f-\x9f{BIDI}]"   # as a pattern (text read as UTF-8 has no surrogates)
# Lone surrogates (a file name that is not UTF-8, as Python reads it) cannot be printed:
# they show as U+FFFD.
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}\ud800-\udfff]")
_CONTROLS = {c: " " if chr(c).isspace() else None
             for c in (*range(0x20), *range(0x7f, 0xa0), *map(ord, BIDI))}
_CONTROLS.update(dict.fromkeys(range(0xD800, 0xE000), "\ufffd"))
_KEEP_LINES = {**_CONTROLS, ord("\n"): "\n", ord("\t"): "\t"}
_UNSAFE_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}\ud800-\udfff]")
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...)).
_FORMULA_START = ("=", "+", "-", "@")


def one_line(text: str) -> str:
    """``text`` with escape sequences and control characters removed (line breaks and tabs
    become spaces); unchanged when it has none."""
    if not UNSAFE.search(text):
        return text
    return _ESCAPES.sub("", text).translate(_CONTROLS)


def printable(text: str) -> str:
    """``text`` with escape sequences and control characters removed, line breaks and tabs
    kept: for messages of several lines."""
    if not _UNSAFE_LINES.search(text):
        return text
    return _ESCAPES.sub("", text.replace("\r\n", "\n")).translate(_KEEP_LINES)


def csv_cell(value):
    """A CSV cell safe to open in a spreadsheet: text is made :func:`one_line`, and text
    that would start a formula gets a leading apostrophe (shown, never run). Numbers and
    None pass as they are."""
    if not isinstance(value, str):
        return value
    value = one_line(value)
    if value.lstrip().startswith(_FORMULA_START):
        return "'" + value
    return value


_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{BIDI}\ud800-\udfff]")


def json_text(text: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` gives it) with the C1 controls,
    the bidirectional marks and lone surrogates (a file name that is not UTF-8) escaped as
    ``\\uXXXX`` too: json escapes only the C0 ones, and a lone surrogate is not UTF-8."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def path_text(path: str | os.PathLike) -> str:
    """``path`` as text that is valid UTF-8 everywhere (ledger, store, JSON, terminal): the
    bytes of a name that is not UTF-8 are written as ``\\xNN`` ("caf\\xe9.wav"), the same
    every time, so the file keeps one ledger row."""
    text = str(path)
    if text.isascii():
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:      # a surrogate no file system gave: escape it as it is
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
