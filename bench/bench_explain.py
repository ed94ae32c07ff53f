"""Benchmark: are recbot's explanations specific, true to the data and honest about "why not"?

    python bench/bench_explain.py --data-dir D [--llm none] [--out bench/results/explain.md]

Turns: 100 points of ReDial's *learn* part (variant a contexts of bench_redial.py: the
seeker's turns so far in one message, fresh session) and 100 typed asks written here (like
X, people, descriptions, genres and decades, generic asks, follow-ups). For every shown pick
(all of them, not only #1) the explanation is classified by the facts it states (a fact
counts when its wording appears in the explanation):

- *specific*: it names a person (a director or star, shared or asked for), tags or a theme
  of the ask, a transcript passage, the user's own likes, or a co-rating with lift >= 1.5
  over >= 5 people; overview lines, genre lists, chat counts, similarity and popularity
  alone are not specific. Target: >= 90% of shown picks.
- *thin claims*: a co-rating figure over fewer than 5 people (target 0);
- *starring a director*: "starring X" / "stars X" where X co-directed the film and does
  not act in it (target 0).

"Why not": 30 asks, each followed by "why not X?" for a film that fits the ask's
constraints but was not shown (a well-known film, ranked 8th-40th in the catalog for those
constraints); the answer must say where X ranked or what kept it out (a constraint the user
set, a signal that missed it, seen/shown), and must never blame a constraint X passes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
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
    context_a,
    eval_points,
    load_dialogues,
    split,
)

from recbot.agent.candidates import Constraints  # noqa: E402
from recbot.agent.chat import Agent  # noqa: E402
from recbot.agent.llm import make_chat_model  # noqa: E402
from recbot.agent.memory import Memory  # noqa: E402
from recbot.agent.settings import Settings  # noqa: E402
from recbot.agent.workspace import Workspace  # noqa: E402

TYPED = [
    "something like Heat", "something like Forrest Gump", "like The Matrix",
    "something like Toy Story", "movies like Fargo", "something like The Shining",
    "like Pulp Fiction", "similar to Amelie", "something like Alien", "like The Big Lebowski",
    "something like Inception", "something like Jurassic Park", "like Groundhog Day",
    "something like Die Hard", "like Spirited Away", "something like The Godfather",
    "movies like Finding Nemo", "something like Casablanca", "like Blade Runner",
    "something like Titanic", "I loved Goodfellas and Casino, more like those",
    "a mix of Toy Story and The Matrix", "something like Memento", "like Zombieland",
    "something like The Princess Bride", "like Back to the Future", "something like Se7en",
    "movies like Mean Girls", "something like The Notebook", "like Ocean's Eleven",
    "anything with Meryl Streep?", "films with Tom Hanks", "something with Robert De Niro",
    "Spielberg movies", "a Hitchcock film", "films by Christopher Nolan",
    "something starring Leonardo DiCaprio", "movies with Morgan Freeman",
    "Quentin Tarantino films", "something with Bill Murray", "films by the Coen brothers",
    "anything directed by Martin Scorsese", "a movie with Audrey Hepburn",
    "something with Harrison Ford", "Pixar films",
    "a film about loneliness", "a heist with a twist ending", "a movie about time travel",
    "something about artificial intelligence", "a story about friendship and growing up",
    "a film about the mafia", "a movie set in space", "something about revenge",
    "a film about a road trip", "a courtroom drama", "a movie about a haunted house",
    "something about dreams", "a film about war and survival", "a sports underdog story",
    "a funny animated film, nothing before 2000", "90s sci-fi", "a 70s thriller",
    "a romantic comedy from the 2000s", "a scary movie", "a good western",
    "an 80s action movie", "a musical", "a war film", "a documentary",
    "a crime drama under two hours", "a comedy under 90 minutes", "a classic film noir",
    "a fantasy adventure for kids", "a french film", "a psychological thriller",
    "best films of 1994", "top 3 horror films", "a mystery from the 1950s",
    "an animated film for adults", "a dark comedy",
    "what should I watch tonight?", "recommend me something good", "I'm open to anything",
    "any suggestions?", "something popular", "a hidden gem", "a feel-good movie",
    "a movie to cry to", "something light and fun", "a movie for a date night",
    "I liked The Shining and The Exorcist, more like those", "I loved Get Carter",
    "i loved kramer vs kramer, similar stuff?", "like Raising Arizona",
    "something like Tokyo Godfathers", "something like Coco", "like Up",
    "something like Inside Out", "something like Monsters, Inc.", "like Zootopia",
]

WHY_NOT_ASKS = [
    "something like Heat", "a 70s thriller", "90s sci-fi", "a romantic comedy from the 2000s",
    "a funny animated film, nothing before 2000", "an 80s action movie", "a good western",
    "a war film", "something like Forrest Gump", "a crime drama under two hours",
    "a scary movie", "like The Matrix", "a musical", "a classic film noir",
    "a heist with a twist ending", "something like Toy Story", "a movie set in space",
    "a comedy under 90 minutes", "something like Fargo", "a psychological thriller",
    "something like The Godfather", "a fantasy adventure for kids", "a dark comedy",
    "what should I watch tonight?", "films with Tom Hanks", "Spielberg movies",
    "a mystery from the 1950s", "something like Alien", "a film about the mafia",
    "something like Pulp Fiction",
]

SPECIFIC = {"person", "shared_director", "shared_cast", "director", "cast", "shared_tags",
            "tags", "theme", "transcript", "because_you_liked"}
LIFT = re.compile(r"(\d+(?:\.\d+)?)× as often.*?\((\d+) of (\d+)\)")
SMALL = [re.compile(r"of the (\d+) people"), re.compile(r"\((\d+) of (\d+)\)")]
STARRING = re.compile(r"\b(?:starring|stars)\s+([^.;]+)", re.IGNORECASE)
ANSWERED = re.compile(r"ranked #\d+|ranks #\d+|doesn't fit your filters|you told me|"
                      r"in the list: it's #|I showed .* earlier|film you asked for things like|"
                      r"none of this ask's signals reach it|doesn't list|has no ratings")


def used_facts(rec) -> list:
    said = " ".join(rec.explanation.lower().split())
    return [f for f in rec.evidence if " ".join(f.text.lower().split())[:40] in said]


def is_specific(rec) -> bool:
    for f in used_facts(rec):
        if f.kind in SPECIFIC:
            return True
        if f.kind == "co_rating":
            m = LIFT.search(f.text)
            if m and float(m.group(1)) >= 1.5 and min(int(m.group(2)), int(m.group(3))) >= 5:
                return True
    return False


def thin(text: str) -> list[str]:
    out = []
    for rx in SMALL:
        for m in rx.finditer(text):
            if min(int(g) for g in m.groups()) < 5:
                out.append(m.group(0))
    return out


def stars_a_director(rec, movie) -> list[str]:
    bad = []
    for said in STARRING.findall(rec.explanation):
        bad += [d for d in movie.directors if d in said and d not in movie.stars]
    return bad


def redial_turns(n: int) -> list[str]:
    learn, _ = split(load_dialogues(DATA))
    texts = []
    for d in learn:
        for p in eval_points(d):
            text, _ = context_a(d, p.turn)
            if text.strip():
                texts.append(text)
    step = max(len(texts) // n, 1)
    return texts[::step][:n]


def fresh(agent: Agent, tmp: Path, tag: str) -> None:
    agent.memory.close()
    agent.memory = Memory(tmp / f"{tag}.sqlite")


def why_not_film(agent: Agent, ans) -> int | None:
    """A well-known film that fits the ask's constraints and was not shown."""
    st = agent.memory.load(ans.session)
    req = st.state.get("request") or {}
    cons = Constraints.from_dict(req.get("constraints"))
    shown = {r.movie_id for r in ans.recommendations} | set(req.get("seeds") or [])
    people = req.get("people") or []
    only = None
    if people:
        only = set.union(*(set(agent.mentions_person(p)) for p in people))
    fits = [m for m in agent.catalog if cons.allows(m) and m.movie_id not in shown
            and (only is None or m.movie_id in only)]
    fits.sort(key=lambda m: (-agent.catalog.popularity.get(m.movie_id, 0), m.movie_id))
    pool = fits[7:40] if len(fits) > 10 else fits
    return pool[len(ans.session) % len(pool)].movie_id if pool else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("RECBOT_DATA_DIR"), required=False)
    ap.add_argument("--llm", default="none")
    ap.add_argument("--redial", type=int, default=100)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results/explain.md"))
    args = ap.parse_args(argv)
    if not args.data_dir:
        ap.error("--data-dir D (a warm data dir: recbot index run once)")
    settings = Settings.load(data_dir=Path(args.data_dir))
    ws = Workspace(settings)
    if not ws.index_is_current():
        print("building the catalog index first …", flush=True)
        ws.build_index()
    tmp = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    llm = make_chat_model(settings, args.llm)
    agent = Agent(ws, llm, Memory(tmp / "warm.sqlite"))
    agent.warm()
    turns = [("redial", t) for t in redial_turns(args.redial)] + [("typed", t) for t in TYPED]
    picks = specific = 0
    by_source = {"redial": [0, 0], "typed": [0, 0]}
    thin_claims: list[str] = []
    starring: list[str] = []
    vague: list[str] = []
    vague_by: dict[str, int] = {}
    kinds: dict[str, int] = {}
    seconds = []
    for i, (source, text) in enumerate(turns):
        fresh(agent, tmp, f"t{i}")
        t0 = time.perf_counter()
        ans = agent.ask(text, None)
        seconds.append(time.perf_counter() - t0)
        for r in ans.recommendations:
            picks += 1
            by_source[source][1] += 1
            ok = is_specific(r)
            specific += ok
            by_source[source][0] += ok
            for f in used_facts(r):
                kinds[f.kind] = kinds.get(f.kind, 0) + 1
            if not ok:
                used = used_facts(r)
                lead = used[0].kind if used else "none"
                vague_by[lead] = vague_by.get(lead, 0) + 1
                if len(vague) < 12:
                    vague.append(f"{text[:60]!r} → {r.title}: {r.explanation}")
            thin_claims += [f"{r.title}: {c}" for c in thin(r.explanation)]
            movie = agent.catalog[r.movie_id]
            starring += [f"{r.title}: starring {d}" for d in stars_a_director(r, movie)]
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(turns)} turns", flush=True)
    why_rows = []
    for j, text in enumerate(WHY_NOT_ASKS):
        fresh(agent, tmp, f"w{j}")
        ans = agent.ask(text, None)
        if not ans.recommendations:
            why_rows.append((text, None, "no list", False, False))
            continue
        film = why_not_film(agent, ans)
        if film is None:
            why_rows.append((text, None, "no fitting film", False, False))
            continue
        movie = agent.catalog[film]
        reply = agent.ask(f"why not {movie.title}?", ans.session)
        st = agent.memory.load(ans.session)
        cons = Constraints.from_dict((st.state.get("request") or {}).get("constraints"))
        answered = bool(ANSWERED.search(reply.reply))
        wrong_blame = "doesn't fit your filters" in reply.reply and cons.allows(movie)
        why_rows.append((text, movie.label(), reply.reply, answered, wrong_blame))
    share = specific / max(picks, 1)
    answered = sum(1 for r in why_rows if r[3])
    blamed = sum(1 for r in why_rows if r[4])
    lines = [
        "# Explanations: specific, true, honest about why not",
        "",
        f"{datetime.date.today()} · `python bench/bench_explain.py --data-dir D --llm "
        f"{args.llm}` · {len(turns)} turns ({args.redial} ReDial learn-part contexts, "
        f"{len(TYPED)} typed asks), fresh session each · 2 CPU cores",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| shown picks | {picks} | |",
        f"| picks whose explanation names a specific fact | **{share:.1%}** ({specific}) | ≥ 90% |",
        f"|   of ReDial turns' picks | {by_source['redial'][0] / max(by_source['redial'][1], 1):.1%} "
        f"({by_source['redial'][0]}/{by_source['redial'][1]}) | |",
        f"|   of typed asks' picks | {by_source['typed'][0] / max(by_source['typed'][1], 1):.1%} "
        f"({by_source['typed'][0]}/{by_source['typed'][1]}) | |",
        f"| thin claims (support < 5) | **{len(thin_claims)}** | 0 |",
        f"| \"starring <co-director>\" | **{len(starring)}** | 0 |",
        f"| \"why not X\" answered with rank or reason | **{answered}/{len(why_rows)}** | 30/30 |",
        f"| \"why not X\" blaming a constraint X passes | **{blamed}** | 0 |",
        f"| turn time p50 / p95 | {statistics.median(seconds):.2f} / "
        f"{sorted(seconds)[int(0.95 * (len(seconds) - 1))]:.2f} s | |",
        "",
        "Facts stated in explanations, by kind: " + ", ".join(
            f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])),
        "",
        "## Picks without a specific fact (first 12)",
        "",
        "By the fact they lead with: " + ", ".join(
            f"{k} {v}" for k, v in sorted(vague_by.items(), key=lambda kv: -kv[1])),
        "",
        *[f"- {v}" for v in vague],
        "",
        "## Why not",
        "",
        "| ask | film | answer |",
        "|---|---|---|",
        *[f"| {a} | {f or '—'} | {r[:160].replace('|', '/')} |" for a, f, r, _, _ in why_rows],
    ]
    if thin_claims or starring:
        lines += ["", "## Failures", "", *[f"- {x}" for x in thin_claims + starring]]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
