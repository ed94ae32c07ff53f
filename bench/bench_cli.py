"""Benchmark: wall time of scripted turns through the real `recbot ask` command.

Each ask runs as a fresh process (as a script would call it) on a warm data dir: one
untimed run first (it builds whatever the data dir still lacks), then ``--runs`` timed
runs; the table shows the median, min and max wall seconds and peak RSS. Target (issue 14):
median <= 1.0 s for both asks.

    python bench/bench_cli.py --data-dir /tmp/rd --label after
    python bench/bench_cli.py --recbot /tmp/old-venv/bin/recbot --data-dir /tmp/rd-old --label before

Rows are kept in bench/results/cli.json by label, and bench/results/cli.md is rewritten
from all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASKS = ("something like Heat", "a heist movie with a twist")
RESULTS = Path(__file__).resolve().parent / "results"


def run_once(recbot: str, data_dir: str, ask: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one `recbot ask ASK --llm none`."""
    env = {**os.environ, "RECBOT_DATA_DIR": data_dir}
    # as on a user's machine: the warm-up run leaves compiled bytecode for the timed ones (a
    # sandbox that sets this would time compiling every edited module from source instead)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([recbot, "ask", ask, "--llm", "none"], env=env, stdout=out,
                                stderr=err)
        # this child's own peak (RUSAGE_CHILDREN would carry the largest child so far)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"bench_cli: {recbot} ask {ask!r} failed: "
                     f"{err.read().decode(errors='replace').strip()[-300:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recbot", default=shutil.which("recbot") or "recbot")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--label", required=True, help="row name, e.g. before / after")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    rows = []
    for ask in ASKS:
        run_once(args.recbot, args.data_dir, ask)          # warm-up, untimed
        walls, peak = [], 0.0
        for _ in range(args.runs):
            wall, rss = run_once(args.recbot, args.data_dir, ask)
            walls.append(wall)
            peak = max(peak, rss)
        rows.append({"ask": ask, "median_s": round(statistics.median(walls), 3),
                     "min_s": round(min(walls), 3), "max_s": round(max(walls), 3),
                     "peak_rss_mb": round(peak), "runs": args.runs})
    for r in rows:
        print(f"{args.label:8s} {r['ask']:30s} median {r['median_s']:.2f} s "
              f"(min {r['min_s']:.2f}, max {r['max_s']:.2f}; peak RSS {r['peak_rss_mb']} MB)")
    store = RESULTS / "cli.json"
    data = json.loads(store.read_text()) if store.is_file() else {}
    data[args.label] = {"rows": rows, "recbot": args.recbot, "machine": platform.machine(),
                        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    RESULTS.mkdir(exist_ok=True)
    store.write_text(json.dumps(data, indent=2) + "\n")
    lines = ["# Scripted turns: `recbot ask ASK --llm none`, warm data dir",
             "", "Fresh process per ask; median of the timed runs after one untimed warm-up "
             "(`python bench/bench_cli.py`). Target: median <= 1.0 s. Rows from 2026-12-07 on: "
             "compiled bytecode kept between runs, as on a user's machine (earlier rows may "
             "include compiling edited modules), and the peak RSS of each ask's own process "
             "(earlier rows: the largest child so far).", "",
             "| build | ask | median s | min s | max s | peak RSS MB |",
             "|---|---|---|---|---|---|"]
    for label, entry in data.items():
        for r in entry["rows"]:
            lines.append(f"| {label} ({entry['date']}) | {r['ask']} | {r['median_s']:.2f} | "
                         f"{r['min_s']:.2f} | {r['max_s']:.2f} | {r['peak_rss_mb']} |")
    (RESULTS / "cli.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
