"""The words and patterns recbot reads messages with, loaded once from ``agent/reader/rules/``.

Code holds mechanisms; the rules are data. Each file of ``agent/reader/rules/`` is one rule family
(genres, moods, subjects, studios, critiques, small talk, questions, feedback, title cues,
everyday words, explanation words). A file may hold:

- ``[words]``: named word lists, a string of space-separated words or an array (for
  entries with spaces);
- ``[patterns]``: named regular expressions, a string or an array of fragments joined as
  they are; ``<<name>>`` inserts the pattern ``name`` of the same file or ``<<file.name>>``
  of another (``(?i)`` at the start makes one case-blind);
- ``[[row]]`` tables of a family (``[[genre]]``, ``[[mood]]``, ``[[studio]]``...), one rule
  per row with its words, whether it can be negated, and a ``note``.

Everything is checked when loaded: a pattern that does not compile, an unknown ``<<name>>``
or a row without its required fields stops with a ``LexiconError`` naming file and key.
The parser (``agent.reader.intent``), the title spotter (``agent.reader.mentions``), the candidate
sources (``agent.candidates``) and the explanations (``agent.explain.grounding``) all read one
``lexicon()``.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..kinds import CritiqueKind

RULES_DIR = Path(__file__).resolve().parent / "rules"
_REF = re.compile(r"<<([\w.]+)>>")
# fields every row of a family must have
_REQUIRED = {
    "genre": ("genres", "words"),
    "comparative": ("pattern",),
    "mood": ("name", "words", "tags"),
    "studio": ("name", "aliases", "titles"),
    "critique": ("name", "pattern"),
    "small_talk": ("name", "pattern", "reply"),
    "fact_question": ("facet", "pattern"),
    "feedback": ("kind", "pattern"),
}


class LexiconError(ValueError):
    """A rules file is broken; the message names the file and the key."""


@dataclass(frozen=True)
class Genre:
    """Words that ask for any one of ``genres``; ``together`` rows ask for all of them
    ("rom com": a romance and a comedy)."""

    genres: tuple[str, ...]
    words: tuple[str, ...]
    adjectives: frozenset[str] = frozenset()
    negatable: bool = True
    together: bool = False
    note: str = ""
    # a word followed by this (a regex) tells of people, not of films: "my kid was having a
    # tantrum" asks for no children's film
    not_before: str = ""
    # genres a negated word also leans away from ("nothing scary": no horror, fewer thrillers)
    negated_lean: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mood:
    """A feeling asked for ("a sad movie") and the MovieLens tags that say a film has it."""

    name: str
    words: tuple[str, ...]
    tags: tuple[str, ...]
    negatable: bool = True
    note: str = ""


@dataclass(frozen=True)
class Studio:
    """Who made a film, which no plot says: its titles and directors."""

    name: str
    aliases: tuple[str, ...]
    titles: re.Pattern
    directors: frozenset[str] = frozenset()
    note: str = ""


@dataclass(frozen=True)
class Rule:
    """A named pattern with what it means (a critique, a kind of small talk...)."""

    name: str
    pattern: re.Pattern
    extra: dict = field(default_factory=dict)
    negatable: bool = False
    note: str = ""


@dataclass(frozen=True)
class Lexicon:
    _words: dict[str, frozenset[str]]
    _lists: dict[str, tuple[str, ...]]
    _patterns: dict[str, re.Pattern]
    _tables: dict[str, dict]
    genres: tuple[Genre, ...]
    moods: tuple[Mood, ...]
    studios: tuple[Studio, ...]
    critiques: tuple[Rule, ...]
    comparatives: tuple[Rule, ...]
    small_talk: tuple[Rule, ...]
    fact_questions: tuple[Rule, ...]
    feedback: tuple[Rule, ...]

    def words(self, name: str) -> frozenset[str]:
        """The word list ``file.name`` as a set."""
        try:
            return self._words[name]
        except KeyError:
            raise LexiconError(f"no word list {name!r} in {RULES_DIR}") from None

    def word_list(self, name: str) -> tuple[str, ...]:
        """The word list ``file.name`` in the order written (alternatives try in order)."""
        try:
            return self._lists[name]
        except KeyError:
            raise LexiconError(f"no word list {name!r} in {RULES_DIR}") from None

    def re(self, name: str) -> re.Pattern:
        """The compiled pattern ``file.name``."""
        try:
            return self._patterns[name]
        except KeyError:
            raise LexiconError(f"no pattern {name!r} in {RULES_DIR}") from None

    def source(self, name: str) -> str:
        """A pattern's text, to build a larger one from (``<<name>>`` in the data does this)."""
        return self.re(name).pattern

    def table(self, name: str) -> dict:
        """The key-value table ``file.name`` (number words, ordinals, replies)."""
        try:
            return self._tables[name]
        except KeyError:
            raise LexiconError(f"no table {name!r} in {RULES_DIR}") from None

    # -- views the readers share ---------------------------------------------------------
    @functools.cached_property
    def genre_words(self) -> dict[str, tuple[str, ...]]:
        """Word -> the genres it asks for (any one of them), longest words first."""
        out = {w: g.genres for g in self.genres if not g.together for w in g.words}
        return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))

    @functools.cached_property
    def genre_together(self) -> dict[str, tuple[str, ...]]:
        """Word -> genres that must all hold ("rom com")."""
        return {w: g.genres for g in self.genres if g.together for w in g.words}

    @functools.cached_property
    def genre_adjectives(self) -> frozenset[str]:
        return frozenset(w for g in self.genres for w in g.adjectives)

    @functools.cached_property
    def mood_words(self) -> dict[str, str]:
        """Word of an ask -> the mood family it names ("tearjerker" -> "sad")."""
        return {w: m.name for m in self.moods for w in m.words}

    @functools.cached_property
    def mood_tags(self) -> dict[str, tuple[str, ...]]:
        return {m.name: m.tags for m in self.moods}

    @functools.cached_property
    def studio_words(self) -> dict[str, str]:
        """An alias as the parser reports it -> the studio ("ghibli" -> "studio ghibli")."""
        return {a: s.name for s in self.studios for a in s.aliases}


