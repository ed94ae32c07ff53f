"""Does a learned re-ranker beat recbot's hand-weighted fusion? (issues #30 item 3, #31)

recbot fuses its candidate sources (MF neighbours, the chat prior, the chat-talk neighbours,
search, people, popularity, ...) by weighted reciprocal rank, with weights set by hand on the
ReDial learn folds. This script asks whether a model learned from those folds orders the
same candidates better. Only the ReDial *learn* part is used (conversationId % 3 != 0), one
fold to train and the other to test, each fold answered with the chat prior and seeker
contexts built from the *other* fold (bench/results/learn_folds.md), so nothing is in-sample.

Step 1, once per fold, in that fold's data dir and with the other fold's prior:

    RECBOT_DATA_DIR=D1 RECBOT_PRIOR_CSV=prior-f2.csv RECBOT_CONTEXTS=contexts-f2.jsonl.gz \\
        python bench/learned_rerank.py capture fold1 /tmp/f1.json
    RECBOT_DATA_DIR=D2 RECBOT_PRIOR_CSV=prior-f1.csv RECBOT_CONTEXTS=contexts-f1.jsonl.gz \\
        python bench/learned_rerank.py capture fold2 /tmp/f2.json

It asks every evaluation point as bench_redial's variant (a) does (the seeker's turns so far,
one message, no LLM) and keeps the first 100 candidates of the fused, nudged order, each with
its rank in every source, and the novel targets.

Step 2: ``python bench/learned_rerank.py fit /tmp/f1.json /tmp/f2.json prior-f2.csv
prior-f1.csv [--out bench/results/learned_rerank.md]`` trains on one fold, tests on the other
(both ways) and reports novel Recall@10 (targets outside the catalog count as misses) of:
the fused order as it is; a listwise linear model (softmax over each point's candidates) on
58 features (per source: found, 1/rank, log rank; the fused score and position; MovieLens
ratings count and mean; year; times suggested in the chats, and after the named films; genre
overlap with the named films; the kind of ask); the same with the features crossed with the
kind of ask; and small corrections of the fused score (its log plus a few features).
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEPTH = 100     # candidates kept per point: the fused order's recall@100 is about 0.34
SOURCES = ("similar", "profile", "carried", "chat", "chat_similar", "chat_popular", "chat_talk",
           "search", "keyword", "people", "people_named", "popular", "transcript", "own_videos")
EXTRA = ("score", "logpos", "invpos", "lognml", "mean", "few", "yr", "y2010", "y2015",
         "logsug", "sug", "after", "genres", "seeds", "similar_ask", "query")


def capture(part: str, out: Path) -> int:
    sys.path.insert(0, str(HERE))
    import bench_redial as br
    from recbot.agent.candidates import generator as gen
    from recbot.agent.settings import Settings
    from recbot.agent.workspace import Workspace

    seen: dict = {}
    finish = gen.CandidateGenerator._finish

    def spy(self, req, fused, ranks, found, pool):
        scored = self._score(req, fused, list(fused))
        top = sorted(scored, key=lambda i: (-scored[i], i))[:DEPTH]
        seen["last"] = (req, [[i, scored[i], dict(ranks.get(i, {}))] for i in top])
        return finish(self, req, fused, ranks, found, pool)

    gen.CandidateGenerator._finish = spy
    ws = Workspace(Settings.load())
    mapper = br.NameMapper(ws.catalog)
    learn, measure = br.split(br.load_dialogues(br.DATA, years=True))
    if part not in ("fold1", "fold2"):
        raise SystemExit("capture: the part is fold1 or fold2 (the measure part is not for tuning)")
    dialogues = [d for d in learn if d.cid % 3 == int(part[-1])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runner = br.Runner(ws, Path(tmp))
        run = br.Run("a")
        for n, d in enumerate(dialogues, 1):
            for p in br.eval_points(d):
                runner.fresh_memory()
                seen.pop("last", None)
                text, _ = br.context_a(d, p.turn)
                ask, _ = runner.ask(text, None, run)
                req, pool = seen.get("last", (None, None)) if ask.recs else (None, None)
                rows.append({
                    "cid": d.cid, "turn": p.turn, "recs": ask.recs,
                    "targets": [mapper.map(d.names.get(rid, "")) for rid, nv in p.targets if nv],
                    "pool": pool, "seeds": list(req.seeds) if req else [],
                    "likes": list(req.likes) if req else [], "query": req.query if req else "",
                    "similar": bool(req and req.similar)})
            if n % 50 == 0:
                print(f"  {n}/{len(dialogues)} dialogues", file=sys.stderr, flush=True)
        runner.agent.memory.close()
    out.write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(rows)} points written to {out}")
    return 0


def _ratings() -> tuple[dict[int, float], collections.Counter]:
    from recbot.retrieval.catalog import BUNDLED_DATA_DIR

    total: dict[int, float] = collections.defaultdict(float)
    count: collections.Counter = collections.Counter()
    with (BUNDLED_DATA_DIR / "ml-latest-small" / "ratings.csv").open(newline="") as fh:
        rows = csv.reader(fh)
        next(rows)
        for _, m, r, _ in rows:
            total[int(m)] += float(r)
            count[int(m)] += 1
    return {m: total[m] / count[m] for m in count}, count


def featurise(rows, prior, catalog, mean, count):
    """(X, y, point index, movie id) over every candidate of every point with a list."""
    X, y, grp, items = [], [], [], []
    for g, r in enumerate(rows):
        if not r["pool"]:
            continue
        named = [catalog.get(s) for s in r["seeds"] + r["likes"]]
        named_genres = {x for m in named if m for x in m.genres}
        top = r["pool"][0][1] or 1.0
        for pos, (i, s, ranks) in enumerate(r["pool"]):
            m = catalog.get(i)
            f = []
            for name in SOURCES:
                rk = ranks.get(name)
                f += [1.0 if rk else 0.0, 1.0 / rk if rk else 0.0, math.log(rk) if rk else 0.0]
            n = count.get(i, 0)
            year = (m.year or 1990) if m else 1990
            sug = prior.suggested.get(i, 0)
            after = sum(prior.after.get(x, {}).get(i, 0) for x in r["seeds"] + r["likes"])
            genres = set(m.genres) if m else set()
            overlap = (len(named_genres & genres) / len(named_genres | genres)
                       if named_genres and genres else 0.0)
            f += [s / top, math.log(pos + 1), 1.0 / (pos + 1), math.log1p(n),
                  mean.get(i, 3.0), min(n, 5) / 5, (year - 1995) / 20, float(year >= 2010),
                  float(year >= 2015), math.log1p(sug), float(sug > 0), math.log1p(after),
                  overlap, float(bool(r["seeds"])), float(r["similar"]), float(bool(r["query"]))]
            X.append(f)
            y.append(1.0 if i in r["targets"] else 0.0)
            grp.append(g)
            items.append(i)
    return np.array(X), np.array(y), np.array(grp), np.array(items)


def recall(rows, grp, items, score, k=10) -> float:
    """Novel Recall@k of ordering each point's candidates by ``score`` (all targets count)."""
    total = sum(len(r["targets"]) for r in rows)
    by = collections.defaultdict(list)
    for g, i, v in zip(grp, items, score):
        by[g].append((-v, i))
    hits = 0
    for g, lst in by.items():
        top = {i for _, i in sorted(lst)[:k]}
        hits += sum(1 for t in rows[g]["targets"] if t in top)
    return hits / total


