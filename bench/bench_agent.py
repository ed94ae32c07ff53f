"""Benchmark: the agent on a scripted conversation set, with and without an LLM.

Prints markdown tables of
1. latency — time to the first ranked candidates (before any LLM call) and to the full
   answer, per recommending turn, warm;
2. grounding errors per error kind — what the LLM proposed (IDs outside the candidate
   window, duplicate IDs, explanations the checker rejected) and what reached the user
   (IDs outside the candidates, duplicates, seen/disliked/shown items, explanations with
   names or numbers absent from their evidence);
3. "something like X" for the 20 most-rated titles — share of the top 10 that are among
   X's 50 co-rating neighbours (films most often also rated 4+ by people who rated X 4+)
   and share that have a genre in common with X, against plain MF similar items.

    python bench/bench_agent.py --llm none
    python bench/bench_agent.py --llm local [--model qwen2.5-coder-0.5b]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from recbot.agent.candidates import Candidate
from recbot.agent.chat import Agent
from recbot.agent.explain.evidence import CoRatings
from recbot.agent.explain.grounding import check_explanation
from recbot.agent.llm import make_chat_model
from recbot.agent.memory import Memory
from recbot.agent.settings import Settings
from recbot.agent.workspace import Workspace

CONVERSATIONS = [
    ["something like Forrest Gump", "why #2?", "not that one", "loved the first one, more like that"],
    ["a funny animated film, nothing before 2000", "#1 seen it", "more recent", "why #3"],
    ["I loved Heat and Ronin", "less violent", "the second one, seen it", "why not Titanic?"],
    ["90s sci-fi", "shorter", "loved #2", "more like that"],
    ["something like The Matrix", "older", "why the first one?", "not for me"],
    ["a heist with a twist ending", "more like #1", "seen it", "why #4"],
    ["a romantic comedy from the 2000s", "#3 not for me", "more popular", "why #1?"],
    ["something scary but not too violent", "like The Shining", "#1 seen it", "why #2"],
    ["movies like Toy Story for kids", "more like the third one", "#2 seen it", "something lighter"],
    ["a war film about friendship", "why #1", "more like that", "nothing before 1990"],
]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def run_conversations(ws: Workspace, llm, k: int) -> dict:
    stats = {"turns": 0, "rec_turns": 0, "t_cand": [], "t_total": [], "t_first_reason": [],
             "proposed_ids": 0, "ids_outside": 0, "dup_ids": 0, "llm_expl": 0,
             "llm_expl_rejected": 0, "shown_outside": 0, "shown_dup": 0, "shown_seen": 0,
             "shown_unsupported": 0, "shown_items": 0, "llm_used_turns": 0, "llm_errors": 0,
             "reasons": {}, "chosen_facts": 0, "order_as_shown": 0, "llm_calls": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for n, script in enumerate(CONVERSATIONS):
            memory = Memory(Path(tmp) / f"s{n}.sqlite")
            agent = Agent(ws, llm, memory, k=k)
            sid = None
            for text in script:
                t0 = time.perf_counter()
                marks: dict[str, float] = {}
                cands: dict[str, list] = {}

                def on_event(event, t0=t0, marks=marks, cands=cands):
                    kind = type(event).__name__.lower()
                    marks.setdefault(kind, time.perf_counter() - t0)
                    if kind == "candidates":
                        cands["ids"] = list(event.recommendations)

                before = memory.load(sid) if sid else None
                ans = agent.ask(text, sid, on_event=on_event)
                sid = ans.session
                stats["turns"] += 1
                tr = ans.trace
                stats["ids_outside"] += tr.dropped_ids
                stats["dup_ids"] += tr.duplicate_ids
                stats["llm_expl"] += tr.accepted_explanations + tr.rejected_explanations
                stats["llm_expl_rejected"] += tr.rejected_explanations
                stats["llm_errors"] += len(tr.errors)
                stats["chosen_facts"] += tr.chosen_facts
                stats["order_as_shown"] += tr.order_as_shown
                stats["llm_calls"] += tr.calls
                last = getattr(llm, "last", None)
                if last and tr.calls:
                    stats.setdefault("calls", []).append(dict(last))
                stats["llm_used_turns"] += bool(ans.llm.get("used"))
                for r in tr.rejections:
                    why = r.split(": ", 1)[1]
                    kind = ("names something not in the evidence" if why.startswith("names")
                            else "a number not in the evidence" if why.startswith("number")
                            else "describes another candidate" if why.startswith("describes")
                            else why)
                    stats["reasons"][kind] = stats["reasons"].get(kind, 0) + 1
                if ans.kind != "recommend":
                    continue
                stats["rec_turns"] += 1
                stats["proposed_ids"] += min(k, len(ans.recommendations)) if tr.calls else 0
                stats["t_cand"].append(marks.get("candidates", float("nan")))
                stats["t_total"].append(marks.get("final", time.perf_counter() - t0))
                if "reason" in marks:
                    stats["t_first_reason"].append(marks["reason"])
                # What reached the user, checked independently of the agent's own guard.
                after = memory.load(sid)
                blocked = set(before.shown_ids) if before else set()
                blocked |= {m for m, kind in after.feedback.items() if kind in ("seen", "dislike")}
                blocked |= {m.movie_id for m in ans.resolved}
                ids = [r.movie_id for r in ans.recommendations]
                stats["shown_items"] += len(ids)
                stats["shown_dup"] += len(ids) - len(set(ids))
                stats["shown_seen"] += sum(1 for i in ids if i in blocked)
                for r in ans.recommendations:
                    c = Candidate(r.movie_id, r.title, r.year, r.genres, r.score, {}, r.evidence)
                    problem = check_explanation(r.explanation, c, text)
                    if problem is not None:
                        stats["shown_unsupported"] += 1
                        stats.setdefault("unsupported", []).append(
                            f"{r.title}: {problem} — {r.explanation!r}")
                    if r.movie_id not in ans.candidates:
                        stats["shown_outside"] += 1
            memory.close()
    return stats


def like_x(ws: Workspace, k: int = 10, titles: int = 20, llm=None) -> dict:
    """Top-k of "something like X" vs X's co-rating neighbours, for the most-rated titles;
    with ``llm``, also the agent with that LLM."""
    corate = CoRatings(ws.interactions)
    ranker = ws.ranker("als")
    popular = sorted(ws.catalog.popularity, key=lambda m: -ws.catalog.popularity[m])[:titles]
    rows = {"agent": ([], []), "mf similar_items": ([], [])}
    if llm is not None:
        rows[f"agent + {llm.model}"] = ([], [])
    with tempfile.TemporaryDirectory() as tmp:
        memory = Memory(Path(tmp) / "like.sqlite")
        agent = Agent(ws, None, memory, k=k)
        with_llm = Agent(ws, llm, memory, k=k) if llm is not None else None
        for mid in popular:
            movie = ws.catalog[mid]
            neighbours = set(corate.neighbours(mid, 50))
            ans = agent.ask(f'something like "{movie.title}"')
            lists = {"agent": [r.movie_id for r in ans.recommendations],
                     "mf similar_items": [c.item_id for c in ranker.similar_items(mid, n=k)]}
            if with_llm is not None:
                lists[f"agent + {llm.model}"] = [
                    r.movie_id for r in with_llm.ask(f'something like "{movie.title}"')
                    .recommendations]
            for name, ids in lists.items():
                overlap, genre = rows[name]
                overlap.append(sum(i in neighbours for i in ids) / k)
                genre.append(sum(bool(set(ws.catalog[i].genres) & set(movie.genres))
                                 for i in ids) / k)
        memory.close()
    return {name: (statistics.mean(o), statistics.mean(g)) for name, (o, g) in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", choices=["none", "local", "openai"], default="none")
    ap.add_argument("--model", help="GGUF key or path for --llm local (RECBOT_LLM_MODEL)")
    ap.add_argument("--data-dir", help="a data dir with the catalog index (default: a temp "
                                       "dir, indexed first)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--skip-like-x", action="store_true")
    ap.add_argument("--like-x-k", type=int, default=10, help="top-k for the like-X table")
    args = ap.parse_args()
    tmp = None
    if args.data_dir:
        data_dir = Path(args.data_dir)
    else:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name)
    settings = Settings.load(data_dir=data_dir, llm_model=args.model)
    ws = Workspace(settings)
    if not ws.index_is_current():
        print("building the catalog index first …", flush=True)
        ws.build_index()
    llm = make_chat_model(settings, args.llm)
    warm = Agent(ws, llm, Memory(data_dir / "bench-warm.sqlite"))
    warm.warm()
    if llm is not None:
        t = time.perf_counter()
        warm.ask("something like Heat")
        print(f"LLM warm-up turn (model load): {time.perf_counter() - t:.1f} s")
    s = run_conversations(ws, llm, args.k)
    name = "no LLM" if llm is None else f"{llm.backend}: {llm.model}"
    print(f"\n### {name} — {len(CONVERSATIONS)} conversations, {s['turns']} turns, "
          f"{s['rec_turns']} recommending, k={args.k}\n")
    print("| latency (recommending turns) | p50 | p95 | max |\n|---|---|---|---|")
    for label, key in (("first ranked candidates", "t_cand"),
                       ("first streamed explanation", "t_first_reason"),
                       ("full answer", "t_total")):
        v = s[key]
        if v:
            print(f"| {label} | {pct(v, 50):.2f} s | {pct(v, 95):.2f} s | {max(v):.2f} s |")
    print("\n| grounding error | count | rate |\n|---|---|---|")
    proposed = max(s["proposed_ids"], 1)
    expl = max(s["llm_expl"], 1)
    shown = max(s["shown_items"], 1)
    rows = [
        ("LLM proposed IDs outside the candidate window", s["ids_outside"], proposed),
        ("LLM proposed duplicate IDs", s["dup_ids"], proposed),
        ("LLM explanations rejected by the checker", s["llm_expl_rejected"], expl),
        ("shown: items outside the candidates", s["shown_outside"], shown),
        ("shown: duplicates", s["shown_dup"], shown),
        ("shown: seen / disliked / already shown / named", s["shown_seen"], shown),
        ("shown: explanations naming what the evidence lacks", s["shown_unsupported"], shown),
    ]
    for label, count, whole in rows:
        print(f"| {label} | {count} | {100 * count / whole:.1f}% of {whole} |")
    print(f"\nLLM used in {s['llm_used_turns']} of {s['turns']} turns; "
          f"{s['llm_errors']} LLM call failures (answered without it).")
    if s.get("calls"):
        c = s["calls"]
        med = {key: statistics.median(x[key] for x in c) for key in c[0]}
        print(f"\nLocal model, median per turn: prompt {med['prompt']:.0f} tokens, "
              f"{med['reused']:.0f} of them reused from the KV cache, the rest evaluated in "
              f"{med['prompt_s']:.2f} s; {med['generated']:.0f} tokens generated in "
              f"{med['gen_s']:.2f} s.")
    for example in s.get("unsupported", []):
        print(f"- shown but failing the checker: {example}")
    if s["chosen_facts"] or s["order_as_shown"]:
        print(f"Compact mode: the LLM chose the leading fact of {s['chosen_facts']} shown "
              f"films; {s['order_as_shown']} of {s['llm_calls']} replies listed the films "
              "in the order shown (1, 2, 3, ...: position copying; the order is shuffled, "
              "and fused with the base ranking).")
    if s["reasons"]:
        print("Why LLM explanations were rejected: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s["reasons"].items(), key=lambda kv: -kv[1])) + ".")
    if not args.skip_like_x:
        print(f"\n| \"something like X\", 20 most-rated X, top {args.like_x_k} | in X's 50 "
              "co-rating neighbours | shares a genre with X |\n|---|---|---|")
        for label, (overlap, genre) in like_x(ws, args.like_x_k, llm=llm).items():
            print(f"| {label} | {100 * overlap:.0f}% | {100 * genre:.0f}% |")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
