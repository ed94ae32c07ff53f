"""Benchmark: does recbot's message reader get the seeker's sentiment on each film right?

Data: the ReDial validation dialogues in ../shared/data/redial/valid_data.jsonl.gz (beside the
repository; CC BY 4.0, Li et al., NeurIPS 2018), the *measure* part (``conversationId``
divisible by 3) as bench_redial.py splits it. After each dialogue the seeker answered, for
each film, whether they liked it (``initiatorQuestions[id].liked``: 1 yes, 0 no, 2 did not
say). The truth is that answer, for each film the seeker names in their own messages (an
``@<id>`` in a message of ``initiatorWorkerId``) with ``liked`` 0 or 1; 2 and films without an
answer are left out (the issue: 639 liked, 19 not liked).

recbot's reading: each seeker message on its own (the message as written, ``@<id>`` replaced by
the name as ReDial writes it, "Coco (2017)", HTML escapes undone: bench_redial.py's text) is
read by ``recbot.agent.reader.intent.parse`` with a ``MentionFinder`` over the catalog (the data
dir's when ``--data-dir`` is given, else the bundled one). Every seeker message is read, so a
film the seeker types without ``@`` counts too. A ReDial film is the catalog film
bench_redial's ``NameMapper`` maps it to; a mention is of that film when its ``movie_id`` is.

What one message says of a film (categories, from the ``Intent`` lists and each mention's
``sentiment``): *liked* (``liked``: "I loved X"), *like-X ask* (a seed read as "something like
X"), *seen, like-them ask* ("seen X and Y, something like them": seen films made seeds),
*bare mention* (a seed with no sentiment: "X (2017)"), *unseen* ("haven't seen X", a weak
seed), *seen*, *disliked*, *question* ("why X?"), *ambiguous* (the film is one option of an
ambiguous title). Per message and film: *not liked* when disliked, else *liked* when any liked
category, else *neutral*. Per (dialogue, film): the reading of the LAST seeker message that read
it as liked or not liked (a later neutral mention does not undo it); *neutral* when none did.
Three rules for which categories are *liked*:

- **sentiment** (the main number): the reader as recbot runs it. Liked, like-X ask,
  seen/like-them ask, and a bare mention that the learned reader
  (``recbot.agent.reader.polarity``, trained on the learn part by
  bench/polarity_classifier.py) reads as liked; other bare mentions and "haven't seen X" are
  neutral;
- **rules**: the same without the learned reader (the rules alone);
- **lists**: liked or any seed (the ``Intent.liked`` / ``Intent.seeds`` lists as they are),
  which also counts every bare mention and every "haven't seen X" as liked (recbot does use
  them as seeds for its list, but records no "like" for them).

Reported: counts (and how they compare with the issue's 639/19), the confusion table (truth
liked / not liked x read liked / not liked / neutral, neutral split into *never resolved* and
*resolved, no sentiment*), recall on liked and on not-liked, precision of not-liked, each with
a Wilson 95% interval, the issue's targets (recall >= 0.9 liked, >= 0.6 not liked), the same
over all films (films not in the catalog read neutral), and examples of missed not-liked films
(and of liked films read as not liked) with the seeker's messages that name them.

    python bench/bench_sentiment.py [--data-dir D] [--limit N] [--out bench/results/sentiment.md]
                                    [--examples 12]

D: a recbot data dir; only its catalog is used (its snapshot is read, or built there).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import functools
import gzip
import html
import json
import math
import os
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_redial as br  # noqa: E402  (sets HF_HUB_OFFLINE, TOKENIZERS_PARALLELISM)
from bench_redial import CREDIT, DATA, NameMapper, clean_name, code_version, short  # noqa: E402

from recbot.agent.reader.intent import InputError, parse  # noqa: E402
from recbot.agent.reader.mentions import MentionFinder  # noqa: E402
from recbot.agent.reader.polarity import refine  # noqa: E402


@functools.cache
def _embedder():
    from recbot.retrieval.embed import MiniLMEmbedder

    return MiniLMEmbedder()

LIKED, NOT_LIKED, NEUTRAL = "liked", "not liked", "neutral"
TRUTH = {1: LIKED, 0: NOT_LIKED}
ISSUE_COUNTS = {LIKED: 639, NOT_LIKED: 19}
TARGETS = {LIKED: 0.9, NOT_LIKED: 0.6}

# what one message says of a film, from the Intent
C_LIKED, C_SIMILAR, C_SEEN_SEED = "liked", "like-X ask", "seen, like-them ask"
C_BARE, C_UNSEEN, C_SEEN, C_DISLIKED = "bare mention (seed)", "unseen (seed)", "seen", "disliked"
C_QUESTION, C_AMBIGUOUS = "question", "ambiguous"
C_LEARNED = "liked (learned reader: a bare mention, or seen)"
RULES = {
    "sentiment": {C_LIKED, C_SIMILAR, C_SEEN_SEED, C_LEARNED},
    "rules": {C_LIKED, C_SIMILAR, C_SEEN_SEED},
    "lists": {C_LIKED, C_SIMILAR, C_SEEN_SEED, C_BARE, C_UNSEEN, C_LEARNED},
}
RULE_LABELS = {
    "sentiment": "the reader as recbot runs it: rules, then the learned reader on bare mentions "
                 "(liked, \"like X\" asks, bare mentions the learned reader reads as liked; "
                 "other bare mentions and unseen neutral)",
    "rules": "rules alone (liked, \"like X\" asks; bare mentions and unseen neutral)",
    "lists": "lists rule (Intent.liked or Intent.seeds: bare mentions and unseen count as liked)",
}


# ----- dialogues --------------------------------------------------------------------------

@dataclass(slots=True)
class Said:
    """One seeker message: its text as recbot reads it and the ReDial ids it names."""
    text: str
    ids: list[str]


@dataclass(slots=True)
class Seeker:
    cid: int
    said: list[Said]
    names: dict[str, str]            # ReDial id -> "Title (year)"
    films: list[tuple[str, str]]     # (ReDial id, truth) for the films the seeker names, 0/1
    counts: collections.Counter      # the seeker's named films by their answer (0 1 2 missing)


def message_text(raw: str, names: dict[str, str]) -> str:
    """bench_redial.load_dialogues' text of one message: HTML escapes undone, ``@<id>`` as
    "Title (year)", control characters as spaces, spaces collapsed."""
    text = br._MENTION.sub(lambda m: names.get(m.group(1), ""), html.unescape(raw))
    return " ".join(br._CONTROL.sub(" ", text).split())


def load_seekers(path: Path = DATA, part: str = "measure") -> list[Seeker]:
    """The dialogues of ``part``, seeker side only: measure (conversationId divisible by
    3, the reported number) or learn (the rest: where rules are developed)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            cid = int(d["conversationId"])
            if (cid % 3 != 0) != (part == "learn"):
                continue
            names = {str(k): clean_name(v) for k, v in (d.get("movieMentions") or {}).items()
                     if v and v.strip()}
            answers = d.get("initiatorQuestions") or {}
            answers = answers if isinstance(answers, dict) else {}
            said, named = [], []
            for msg in d["messages"]:
                if msg["senderWorkerId"] != d["initiatorWorkerId"]:
                    continue
                ids = list(dict.fromkeys(br._MENTION.findall(msg["text"])))
                named.extend(i for i in ids if i not in named)
                said.append(Said(message_text(msg["text"], names), ids))
            counts: collections.Counter = collections.Counter()
            films = []
            for rid in named:
                liked = (answers.get(rid) or {}).get("liked")
                counts[liked if liked in (0, 1, 2) else "missing"] += 1
                if liked in TRUTH:
                    films.append((rid, TRUTH[liked]))
            out.append(Seeker(cid, said, names, films, counts))
    return out


