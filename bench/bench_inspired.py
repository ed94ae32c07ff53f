"""Benchmark: recbot on INSPIRED's dev dialogues (Recall@k on novel targets).

Data: the INSPIRED dev split in ../shared/data/inspired/dev.tsv.gz (beside the repository):
99 recommendation dialogues between a recommender and a seeker (Hayati et al., EMNLP 2020;
no licence stated, published for research). It is only *measured* on here: nothing recbot
ships learns from it, and no dialogue text goes into the result file.

Protocol (the data README's, the same as bench_redial.py's for ReDial, whose code this
reuses): consecutive utterances of one speaker form a turn. Every recommender turn that
mentions at least one film and has a seeker turn before it is an evaluation point; its films
nobody mentioned earlier in the dialogue are the novel targets. A turn's films are the
``movies`` column of its utterances ("Title (year)", ``;``-separated) together with the
``movie_dict`` titles of its ``[MOVIE_TITLE_i]`` placeholders. Two recommender utterances
carry a placeholder whose film the ``movies`` column lacks (one with an empty title, kept as
an unmapped target; one under another year than ``movies`` gives); with them the counts are
the README's, 254 novel targets (252 from ``movies`` alone), and its 248 points are the
recommender *utterances* with a novel target. Points here are turns (231 with a novel
target): the utterances of one turn share the seeker context, hence the list, so the
targets and their contexts are the same either way. The text recbot is asked is ``text`` with
``QUOTATION_MARK`` written as ``"``; titles appear as the seeker typed them (no year).

(a) the seeker's turns so far joined into one message, asked in a fresh session;
(b) the seeker's turns replayed one per agent turn in one session per dialogue; the list
    recbot gave after the seeker turn just before the point counts; (b') the latest list
    the session has shown counts.

Names map to catalog films by normalised title and year (+-1), bench_redial's
``NameMapper``. Recall@1/10/20 on all novel targets (not in the catalog = a miss) and on the
*covered* ones (in the catalog); R@10 with a bootstrap 95% interval over evaluation points
(1000 resamples, fixed seed). Baselines: the films ReDial's recommenders mention most (its
learn part, as in bench_redial.py) and the most-rated MovieLens films, each without the
films mentioned earlier in the dialogue.

    python bench/bench_inspired.py --data-dir D [--variant a|b|both] [--limit N]
                                   [--llm none] [--out bench/results/inspired.md] [--json]
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import gzip
import os
import random
import re
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_redial as br  # noqa: E402  (sets HF_HUB_OFFLINE, TOKENIZERS_PARALLELISM)
from bench_redial import K, KS, Dialogue, NameMapper, Run, Turn, eval_points, recall  # noqa: E402

from recbot.agent.compose import build_agent  # noqa: E402
from recbot.agent.llm import BACKENDS  # noqa: E402
from recbot.agent.settings import Settings  # noqa: E402
from recbot.agent.workspace import Workspace  # noqa: E402
from recbot.retrieval.titles import parse_movielens_title  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "inspired" / "dev.tsv.gz"
README_POINTS, README_NOVEL = 248, 254     # the data README's counts for the whole dev split
RESAMPLES, SEED = 1000, 20201116
CREDIT = ("INSPIRED dialogues (dev split): Shirley Anugrah Hayati, Dongyeop Kang, Qingxiaoyang "
          "Zhu, Weiyan Shi, Zhou Yu. *INSPIRED: Toward Sociable Recommendation Dialog "
          "Systems.* EMNLP 2020. https://github.com/sweetpeach/Inspired — measured only; no "
          "licence is stated, nothing from it is copied into recbot.")
PUBLISHED = ("Published, for orientation only (INSPIRED's *test* split, their item set, titles "
             "outside it filtered): zero-shot LLMs, Recall@10 on novel targets, GPT-4 0.185, "
             "GPT-3.5-turbo 0.175, Vicuna-13B 0.142 (Zhankui He et al., *Large Language Models "
             "as Zero-Shot Conversational Recommenders*, CIKM 2023).")
LABELS = {
    "popularity": "popularity (ReDial recommender mentions, learn part)",
    "ml-popularity": "MovieLens popularity (most-rated films)",
    "a": "recbot (a): seeker turns so far as one message, fresh session",
    "b": "recbot (b): seeker turns replayed in one session",
    "b-last": "recbot (b'): as (b), but the latest list of the session counts",
}
_PLACEHOLDER = re.compile(r"\[MOVIE_TITLE_(\d+)\]")
_DICT_ENTRY = re.compile(r"""(['"])(.*?)\1?: (\d+)""")   # one entry is missing its closing quote
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ----- dialogues --------------------------------------------------------------------------

def _name(raw: str) -> str:
    return " ".join(raw.split())


def _films(row: dict) -> list[str]:
    """The utterance's films: the ``movies`` column, then placeholder titles it lacks. A
    placeholder whose ``movie_dict`` title is empty keeps an id of its own (unmapped)."""
    films = [_name(m) for m in row["movies"].split(";") if m.strip()]
    titles = {int(i): _name(t) for _q, t, i in _DICT_ENTRY.findall(row["movie_dict"])}
    for i in _PLACEHOLDER.findall(row["text_with_placeholder"]):
        title = titles.get(int(i)) or f"[MOVIE_TITLE_{i}]"
        films.append(title)
    return list(dict.fromkeys(films))


def load_dialogues(path: Path = DATA) -> tuple[list[Dialogue], dict]:
    """bench_redial ``Dialogue``s (cid = position in the file; mention ids are the names)
    and, per cid, recommender utterances with a novel target and their novel targets (the
    README counts at the utterance level)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    by_dialog: dict[str, list[dict]] = {}
    for row in rows:
        by_dialog.setdefault(row["dialog_id"], []).append(row)
    out, utt_points, utt_novel = [], {}, {}
    for cid, utts in enumerate(by_dialog.values()):
        utts.sort(key=lambda r: int(r["utt_id"]))
        turns: list[Turn] = []
        names: dict[str, str] = {}
        seen: set[str] = set()
        for row in utts:
            is_seeker = row["speaker"] == "SEEKER"
            films = _films(row)
            for f in films:
                names[f] = "" if f.startswith("[MOVIE_TITLE_") else f
            if not is_seeker and films and any(t.seeker for t in turns):
                novel = sum(f not in seen for f in films)
                utt_points[cid] = utt_points.get(cid, 0) + (novel > 0)
                utt_novel[cid] = utt_novel.get(cid, 0) + novel
            seen.update(films)
            text = row["text"].replace("QUOTATION_MARK", '"')
            text = " ".join(_CONTROL.sub(" ", text).split())
            if turns and turns[-1].seeker == is_seeker:
                t = turns[-1]
                t.text = f"{t.text}\n{text}" if t.text and text else (t.text or text)
                t.mentions.extend(f for f in films if f not in t.mentions)
            else:
                turns.append(Turn(is_seeker, text, films))
        out.append(Dialogue(cid, turns, names))
    return out, {"dialogues": len(by_dialog), "utterances": len(rows),
                 "utterance_points": utt_points, "utterance_novel": utt_novel}


# ----- bootstrap --------------------------------------------------------------------------

def bootstrap_r10(run: Run, groups: list[list], rng_seed: int = SEED) -> tuple[float, float]:
    """95% interval of R@10 over ``groups`` (one list of target keys per evaluation point),
    resampling the points with replacement."""
    hits = [(sum(1 for key in g if (r := run.ranks.get(key)) is not None and r <= 10), len(g))
            for g in groups if g]
    if not hits:
        return float("nan"), float("nan")
    rng = random.Random(rng_seed)
    values = []
    for _ in range(RESAMPLES):
        sample = [hits[rng.randrange(len(hits))] for _ in hits]
        values.append(sum(h for h, _ in sample) / sum(n for _, n in sample))
    return br.pct(values, 2.5), br.pct(values, 97.5)


# ----- report -----------------------------------------------------------------------------

def summarise(args, argv, dialogues, counts, mapper, catalog, runs, rec, notes) -> dict:
    points = [p for d in dialogues for p in eval_points(d)]
    names = {d.cid: d.names for d in dialogues}
    novel_groups, covered_groups, all_keys = [], [], []
    for p in points:
        keys = [(p.cid, p.turn, rid) for rid, novel in p.targets if novel]
        all_keys += [(p.cid, p.turn, rid) for rid, _ in p.targets]
        novel_groups.append(keys)
        covered_groups.append([k for k in keys if mapper.map(names[k[0]][k[2]]) is not None])
    novel = [k for g in novel_groups for k in g]
    covered = [k for g in covered_groups for k in g]
    evaluated = {d.cid for d in dialogues}
    years = [y for k in novel if (y := parse_movielens_title(names[k[0]][k[2]]).year)]
    systems = {}
    for run in runs:
        systems[run.name] = {
            "novel": {f"R@{k}": recall(run, novel, k) for k in KS},
            "novel_R@10_ci95": bootstrap_r10(run, novel_groups),
            "covered": {f"R@{k}": recall(run, covered, k) for k in KS},
            "covered_R@10_ci95": bootstrap_r10(run, covered_groups),
            "all_targets_R@10": recall(run, all_keys, 10),
            "points_with_list": run.point_kinds.get("recommend", 0),
            "point_kinds": dict(run.point_kinds.most_common()),
            "asks": len(run.seconds),
            "p50_s": br.pct(run.seconds, 50), "p95_s": br.pct(run.seconds, 95),
            "top1_mentioned_earlier": run.repeats_top1,
            "median_top1_ratings": statistics.median(
                [catalog.popularity.get(m, 0) for m in run.top1]) if run.top1 else None,
            "truncated_contexts": run.truncated,
            "errors": len(run.errors), "error_examples": run.errors[:5],
        }
    out = {
        "date": datetime.date.today().isoformat(),
        "code": br.code_version(),
        "command": "python " + " ".join(shlex.quote(a) for a in argv),
        "llm": args.llm,
        "dialogues": counts["dialogues"], "utterances": counts["utterances"],
        "utterance_points": sum(n for c, n in counts["utterance_points"].items()
                                if c in evaluated),
        "evaluated_dialogues": len(dialogues),
        "points": len(points),
        "points_with_novel": sum(1 for g in novel_groups if g),
        "targets": len(all_keys),
        "novel_targets": len(novel), "covered": len(covered),
        "novel_after_2018": sum(1 for y in years if y > 2018),
        "catalog_latest_year": max((m.year for m in catalog if m.year), default=None),
        "mapping": dict(collections.Counter(
            mapper.how_of(names[k[0]][k[2]]) for k in novel).most_common()),
        "systems": systems,
        "notes": notes,
    }
    if rec is not None:
        out["recognised"] = {"mentions": rec.mentions, "recognised": rec.recognised,
                             "share": rec.recognised / max(rec.mentions, 1)}
    return out


def markdown(s: dict) -> str:
    L = [f"# bench/bench_inspired.py — recbot on INSPIRED dev dialogues ({s['date']})\n",
         f"`{s['command']}`\n",
         f"Code measured: {s['code']}. LLM: {s['llm']}, k={K}.\n"]
    part = (f"{s['evaluated_dialogues']} of {s['dialogues']} dialogues" if
            s["evaluated_dialogues"] != s["dialogues"] else f"all {s['dialogues']} dialogues")
    L.append(f"Evaluated: {part} ({s['utterances']} utterances in the file). "
             f"**{s['points']} evaluation points** (recommender turns with a film), "
             f"{s['points_with_novel']} with a novel target ({s['utterance_points']} recommender "
             f"utterances with one: the README's count); **{s['novel_targets']} novel targets, "
             f"{s['covered']} covered** (in the catalog, "
             f"{s['covered'] / max(s['novel_targets'], 1):.0%}); {s['novel_after_2018']} "
             f"novel targets are from 2019 or later, the catalog's latest year is "
             f"{s['catalog_latest_year']}.\n")
    L.append("Novel targets mapped to catalog films: "
             + ", ".join(f"{how} {n}" for how, n in s["mapping"].items()) + ".\n")
    L.append("Protocol as the data README gives it; a turn's films are its `movies` column "
             "together with the `movie_dict` titles of its `[MOVIE_TITLE_i]` placeholders "
             "(which adds 2 novel targets the column lacks and gives the README's counts; "
             "the README's points count utterances, these count turns, the targets and their "
             "contexts are the same). The seeker's text as typed (titles without years, "
             "`QUOTATION_MARK` as `\"`); no dialogue text is quoted here.\n")
    for note in s["notes"]:
        L.append(f"Note: {note}\n")
    L.append("## Recall on novel targets\n")
    L.append("*All*: every novel target, those not in the catalog and answers without a list "
             "count as misses. *Covered*: only the novel targets the catalog holds. [95% "
             f"bootstrap interval over evaluation points, {RESAMPLES} resamples, seed {SEED}.]\n")
    L.append("| system | R@1 | R@10 | R@20 | covered R@1 | covered R@10 | covered R@20 | "
             "points with a list |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name, r in s["systems"].items():
        nv, cv = r["novel"], r["covered"]
        (a0, a1), (c0, c1) = r["novel_R@10_ci95"], r["covered_R@10_ci95"]
        L.append(f"| {LABELS.get(name, name)} | {nv['R@1']:.3f} | **{nv['R@10']:.3f}** "
                 f"[{a0:.3f}, {a1:.3f}] | {nv['R@20']:.3f} | {cv['R@1']:.3f} | "
                 f"**{cv['R@10']:.3f}** [{c0:.3f}, {c1:.3f}] | {cv['R@20']:.3f} | "
                 f"{r['points_with_list']}/{s['points']} |")
    L.append("")
    L.append(PUBLISHED + "\n")
    agents = {n: r for n, r in s["systems"].items() if n in ("a", "b")}
    if agents:
        L.append("## Answers and latency\n")
        L.append("| | " + " | ".join(f"variant {n}" for n in agents) + " |")
        L.append("|---|" + "---|" * len(agents))
        for kind in sorted({k for r in agents.values() for k in r["point_kinds"]}):
            L.append(f"| answer kind at evaluation points: {kind} | "
                     + " | ".join(str(r["point_kinds"].get(kind, 0)) for r in agents.values())
                     + " |")
        L.append("| asks timed | " + " | ".join(str(r["asks"]) for r in agents.values()) + " |")
        L.append("| turn time p50 / p95 | " + " | ".join(
            f"{r['p50_s']:.3f} / {r['p95_s']:.3f} s" for r in agents.values()) + " |")
        L.append("| lists whose #1 was mentioned earlier in the dialogue | " + " | ".join(
            f"{r['top1_mentioned_earlier']} of {r['points_with_list']}"
            for r in agents.values()) + " |")
        L.append("| median MovieLens ratings of the #1 pick | " + " | ".join(
            f"{r['median_top1_ratings']:g}" if r["median_top1_ratings"] is not None else "–"
            for r in agents.values()) + " |")
        L.append("| contexts cut to the message limit | "
                 + " | ".join(str(r["truncated_contexts"]) for r in agents.values()) + " |")
        L.append("| errors (exceptions, refusals) | "
                 + " | ".join(str(r["errors"]) for r in agents.values()) + " |")
        L.append("")
    if "recognised" in s:
        rc = s["recognised"]
        L.append(f"Variant (b) resolved {rc['share']:.1%} ({rc['recognised']}/{rc['mentions']}) "
                 "of the seeker's mentions of catalog films to that film (INSPIRED's film "
                 "annotation is loose: it also tags words like \"the future\" or \"the Rock\" "
                 "as films).\n")
    L.append("---\n")
    L.append(CREDIT)
    return "\n".join(L) + "\n"


# ----- main -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("RECBOT_DATA_DIR"),
                    required="RECBOT_DATA_DIR" not in os.environ,
                    help="a warm recbot data dir (catalog index built); default RECBOT_DATA_DIR")
    ap.add_argument("--data", type=Path, default=DATA, help="INSPIRED dev.tsv(.gz)")
    ap.add_argument("--redial", type=Path, default=br.DATA,
                    help="ReDial jsonl(.gz) whose learn part trains the popularity baseline")
    ap.add_argument("--variant", choices=["a", "b", "both"], default="both")
    ap.add_argument("--limit", type=int, help="only the first N dialogues")
    ap.add_argument("--llm", default="none", choices=BACKENDS, help="LLM backend (default none)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results/inspired.md"),
                    help="markdown result file ('' for none)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv[1:])

    t_all = time.perf_counter()
    dialogues, counts = load_dialogues(args.data)
    points = [p for d in dialogues for p in eval_points(d)]
    n_novel = sum(novel for p in points for _, novel in p.targets)
    utt_points = sum(counts["utterance_points"].values())
    print(f"INSPIRED dev: {counts['dialogues']} dialogues, {len(points)} points (recommender "
          f"turns with a film), {sum(1 for p in points if any(n for _, n in p.targets))} with a "
          f"novel target ({utt_points} utterances), {n_novel} novel targets",
          file=sys.stderr)
    assert sum(counts["utterance_novel"].values()) == n_novel, "utterance and turn counts disagree"
    if args.data == DATA:
        assert (utt_points, n_novel) == (README_POINTS, README_NOVEL), \
            f"counts differ from the README's {README_POINTS} points, {README_NOVEL} targets"
    if args.limit:
        dialogues = dialogues[: args.limit]

    notes: list[str] = []
    settings = Settings.load(data_dir=Path(args.data_dir).expanduser())
    ws = Workspace(settings)
    if not ws.index_is_current():
        msg = "the catalog index in the data dir was not current; built it first"
        print(msg + " …", file=sys.stderr, flush=True)
        ws.build_index()
        notes.append(msg + ".")
    catalog = ws.catalog
    mapper = NameMapper(catalog)
    ml_ranking = sorted(catalog.popularity, key=lambda m: (-catalog.popularity[m], m))
    runs = []
    if args.redial.exists():
        learn, _measure = br.split(br.load_dialogues(args.redial))
        runs.append(br.run_baseline("popularity", br.popularity_list(learn, mapper, catalog),
                                    dialogues, mapper))
    else:
        notes.append(f"no ReDial data at {args.redial}: no ReDial popularity baseline.")
    runs.append(br.run_baseline("ml-popularity", ml_ranking, dialogues, mapper))

    def progress(variant, n, total):
        if n % 10 == 0 or n == total:
            print(f"  variant {variant}: {n}/{total} dialogues", file=sys.stderr, flush=True)

    rec, seconds = None, {}
    with tempfile.TemporaryDirectory(prefix="bench-inspired-") as tmp:
        runner = br.Runner(ws, Path(tmp))
        if args.llm != "none":
            runner.agent = build_agent(settings, args.llm, workspace=ws,
                                       memory=runner.agent.memory, k=K)
            runner.agent.warm()
        try:
            if args.variant in ("a", "both"):
                t0 = time.perf_counter()
                runs.append(br.run_a(runner, dialogues, mapper, progress))
                seconds["a"] = time.perf_counter() - t0
            if args.variant in ("b", "both"):
                t0 = time.perf_counter()
                run, last_run, rec = br.run_b(runner, dialogues, mapper, catalog, progress)
                runs += [run, last_run]
                seconds["b"] = time.perf_counter() - t0
        except br.BrokenAgent as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            runner.agent.memory.close()
    notes.append("wall time: " + ", ".join(f"variant {v} {t:.0f} s" for v, t in seconds.items())
                 + f"; {time.perf_counter() - t_all:.0f} s in all ({os.cpu_count()} CPUs).")
    s = summarise(args, argv, dialogues, counts, mapper, catalog, runs, rec, notes)
    return br.write_report(markdown(s), s, runs, args)


if __name__ == "__main__":
    sys.exit(main())
