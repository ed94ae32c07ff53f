"""Replies in the language of the ask: the fixed phrases of recbot's answers through
gettext catalogs (``locale/<lang>/LC_MESSAGES/recbot.po``).

A turn speaks one language (``speaking(lang)`` around it; English unless said). Code
writes its phrases in English and passes them through ``tr`` (``ntr`` for a count,
``ptr`` with a context such as ``"genre"``); English returns the phrase itself, so the
English path costs a context-variable read and nothing else. The catalogs are plain
``.po`` files, read at first use by a small parser and handed to the standard library's
``gettext.GNUTranslations`` as an in-memory ``.mo`` (no ``msgfmt`` step, no dependency):
it does the charset, the ``Plural-Forms`` rule and the fallback to English for a phrase
not translated yet. Placeholders are ``str.format`` names (``{n}``, ``{title}``), filled
after the lookup; film titles, tags and plot text are data and stay as the catalog has
them. ``python -m recbot.agent.i18n`` lists what a catalog lacks.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gettext

LANGUAGES = ("en", "zh", "es")
"""The languages recbot answers in; English is the source language (no catalog)."""

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "recbot"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("recbot_lang", default="en")


def current() -> str:
    """The language of the turn being answered."""
    return _current.get()


@contextlib.contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Answer in ``lang`` inside the block (English for None or a language recbot does
    not answer in)."""
    lang = lang if lang in LANGUAGES else "en"
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def tr(message: str, /, **fields) -> str:
    """``message`` in the turn's language, its ``{fields}`` filled."""
    lang = _current.get()
    text = message if lang == "en" else _catalog(lang).gettext(message)
    return text.format(**fields) if fields else text


def ntr(singular: str, plural: str, n: int, /, **fields) -> str:
    """The form for ``n`` in the turn's language (``{n}`` is filled too)."""
    lang = _current.get()
    if lang == "en":
        text = singular if n == 1 else plural
    else:
        text = _catalog(lang).ngettext(singular, plural, n)
    return text.format(n=n, **fields)


def ptr(context: str, message: str, /, **fields) -> str:
    """``message`` in a context (``ptr("genre", "Drama")``) in the turn's language."""
    lang = _current.get()
    text = message if lang == "en" else _catalog(lang).pgettext(context, message)
    return text.format(**fields) if fields else text


def genre(name: str) -> str:
    """A MovieLens genre's name in the turn's language."""
    return ptr("genre", name)


def join(items: Sequence[str], by: str = ", ") -> str:
    """Items joined by ``by`` in the turn's language: ``join(["A", "B"])`` is "A, B" in
    English and "A、B" in Chinese; ``join(names, " and ")`` is "A and B", "A y B", "A 和 B"."""
    return ptr("list", by).join(items)


def either(items: Sequence[str], last: str = " or ") -> str:
    """"A, B or C" in the turn's language (the last two joined by ``last``)."""
    items = list(items)
    if len(items) < 2:
        return join(items)
    return join(items[:-1]) + ptr("list", last) + items[-1]


def sentences(parts: Sequence[str]) -> str:
    """Sentences one after another: a space between them in English and Spanish, nothing
    in Chinese (its full stop "。" is wide)."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    pair = ptr("punctuation", "{first} {second}")
    text = parts[0]
    for part in parts[1:]:
        text = pair.format(first=text, second=part)
    return text


def N_(message: str) -> str:     # noqa: N802 — gettext's name for "mark, translate later"
    """``message`` as it is, marked for the catalogs (translated where it is used)."""
    return message


def sentence(clause: str) -> str:
    """A clause as a sentence of the turn's language: a capital first letter where the
    script has one, and the language's full stop unless it ends in one already."""
    clause = clause.strip()
    if not clause:
        return clause
    clause = clause[0].upper() + clause[1:]
    ends = (".", "!", "?", "。", "！", "？", "…")
    if clause.endswith(ends) or (clause.endswith(("\"", "”")) and clause[:-1].endswith(ends)):
        return clause
    return clause + ptr("punctuation", ".")


# -- the catalogs ---------------------------------------------------------------------------

class CatalogError(ValueError):
    """A .po file that cannot be read (its line number says where)."""


@functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    import gettext
    import io

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        entries = parse_po(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, CatalogError) as err:
        import logging

        logging.getLogger(__name__).warning("no %s replies (%s): answering in English",
                                            lang, err)
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(mo_bytes(entries)))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(.)")
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"\s*$')


def _unquote(s: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), s)


def parse_po(text: str) -> dict[str, str]:
    """The entries of a .po file as a .mo file keys them: ``"ctxt\\x04id"`` with a
    context, ``"id\\x00plural"`` for plural forms (the forms joined by ``"\\x00"``).
    Fuzzy entries (but the header), obsolete (``#~``) and untranslated ones are left out,
    as GNU msgfmt does."""
    catalog: dict[str, str] = {}
    entry: dict = {}
    field: object = None
    fuzzy = False

    def flush() -> None:
        nonlocal entry, field, fuzzy
        if "msgid" in entry and (not fuzzy or entry["msgid"] == ""):
            forms = [entry[k] for k in sorted(k for k in entry if isinstance(k, int))]
            if "msgid_plural" in entry:
                key, value = entry["msgid"] + "\x00" + entry["msgid_plural"], "\x00".join(forms)
            else:
                key, value = entry["msgid"], entry.get("msgstr", "")
            if "msgctxt" in entry:
                key = entry["msgctxt"] + "\x04" + key
            if value.strip("\x00"):
                catalog[key] = value
        entry, field, fuzzy = {}, None, False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if field not in (None, "comment"):
                flush()
            field = "comment"
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        m = _KEYWORD.match(line)
        if m:
            kw, index, s = m.groups()
            if kw in ("msgctxt", "msgid") and any(isinstance(k, int) or k == "msgstr"
                                                  for k in entry):
                flush()
            field = int(index) if index is not None else kw
            entry[field] = _unquote(s)
        elif line.startswith('"') and line.endswith('"') and field not in (None, "comment"):
            entry[field] += _unquote(line[1:-1])
        else:
            raise CatalogError(f"line {lineno}: cannot read {raw[:60]!r}")
    flush()
    return catalog


def mo_bytes(catalog: dict[str, str]) -> bytes:
    """``catalog`` packed as a GNU .mo file (little-endian, revision 0, no hash table)."""
    import struct

    keys = sorted(catalog, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [catalog[k].encode("utf-8") for k in keys]
    n = len(keys)
    pos = 7 * 4 + 16 * n
    id_offsets, str_offsets = [], []
    for b in ids:
        id_offsets.append((len(b), pos))
        pos += len(b) + 1
    for b in strs:
        str_offsets.append((len(b), pos))
        pos += len(b) + 1
    out = [struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)]
    out += [struct.pack("<2I", *o) for o in id_offsets + str_offsets]
    out += [b + b"\x00" for b in ids + strs]
    return b"".join(out)