# ----- reading ----------------------------------------------------------------------------

def categories(intent) -> list[tuple[int, str, str]]:
    """(movie_id, category, mention text) for each film the message resolves."""
    out = []
    liked = {id(m) for m in intent.liked}
    seeds = {id(m) for m in intent.seeds}
    for m in intent.disliked:
        out.append((m.movie_id, C_DISLIKED, m.text))
    for m in intent.liked:
        out.append((m.movie_id, C_LIKED, m.text))
    for m in intent.seeds:
        if id(m) in liked:
            continue
        if m.learned and m.sentiment == "like":
            out.append((m.movie_id, C_LEARNED, m.text))
            continue
        cat = {"similar": C_SIMILAR, "unseen": C_UNSEEN, "seen": C_SEEN_SEED,
               "like": C_LIKED, "dislike": C_DISLIKED}.get(m.sentiment, C_BARE)
        out.append((m.movie_id, cat, m.text))
    for m in intent.seen:
        if id(m) not in seeds:
            out.append((m.movie_id, C_LEARNED if m.learned else C_SEEN, m.text))
    for m in intent.unseen:
        if id(m) not in seeds:
            out.append((m.movie_id, C_UNSEEN, m.text))
    for m in (intent.why_not, intent.about):
        if m is not None:
            out.append((m.movie_id, C_QUESTION, m.text))
    for m in intent.ambiguous:
        out.extend((mid, C_AMBIGUOUS, m.text) for mid, _ in m.options)
    return [(mid, cat, text) for mid, cat, text in out if mid is not None]


