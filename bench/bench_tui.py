"""Benchmark: how fast `recbot` starts.

1. `recbot --help`, the whole process (hyperfine-style: median of N runs);
2. first paint of the chat on a warm data dir: a fresh Python process imports the app,
   builds the real backend and runs the app headless until Textual's Ready event (the
   first screen is composed and painted); the agent keeps warming up in its worker.

    python bench/bench_tui.py --data-dir ~/.local/share/recbot
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PAINT = r"""
import sys, time
launched = float(sys.argv[2])
t0 = time.perf_counter()
from recbot.agent.settings import Settings
from recbot.tui.app import RecbotApp
from recbot.agent.service import ChatService

class Timed(RecbotApp):
    def on_ready(self):
        print(f"{time.time() - launched:.4f} {time.perf_counter() - t0:.4f}", flush=True)
        self.exit()

Timed(ChatService(Settings.load(data_dir=sys.argv[1]), "none")).run(headless=True)
"""


def median_run(cmd: list[str], n: int, env: dict) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="a data dir where recbot already ran")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    env = {**os.environ, "RECBOT_DATA_DIR": args.data_dir}
    recbot = str(Path(sys.executable).with_name("recbot"))
    helps = median_run([recbot, "--help"], args.runs, env)
    paints = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", PAINT, args.data_dir, str(time.time())],
                             check=True, capture_output=True, text=True, env=env)
        since_launch, inner = map(float, out.stdout.strip().splitlines()[-1].split())
        paints.append((since_launch, inner))
    startup = statistics.median(p[0] for p in paints)
    print("| step | median | target |\n|---|---|---|")
    print(f"| `recbot --help`, whole process | {helps * 1000:.0f} ms | ≤ 500 ms |")
    print(f"| chat first paint (process start → Ready), warm data dir | "
          f"{startup * 1000:.0f} ms | ≤ 1500 ms |")
    print(f"| … of which imports + app until Ready | "
          f"{statistics.median(p[1] for p in paints) * 1000:.0f} ms | |")


if __name__ == "__main__":
    main()
