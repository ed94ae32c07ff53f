"""Benchmark: does an embedded LLM earn its place in the default path?

    python bench/bench_llm_decision.py --data-dir D [--models none,qwen2.5-coder-0.5b,...]
                                       [--points 100] [--out bench/results/llm_decision.md]

On one fixed sample, for no LLM and each local GGUF model (in-process llama.cpp, the
product's default compact mode, 2 quiet cores):

1. ReDial: 100 evaluation points of the *measure* part (every third point of
   bench_redial.py's variant (a): the seeker's turns so far as one message, fresh session),
   novel Recall@1/10 with k=10 lists;
2. like-X: "something like X" for the 20 most-rated films, share of the top 10 among X's 50
   co-rating neighbours and sharing a genre with X (bench_agent.py's table);
3. latency: p50 / p95 / max of the turn time over all of the above;
4. explanations: the #1 pick of 20 typed asks with each system, written to
   ``<out>.blind.json`` as anonymous pairs (no LLM vs model, order shuffled with a fixed
   seed, the key in ``<out>.key.json``) for a judge who does not know which is which.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench_redial import (  # noqa: E402
    DATA,
    NameMapper,
    context_a,
    eval_points,
    load_dialogues,
    split,
)

from recbot.agent.chat import Agent  # noqa: E402
from recbot.agent.explain.evidence import CoRatings  # noqa: E402
from recbot.agent.llm import make_chat_model  # noqa: E402
from recbot.agent.memory import Memory  # noqa: E402
from recbot.agent.settings import Settings  # noqa: E402
from recbot.agent.workspace import Workspace  # noqa: E402

K = 10
EXPLAIN_ASKS = [
    "something like Heat", "a funny animated film, nothing before 2000",
    "anything with Meryl Streep?", "something like The Matrix", "a heist with a twist ending",
    "a war film about friendship", "something like Toy Story", "90s sci-fi",
    "a romantic comedy from the 2000s", "something scary but not too violent",
    "I loved Goodfellas and Casino, more like those", "films by Christopher Nolan",
    "a movie about time travel", "something like Amelie", "a good western",
    "something like Fargo", "a crime drama under two hours", "something like Spirited Away",
    "what should I watch tonight?", "a courtroom drama",
]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def redial_points(n: int):
    dialogues = load_dialogues(DATA)
    _, measure = split(dialogues)
    points = []
    for d in measure:
        for p in eval_points(d):
            text, _ = context_a(d, p.turn)
            if text.strip():
                points.append((d, p, text))
    return points[::3][:n]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("RECBOT_DATA_DIR"))
    ap.add_argument("--models", default="none,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent /
                                         "results/llm_decision.md"))
    args = ap.parse_args(argv)
    if not args.data_dir:
        ap.error("--data-dir D (a warm data dir)")
    data_dir = Path(args.data_dir)
    points = redial_points(args.points)
    mapper = None
    results: dict[str, dict] = {}
    explanations: dict[str, list] = {}
    for key in args.models.split(","):
        settings = Settings.load(data_dir=data_dir, llm_model=None if key == "none" else key)
        ws = Workspace(settings)
        if mapper is None:
            mapper = NameMapper(ws.catalog)
        llm = make_chat_model(settings, "none" if key == "none" else "local")
        tmp = Path(tempfile.mkdtemp(prefix="bench-llm-"))
        agent = Agent(ws, llm, Memory(tmp / "warm.sqlite"), k=K)
        agent.warm()
        if llm is not None:
            t = time.perf_counter()
            agent.ask("something like Heat")       # loads the model
            print(f"{key}: model load + first turn {time.perf_counter() - t:.1f} s", flush=True)
        seconds: list[float] = []
        used = 0

        calls = [0]

        def ask(text: str, agent=agent, tmp=tmp, seconds=seconds, calls=calls):
            nonlocal used
            agent.memory.close()
            calls[0] += 1
            agent.memory = Memory(tmp / f"m{calls[0]}.sqlite")
            t = time.perf_counter()
            ans = agent.ask(text, None, k=K)
            seconds.append(time.perf_counter() - t)
            used += bool(ans.llm.get("used"))
            return ans

        hits1 = hits10 = novel = 0
        for i, (d, p, text) in enumerate(points):
            ans = ask(text)
            recs = [r.movie_id for r in ans.recommendations] if ans.kind == "recommend" else []
            for rid, is_novel in p.targets:
                if not is_novel:
                    continue
                novel += 1
                target = mapper.map(d.names.get(rid, ""))
                if target is not None and target in recs[:1]:
                    hits1 += 1
                if target is not None and target in recs[:10]:
                    hits10 += 1
            if (i + 1) % 25 == 0:
                print(f"  {key}: {i + 1}/{len(points)} ReDial points", flush=True)
        corate = CoRatings(ws.interactions)
        popular = sorted(ws.catalog.popularity, key=lambda m: -ws.catalog.popularity[m])[:20]
        overlap, genre = [], []
        for mid in popular:
            movie = ws.catalog[mid]
            neighbours = set(corate.neighbours(mid, 50))
            ids = [r.movie_id for r in ask(f'something like "{movie.title}"').recommendations]
            overlap.append(sum(i in neighbours for i in ids) / K)
            genre.append(sum(bool(set(ws.catalog[i].genres) & set(movie.genres))
                             for i in ids) / K)
        rows = []
        for text in EXPLAIN_ASKS:
            ans = ask(text)
            r = ans.recommendations[0] if ans.recommendations else None
            rows.append({"ask": text, "film": r.label() if r else None,
                         "explanation": r.explanation if r else ans.reply,
                         "explained_by": r.explained_by if r else "-"})
        explanations[key] = rows
        results[key] = {"r1": hits1 / max(novel, 1), "r10": hits10 / max(novel, 1),
                        "novel": novel, "like_x": statistics.mean(overlap),
                        "like_x_genre": statistics.mean(genre),
                        "p50": statistics.median(seconds), "p95": pct(seconds, 95),
                        "max": max(seconds), "turns": len(seconds), "llm_used": used,
                        "model": "no LLM" if llm is None else llm.model}
        print(f"  {key}: {results[key]}", flush=True)
        del agent, llm
    base = "none"
    blind, answer_key = [], []
    rng = random.Random(13)
    for other in [k for k in explanations if k != base]:
        for a, b in zip(explanations[base], explanations[other]):
            pair = [("none", a), (other, b)]
            rng.shuffle(pair)
            blind.append({"ask": a["ask"],
                          "A": {"film": pair[0][1]["film"], "text": pair[0][1]["explanation"]},
                          "B": {"film": pair[1][1]["film"], "text": pair[1][1]["explanation"]}})
            answer_key.append({"A": pair[0][0], "B": pair[1][0]})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".blind.json").write_text(json.dumps(blind, indent=1, ensure_ascii=False))
    out.with_suffix(".key.json").write_text(json.dumps(answer_key, indent=1))
    lines = [
        "# Does an embedded LLM earn its place?",
        "",
        f"{datetime.date.today()} · `python bench/bench_llm_decision.py --data-dir D --models "
        f"{args.models}` · {len(points)} ReDial measure-part points (variant a, k={K}), "
        f"20 like-X asks, 20 typed asks for explanations · in-process llama.cpp, 2 cores",
        "",
        "| system | ReDial novel R@1 | R@10 | like-X in neighbours | like-X genre | turn p50 | "
        "p95 | max | turns the LLM shaped |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        lines.append(f"| {r['model']} | {r['r1']:.3f} | {r['r10']:.3f} | {r['like_x']:.0%} | "
                     f"{r['like_x_genre']:.0%} | {r['p50']:.2f} s | {r['p95']:.2f} s | "
                     f"{r['max']:.2f} s | {r['llm_used']}/{r['turns']} |")
    lines += ["", f"Novel targets: {results[base]['novel']}. Blind explanation pairs: "
              f"{out.with_suffix('.blind.json').name} (key: {out.with_suffix('.key.json').name})."]
    text = "\n".join(lines) + "\n"
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".explanations.json").write_text(
        json.dumps(explanations, indent=1, ensure_ascii=False))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
