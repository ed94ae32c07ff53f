"""Build the conversational prior recbot ships, from the *learn* part of ReDial only.

    python bench/build_redial_prior.py [--data PATH]
    python bench/build_redial_prior.py --seeker-words    # only the seeker-words table

Writes ``retrieval/data/redial_prior.csv``: ``mentioned,suggested,count`` — how often a
recommender in a ReDial dialogue suggested film ``suggested`` (MovieLens id) after film
``mentioned`` came up earlier in it, and (unless ``--one-way``) the same pair the other way
round, so either film brings up the other; ``mentioned`` 0 counts suggestions overall. Only
dialogues whose conversationId is not divisible by 3 are read (the rest is measure-only,
see bench/bench_redial.py). ReDial: CC BY 4.0, Li et al., NeurIPS 2018 (credit kept in
retrieval/data/README.md).
"""

from __future__ import annotations

import argparse
import collections
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_redial import DATA, NameMapper, eval_points, load_dialogues, split  # noqa: E402

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "retrieval" / "data" / "redial_prior.csv"
CONTEXTS = OUT.with_name("redial_contexts.jsonl.gz")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--contexts", type=Path, default=CONTEXTS,
                    help="where the seeker contexts go (jsonl.gz; their vectors for the "
                         "bundled embedder beside it as .npz when it is the shipped file)")
    ap.add_argument("--fold", type=int, choices=[1, 2],
                    help="only learn dialogues with conversationId %% 3 == FOLD (for tuning "
                         "weights on the other fold without leakage)")
    ap.add_argument("--one-way", dest="symmetric", action="store_false",
                    help="count only the suggestion after the film mentioned earlier (by "
                         "default the pair counts both ways: on the learn folds, fold 1 "
                         "novel R@10 0.097 -> 0.098, fold 2 0.101 -> 0.108)")
    ap.add_argument("--seeker-words", action="store_true",
                    help="only rewrite the shipped seeker-words table from the shipped "
                         "contexts (no ReDial data needed)")
    args = ap.parse_args(argv)
    if args.seeker_words:
        write_seeker_table()
        return 0
    learn, _ = split(load_dialogues(args.data))
    if args.fold:
        learn = [d for d in learn if d.cid % 3 == args.fold]
    mapper = NameMapper(load_catalog(BUNDLED_DATASET_DIR, imdb_csv=None))
    counts: collections.Counter = collections.Counter()
    for d in learn:
        earlier: list[int] = []
        for t in d.turns:
            ids = [m for m in (mapper.map(d.names.get(r, "")) for r in t.mentions) if m]
            if not t.seeker:
                for y in ids:
                    if y in earlier:
                        continue
                    counts[(0, y)] += 1
                    for x in dict.fromkeys(earlier):
                        if x != y:
                            counts[(x, y)] += 1
                            if args.symmetric:
                                counts[(y, x)] += 1
            earlier.extend(i for i in ids if i not in earlier)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["mentioned", "suggested", "count"])
        for (x, y), n in sorted(counts.items()):
            w.writerow([x, y, n])
    print(f"{len(learn)} learn dialogues -> {len(counts)} rows in {args.out}")
    write_contexts(learn, mapper, args.contexts)
    return 0


def write_contexts(learn, mapper, path: Path) -> None:
    """At each recommender turn that suggests a film nobody named before: the seeker's turns
    so far (as recbot keeps a chat's messages) and those films."""
    import gzip
    import json

    from recbot.retrieval.prior import ChatNeighbours, Context, talk_text, write_vectors

    contexts = []
    for d in learn:
        for p in eval_points(d):
            said = [t.text for t in d.turns[: p.turn] if t.seeker and t.text]
            films = {m: 1.0 for m in (mapper.map(d.names.get(r, "")) for r, novel in p.targets
                                      if novel) if m}
            text = talk_text(said)
            if text and films:
                contexts.append(Context(text, films))
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for c in contexts:
            fh.write(json.dumps({"text": c.text, "films": {str(k): v for k, v in
                                                           c.films.items()}}) + "\n")
    tmp.replace(path)
    print(f"{len(contexts)} seeker contexts -> {path}")
    if path.resolve() == CONTEXTS.resolve():
        from recbot.agent.settings import Settings
        from recbot.agent.workspace import Workspace

        embedder = Workspace(Settings.load()).embedder
        vectors = embedder.embed([c.text for c in contexts])
        out = path.parent / "redial_contexts.npz"
        write_vectors(out, vectors, embedder.name, ChatNeighbours(contexts).digest)
        print(f"their vectors ({embedder.name}) -> {out}")
        write_seeker_table()


def write_seeker_table() -> None:
    """The shipped seeker-words table, from the shipped contexts and the reader's stop
    words (rerun with ``--seeker-words`` after editing words.toml's meta, function or common
    lists: recbot computes the table itself, ~30 ms a process, while it is out of date)."""
    from recbot.agent.candidates.text import seeker_stop_words
    from recbot.retrieval.prior import SEEKER_WORDS_JSON, write_seeker_words

    write_seeker_words(SEEKER_WORDS_JSON, CONTEXTS, seeker_stop_words())
    print(f"seeker words -> {SEEKER_WORDS_JSON}")


if __name__ == "__main__":
    raise SystemExit(main())
