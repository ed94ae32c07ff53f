"""Benchmark: how the real `recbot` command scales with the size of a MovieLens-format set.

For each size (number of ratings) a synthetic ml-32m-shaped dataset is generated (or
reused) with bench/make_movielens.py, then, in a fresh state (RECBOT_DATA_DIR,
RECBOT_CONFIG_DIR, RECBOT_CACHE_DIR, RECBOT_LOG_DIR under a work dir in /tmp), each step
runs as its own process under `/usr/bin/time -f %e,%M` (wall seconds, peak RSS KB):

    recbot data use DIR                       # make the set active
    recbot index                              # semantic catalog index
    recbot similar "<popular title>" -n 5     # trains the MF model
    recbot ask "something like <title>" --llm none    # first ask, then 5 warm
    recbot ask "a funny adventure film" --llm none    # 5 warm

Issue 15 targets: 32 M ratings prepared in <= 20 min, peak RSS <= 8 GB, warm ask <= 2 s.

    python bench/bench_scale.py --sizes 1e6,5e6 [--work /tmp/recbot-scale] [--step-timeout 1200]

Writes bench/results/scale.json (rows by size, merged with earlier runs) and scale.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RECBOT = str(HERE.parent / ".venv" / "bin" / "recbot")
TIME = "/usr/bin/time"
WARM = 5
STEPS = ("generate", "data use", "index", "MF fit (similar)", "first ask",
         "warm ask p50", "warm ask p95", "warm genre ask p50", "warm genre ask p95",
         "turn p50 (in-process)", "turn p95 (in-process)")
TARGETS = ("32 M ratings prepared (data use + index + MF fit) in <= 20 min; "
           "peak RSS <= 8 GB; `--llm none` turn p95 <= 0.5 s in-process; warm `recbot ask` <= 2 s")


def run_step(cmd: list[str], env: dict, timeout: float, tmp: Path) -> dict:
    """Run CMD under /usr/bin/time; {ok, wall_s, rss_mb, err} (err = last stderr line)."""
    tfile = tmp / "time.out"
    tfile.unlink(missing_ok=True)
    full = [TIME, "-f", "%e,%M", "-o", str(tfile), *cmd]
    start = time.perf_counter()
    proc = subprocess.Popen(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        last = (err or "").strip().splitlines()[-1:] or [""]
        return {"ok": False, "wall_s": round(time.perf_counter() - start, 2), "rss_mb": None,
                "err": f"timeout after {timeout:.0f} s; last stderr: {last[0][:300]}"}
    wall = time.perf_counter() - start
    rss = None
    try:
        w, m = tfile.read_text().strip().splitlines()[-1].split(",")
        wall, rss = float(w), int(m) / 1024
    except (OSError, ValueError, IndexError):
        pass
    res = {"ok": proc.returncode == 0, "wall_s": round(wall, 2),
           "rss_mb": None if rss is None else round(rss), "stdout_tail": out.strip()[-2000:]}
    if proc.returncode != 0:
        lines = [ln for ln in (err or "").strip().splitlines() if ln.strip()]
        res["err"] = f"exit {proc.returncode}: {lines[-1][:300] if lines else ''}"
    return res


def popular_title(data: Path, sample_rows: int = 2_000_000, rank: int = 0) -> str:
    """Title (without the year) of the most-rated film (RANK 0; 1 the next) in the first
    SAMPLE_ROWS ratings."""
    counts: Counter = Counter()
    with open(data / "ratings.csv", newline="") as fh:
        rd = csv.reader(fh)
        next(rd)
        for i, row in enumerate(rd):
            if i >= sample_rows:
                break
            counts[row[1]] += 1
    top = counts.most_common(rank + 1)[rank][0]
    with open(data / "movies.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["movieId"] == top:
                t = row["title"]
                return t[:-7] if t.endswith(")") and t[-6:-5] == "(" else t
    raise SystemExit(f"bench_scale: movie {top} not in movies.csv")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def bench_size(n: int, work: Path, timeout: float, seed: int) -> dict:
    data = work / f"ml-synth-{n}"
    state = work / f"state-{n}"
    row: dict = {"ratings": n, "dataset": str(data), "steps": {}}
    steps = row["steps"]
    if not (data / "ratings.csv").is_file() or not (data / ".complete").is_file():
        gen = run_step([sys.executable, str(HERE / "make_movielens.py"), "--ratings", str(n),
                        "--out", str(data), "--seed", str(seed)], dict(os.environ), timeout, work)
        steps["generate"] = gen
        print(f"  generate: {gen['wall_s']} s, {gen['rss_mb']} MB" +
              (f"  FAILED {gen.get('err')}" if not gen["ok"] else ""), flush=True)
        if not gen["ok"]:
            return row
        (data / ".complete").write_text("ok\n")
    else:
        steps["generate"] = {"ok": True, "wall_s": None, "rss_mb": None, "note": "reused"}
    if state.exists():
        shutil.rmtree(state)
    env = {**os.environ}
    for var, sub in (("RECBOT_DATA_DIR", "data"), ("RECBOT_CONFIG_DIR", "config"),
                     ("RECBOT_CACHE_DIR", "cache"), ("RECBOT_LOG_DIR", "log")):
        (state / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(state / sub)
    for var in ("RECBOT_DATASET", "OPENAI_BASE_URL", "RECBOT_LLM_BASE_URL", "RECBOT_LLM"):
        env.pop(var, None)
    title = popular_title(data)
    row["title"] = title
    like = f"something like {title}"
    genre_ask = "a funny adventure film"

    def step(name: str, cmd: list[str]) -> bool:
        res = run_step([RECBOT, *cmd], env, timeout, state)
        steps[name] = res
        print(f"  {name:18s} {res['wall_s']:>8} s  {res['rss_mb']} MB" +
              ("" if res["ok"] else f"  FAILED {res.get('err')}"), flush=True)
        return res["ok"]

    ok = (step("data use", ["data", "use", str(data)])
          and step("index", ["index"])
          and step("MF fit (similar)", ["similar", title, "-n", "5"])
          and step("first ask", ["ask", like, "--llm", "none"]))
    if not ok:
        return row
    for name, text in (("warm ask", like), ("warm genre ask", genre_ask)):
        walls, peak, errs = [], 0.0, []
        for _ in range(WARM):
            res = run_step([RECBOT, "ask", text, "--llm", "none"], env, timeout, state)
            if not res["ok"]:
                errs.append(res.get("err"))
                continue
            walls.append(res["wall_s"])
            peak = max(peak, res["rss_mb"] or 0)
        if walls:
            steps[f"{name} p50"] = {"ok": not errs, "wall_s": round(statistics.median(walls), 2),
                                    "rss_mb": round(peak), "runs": walls}
            steps[f"{name} p95"] = {"ok": not errs, "wall_s": round(pct(walls, 0.95), 2),
                                    "rss_mb": round(peak)}
        if errs:
            steps.setdefault(f"{name} p50", {"ok": False, "wall_s": None, "rss_mb": None})
            steps[f"{name} p50"]["err"] = errs[-1]
        print(f"  {name:18s} runs {walls}" + (f"  FAILED {errs[-1]}" if errs else ""), flush=True)
    # in-process turns (the chat's own cost, no process start): bench/scale_turns.py
    other = popular_title(data, rank=1)
    res = run_step([sys.executable, str(HERE / "scale_turns.py"), "--title", title,
                    "--other", other, "--rounds", "3"], env, timeout, state)
    try:
        turns = json.loads(res.get("stdout_tail", "").strip().splitlines()[-1])
        for q in ("p50", "p95"):
            steps[f"turn {q} (in-process)"] = {"ok": res["ok"], "wall_s": turns[q],
                                               "rss_mb": res["rss_mb"], "detail": turns}
        print(f"  in-process turns   p50 {turns['p50']} s  p95 {turns['p95']} s  "
              f"max {turns['max']} s  {turns['by_kind']}", flush=True)
    except (ValueError, IndexError, KeyError):
        steps["turn p50 (in-process)"] = {"ok": False, "wall_s": None, "rss_mb": None,
                                          "err": res.get("err", "no JSON line")}
    steps["first ask"]["reply_tail"] = steps["first ask"].pop("stdout_tail", "")
    prep = [steps[s]["wall_s"] for s in ("data use", "index", "MF fit (similar)")]
    row["prepare_s"] = round(sum(prep), 2)
    row["peak_rss_mb"] = max((s.get("rss_mb") or 0) for k, s in steps.items() if k != "generate")
    return row


def exponents(rows: list[dict]) -> list[tuple[int, int, dict]]:
    out = []
    ok_rows = sorted(rows, key=lambda r: r["ratings"])
    for a, b in zip(ok_rows, ok_rows[1:]):
        e = {}
        for s in STEPS:
            ta = (a["steps"].get(s) or {}).get("wall_s")
            tb = (b["steps"].get(s) or {}).get("wall_s")
            if ta and tb and (a["steps"][s].get("ok") and b["steps"][s].get("ok")):
                e[s] = round(math.log(tb / ta) / math.log(b["ratings"] / a["ratings"]), 2)
        out.append((a["ratings"], b["ratings"], e))
    return out


def fmt_n(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n:,}"


def write_results(data: dict) -> str:
    rows = sorted(data["rows"].values(), key=lambda r: r["ratings"])
    lines = ["# Scale: the real `recbot` command on synthetic ml-32m-shaped data", "",
             f"Targets (issue 15): {TARGETS}.", "",
             "Each step is a fresh `recbot` process under `/usr/bin/time` with fresh state dirs "
             "(`python bench/bench_scale.py`); wall seconds / peak RSS MB. Data from "
             "`bench/make_movielens.py` (users ~ N/150, films ~ N/370, Zipf popularity, "
             f"latent-factor ratings). Machine: {data['machine']}, {data['cpus']} CPUs, "
             f"{data['date']}.", ""]
    head = "| step | " + " | ".join(
        f"{fmt_n(r['ratings'])} ({r['ratings'] // 150:,} users, {r['ratings'] // 370:,} films)"
        for r in rows) + " |"
    lines += [head, "|---|" + "---|" * len(rows)]
    for s in STEPS:
        cells = []
        for r in rows:
            st = r["steps"].get(s)
            if st is None:
                cells.append("–")
            elif st.get("note") == "reused":
                cells.append("reused")
            elif not st.get("ok") and st.get("wall_s") is None:
                cells.append(f"FAILED: {st.get('err', '')[:80]}")
            else:
                c = f"{st['wall_s']} s / {st['rss_mb']} MB"
                cells.append(c if st.get("ok") else f"FAILED ({c}): {st.get('err', '')[:80]}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append("| **prepare total** (use+index+fit) | " + " | ".join(
        f"{r.get('prepare_s', '–')} s" for r in rows) + " |")
    lines.append("| **peak RSS** (recbot steps) | " + " | ".join(
        f"{r.get('peak_rss_mb', '–')} MB" for r in rows) + " |")
    ex = exponents(rows)
    if ex:
        lines += ["", "Growth exponent per step, log(t2/t1)/log(n2/n1) (1 = linear):", "",
                  "| step | " + " | ".join(f"{fmt_n(a)}→{fmt_n(b)}" for a, b, _ in ex) + " |",
                  "|---|" + "---|" * len(ex)]
        for s in STEPS:
            lines.append(f"| {s} | " + " | ".join(str(e.get(s, "–")) for _, _, e in ex) + " |")
        a, b, e = ex[-1]
        big = rows[-1]
        if "prepare_s" in big:
            parts = {s: big["steps"][s]["wall_s"] for s in ("data use", "index", "MF fit (similar)")}
            proj = sum(t * (32e6 / b) ** max(e.get(s, 1.0), 1.0) for s, t in parts.items())
            lines += ["", f"Naive projection to 32 M ratings from the {fmt_n(b)} run "
                      f"(each step scaled by its exponent, at least linear): prepare ≈ "
                      f"{proj / 60:.0f} min (target ≤ 20 min)."]
    text = "\n".join(lines) + "\n"
    (RESULTS / "scale.md").write_text(text)
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1e6", help="comma-separated rating counts, e.g. 1e6,5e6")
    p.add_argument("--work", default="/tmp/recbot-scale", help="datasets and state live here")
    p.add_argument("--step-timeout", type=float, default=1200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / "scale.json"
    data = json.loads(store.read_text()) if store.is_file() else {"rows": {}}
    data.update(machine=platform.machine(), cpus=os.cpu_count(), date=time.strftime("%Y-%m-%d"))
    for size in [int(float(s)) for s in args.sizes.split(",") if s.strip()]:
        print(f"== {fmt_n(size)} ratings", flush=True)
        t0 = time.perf_counter()
        row = bench_size(size, work, args.step_timeout, args.seed)
        row["total_s"] = round(time.perf_counter() - t0, 1)
        print(f"  total {row['total_s']} s", flush=True)
        data["rows"][str(size)] = row
        store.write_text(json.dumps(data, indent=2) + "\n")
        print(write_results(data))


if __name__ == "__main__":
    main()
