"""What the message reader makes of thousands of real and typed messages, to compare
before and after a change to ``agent/reader/intent.py`` or the lexicon.

    python bench/parse_snapshot.py write OUT.jsonl      # every utterance and its reading
    python bench/parse_snapshot.py diff OLD.jsonl NEW.jsonl [--show 40]

The utterances: every seeker turn of the ReDial dev dialogues (both parts) alone and as the
turns so far joined into one message (what bench_redial.py's variant (a) sends), and every
string literal of the agent's test files that reads as a message. Nothing is learned from
them: the file is a regression check of the reader, run by hand around a refactor.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import gzip
import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIAL = ROOT.parent / "shared" / "data" / "redial" / "valid_data.jsonl.gz"
TEST_FILES = ("test_intent.py", "test_typed_asks.py", "test_subject_asks.py", "test_agent.py",
              "test_golden.py")


def utterances() -> list[str]:
    out: list[str] = []
    if REDIAL.exists():
        with gzip.open(REDIAL, "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                names = {k: v for k, v in (d.get("movieMentions") or {}).items() if v}
                seeker = d["initiatorWorkerId"]
                turns: list[str] = []
                for msg in d["messages"]:
                    text = re.sub(r"@(\d+)", lambda m, names=names: names.get(m.group(1), ""),
                                  html.unescape(msg["text"]))
                    text = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())
                    if msg["senderWorkerId"] == seeker and text:
                        turns.append(text)
                        out.append(text)
                        out.append("\n".join(turns)[-1900:])
    for name in TEST_FILES:
        path = ROOT / "tests" / "agent" / name
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value
                if 2 <= len(s) <= 300 and " " in s.strip() and "\n" not in s and "(" not in s[:1]:
                    out.append(s)
    golden = ROOT / "tests" / "agent" / "golden"
    for path in sorted(golden.glob("*.tsv")) if golden.exists() else ():
        for line in path.read_text().splitlines()[1:]:
            if line.strip() and not line.startswith("#"):
                out.append(line.split("\t")[0])
    return list(dict.fromkeys(out))


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def reading(text: str, finder) -> dict:
    from recbot.agent.reader.intent import InputError, parse

    try:
        it = parse(text, finder, max_year=2018)
    except InputError as err:
        return {"error": str(err)}
    out = _plain(it)
    out["acts"] = it.acts
    out["has_ask"] = it.has_ask
    frames = getattr(it, "frames", None)
    if callable(frames):
        out["frames"] = [repr(f) for f in frames()]
    return out


def write(path: Path) -> None:
    from recbot.agent.reader.mentions import MentionFinder
    from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

    finder = MentionFinder(load_catalog(BUNDLED_DATASET_DIR))
    texts = utterances()
    with path.open("w", encoding="utf-8") as fh:
        for text in texts:
            fh.write(json.dumps({"text": text, "reading": reading(text, finder)},
                                ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(texts)} utterances -> {path}")


def diff(old: Path, new: Path, show: int, ignore: set[str]) -> int:
    a = {r["text"]: r["reading"] for r in map(json.loads, old.open(encoding="utf-8"))}
    b = {r["text"]: r["reading"] for r in map(json.loads, new.open(encoding="utf-8"))}
    common = [t for t in a if t in b]
    changed = []
    for t in common:
        keys = (set(a[t]) | set(b[t])) - ignore
        d = {k: (a[t].get(k), b[t].get(k)) for k in sorted(keys) if a[t].get(k) != b[t].get(k)}
        if d:
            changed.append((t, d))
    print(f"{len(common)} utterances in both; {len(changed)} read differently")
    fields: dict[str, int] = {}
    for _, d in changed:
        for k in d:
            fields[k] = fields.get(k, 0) + 1
    if fields:
        print("fields changed: " + ", ".join(f"{k} {n}" for k, n in sorted(
            fields.items(), key=lambda x: -x[1])))
    for t, d in changed[:show]:
        print(f"\n{t[:160]!r}")
        for k, (x, y) in d.items():
            print(f"   {k}: {json.dumps(x, ensure_ascii=False)[:150]} -> "
                  f"{json.dumps(y, ensure_ascii=False)[:150]}")
    return 1 if changed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out", type=Path)
    d = sub.add_parser("diff")
    d.add_argument("old", type=Path)
    d.add_argument("new", type=Path)
    d.add_argument("--show", type=int, default=40)
    d.add_argument("--ignore", default="frames", help="comma-separated fields not compared")
    args = ap.parse_args()
    if args.cmd == "write":
        write(args.out)
        return 0
    return diff(args.old, args.new, args.show, set(filter(None, args.ignore.split(","))))


if __name__ == "__main__":
    sys.exit(main())
