"""Benchmark: finding a film from a description in English, Spanish or Chinese (issue 33).

The frozen set ``bench/data/multilingual_asks.jsonl`` (bench/make_multilingual_set.py: 60
films with 5+ distinct tags, seed 33, one ask per language with no title words, written
before any tuning) is searched against the whole active catalog, as ``recbot search``
does (``Workspace.search``, k=5), and asked as one chat turn (``recbot ask``, no LLM, 5
films). A hit is the film in the top 5. Targets: search top-5 >= 0.6 in Chinese, >= 0.7 in
Spanish, English not below the number measured before the multilingual embedder.

    RECBOT_DATA_DIR=/tmp/ml python bench/bench_multilingual.py --label before

Rows are kept in bench/results/multilingual.json by label; bench/results/multilingual.md
is rewritten from all of them.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SET = HERE / "data" / "multilingual_asks.jsonl"
RESULTS = HERE / "results"
LANGS = ("zh", "es", "en")
TARGETS = {"zh": 0.6, "es": 0.7}


def load_set(path: Path = SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def measure(rows: list[dict], *, with_ask: bool = True, english_only: bool = False,
            english_multilingual: bool = False) -> dict:
    from recbot.agent.compose import build_agent
    from recbot.agent.settings import Settings

    settings = Settings.load()
    agent = build_agent(settings, "none")
    ws = agent.ws
    from recbot.agent.reader.language import language

    if not ws.index_is_current():
        print("building the search index first (this is not timed)")
        ws.build_index()
    if not english_only and not ws.index.multilingual_is_current():
        print("building the multilingual index first (this is not timed)")
        ws.index.build_multilingual()
    out: dict = {}
    for lang in LANGS:
        search_hits, ask_hits, search_s, ask_s, misses = 0, 0, [], [], []
        for row in rows:
            text, target = row[lang], row["movie_id"]
            t = time.perf_counter()
            lang_of = "en" if english_only else language(text)
            if english_multilingual and lang_of == "en":
                lang_of = "en+use"     # any tag but "en": the multilingual index
            hits = ws.search(text, k=5, lang=lang_of)
            search_s.append(time.perf_counter() - t)
            found = target in [h.movie_id for h in hits]
            search_hits += found
            if not found:
                misses.append(row["title"])
            if with_ask:
                t = time.perf_counter()
                answer = agent.ask(text, None, k=5)
                ask_s.append(time.perf_counter() - t)
                ask_hits += target in [r.movie_id for r in answer.recommendations]
        n = len(rows)
        out[lang] = {"n": n, "search_top5": search_hits / n,
                     "ask_top5": ask_hits / n if with_ask else None,
                     "search_ms": 1000 * statistics.median(search_s),
                     "ask_ms": 1000 * statistics.median(ask_s) if ask_s else None,
                     "search_misses": misses}
    return out


def write_results(label: str, result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / "multilingual.json"
    data = json.loads(store.read_text()) if store.exists() else {}
    data[label] = {**result, "date": time.strftime("%Y-%m-%d"), "machine": platform.machine()}
    store.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    lines = ["# Multilingual retrieval: 60 films, one ask each in zh / es / en",
             "",
             "Frozen set `bench/data/multilingual_asks.jsonl`; top-5 of `recbot search` over the "
             "whole catalog, and of one `recbot ask` turn (no LLM). Targets: search zh >= 0.6, "
             "es >= 0.7, en not below `before` (`python bench/bench_multilingual.py`).",
             "",
             "| build | lang | search top-5 | ask top-5 | search ms (median) | ask ms (median) |",
             "|---|---|---|---|---|---|"]
    for name, res in data.items():
        for lang in LANGS:
            r = res[lang]
            ask = "-" if r["ask_top5"] is None else f"{r['ask_top5']:.2f}"
            ask_ms = "-" if r["ask_ms"] is None else f"{r['ask_ms']:.0f}"
            lines.append(f"| {name} ({res['date']}) | {lang} | {r['search_top5']:.2f} | {ask} | "
                         f"{r['search_ms']:.0f} | {ask_ms} |")
    (RESULTS / "multilingual.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", required=True, help="row name, e.g. before / after")
    p.add_argument("--no-ask", action="store_true", help="search only (faster)")
    p.add_argument("--set", type=Path, default=SET)
    p.add_argument("--english-only", action="store_true",
                   help="search every language with the English index (as before #33)")
    p.add_argument("--english-multilingual", action="store_true",
                   help="search English asks with the multilingual index too (a probe)")
    args = p.parse_args()
    result = measure(load_set(args.set), with_ask=not args.no_ask,
                     english_only=args.english_only,
                     english_multilingual=args.english_multilingual)
    for lang in LANGS:
        r = result[lang]
        ask = "" if r["ask_top5"] is None else f"  ask top-5 {r['ask_top5']:.2f}"
        target = f"  (target {TARGETS[lang]})" if lang in TARGETS else ""
        print(f"{args.label:10s} {lang}: search top-5 {r['search_top5']:.2f}{ask}{target}"
              f"  search {r['search_ms']:.0f} ms")
    write_results(args.label, result)


if __name__ == "__main__":
    main()