def fit_listwise(Z, y, grp, l2, base=None):
    """Weights of a linear softmax ranker (one softmax per point with a target in its pool);
    with ``base`` (the log fused score) its own weight comes first and is not penalised."""
    from scipy.optimize import minimize

    groups = [ix for ix in (np.flatnonzero(grp == g) for g in np.unique(grp)) if y[ix].any()]
    A = Z if base is None else np.hstack([base[:, None], Z])
    free = 0 if base is None else 1

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for ix in groups:
            s = A[ix] @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            t = y[ix] / y[ix].sum()
            total -= float(t @ np.log(p + 1e-12))
            grad += A[ix].T @ (p - t)
        pen = w.copy()
        pen[:free] = 0
        return total + l2 * float(pen @ pen), grad + 2 * l2 * pen

    w0 = np.zeros(A.shape[1])
    if free:
        w0[0] = 1.0
    return minimize(loss, w0, jac=True, method="L-BFGS-B").x


def fit(args) -> int:
    from recbot.agent.settings import Settings
    from recbot.agent.workspace import Workspace
    from recbot.retrieval.prior import ChatPrior

    catalog = Workspace(Settings.load()).catalog
    mean, count = _ratings()
    folds = []
    for rows_path, prior_path in ((args.fold1, args.prior1), (args.fold2, args.prior2)):
        rows = json.loads(Path(rows_path).read_text(encoding="utf-8"))
        folds.append((rows, featurise(rows, ChatPrior.load(Path(prior_path)), catalog, mean,
                                      count)))
    n_src = len(SOURCES) * 3
    col = {name: n_src + k for k, name in enumerate(EXTRA)}

    def crossed(X):
        kinds = X[:, [col["seeds"]]], X[:, [col["query"]]]
        neither = (1 - kinds[0]) * (1 - kinds[1])
        base = X[:, : n_src + 13]
        return np.hstack([X, base * kinds[0], base * kinds[1], base * neither])

    def model(name, make, l2, residual=False):
        out = []
        for (_, tr), (te_rows, te) in ((folds[0], folds[1]), (folds[1], folds[0])):
            Xtr, Xte = make(tr[0]), make(te[0])
            mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
            btr = np.log(tr[0][:, col["score"]] + 1e-6) if residual else None
            w = fit_listwise((Xtr - mu) / sd, tr[1], tr[2], l2, btr)
            Zte = (Xte - mu) / sd
            s = (w[0] * np.log(te[0][:, col["score"]] + 1e-6) + Zte @ w[1:]) if residual \
                else Zte @ w
            out.append(recall(te_rows, te[2], te[3], s))
        return name, l2, out[1], out[0]     # test fold 1, test fold 2

    table = [("the fused order as recbot ranks it (no learning)", "",
              recall(folds[0][0], folds[0][1][2], folds[0][1][3], folds[0][1][0][:, col["score"]]),
              recall(folds[1][0], folds[1][1][2], folds[1][1][3], folds[1][1][0][:, col["score"]]))]
    for l2 in (1.0, 10.0, 100.0):
        table.append(model("listwise linear, 58 features", lambda X: X, l2))
    for l2 in (10.0, 100.0):
        table.append(model("listwise linear, features crossed with the kind of ask", crossed, l2))
    for names in (("yr", "logsug", "lognml", "mean"), ("genres", "yr"), ("logsug", "sug"),
                  ("lognml", "mean", "few")):
        for l2 in (10.0, 100.0):
            table.append(model("log fused score + " + ", ".join(names),
                               lambda X, ix=[col[n] for n in names]: X[:, ix], l2, residual=True))
    recs = [sum(1 for r in rows for t in r["targets"] if t in (r["recs"] or [])[:10])
            / sum(len(r["targets"]) for r in rows) for rows, _ in folds]
    lines = [
        "# A learned re-ranker against the hand-weighted fusion (ReDial learn folds)",
        "",
        f"`python bench/learned_rerank.py fit ...` on {datetime.date.today()}; see the script's "
        "docstring for the protocol. Novel Recall@10 over all novel targets (outside the "
        "catalog count as misses) when the first 100 fused candidates of each point are "
        "re-ordered; trained on one fold, tested on the other.",
        "",
        f"Points: fold 1 {len(folds[0][0])} ({sum(len(r['targets']) for r in folds[0][0])} "
        f"novel targets), fold 2 {len(folds[1][0])} "
        f"({sum(len(r['targets']) for r in folds[1][0])}). recbot's own lists (after "
        f"diversity): R@10 {recs[0]:.3f} / {recs[1]:.3f}.",
        "",
        "| ordering | L2 | test fold 1 | test fold 2 |",
        "|---|---|---|---|",
    ]
    for name, l2, a, b in table:
        lines.append(f"| {name} | {l2 if l2 == '' else f'{l2:g}'} | {a:.3f} | {b:.3f} |")
    lines += ["", "A learned order is kept only where it beats the fused order on both folds."]
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("part", choices=["fold1", "fold2"])
    c.add_argument("out", type=Path)
    f = sub.add_parser("fit")
    for name in ("fold1", "fold2", "prior1", "prior2"):
        f.add_argument(name)
    f.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "capture":
        return capture(args.part, args.out)
    return fit(args)


if __name__ == "__main__":
    raise SystemExit(main())
