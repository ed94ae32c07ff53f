"""Which of recbot's modules and functions one chat turn runs through.

    python bench/trace_turn.py [--data-dir DIR] [--llm none] "like Heat but funnier, nothing before 1990"

The agent is built and warmed first (catalog, ranker, title index: start-up), then one
turn runs under ``sys.setprofile``; every call into a function defined in recbot's own
files is recorded. Prints the modules of ``recbot.agent`` the turn entered (in first-entry
order, with how many of their functions ran), the count of recbot functions, the switches
between files and the returns to a file already left. A warm-up turn on other words runs
first, so lazily built caches are start-up too. ``--out`` writes the table as markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def trace(agent, text: str) -> list[tuple[str, str]]:
    """(module file relative to the repo, function name) of every call into recbot's code."""
    calls: list[tuple[str, str]] = []
    root = str(ROOT) + os.sep

    def prof(frame, event, _arg):
        if event != "call":
            return
        f = frame.f_code.co_filename
        if f.startswith(root) and "/.venv/" not in f and "/bench/" not in f:
            calls.append((f[len(root):], frame.f_code.co_qualname))

    sys.setprofile(prof)
    try:
        agent.ask(text, session=None)
    finally:
        sys.setprofile(None)
    return calls


def unit(path: str) -> str:
    """A module of agent/, or the package under agent/ that holds it ("agent/chat.py",
    "agent/reader/")."""
    parts = path.split("/")
    return path if len(parts) == 2 else "/".join(parts[:2]) + "/"


def summarise(calls: list[tuple[str, str]]) -> dict:
    """Files in first-entry order with the functions run in each; the switches between
    files and the returns to a file already left, counted on the sequence of each
    function's first call (a loop calling back and forth counts once)."""
    order: list[str] = []
    funcs: dict[str, set[str]] = {}
    switches = returns = 0
    left: set[str] = set()
    prev = None
    seen: set[tuple[str, str]] = set()
    firsts = []
    for call in calls:
        if call not in seen:
            seen.add(call)
            firsts.append(call)
    for mod, fn in firsts:
        if mod not in funcs:
            order.append(mod)
            funcs[mod] = set()
        funcs[mod].add(fn)
        if prev is not None and mod != prev:
            switches += 1
            if mod in left:
                returns += 1
            left.add(prev)
        prev = mod
    return {"order": order, "funcs": funcs, "switches": switches, "returns": returns,
            "n_funcs": sum(len(v) for v in funcs.values())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("text", nargs="?", default="like Heat but funnier, nothing before 1990")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--llm", default="none")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from recbot.agent.compose import build_agent
    from recbot.agent.settings import Settings

    settings = Settings.load(data_dir=args.data_dir) if args.data_dir else Settings.load()
    agent = build_agent(settings, args.llm)
    agent.warm()
    agent.ask("a funny animated film", session=None)   # lazily built caches: start-up
    summary = summarise(trace(agent, args.text))
    agent_files = [m for m in summary["order"] if m.startswith("agent/")]
    units = list(dict.fromkeys(unit(m) for m in agent_files))
    lines = [f"# One turn traced: `{args.text}` (--llm {args.llm})", "",
             f"- modules of agent/ entered (a package under agent/ counts once): "
             f"**{len(units)}**: {', '.join(units)}",
             f"- files of agent/ entered: {len(agent_files)}",
             f"- recbot functions run: {summary['n_funcs']}; files entered: "
             f"{len(summary['order'])}; switches between files: {summary['switches']}; "
             f"returns to a file already left: {summary['returns']}", "",
             "| module | functions run |", "|---|---|"]
    lines += [f"| {m} | {len(summary['funcs'][m])} |" for m in summary["order"]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