def verdict(cats: set[str], rule: str) -> str:
    """One message's reading of one film under ``rule``: disliked beats liked."""
    if C_DISLIKED in cats:
        return NOT_LIKED
    return LIKED if cats & RULES[rule] else NEUTRAL


@dataclass
class Reading:
    """What recbot read of the seeker's messages of one dialogue."""
    per_message: list[dict[int, set[str]]] = field(default_factory=list)  # movie_id -> cats
    texts: list[list[tuple[int, str, str]]] = field(default_factory=list)
    failed: list[str | None] = field(default_factory=list)

    def resolved(self, mid: int) -> bool:
        return any(mid in cats for cats in self.per_message)

    def predict(self, mid: int | None, rule: str) -> tuple[str, int | None]:
        """The film's reading and the index of the message that decided it."""
        if mid is None:
            return NEUTRAL, None
        last, at = NEUTRAL, None
        for i, cats in enumerate(self.per_message):
            if mid in cats and (v := verdict(cats[mid], rule)) != NEUTRAL:
                last, at = v, i
        return last, at


@dataclass
class Stats:
    messages: int = 0
    empty: int = 0
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0                 # a message read one film both liked and disliked
    feedback_without_film: int = 0     # "loved it" with no film named: no per-film reading
    seconds: float = 0.0


def read_dialogue(s: Seeker, finder: MentionFinder, max_year: int, stats: Stats,
                  learned: bool = True) -> Reading:
    """Each seeker message read alone; ``learned``: with the learned reader after the rules
    (``reader.polarity.refine``, the bundled MiniLM), as the agent reads it."""
    r = Reading()
    for said in s.said:
        cats: dict[int, set[str]] = {}
        texts: list[tuple[int, str, str]] = []
        failed = None
        if not said.text:
            stats.empty += 1
        else:
            stats.messages += 1
            t0 = time.perf_counter()
            try:
                intent = parse(said.text, finder, max_year=max_year)
                if learned:
                    refine(intent, _embedder())
            except InputError as err:
                stats.refused.append(str(err))
                failed = f"refused: {err}"
            except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
                if len(stats.errors) < 3:
                    traceback.print_exc()
                stats.errors.append(f"{type(err).__name__}: {err}")
                failed = f"error: {type(err).__name__}"
            else:
                texts = categories(intent)
                for mid, cat, _ in texts:
                    cats.setdefault(mid, set()).add(cat)
                stats.conflicts += sum(1 for c in cats.values()
                                       if C_DISLIKED in c and c & RULES["lists"])
                stats.feedback_without_film += bool(
                    (intent.feedback or intent.ref_feedback) and not texts)
            stats.seconds += time.perf_counter() - t0
        r.per_message.append(cats)
        r.texts.append(texts)
        r.failed.append(failed)
    return r


