"""What the catalogs must hold: every phrase the code passes through ``tr``, ``ntr``,
``ptr`` or marks with ``N_``, read from the source with ``ast`` (no code runs), the small
talk replies of ``rules/small_talk.toml``, the MovieLens genres, the critiques and the list
separators. ``python -m recbot.agent.i18n`` writes ``locale/recbot.pot`` from them and
lists, per language, what its ``.po`` lacks or fills wrongly (a placeholder the phrase does
not have, or one it drops)."""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from pathlib import Path

from . import LANGUAGES, LOCALE_DIR, parse_po

AGENT = Path(__file__).resolve().parent.parent
GENRES = ("Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
          "Sci-Fi", "Thriller", "War", "Western", "(no genres listed)")
SEPARATORS = (", ", " and ", " or ", "; ")
PUNCTUATION = (".", ":", "{first} {second}")


@dataclass(frozen=True, slots=True)
class Message:
    msgid: str
    plural: str | None = None
    context: str | None = None
    where: str = ""

    @property
    def key(self) -> str:
        key = self.msgid if self.plural is None else f"{self.msgid}\x00{self.plural}"
        return key if self.context is None else f"{self.context}\x04{key}"


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def from_source(root: Path = AGENT) -> list[Message]:
    """The phrases of the ``.py`` files under ``root``."""
    out: list[Message] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name, args = node.func.id, [_literal(a) for a in node.args]
            where = rel
            if name in ("tr", "N_") and args and args[0] is not None:
                out.append(Message(args[0], where=where))
            elif name == "ntr" and len(args) >= 2 and None not in args[:2]:
                out.append(Message(args[0], args[1], where=where))
            elif name == "ptr" and len(args) >= 2 and None not in args[:2]:
                out.append(Message(args[1], context=args[0], where=where))
    return out


def from_data() -> list[Message]:
    """The phrases the code looks up by value: replies of the small-talk rows, genres,
    critiques, list separators and punctuation."""
    import tomllib

    from ..kinds import CritiqueKind

    rows = tomllib.loads((AGENT / "reader" / "rules" / "small_talk.toml").read_text("utf-8"))
    out = [Message(r["reply"], where="reader/rules/small_talk.toml")
           for r in rows.get("small_talk", []) if r.get("reply")]
    out += [Message(g, context="genre") for g in GENRES]
    out += [Message(c.value.replace("_", " "), context="critique") for c in CritiqueKind]
    out += [Message(s, context="list") for s in SEPARATORS]
    out += [Message(p, context="punctuation") for p in PUNCTUATION]
    return out


def needed() -> list[Message]:
    """Each phrase once (first place it is used), phrases of no words (``"{genres}"``)
    left out."""
    seen: dict[str, Message] = {}
    for m in [*from_source(), *from_data()]:
        if m.context is None and not re.sub(r"\{[^}]*\}", "", m.msgid).strip():
            continue
        seen.setdefault(m.key, m)
    return list(seen.values())


def fields(text: str) -> set[str]:
    """The ``{placeholders}`` of a phrase (their names, without format specs)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def problems(lang: str, path: Path | None = None,
             messages: list[Message] | None = None) -> list[str]:
    """What the ``lang`` catalog (or the .po at ``path``) lacks or fills wrongly, one line
    each, against ``messages`` (the code's and the data's)."""
    path = path or LOCALE_DIR / lang / "LC_MESSAGES" / "recbot.po"
    have = parse_po(path.read_text(encoding="utf-8"))
    out = []
    for m in needed() if messages is None else messages:
        got = have.get(m.key)
        if got is None:
            out.append(f"{lang}: missing {m.msgid!r} ({m.where})")
            continue
        want = fields(m.msgid) | (fields(m.plural) if m.plural else set())
        for form in got.split("\x00"):
            if not fields(form) <= want:
                out.append(f"{lang}: {m.msgid!r} has fields {sorted(fields(form) - want)} "
                           f"the phrase has not")
            elif m.plural is None and fields(form) != fields(m.msgid):
                out.append(f"{lang}: {m.msgid!r} drops {sorted(fields(m.msgid) - fields(form))}")
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def pot() -> str:
    """The template catalog (``locale/recbot.pot``)."""
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for m in needed():
        if m.where:
            lines.append(f"#: {m.where}")
        if m.context is not None:
            lines.append(f"msgctxt {_quote(m.context)}")
        lines.append(f"msgid {_quote(m.msgid)}")
        if m.plural is not None:
            lines += [f"msgid_plural {_quote(m.plural)}", 'msgstr[0] ""', 'msgstr[1] ""']
        else:
            lines.append('msgstr ""')
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    (LOCALE_DIR / "recbot.pot").write_text(pot(), encoding="utf-8")
    bad = [line for lang in LANGUAGES if lang != "en" for line in problems(lang)]
    for line in bad:
        print(line)
    print(f"{len(needed())} phrases; {len(bad)} problems")
    return 1 if bad else 0