def _flatten(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    raise LexiconError(f"{where}: a pattern is a string or a list of strings")


def _word_list(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise LexiconError(f"{where}: a word list is a string of words or a list of strings")


def _compile_all(raw: dict[str, str]) -> dict[str, re.Pattern]:
    """Resolve ``<<name>>`` references (same file first, then ``file.name``) and compile."""
    done: dict[str, str] = {}

    def expand(key: str, stack: tuple[str, ...]) -> str:
        if key in done:
            return done[key]
        if key in stack:
            raise LexiconError(f"pattern {key!r} refers to itself through "
                               f"{' -> '.join(stack)}")
        text = raw[key]
        file = key.split(".", 1)[0]

        def sub(m: re.Match) -> str:
            ref = m.group(1)
            full = ref if ref in raw else f"{file}.{ref}"
            if full not in raw:
                raise LexiconError(f"pattern {key!r} uses <<{ref}>>, which no rules file "
                                   f"defines")
            inner = expand(full, (*stack, key))
            return inner[4:] if inner.startswith("(?i)") else inner

        done[key] = _REF.sub(sub, text)
        return done[key]

    out = {}
    for key in raw:
        text = expand(key, ())
        try:
            out[key] = re.compile(text)
        except re.error as err:
            raise LexiconError(f"pattern {key!r} does not compile: {err}") from None
    return out


def _rows(kind: str, rows, file: str) -> list[dict]:
    if not isinstance(rows, list):
        raise LexiconError(f"{file}: [[{kind}]] must be a list of tables")
    for i, row in enumerate(rows, 1):
        missing = [f for f in _REQUIRED.get(kind, ()) if f not in row]
        if missing:
            raise LexiconError(f"{file}: [[{kind}]] row {i} lacks {', '.join(missing)}")
    return rows


@functools.cache
def lexicon(rules_dir: Path = RULES_DIR) -> Lexicon:
    """Every rules file of ``rules_dir``, checked and compiled (once per process)."""
    words: dict[str, frozenset[str]] = {}
    lists: dict[str, tuple[str, ...]] = {}
    raw: dict[str, str] = {}
    tables: dict[str, dict] = {}
    rows: dict[str, list[tuple[str, dict]]] = {}
    files = sorted(rules_dir.glob("*.toml"))
    if not files:
        raise LexiconError(f"no rules files in {rules_dir}; reinstall recbot")
    for path in files:
        stem = path.stem
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise LexiconError(f"{path.name}: {err}") from None
        for name, value in data.pop("words", {}).items():
            lists[f"{stem}.{name}"] = _word_list(value, f"{path.name} [words] {name}")
            words[f"{stem}.{name}"] = frozenset(lists[f"{stem}.{name}"])
        for name, value in data.pop("patterns", {}).items():
            raw[f"{stem}.{name}"] = _flatten(value, f"{path.name} [patterns] {name}")
        for name, value in data.pop("tables", {}).items():
            tables[f"{stem}.{name}"] = dict(value)
        for kind, value in data.items():
            if kind in ("note",):
                continue
            for row in _rows(kind, value, path.name):
                if "pattern" in row:
                    raw[f"{stem}.{kind}:{len(rows.get(kind, []))}"] = _flatten(
                        row["pattern"], f"{path.name} [[{kind}]]")
                if "titles" in row:
                    raw[f"{stem}.{kind}:titles:{row['name']}"] = _flatten(
                        row["titles"], f"{path.name} [[{kind}]] {row['name']}")
                rows.setdefault(kind, []).append((stem, row))
    patterns = _compile_all(raw)

    def rule_rows(kind: str) -> tuple[Rule, ...]:
        out = []
        for i, (stem, row) in enumerate(rows.get(kind, [])):
            name = row.get("name") or row.get("kind") or row.get("facet") or str(i)
            extra = {k: v for k, v in row.items()
                     if k not in ("name", "pattern", "negatable", "note")}
            out.append(Rule(name, patterns[f"{stem}.{kind}:{i}"], extra,
                            bool(row.get("negatable", False)), row.get("note", "")))
        return tuple(out)

    genres = tuple(Genre(tuple(r["genres"]), _word_list(r["words"], "genre"),
                         frozenset(_word_list(r.get("adjectives", ""), "genre")),
                         bool(r.get("negatable", True)), bool(r.get("together", False)),
                         r.get("note", ""), r.get("not_before", ""),
                         tuple(r.get("negated_lean", ())))
                   for _, r in rows.get("genre", []))
    moods = tuple(Mood(r["name"], _word_list(r["words"], "mood"), _word_list(r["tags"], "mood"),
                       bool(r.get("negatable", True)), r.get("note", ""))
                  for _, r in rows.get("mood", []))
    studios = tuple(Studio(r["name"], _word_list(r["aliases"], "studio"),
                           patterns[f"{stem}.studio:titles:{r['name']}"],
                           frozenset(_word_list(r.get("directors", ""), "studio")),
                           r.get("note", "")) for stem, r in rows.get("studio", []))
    critiques = rule_rows("critique")
    for rule in critiques:      # a critique the candidate sources cannot apply is a typo
        if rule.name not in CritiqueKind.__members__.values():
            raise LexiconError(f"{rules_dir / 'critiques.toml'}: critique {rule.name!r} is none "
                               f"of {', '.join(CritiqueKind)} (agent/kinds.py)")
    return Lexicon(words, lists, patterns, tables, genres, moods, studios,
                   critiques, rule_rows("comparative"), rule_rows("small_talk"),
                   rule_rows("fact_question"), rule_rows("feedback"))
