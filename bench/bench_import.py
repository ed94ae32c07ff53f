"""Benchmark: `recbot import ratings` of a 200,000-line Letterboxd export (issue 32).

The CSV is generated from the bundled catalog's titles (Letterboxd's columns: Date, Name,
Year, Letterboxd URI, Rating), every film rated many times over, with a few titles the
catalog does not know (20 titles on 20 % of the lines: each on some 2,000 lines) and a
few without a year. Each run is
a fresh process (`python -m recbot.tui.cli import ratings FILE --json`) on a private copy
of a warm data dir in a temp dir (one untimed run first builds the catalog snapshot), so
the table shows what a user waits for. "after" runs the installed code; "before" runs an
older checkout given with ``--old-pythonpath DIR`` (a folder holding a ``recbot`` symlink to
that checkout, put on PYTHONPATH). Target: <= 10 s on 2 cores, each unmatched title listed
once.

    python bench/bench_import.py --labels before,after --old-pythonpath /tmp/old
    python bench/bench_import.py --runs 5              # after only
    python bench/bench_import.py --lines 20000
    python bench/bench_import.py --labels ""          # only rewrite import.md from import.json

Rows are kept in bench/results/import.json by label (a run of one label keeps the other's
row), and bench/results/import.md is rewritten from them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
UNKNOWN = [f"Zyxx Unmade Picture {i}" for i in range(20)]   # not in any catalog


def write_letterboxd(path: Path, lines: int, *, seed: int = 7) -> dict:
    """A Letterboxd ratings.csv of ``lines`` ratings; returns what it holds."""
    from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

    catalog = load_catalog(BUNDLED_DATASET_DIR)
    films = [m for m in catalog if m.year is not None]
    rng = random.Random(seed)
    stars = [x / 2 for x in range(1, 11)]
    unknown = no_year = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
        for i in range(lines):
            day = f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            roll = rng.random()
            if roll < 0.20:         # 20 %: a film the catalog does not know
                name, year = rng.choice(UNKNOWN), 2031
                unknown += 1
            elif roll < 0.21:       # 1 %: no year (matched when the title is unique)
                name, year = rng.choice(films).title, ""
                no_year += 1
            else:
                m = rng.choice(films)
                name, year = m.title, m.year
            w.writerow([day, name, year, f"https://boxd.it/{i:x}", rng.choice(stars)])
    return {"lines": lines, "unknown_lines": unknown, "unknown_titles": len(UNKNOWN),
            "no_year_lines": no_year, "catalog_films": len(films)}


OLD_PYTHONPATH: str | None = None   # --old-pythonpath


def command(label: str, csv_path: Path) -> tuple[list[str], dict]:
    env = {**os.environ}
    if label == "before":
        if not OLD_PYTHONPATH:
            sys.exit("bench_import: the before row needs --old-pythonpath DIR")
        env["PYTHONPATH"] = OLD_PYTHONPATH
    else:
        env.pop("PYTHONPATH", None)
    return [sys.executable, "-m", "recbot.tui.cli", "import", "ratings", str(csv_path),
            "--json"], env


def run_once(label: str, csv_path: Path, warm: Path, work: Path) -> dict:
    data = work / f"data-{label}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(warm, data)
    cmd, env = command(label, csv_path)
    env["RECBOT_DATA_DIR"] = str(data)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=1800, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_import: {label} failed: {done.stderr.decode(errors='replace')[-500:]}")
    report = json.loads(done.stdout)
    unmatched = report["unmatched"]
    return {"wall": wall, "imported": report["imported"], "rows": report["rows"],
            "unmatched_entries": len(unmatched), "unmatched_distinct": len(set(unmatched)),
            "stderr_bytes": len(done.stderr)}


def bench(label: str, csv_path: Path, work: Path, runs: int) -> dict:
    warm = work / f"warm-{label}"
    cmd, env = command(label, csv_path)
    env["RECBOT_DATA_DIR"] = str(warm)
    # untimed: builds the catalog snapshot a user already has after the first command
    subprocess.run([*cmd[:3], "profile"], env=env, capture_output=True, timeout=600, check=True)
    got = [run_once(label, csv_path, warm, work) for _ in range(runs)]
    walls = [g["wall"] for g in got]
    return {**got[-1], "median_s": round(statistics.median(walls), 2),
            "min_s": round(min(walls), 2), "max_s": round(max(walls), 2), "runs": runs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--labels", default="after")
    p.add_argument("--old-pythonpath", help="for the before row: a folder with a `recbot` "
                   "symlink to the old checkout")
    args = p.parse_args()
    global OLD_PYTHONPATH
    OLD_PYTHONPATH = args.old_pythonpath
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        csv_path = work / "ratings.csv"
        shape = write_letterboxd(csv_path, args.lines)
        size_mb = csv_path.stat().st_size / 2**20
        store = RESULTS / "import.json"
        keep = args.lines == 200_000
        rows = json.loads(store.read_text()) if keep and store.is_file() else {}
        for label in filter(None, args.labels.split(",")):
            rows[label] = {**bench(label, csv_path, work, args.runs),
                           "date": time.strftime("%Y-%m-%d %H:%M"),
                           "load": round(os.getloadavg()[0], 1)}
            r = rows[label]
            print(f"{label:7s} median {r['median_s']:.2f} s (min {r['min_s']:.2f}, max "
                  f"{r['max_s']:.2f}); imported {r['imported']}; unmatched entries "
                  f"{r['unmatched_entries']} ({r['unmatched_distinct']} distinct)", flush=True)
    lines = [
        "# `recbot import ratings`: a 200,000-line Letterboxd export",
        "",
        f"`python bench/bench_import.py` on {platform.machine()}, {os.cpu_count()} cores. "
        f"Generated CSV ({size_mb:.1f} MB): {shape['lines']:,} lines drawn from the "
        f"{shape['catalog_films']:,} bundled films with a year, {shape['unknown_lines']:,} "
        f"lines naming {shape['unknown_titles']} titles the catalog does not know, "
        f"{shape['no_year_lines']:,} lines without a year. Fresh process per run on a copy of "
        "a warm data dir; before = c444718 (through `--old-pythonpath`), after = this tree. "
        "Target: <= 10 s, progress on stderr, each unmatched title listed once. The machine "
        "is shared: the 1-minute load average when each row ended is shown.",
        "",
        "| build | runs | median s | min s | max s | films imported | unmatched entries "
        "(distinct) | measured | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        lines.append(f"| {label} | {r['runs']} | {r['median_s']:.2f} | {r['min_s']:.2f} | {r['max_s']:.2f} | "
                     f"{r['imported']:,} | {r['unmatched_entries']:,} "
                     f"({r['unmatched_distinct']}) | {r['date']} | {r['load']} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if keep:
        RESULTS.mkdir(exist_ok=True)
        store.write_text(json.dumps(rows, indent=2) + "\n")
        (RESULTS / "import.md").write_text(table)


if __name__ == "__main__":
    main()