# ----- scoring ----------------------------------------------------------------------------

@dataclass
class Item:
    cid: int
    rid: str
    name: str
    mid: int | None
    truth: str
    resolved: bool
    cats: set[str]                                  # every category a message gave it
    predicted: dict[str, tuple[str, int | None]]   # rule -> (reading, deciding message)
    notes: list[str]                                # the seeker's messages naming it, read


def describe(s: Seeker, r: Reading, rid: str, mid: int | None, label) -> list[str]:
    """The seeker's messages that name the film (or read it), each with recbot's reading."""
    lines = []
    for i, said in enumerate(s.said):
        if rid not in said.ids and not (mid is not None and mid in r.per_message[i]):
            continue
        if r.failed[i]:
            got = r.failed[i]
        elif mid is not None and mid in r.per_message[i]:
            got = ", ".join(sorted(r.per_message[i][mid]))
        else:
            others = [f"{label(x)} <- \"{t}\"" for x, _, t in r.texts[i] if x != mid]
            got = "not resolved" + ("; resolved: " + "; ".join(dict.fromkeys(others))
                                    if others else "")
        lines.append(f"\"{short(said.text, 200)}\" → {got}")
    counted = collections.Counter(lines)   # ReDial holds a few messages sent twice
    return [line + (f" (sent {counted[line]} times)" if counted[line] > 1 else "")
            for line in dict.fromkeys(lines)]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def ratio(k: int, n: int) -> str:
    if n == 0:
        return "– (0/0)"
    lo, hi = wilson(k, n)
    return f"**{k / n:.3f}** ({k}/{n}; 95% CI {lo:.2f}–{hi:.2f})"


def confusion(items: list[Item], rule: str) -> dict:
    table = {t: collections.Counter() for t in (LIKED, NOT_LIKED)}
    for it in items:
        got = it.predicted[rule][0]
        key = got if got != NEUTRAL else ("neutral: resolved" if it.resolved
                                          else "neutral: never resolved")
        table[it.truth][key] += 1
    n_liked, n_not = sum(table[LIKED].values()), sum(table[NOT_LIKED].values())
    read_not = table[LIKED][NOT_LIKED] + table[NOT_LIKED][NOT_LIKED]
    return {"table": table, "n": {LIKED: n_liked, NOT_LIKED: n_not},
            "recall": {LIKED: (table[LIKED][LIKED], n_liked),
                       NOT_LIKED: (table[NOT_LIKED][NOT_LIKED], n_not)},
            "precision_not": (table[NOT_LIKED][NOT_LIKED], read_not),
            "precision_liked": (table[LIKED][LIKED], table[LIKED][LIKED]
                                + table[NOT_LIKED][LIKED])}


COLUMNS = (LIKED, NOT_LIKED, "neutral: resolved", "neutral: never resolved")


def table_md(c: dict) -> list[str]:
    L = ["| truth \\ recbot read | liked | not liked | neutral (resolved, no sentiment) | "
         "neutral (never resolved) | total |", "|---|---|---|---|---|---|"]
    for t in (LIKED, NOT_LIKED):
        row = c["table"][t]
        L.append(f"| {t} | " + " | ".join(str(row[k]) for k in COLUMNS)
                 + f" | {c['n'][t]} |")
    return L


