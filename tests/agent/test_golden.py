"""The golden table: each row of golden/frames.tsv is a message and the frames recbot must
read from it (``agent.reader.frames``), run against the bundled catalog.

A row: ``message <TAB> frames <TAB> note``. Frames are separated by `` // ``; a frame is
``kind: field=value; field=value`` (``kind`` alone when it has no fields to check). The
kinds of the frames must be exactly these, in this order; each field written must have
this value; fields not written are not checked. Values as ``agent.frames.render`` writes
them: lists joined by `` + ``, a genre group's alternatives by ``|``, films as
``Title (year)``, yes/no for flags. Adding a rule: one row in its rules file
(agent/reader/rules/), one row here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recbot.agent.reader.frames import KINDS, render
from recbot.agent.reader.intent import read
from recbot.agent.reader.mentions import MentionFinder
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

TABLE = Path(__file__).parent / "golden" / "frames.tsv"


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for n, line in enumerate(TABLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        assert len(parts) in (2, 3), f"{TABLE.name}:{n}: message, frames and a note, by tabs"
        rows.append((parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return rows


def parse_expected(spec: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for frame in spec.split(" // "):
        kind, _, body = frame.partition(":")
        kind = kind.strip()
        assert kind in KINDS, f"unknown frame kind {kind!r} (known: {', '.join(KINDS)})"
        fields = {}
        for item in filter(None, (x.strip() for x in body.split("; "))):
            name, _, value = item.partition("=")
            fields[name.strip()] = value.strip()
        out.append((kind, fields))
    return out


def show(frames) -> str:
    return " // ".join(type(f).__name__.lower() + (": " + "; ".join(
        f"{k}={v}" for k, v in render(f).items()) if render(f) else "") for f in frames)


@pytest.fixture(scope="module")
def finder():
    return MentionFinder(load_catalog(BUNDLED_DATASET_DIR))


ROWS = _rows()


def test_the_table_has_rows_and_no_duplicates():
    messages = [m for m, _, _ in ROWS]
    assert len(messages) >= 100 and len(set(messages)) == len(messages)


@pytest.mark.parametrize("message, spec, note", ROWS, ids=[m[:50] for m, _, _ in ROWS])
def test_golden(finder, message, spec, note):
    frames = read(message, finder, max_year=2018)
    want = parse_expected(spec)
    got = [(type(f).__name__.lower(), render(f)) for f in frames]
    assert [k for k, _ in got] == [k for k, _ in want], f"read as: {show(frames)}"
    for (kind, fields), (_, have) in zip(want, got):
        for name, value in fields.items():
            assert have.get(name, "") == value, \
                f"{kind}.{name}: {have.get(name, '')!r}, not {value!r}; read as: {show(frames)}"


POLARITY = Path(__file__).parent / "golden" / "polarity.tsv"


def test_negative_and_hedged_sentences_are_read_right(finder):
    """golden/polarity.tsv: at least 50 negative or hedged sentences, at least 90% of them
    read into exactly the frames written (the misses are printed)."""
    rows = [line.split("\t") for line in POLARITY.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    assert len(rows) >= 50
    misses = []
    for message, spec in rows:
        expected = parse_expected(spec)
        got = read(message, finder, max_year=2018)
        if [type(f).__name__.lower() for f in got] != [k for k, _ in expected] or not all(
                all(render(f).get(n, "") == v for n, v in fields.items())
                for f, (_, fields) in zip(got, expected)):
            misses.append(f"{message!r}: {' // '.join(type(f).__name__ for f in got)}")
    print("\n".join(misses))
    assert len(misses) <= 0.1 * len(rows), misses


def test_no_ask_of_the_golden_tables_gets_an_empty_list(make_agent):
    """Every message of the golden tables that asks for films (an Ask frame, no question, no
    unclear title), asked in a fresh session through the real agent, gets a non-empty list:
    when nothing fits every filter the weakest go, and the reply says which."""
    agent = make_agent()
    asks = []
    for table in (TABLE, POLARITY):
        for line in table.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            message, spec = line.split("\t")[:2]
            kinds = [k for k, _ in parse_expected(spec)]
            if "ask" in kinds and not {"question", "unclear", "foreign", "help"} & set(kinds):
                asks.append(message)
    assert len(asks) >= 100
    empty = []
    for message in asks:
        ans = agent.ask(message)
        if ans.kind not in ("recommend", "clarify") or (ans.kind == "recommend"
                                                        and not ans.recommendations):
            empty.append(f"{message!r} -> {ans.kind}: {ans.reply[:80]}")
    assert not empty, "\n".join(empty)
