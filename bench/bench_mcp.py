"""Benchmark: `recbot mcp`, one warm process, through the MCP SDK's own stdio client.

    python bench/bench_mcp.py [--data-dir DIR] [--rounds 2]

Starts the real console script (`recbot mcp --llm none`) on a data dir that has had its
first run (RECBOT_DATA_DIR, or --data-dir), times the start-up (process start to the
end of `initialize`: the server warms the catalog, ranker and index before it reads the
first request), the first `recommend`, then every later call: typed asks in new sessions
and follow-ups in them (target: recommend p95 <= 0.3 s after the first call), and a few
`why`, `similar` and `search` calls. Writes bench/results/mcp.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "mcp.md"
RECBOT = Path(sys.executable).with_name("recbot")

ASKS = [
    "something like Heat", "a funny animated film, nothing before 2000",
    "anything with Meryl Streep?", "a scary movie for tonight", "something like Forrest Gump",
    "a heist film with a clever twist", "romantic comedies from the 90s",
    "a war movie that isn't too long", "I loved The Matrix, what else?",
    "a feel-good film for a rainy Sunday", "something like Amélie",
    "a space adventure", "films directed by Christopher Nolan", "a courtroom drama",
    "a movie about dogs", "something like Toy Story but for adults",
]
FOLLOW_UPS = ["none of these", "older", "something lighter", "more like the first one"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


async def run(data_dir: Path, rounds: int) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["RECBOT_DATA_DIR"] = str(data_dir)
    params = StdioServerParameters(command=str(RECBOT), args=["mcp", "--llm", "none"], env=env)
    times: dict[str, list[float]] = {"recommend": [], "follow-up": [], "why": [],
                                     "similar": [], "search": []}
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            startup = time.perf_counter() - t0

            async def call(kind: str, tool: str, **args) -> dict:
                t = time.perf_counter()
                res = await s.call_tool(tool, args)
                times[kind].append(time.perf_counter() - t)
                assert not res.is_error, res.content
                return json.loads(res.content[0].text)

            t = time.perf_counter()
            await s.call_tool("recommend", {"message": "something like Heat"})
            first = time.perf_counter() - t
            for r in range(rounds):
                for i, ask in enumerate(ASKS):
                    got = await call("recommend", "recommend", message=ask)
                    sid = got["session"]
                    await call("follow-up", "recommend", message=FOLLOW_UPS[(i + r) % 4],
                               session=sid)
                    if i % 4 == 0:
                        await call("why", "why", session=sid, film="2")
                        await call("similar", "similar", title="Alien")
                        await call("search", "search", query=ask)
    return {"startup": startup, "first": first, "times": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=os.environ.get("RECBOT_DATA_DIR"),
                    help="a data dir after its first run (default: RECBOT_DATA_DIR)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not args.data_dir:
        sys.exit("bench_mcp: give --data-dir or set RECBOT_DATA_DIR (a data dir after its "
                 "first run: `recbot index` done)")
    got = asyncio.run(run(args.data_dir, args.rounds))
    rec = got["times"]["recommend"] + got["times"]["follow-up"]
    lines = [
        "# `recbot mcp`: one warm process, the MCP SDK's stdio client",
        "",
        f"`python bench/bench_mcp.py --rounds {args.rounds}` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {date.today()}; no LLM.",
        "",
        f"**recommend after the first call: p95 {pct(rec, 95):.3f} s** (target <= 0.3 s), "
        f"p50 {statistics.median(rec):.3f} s, max {max(rec):.3f} s over {len(rec)} calls.",
        "",
        "| what | calls | p50 s | p95 s | max s |",
        "|---|---|---|---|---|",
        f"| start-up: process start to `initialize` done | 1 | "
        f"{got['startup']:.2f} | | |",
        f"| first `recommend` (waits for the warm-up) | 1 | {got['first']:.3f} | | |",
    ]
    for kind, values in got["times"].items():
        if values:
            lines.append(f"| `{kind}` | {len(values)} | {statistics.median(values):.3f} | "
                         f"{pct(values, 95):.3f} | {max(values):.3f} |")
    lines.append(f"| recommend, new asks and follow-ups | {len(rec)} | "
                 f"{statistics.median(rec):.3f} | {pct(rec, 95):.3f} | {max(rec):.3f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    OUT.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