def targets_md(c: dict) -> list[str]:
    L = []
    for t in (LIKED, NOT_LIKED):
        k, n = c["recall"][t]
        met = n > 0 and k / n >= TARGETS[t]
        L.append(f"| recall on {t} (target ≥ {TARGETS[t]}) | {ratio(k, n)} | "
                 f"{'met' if met else 'not met'} |")
    k, n = c["precision_not"]
    L.append(f"| precision of not liked | {ratio(k, n)} | |")
    k, n = c["precision_liked"]
    L.append(f"| precision of liked | {ratio(k, n)} | |")
    return L


# ----- report -----------------------------------------------------------------------------

def markdown(s: dict) -> str:
    L = [f"# bench/bench_sentiment.py — per-film sentiment on ReDial ({s['date']})\n",
         f"`{s['command']}`\n",
         f"Code measured: {s['code']}. Catalog: {s['catalog']}. Movie names written into the "
         f"text with year. No LLM: the reader (`recbot.agent.reader.intent.parse`) on each "
         f"seeker message alone, no session.\n"]
    c = s["counts"]
    L.append(f"Dialogues: {s['dialogues']} of the {s.get('part', 'measure')} part"
             f"{' (--limit)' if s['limited'] else ''}; {c['seeker_messages']} seeker messages "
             f"({c['read']} read, {c['empty']} empty, {c['refused']} refused, {c['errors']} "
             f"errors). Films the seeker names (an `@id` in their own message), per dialogue: "
             f"{c['named']}; their answers: liked 1 = **{c['liked']}**, liked 0 = "
             f"**{c['not_liked']}**, liked 2 = {c['unsaid']} (left out), no answer = "
             f"{c['missing']} (left out).\n")
    L.append(s["count_note"] + "\n")
    m = s["mapping"]
    L.append(f"In the catalog (bench_redial's `NameMapper`): liked {m['in'][LIKED]} of "
             f"{m['all'][LIKED]}, not liked {m['in'][NOT_LIKED]} of {m['all'][NOT_LIKED]}; "
             f"**{m['out']} films not in the catalog** ("
             + ", ".join(f"{how} {n}" for how, n in m["how"].items()) + ").\n")
    for note in s["notes"]:
        L.append(f"Note: {note}\n")
    for rule in RULES:
        r = s["rules"][rule]
        head = RULE_LABELS[rule][0].upper() + RULE_LABELS[rule][1:]
        L.append(f"## {head}{' — the main number' if rule == 'sentiment' else ''}\n")
        L.append("Films in the catalog:\n")
        L += table_md(r["mapped"])
        L.append("")
        L.append("| measure | value | issue's target |\n|---|---|---|")
        L += targets_md(r["mapped"])
        L.append("")
        L.append("All films (those not in the catalog count as read neutral, never resolved):\n")
        L += table_md(r["all"])
        L.append("")
        L.append("| measure | value | issue's target |\n|---|---|---|")
        L += targets_md(r["all"])
        L.append("")
    L.append("## What recbot read, per (dialogue, film in the catalog)\n")
    L.append("Every category any seeker message gave the film (a film can have several):\n")
    L.append("| category | liked films | not-liked films |\n|---|---|---|")
    for cat, row in s["categories"].items():
        L.append(f"| {cat} | {row.get(LIKED, 0)} | {row.get(NOT_LIKED, 0)} |")
    L.append("")
    L.append("## Examples\n")
    L.append("The seeker's messages that name the film, as recbot read them (cut to 200 "
             "characters), and what recbot read of the film in each (categories as above; "
             "\"not resolved\": no mention of that film, with the films recbot did resolve). "
             "Sentiment rule.\n")
    for title, items in (("Not-liked films recbot did not read as not liked (in the catalog "
                          "first, then those not in it)", s["examples"]["missed_not_liked"]),
                         ("Liked films recbot read as not liked",
                          s["examples"]["liked_read_not"]),
                         ("Liked films (in the catalog) recbot read as neutral",
                          s["examples"].get("liked_read_neutral", []))):
        L.append(f"### {title}: {len(items)} shown\n")
        for e in items:
            L.append(f"- {e['cid']}: **{e['film']}** (catalog: {e['catalog']}) — read "
                     f"{e['read']}")
            L += [f"  - {line}" for line in e["messages"]]
        L.append("")
    L.append("---\n")
    L.append(CREDIT)
    return "\n".join(L) + "\n"


def load_finder(data_dir: str | None):
    if data_dir:
        from recbot.agent.settings import Settings
        from recbot.agent.workspace import Workspace

        ws = Workspace(Settings.load(data_dir=Path(data_dir).expanduser()))
        catalog = ws.catalog
        where = f"the data dir's ({data_dir}; dataset {ws.dataset_dir})"
    else:
        from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

        catalog = load_catalog(BUNDLED_DATASET_DIR)
        where = f"the bundled dataset's ({BUNDLED_DATASET_DIR})"
    return catalog, f"{where}, {len(catalog):,} films"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("RECBOT_DATA_DIR"),
                    help="a recbot data dir whose catalog to use (default RECBOT_DATA_DIR, "
                         "else the bundled dataset)")
    ap.add_argument("--data", type=Path, default=DATA, help="ReDial jsonl(.gz)")
    ap.add_argument("--limit", type=int, help="only the first N dialogues of the part")
    ap.add_argument("--part", choices=("measure", "learn"), default="measure",
                    help="learn: the dialogues rules are developed on (not the reported number)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent
                                          / "results/sentiment.md"),
                    help="markdown result file ('' for none; default bench/results/sentiment.md)")
    ap.add_argument("--examples", type=int, default=12, help="examples per kind of miss")
    args = ap.parse_args(argv[1:])

    t_start = time.perf_counter()
    seekers = load_seekers(args.data, args.part)
    limited = bool(args.limit)
    if args.limit:
        seekers = seekers[: args.limit]
    t0 = time.perf_counter()
    catalog, catalog_desc = load_finder(args.data_dir)
    finder = MentionFinder(catalog)
    max_year = max((m.year or 0 for m in catalog), default=0) or 2018   # as the Agent's
    mapper = NameMapper(catalog)
    t_catalog = time.perf_counter() - t0

    def label(mid):
        m = catalog.get(mid)
        return m.label() if m else str(mid)

    stats = Stats()
    items: list[Item] = []
    for n, s in enumerate(seekers, 1):
        r = read_dialogue(s, finder, max_year, stats)
        for rid, truth in s.films:
            name = s.names.get(rid, "")
            mid = mapper.map(name) if name else None
            got = set().union(*(c.get(mid, set()) for c in r.per_message)) \
                if mid is not None else set()
            items.append(Item(s.cid, rid, name or f"@{rid} (no name)", mid, truth,
                              mid is not None and r.resolved(mid), got,
                              {rule: r.predict(mid, rule) for rule in RULES},
                              describe(s, r, rid, mid, label)))
        if n % 50 == 0 or n == len(seekers):
            print(f"  {n}/{len(seekers)} dialogues", file=sys.stderr, flush=True)
        if len(stats.errors) >= 10 and stats.messages == len(stats.errors):
            print(f"error: the reader failed on each of the first {len(stats.errors)} "
                  f"messages ({stats.errors[0]}); nothing written", file=sys.stderr)
            return 1

    counts = collections.Counter()
    for s in seekers:
        counts.update(s.counts)
    n_liked, n_not = counts[1], counts[0]
    if not limited and (n_liked, n_not) == (ISSUE_COUNTS[LIKED], ISSUE_COUNTS[NOT_LIKED]):
        count_note = (f"These are the issue's counts ({ISSUE_COUNTS[LIKED]} liked, "
                      f"{ISSUE_COUNTS[NOT_LIKED]} not liked).")
    else:
        count_note = (f"The issue's counts are {ISSUE_COUNTS[LIKED]} liked and "
                      f"{ISSUE_COUNTS[NOT_LIKED]} not liked over the whole measure part; "
                      f"here {n_liked} and {n_not}"
                      + (" (a --limit run)." if limited else "."))
    mapped = [it for it in items if it.mid is not None]
    how = collections.Counter(mapper.how_of(it.name) for it in items
                              if it.mid is None and not it.name.startswith("@"))
    no_name = sum(1 for it in items if it.name.startswith("@"))
    if no_name:
        how["no name in movieMentions"] = no_name
    cats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for it in mapped:
        for cat in sorted(it.cats) or ["none: never resolved"]:
            cats[cat][it.truth] += 1

    notes = []
    if stats.conflicts:
        notes.append(f"{stats.conflicts} times a message read one film both liked and "
                     f"disliked; disliked was taken.")
    notes.append(f"{stats.feedback_without_film} seeker messages carry feedback that names no "
                 f"film (\"loved it\", \"#2 was great\"): read alone, without a session, they "
                 f"give no per-film reading.")
    if stats.refused or stats.errors:
        notes.append("refused/errors, e.g.: " + "; ".join((stats.refused + stats.errors)[:3]))
    wall = time.perf_counter() - t_start
    notes.append(f"wall time {wall:.1f} s ({os.cpu_count()} CPUs): catalog, finder and name "
                 f"mapper {t_catalog:.1f} s; reading {stats.messages} messages "
                 f"{stats.seconds:.1f} s ({1000 * stats.seconds / max(stats.messages, 1):.1f} "
                 f"ms each).")

    def example(it: Item) -> dict:
        read, at = it.predicted["sentiment"]
        return {"cid": it.cid, "film": it.name,
                "catalog": label(it.mid) if it.mid is not None else "not in catalog",
                "read": read + ("" if read != NEUTRAL else
                                " (resolved, no sentiment)" if it.resolved else
                                " (never resolved)"),
                "messages": it.notes}

    missed = [example(it) for it in mapped      # then those not in the catalog
              if it.truth == NOT_LIKED and it.predicted["sentiment"][0] != NOT_LIKED]
    missed += [example(it) for it in items if it.truth == NOT_LIKED and it.mid is None]
    wrong = [example(it) for it in mapped
             if it.truth == LIKED and it.predicted["sentiment"][0] == NOT_LIKED]
    neutral = [example(it) for it in mapped
               if it.truth == LIKED and it.predicted["sentiment"][0] == NEUTRAL]
    summary = {
        "date": datetime.date.today().isoformat(),
        "command": "python " + " ".join(shlex.quote(a) for a in argv),
        "code": code_version(),
        "catalog": catalog_desc,
        "dialogues": len(seekers), "part": args.part,
        "limited": limited,
        "counts": {"seeker_messages": sum(len(s.said) for s in seekers),
                   "read": stats.messages, "empty": stats.empty,
                   "refused": len(stats.refused), "errors": len(stats.errors),
                   "named": sum(counts.values()), "liked": n_liked, "not_liked": n_not,
                   "unsaid": counts[2], "missing": counts["missing"]},
        "count_note": count_note,
        "mapping": {"all": collections.Counter(it.truth for it in items),
                    "in": collections.Counter(it.truth for it in mapped),
                    "out": len(items) - len(mapped), "how": dict(how.most_common())},
        "notes": notes,
        "rules": {rule: {"mapped": confusion(mapped, rule), "all": confusion(items, rule)}
                  for rule in RULES},
        "categories": dict(sorted(cats.items(), key=lambda kv: -sum(kv[1].values()))),
        "examples": {"missed_not_liked": missed[: args.examples],
                     "liked_read_not": br.spread(wrong, max(args.examples // 2, 1)),
                     "liked_read_neutral": br.spread(neutral, max(args.examples // 2, 1))},
    }
    md = markdown(summary)
    if stats.errors and len(stats.errors) > 0.01 * max(stats.messages, 1):
        print(md)
        print(f"error: the reader raised on more than 1% of the messages (e.g. "
              f"{stats.errors[0]}); {args.out or 'no file'} not written", file=sys.stderr)
        return 1
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
