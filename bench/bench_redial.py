"""Benchmark: recbot on real ReDial recommendation dialogues (Recall@k on novel targets).

Data: the ReDial validation dialogues in ../shared/data/redial/valid_data.jsonl.gz (beside the repository)
(901 dialogues between a seeker and a recommender; CC BY 4.0, Li et al., NeurIPS 2018).
Dialogues whose ``conversationId`` is divisible by 3 are the *measure* part; the rest, the
*learn* part, only trains the popularity baseline (and may be used to develop against).

Protocol (as the data README describes the field's): consecutive messages of one worker form
a turn. Every recommender turn that mentions at least one movie and has a turn before it is an
evaluation point; each movie it mentions is a target, *novel* when nobody mentioned it earlier
in the dialogue. The context is the seeker's turns so far, ``@<id>`` replaced by the name as
ReDial writes it ("Coco (2017)"; ReDial's HTML escapes such as ``&quot;`` undone). Two ways
to ask recbot (no LLM, k=20):

(a) the seeker's turns so far joined into one message, asked in a fresh session (and a fresh
    memory, so no profile carries over);
(b) the seeker's turns replayed one per agent turn in one session per dialogue (a fresh
    memory per dialogue); the list recbot gave after the seeker turn just before the
    evaluation point counts. Reported beside it, (b'): the same replay, but the latest list
    the session has shown counts (what the user still sees after "ok, what's it about?").

Contexts longer than recbot's message limit lose their oldest seeker turns. ``--no-years``
writes the names without their year ("Coco"), as people usually type them: ReDial's
"(2017)" is a strong cue for a title spotter.

An answer without a list is a miss; so is a target that is not in the catalog. ReDial names
map to catalog films by the project's normalised title (``recbot.retrieval.titles``) and year
(+-1), see ``NameMapper``. Besides Recall@1/10/20 the report gives: a popularity baseline
(recommender mentions in the learn part), the share of seeker mentions recbot resolves to the
right film (*recognised*), the share of seeker turns in which it resolves a film the turn
does not mention (*invented*), answer kinds, turn latency, and how popular recbot's picks are.

    python bench/bench_redial.py --data-dir D [--part measure|learn] [--variant a|b|both]
                                 [--limit N] [--out bench/results/redial.md] [--json]
                                 [--no-years] [--examples 10] [--dump examples.json]

D is a warm data dir (``recbot index`` and ``recbot similar X`` run once); it is only read,
but a stale index is rebuilt there first. If recbot raises on more than 1% of the turns, the
result file is not written (exit code 1).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import gzip
import html
import json
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from recbot.agent.chat import Agent  # noqa: E402
from recbot.agent.reader.intent import MAX_MESSAGE_CHARS, InputError  # noqa: E402
from recbot.agent.llm import make_chat_model  # noqa: E402
from recbot.agent.memory import Memory  # noqa: E402
from recbot.agent.settings import Settings  # noqa: E402
from recbot.agent.workspace import Workspace  # noqa: E402
from recbot.retrieval.titles import normalise_title, parse_movielens_title  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "redial" / "valid_data.jsonl.gz"
K = 20
KS = (1, 10, 20)
CREDIT = ("ReDial dialogues: CC BY 4.0. Raymond Li, Samira Ebrahimi Kahou, Hannes Schulz, "
          "Vincent Michalski, Laurent Charlin, Chris Pal. *Towards Deep Conversational "
          "Recommendations.* NeurIPS 2018. https://redialdata.github.io/website/")
PUBLISHED = ("Published Recall@10 on ReDial's *test* split, for orientation only (a different "
             "split and catalog): popularity 0.061; KBRD 0.163 (0.148 novel); UniCRS 0.224 "
             "(0.180 novel); GPT-4 zero-shot, novel targets, 0.201 (He et al., CIKM 2023).")
_MENTION = re.compile(r"@(\d+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ----- dialogues --------------------------------------------------------------------------

@dataclass(slots=True)
class Turn:
    seeker: bool
    text: str                         # @ids replaced by names, messages joined by newlines
    mentions: list[str]               # ReDial movie ids, first occurrence order, unique


@dataclass(slots=True)
class Dialogue:
    cid: int
    turns: list[Turn]
    names: dict[str, str]             # ReDial id -> "Title (year)"


def clean_name(name: str) -> str:
    """A ReDial movie name as a person types it: spaces collapsed, and the URL escapes some
    names carry undone ("Why Him%3F (2016)" is "Why Him? (2016)")."""
    return " ".join(urllib.parse.unquote(name).split())


_YEAR = re.compile(r"\s*\(\d{4}\)$")


def load_dialogues(path: Path = DATA, *, years: bool = True) -> list[Dialogue]:
    """The dialogues; ``years=False`` writes the names into the text without their year
    ("Coco" for "Coco (2017)"), as people usually type them."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            names = {str(k): clean_name(v) for k, v in (d.get("movieMentions") or {}).items()
                     if v and v.strip()}
            seeker = d["initiatorWorkerId"]
            turns: list[Turn] = []
            shown = (lambda name: name) if years else (lambda name: _YEAR.sub("", name))
            for msg in d["messages"]:
                is_seeker = msg["senderWorkerId"] == seeker
                ids = _MENTION.findall(msg["text"])
                # ReDial stores some characters HTML-escaped (&quot; &amp; &gt;); a user types them
                text = _MENTION.sub(lambda m, shown=shown, names=names: shown(names.get(m.group(1), "")),
                                    html.unescape(msg["text"]))
                text = " ".join(_CONTROL.sub(" ", text).split())
                if turns and turns[-1].seeker == is_seeker:
                    t = turns[-1]
                    t.text = f"{t.text}\n{text}" if t.text and text else (t.text or text)
                    t.mentions.extend(i for i in ids if i not in t.mentions)
                else:
                    turns.append(Turn(is_seeker, text, list(dict.fromkeys(ids))))
            out.append(Dialogue(int(d["conversationId"]), turns, names))
    return out


def split(dialogues: list[Dialogue]) -> tuple[list[Dialogue], list[Dialogue]]:
    """(learn, measure): measure = conversationId divisible by 3."""
    return ([d for d in dialogues if d.cid % 3 != 0], [d for d in dialogues if d.cid % 3 == 0])


@dataclass(slots=True)
class Point:
    """An evaluation point: recommender turn ``turn`` of dialogue ``cid``."""
    cid: int
    turn: int
    targets: list[tuple[str, bool]]   # (ReDial id, novel)
    earlier: set[str]                 # ReDial ids mentioned before this turn


def eval_points(d: Dialogue) -> list[Point]:
    points, seen = [], set()
    for i, t in enumerate(d.turns):
        if not t.seeker and t.mentions and i > 0:
            points.append(Point(d.cid, i, [(m, m not in seen) for m in t.mentions], set(seen)))
        seen.update(t.mentions)
    return points


# ----- ReDial names -> catalog films ------------------------------------------------------

class NameMapper:
    """ReDial "Title (year)" -> catalog movie id by normalised title and year (+-1).

    Keys are the project's ``normalise_title`` of each film's title and MovieLens alternate
    titles ("Seven (a.k.a. Se7en)"), articles moved back to the front ("Matrix, The").
    A name without a year takes the most-rated film of that exact title. When no title
    matches and the name has a year, a film of that year (+-1) counts whose title, before a
    colon, is the name ("Jumanji (2017)" -> "Jumanji: Welcome to the Jungle (2017)"), else
    one whose title is the same but for spaces, "Vol."/"Volume"/"Chapter"/"Part", numbers
    in words and British spelling ("Guardians of the Galaxy Vol. 2" -> "Guardians of the
    Galaxy 2", "The Taking of Pelham 123" -> "The Taking of Pelham 1 2 3").
    """

    def __init__(self, catalog) -> None:
        self.popularity = catalog.popularity
        self.exact: dict[str, list[tuple[int, int | None]]] = {}
        self.head: dict[str, list[tuple[int, int | None]]] = {}
        for m in catalog:
            titles = (m.title, *m.alt_titles)
            for key in dict.fromkeys(normalise_title(t) for t in titles):
                if key:
                    self.exact.setdefault(key, []).append((m.movie_id, m.year))
            for t in titles:
                if ":" in t:
                    key = normalise_title(t.split(":", 1)[0])
                    if key:
                        self.head.setdefault(key, []).append((m.movie_id, m.year))
        self.loose: dict[str, list[tuple[int, int | None]]] = {}
        for key, options in self.exact.items():
            self.loose.setdefault(loose_key(key), []).extend(options)
        self.how: dict[str, str] = {}          # name -> how it was matched
        self._cache: dict[str, int | None] = {}

    def _pick(self, options, year):
        if year is not None:
            options = sorted((o for o in options if o[1] is not None and abs(o[1] - year) <= 1),
                             key=lambda o: (abs(o[1] - year), -self.popularity.get(o[0], 0)))
        else:
            options = sorted(options, key=lambda o: -self.popularity.get(o[0], 0))
        return options[0][0] if options else None

    def how_of(self, name: str) -> str:
        self.map(name)
        return self.how[name]

    def map(self, name: str) -> int | None:
        if name in self._cache:
            return self._cache[name]
        parsed = parse_movielens_title(urllib.parse.unquote(name))  # "What About Bob%3F"
        key = normalise_title(parsed.title)
        found, how = None, "not in catalog"
        if key:
            found = self._pick(self.exact.get(key, ()), parsed.year)
            how = "title and year" if found is not None else how
            if found is None and parsed.year is not None:
                found = self._pick(self.head.get(key, ()), parsed.year)
                how = "title before a colon, year" if found is not None else how
            if found is None and parsed.year is not None:
                found = self._pick(self.loose.get(loose_key(key), ()), parsed.year)
                how = "title but for spacing/numbering, year" if found is not None else how
            if found is None and key in self.exact:
                how = "not in catalog (the title is, another year)"
        if parsed.year is None and found is not None:
            how = "title (no year given)"
        self.how[name] = how
        self._cache[name] = found
        return found


_LOOSE_DROP = frozenset(["vol", "volume", "chapter", "part"])
_LOOSE_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10", "colour": "color"}


def loose_key(key: str) -> str:
    words = key.split()
    if len(words) < 2:   # "Nine" is not "9"
        return key
    return "".join(_LOOSE_WORDS.get(w, w) for w in words if w not in _LOOSE_DROP)


# ----- running recbot ---------------------------------------------------------------------

@dataclass(slots=True)
class Ask:
    kind: str
    recs: list[int]
    resolved: list[tuple[int, str]]   # (movie_id, mention text)
    seconds: float
    truncated: bool = False
    reply: str = ""


@dataclass
class Run:
    name: str
    ranks: dict = field(default_factory=dict)          # (cid, turn, rid) -> rank or None
    point_kinds: collections.Counter = field(default_factory=collections.Counter)
    all_kinds: collections.Counter = field(default_factory=collections.Counter)
    seconds: list[float] = field(default_factory=list)
    top1: list[int] = field(default_factory=list)
    truncated: int = 0
    errors: list[str] = field(default_factory=list)
    no_list: list[dict] = field(default_factory=list)    # evaluation points answered without
    samples: list[dict] = field(default_factory=list)    # evaluation points with their lists
    seeded: dict = field(default_factory=dict)           # (cid, turn) -> a title was resolved
    repeats_top1: int = 0       # lists whose #1 is a film mentioned earlier in the dialogue
    repeats_in_list: int = 0    # lists with any such film in the top K

    def point(self, d: Dialogue, p: Point, text: str, ask: Ask | None, mapper, catalog) -> None:
        """Score one evaluation point and keep what the report shows of it."""
        recs = ask.recs if ask else []
        self.seeded[(d.cid, p.turn)] = bool(ask and ask.resolved)
        self.point_kinds[ask.kind if ask else "no list"] += 1
        if recs:
            self.top1.append(recs[0])
            earlier = {mapper.map(d.names.get(r, "")) for r in p.earlier} - {None}
            self.repeats_top1 += recs[0] in earlier
            self.repeats_in_list += bool(earlier & set(recs))
        targets = []
        for rid, novel in p.targets:
            mid = mapper.map(d.names.get(rid, ""))
            self.ranks[(d.cid, p.turn, rid)] = rank_of(recs, mid)
            if novel:
                name = d.names.get(rid, "?")
                targets.append(name if mid is not None else f"{name} (not in catalog)")
        if ask is not None and not recs:
            self.no_list.append({"cid": d.cid, "turn": p.turn, "text": text, "kind": ask.kind,
                                 "reply": ask.reply})
        elif recs and targets:
            self.samples.append({"cid": d.cid, "turn": p.turn, "text": text, "targets": targets, "picks": [
                f"{catalog[m].label()} [{catalog.popularity.get(m, 0)}]" for m in recs[:3]],
                "hit": [self.ranks[(d.cid, p.turn, rid)] for rid, nv in p.targets if nv]})


class BrokenAgent(RuntimeError):
    """The agent raises on (nearly) every turn: the numbers would mean nothing."""


MAX_ERROR_SHARE = 0.01
"""More turns than this failing with an exception and no result file is written."""


class Runner:
    def __init__(self, ws: Workspace, tmp: Path) -> None:
        self.ws = ws
        self.tmp = tmp
        self.agent = Agent(ws, make_chat_model(ws.settings, "none"), self._memory("warm"), k=K)
        self.agent.warm()
        self._n = 0
        self.ok = self.failed = 0

    def _memory(self, tag: str) -> Memory:
        path = self.tmp / f"{tag}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return Memory(path)

    def fresh_memory(self) -> None:
        """A new sessions database: no session, no profile from an earlier dialogue."""
        old = self.agent.memory
        old.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{old.path}{suffix}").unlink(missing_ok=True)
        self._n += 1
        self.agent.memory = self._memory(f"m{self._n}")

    def ask(self, text: str, session: str | None, run: Run) -> tuple[Ask, str | None]:
        truncated = False
        if len(text) > MAX_MESSAGE_CHARS:
            text, truncated = text[-MAX_MESSAGE_CHARS:].split(" ", 1)[-1], True
        if not text.strip():
            return Ask("empty", [], [], 0.0), session
        t0 = time.perf_counter()
        try:
            ans = self.agent.ask(text, session, k=K)
        except InputError as err:
            run.errors.append(f"refused: {err}")
            return Ask("refused", [], [], time.perf_counter() - t0, truncated), session
        except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
            if len(run.errors) < 3:
                traceback.print_exc()
            run.errors.append(f"{type(err).__name__}: {err}")
            self.failed += 1
            if self.failed >= 10 and self.ok == 0:
                raise BrokenAgent(f"recbot failed on each of its first {self.failed} turns "
                                  f"({type(err).__name__}: {err}); nothing written") from err
            return Ask(f"error ({type(err).__name__})", [], [], time.perf_counter() - t0,
                       truncated), session
        dt = time.perf_counter() - t0
        self.ok += 1
        run.seconds.append(dt)
        recs = [r.movie_id for r in ans.recommendations] if ans.kind == "recommend" else []
        return (Ask(ans.kind, recs, [(m.movie_id, m.text) for m in ans.resolved], dt, truncated,
                    ans.reply), ans.session)


def context_a(d: Dialogue, upto: int) -> tuple[str, bool]:
    """The seeker's turns before turn ``upto``, newline-joined, oldest dropped to fit."""
    turns = [t.text for t in d.turns[:upto] if t.seeker and t.text]
    text = "\n".join(turns)
    cut = False
    while len(text) > MAX_MESSAGE_CHARS and len(turns) > 1:
        turns.pop(0)
        text, cut = "\n".join(turns), True
    return text, cut


def rank_of(recs: list[int], target: int | None) -> int | None:
    if target is None or target not in recs:
        return None
    return recs.index(target) + 1


def run_a(runner: Runner, dialogues, mapper: NameMapper, progress) -> Run:
    run = Run("a")
    for n, d in enumerate(dialogues, 1):
        for p in eval_points(d):
            runner.fresh_memory()
            text, cut = context_a(d, p.turn)
            ask, _ = runner.ask(text, None, run)
            run.truncated += cut or ask.truncated
            run.all_kinds[ask.kind] += 1
            run.point(d, p, text, ask, mapper, runner.ws.catalog)
        progress("a", n, len(dialogues))
    return run


MISSED_NONE = "missed: not resolved at all"
MISSED_OTHER = "missed: resolved to another film"
INVENTED_NONE = "invented: in a turn that names no film"
INVENTED_OTHER = "invented: in a turn that names other films"
INVENTED_YEAR = ("invented: a named title under another year or a longer title (a remake, "
                 "a sequel's full name, or a gap in the name mapping)")


@dataclass
class Recognition:
    mentions: int = 0          # in-catalog films named in seeker turns
    recognised: int = 0
    turns: int = 0             # seeker turns asked
    turns_with_mentions: int = 0
    invented_turns: int = 0
    counts: collections.Counter = field(default_factory=collections.Counter)
    examples: dict = field(default_factory=lambda: collections.defaultdict(list))


def names_film(named: set[str], movie) -> bool:
    """Is ``movie`` one of these normalised names, bar the year or a longer title?"""
    for title in (movie.title, *movie.alt_titles):
        key = normalise_title(title)
        if any(key == n or key.startswith(n + " ") or loose_key(key) == loose_key(n)
               for n in named if n):
            return True
    return False


def run_b(runner: Runner, dialogues, mapper: NameMapper, catalog, progress):
    """Variant b, plus b-last (the latest list of the session counts) and recognition."""
    run, last_run, rec = Run("b"), Run("b-last"), Recognition()

    def label(mid):
        m = catalog.get(mid)
        return m.label() if m else str(mid)

    for n, d in enumerate(dialogues, 1):
        runner.fresh_memory()
        session = None
        answers: dict[int, Ask] = {}
        for i, t in enumerate(d.turns):
            if not t.seeker:
                continue
            ask, session = runner.ask(t.text, session, run)
            run.truncated += ask.truncated
            run.all_kinds[ask.kind] += 1
            answers[i] = ask
            if ask.kind == "empty":
                continue
            # recognition: the turn's in-catalog mentions against what recbot resolved
            gold = {mapper.map(d.names[r]): d.names[r] for r in t.mentions if r in d.names}
            gold.pop(None, None)
            resolved = {mid: text for mid, text in ask.resolved}
            rec.turns += 1
            rec.turns_with_mentions += bool(t.mentions)
            rec.mentions += len(gold)
            for mid, name in gold.items():
                if mid in resolved:
                    rec.recognised += 1
                    continue
                wrong = [f"{label(x)} <- \"{txt}\"" for x, txt in resolved.items()
                         if x not in gold]
                why = MISSED_OTHER if wrong else MISSED_NONE
                rec.counts[why] += 1
                rec.examples[why].append({"cid": d.cid, "text": t.text, "film": name,
                                          "catalog": label(mid), "resolved": wrong})
            extra = [(x, txt) for x, txt in resolved.items() if x not in gold]
            if extra:
                rec.invented_turns += 1
                named = {normalise_title(parse_movielens_title(d.names[r]).title)
                         for r in t.mentions if r in d.names}
                same = all(catalog.get(x) is not None and names_film(named, catalog[x])
                           for x, _ in extra)
                why = INVENTED_YEAR if same else INVENTED_OTHER if t.mentions else INVENTED_NONE
                rec.counts[why] += 1
                rec.examples[why].append({
                    "cid": d.cid, "text": t.text,
                    "mentions": [d.names.get(r, "?") for r in t.mentions],
                    "resolved": [f"{label(x)} <- \"{txt}\"" for x, txt in extra]})
        latest, last_list = None, {}
        for i in range(len(d.turns)):
            if answers.get(i) is not None and answers[i].recs:
                latest = answers[i]
            last_list[i] = latest
        for p in eval_points(d):
            run.point(d, p, d.turns[p.turn - 1].text, answers.get(p.turn - 1), mapper, catalog)
            last_run.point(d, p, d.turns[p.turn - 1].text, last_list.get(p.turn - 1), mapper,
                           catalog)
        progress("b", n, len(dialogues))
    return run, last_run, rec


# ----- baselines ------------------------------------------------------------------------------

def popularity_list(learn, mapper: NameMapper, catalog) -> list[int]:
    """Catalog films by how often recommenders mention them in the learn part."""
    counts: collections.Counter = collections.Counter()
    for d in learn:
        for t in d.turns:
            if t.seeker:
                continue
            for rid in t.mentions:
                mid = mapper.map(d.names.get(rid, ""))
                if mid is not None:
                    counts[mid] += 1
    return sorted(counts, key=lambda m: (-counts[m], -catalog.popularity.get(m, 0), m))


def run_baseline(name: str, ranking: list[int], dialogues, mapper: NameMapper) -> Run:
    run = Run(name)
    for d in dialogues:
        for p in eval_points(d):
            earlier = {mapper.map(d.names.get(r, "")) for r in p.earlier}
            recs = [m for m in ranking[:K + len(earlier)] if m not in earlier][:K]
            run.point_kinds["recommend"] += 1
            run.top1.append(recs[0])
            for rid, _novel in p.targets:
                run.ranks[(d.cid, p.turn, rid)] = rank_of(recs, mapper.map(d.names.get(rid, "")))
    return run


# ----- report -----------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    i = (len(s) - 1) * p / 100
    lo, hi = int(i), min(int(i) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)


def recall(run: Run, keys, k: int) -> float:
    keys = list(keys)
    return sum(1 for key in keys if (r := run.ranks.get(key)) is not None and r <= k) / max(
        len(keys), 1)


def summarise(args, argv, learn, measure, dialogues, mapper, catalog, runs, rec, notes,
              popularity_rank) -> dict:
    points = [p for d in dialogues for p in eval_points(d)]
    names = {d.cid: d.names for d in dialogues}
    all_keys, novel_keys, novel_in = [], [], []
    targets_in = 0
    target_pop = []
    for p in points:
        for rid, novel in p.targets:
            key = (p.cid, p.turn, rid)
            mid = mapper.map(names[p.cid].get(rid, ""))
            all_keys.append(key)
            targets_in += mid is not None
            if novel:
                novel_keys.append(key)
                if mid is not None:
                    novel_in.append(key)
                    target_pop.append(catalog.popularity.get(mid, 0))
    systems = {}
    for run in runs:
        with_list = sum(v for k, v in run.point_kinds.items() if k == "recommend")
        systems[run.name] = {
            "novel": {f"R@{k}": recall(run, novel_keys, k) for k in KS},
            "novel_in_catalog": {f"R@{k}": recall(run, novel_in, k) for k in KS},
            "all": {f"R@{k}": recall(run, all_keys, k) for k in KS},
            "points_with_list": with_list,
            "point_kinds": dict(run.point_kinds.most_common()),
            "turn_kinds": dict(run.all_kinds.most_common()),
            "asks": len(run.seconds),
            "p50_s": pct(run.seconds, 50), "p95_s": pct(run.seconds, 95),
            "max_s": max(run.seconds) if run.seconds else float("nan"),
            "median_top1_ratings": statistics.median(
                [catalog.popularity.get(m, 0) for m in run.top1]) if run.top1 else None,
            "top1_in_ml_top100": (sum(1 for m in run.top1 if popularity_rank.get(m, 10**9) < 100)
                                  / len(run.top1)) if run.top1 else None,
            "top1_mentioned_earlier": run.repeats_top1,
            "lists_with_a_film_mentioned_earlier": run.repeats_in_list,
            "truncated_contexts": run.truncated,
            "errors": len(run.errors),
            "error_examples": run.errors[:5],
            "by_context": by_context(run, novel_keys),
            "no_list_examples": spread(run.no_list, args.examples),
            "samples": spread(run.samples, args.examples),
        }
    out = {
        "date": datetime.date.today().isoformat(),
        "code": code_version(),
        "names": "with year" if args.years else "without year",
        "command": "python " + " ".join(shlex.quote(a) for a in argv),
        "part": args.part,
        "split": {"dialogues": len(learn) + len(measure), "learn": len(learn),
                  "measure": len(measure), "evaluated": len(dialogues)},
        "points": len(points), "targets": len(all_keys), "targets_in_catalog": targets_in,
        "novel_targets": len(novel_keys), "novel_in_catalog": len(novel_in),
        "mapping": dict(collections.Counter(
            mapper.how_of(n) for n in {d.names[r] for d in dialogues for t in d.turns
                                    for r in t.mentions if r in d.names}).most_common()),
        "median_target_ratings": statistics.median(target_pop) if target_pop else None,
        "target_in_ml_top100": (sum(1 for key in novel_in if popularity_rank.get(
            mapper.map(names[key[0]][key[2]]), 10**9) < 100) / len(novel_in)) if novel_in
        else None,
        "systems": systems,
        "notes": notes,
    }
    if rec is not None:
        out["recognition"] = {
            "seeker_turns": rec.turns, "turns_with_mentions": rec.turns_with_mentions,
            "mentions_in_catalog": rec.mentions, "recognised": rec.recognised,
            "recognised_share": rec.recognised / max(rec.mentions, 1),
            "invented_turns": rec.invented_turns,
            "invented_share": rec.invented_turns / max(rec.turns, 1),
            "counts": {k: rec.counts[k] for k in (MISSED_NONE, MISSED_OTHER, INVENTED_NONE,
                                                   INVENTED_OTHER, INVENTED_YEAR)},
            "examples": {k: spread(rec.examples[k], args.examples)
                         for k in (MISSED_NONE, MISSED_OTHER, INVENTED_NONE, INVENTED_OTHER,
                                   INVENTED_YEAR)},
        }
    return out


def by_context(run: Run, novel_keys) -> dict | None:
    """Novel-target recall split by whether recbot resolved a title in the asked text."""
    if not run.seeded:
        return None
    out = {}
    for name, want in (("a title resolved", True), ("no title resolved", False)):
        keys = [k for k in novel_keys if run.seeded.get(k[:2]) is want]
        points = sum(1 for v in run.seeded.values() if v is want)
        out[name] = {"points": points, "novel_targets": len(keys),
                     **{f"R@{k}": recall(run, keys, k) for k in KS}}
    return out


def code_version() -> str:
    """The commit of the recbot code measured, '+ changes' when its tree is dirty, and a digest
    of its Python sources (which identifies uncommitted code too)."""
    import hashlib
    import subprocess

    import recbot.agent

    root = Path(recbot.agent.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for sub in ("agent", "retrieval", "ranking", "recbot"):
        for f in sorted((root / sub).rglob("*.py")):
            digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "agent",
                                "retrieval", "ranking"], capture_output=True, text=True,
                               check=True).stdout.strip()
        commit = head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        commit = "not a git checkout"
    return f"{commit}; sources sha256 {digest.hexdigest()[:12]} ({root})"


def spread(items: list[dict], n: int) -> list[dict]:
    """``n`` examples from distinct dialogues where possible, spread over the run."""
    if len(items) <= n:
        return items
    step = len(items) / n
    picked, cids = [], set()
    for j in range(n):
        for item in items[int(j * step):] + items:
            if item["cid"] not in cids and item not in picked:
                picked.append(item)
                cids.add(item["cid"])
                break
    return picked


LABELS = {
    "popularity": "popularity (recommender mentions, learn part)",
    "ml-popularity": "MovieLens popularity (most-rated films)",
    "a": "recbot (a): seeker turns so far as one message, fresh session",
    "b": "recbot (b): seeker turns replayed in one session",
    "b-last": "recbot (b'): as (b), but the latest list of the session counts",
}


def short(text: str, n: int = 160) -> str:
    text = " / ".join(text.split("\n"))
    return text if len(text) <= n else text[: n - 1] + "…"


def markdown(s: dict) -> str:
    L = []
    L.append(f"# bench/bench_redial.py — recbot on ReDial dialogues ({s['date']})\n")
    L.append(f"`{s['command']}`\n")
    L.append(f"Code measured: {s['code']}. Movie names written into the text "
             f"{s['names']}.\n")
    sp = s["split"]
    L.append(f"Dialogues: {sp['dialogues']} (learn part {sp['learn']}, measure part "
             f"{sp['measure']}: conversationId divisible by 3); evaluated: {sp['evaluated']} "
             f"of the {s['part']} part. {s['points']} evaluation points, {s['targets']} "
             f"targets ({s['targets_in_catalog']} in the catalog), **{s['novel_targets']} novel "
             f"targets ({s['novel_in_catalog']} in the catalog)**. No LLM, k={K}.\n")
    L.append("ReDial names mapped to catalog films: "
             + ", ".join(f"{how} {n}" for how, n in s["mapping"].items())
             + " (distinct names mentioned in the evaluated dialogues).\n")
    for note in s["notes"]:
        L.append(f"Note: {note}\n")
    L.append("## Recall on novel targets\n")
    L.append("Targets not in the catalog and answers without a list count as misses; the "
             "last columns count only the novel targets that are in the catalog.\n")
    L.append("| system | R@1 | R@10 | R@20 | points with a list | R@10 in-catalog | "
             "R@20 in-catalog | R@10 all targets |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name, r in s["systems"].items():
        nv, ni, al = r["novel"], r["novel_in_catalog"], r["all"]
        L.append(f"| {LABELS.get(name, name)} | {nv['R@1']:.3f} | {nv['R@10']:.3f} | "
                 f"{nv['R@20']:.3f} | {r['points_with_list']}/{s['points']} | "
                 f"{ni['R@10']:.3f} | {ni['R@20']:.3f} | {al['R@10']:.3f} |")
    L.append("")
    rows = [(n, r["by_context"]) for n, r in s["systems"].items() if r.get("by_context")]
    if rows:
        L.append("Recbot's recall by what it understood of the asked text:\n")
        L.append("| variant | asked text | points | novel targets | R@1 | R@10 | R@20 |")
        L.append("|---|---|---|---|---|---|---|")
        for n, bc in rows:
            for what, r in bc.items():
                L.append(f"| {n} | {what} | {r['points']} | {r['novel_targets']} | "
                         f"{r['R@1']:.3f} | {r['R@10']:.3f} | {r['R@20']:.3f} |")
        L.append("")
    L.append(PUBLISHED + "\n")
    if "recognition" in s:
        rc = s["recognition"]
        L.append("## Understanding the seeker (variant b: each seeker turn asked alone, in "
                 "order)\n")
        L.append("| measure | value |\n|---|---|")
        L.append(f"| recognised: seeker mentions of in-catalog films resolved to that film | "
                 f"**{rc['recognised_share']:.1%}** ({rc['recognised']}/"
                 f"{rc['mentions_in_catalog']}) |")
        for why in (MISSED_NONE, MISSED_OTHER):
            L.append(f"| … {why} | {rc['counts'][why]} |")
        L.append(f"| invented: seeker turns in which recbot resolves a film the turn does not "
                 f"mention | **{rc['invented_share']:.1%}** ({rc['invented_turns']}/"
                 f"{rc['seeker_turns']}) |")
        for why in (INVENTED_NONE, INVENTED_OTHER, INVENTED_YEAR):
            L.append(f"| … {why.split(': ', 1)[1]} | {rc['counts'][why]} |")
        L.append(f"| seeker turns asked / with a mention | {rc['seeker_turns']} / "
                 f"{rc['turns_with_mentions']} |\n")
    L.append("## Answers, latency, popularity of picks\n")
    agents = {n: r for n, r in s["systems"].items() if n in ("a", "b")}
    if agents:
        L.append("| | " + " | ".join(f"variant {n}" for n in agents) + " |")
        L.append("|---|" + "---|" * len(agents))
        kinds = sorted({k for r in agents.values() for k in r["point_kinds"]})
        for kind in kinds:
            L.append(f"| answer kind at evaluation points: {kind} | "
                     + " | ".join(str(r["point_kinds"].get(kind, 0)) for r in agents.values())
                     + " |")
        kinds = sorted({k for r in agents.values() for k in r["turn_kinds"]})
        for kind in kinds:
            L.append(f"| answer kind, all asks: {kind} | "
                     + " | ".join(str(r["turn_kinds"].get(kind, 0)) for r in agents.values())
                     + " |")
        L.append("| asks timed | " + " | ".join(str(r["asks"]) for r in agents.values()) + " |")
        L.append("| turn time p50 / p95 / max | " + " | ".join(
            f"{r['p50_s']:.3f} / {r['p95_s']:.3f} / {r['max_s']:.2f} s"
            for r in agents.values()) + " |")
        L.append("| lists whose #1 is a film mentioned earlier in the dialogue | " + " | ".join(
            f"{r['top1_mentioned_earlier']} of {r['points_with_list']}" for r in agents.values())
            + " |")
        L.append(f"| lists with a film mentioned earlier in their top {K} | " + " | ".join(
            f"{r['lists_with_a_film_mentioned_earlier']} of {r['points_with_list']}"
            for r in agents.values()) + " |")
        L.append("| contexts cut to the message limit (oldest turns dropped) | "
                 + " | ".join(str(r["truncated_contexts"]) for r in agents.values()) + " |")
        L.append("| errors (exceptions, refusals) | "
                 + " | ".join(str(r["errors"]) for r in agents.values()) + " |")
        L.append("")
    L.append("| popularity (MovieLens ratings per film) | median | share among the 100 "
             "most-rated |\n|---|---|---|")
    L.append(f"| novel in-catalog targets | {s['median_target_ratings']:g} | "
             f"{s['target_in_ml_top100']:.1%} |" if s["target_in_ml_top100"] is not None
             else "| novel in-catalog targets | – | – |")
    for name, r in s["systems"].items():
        if r["median_top1_ratings"] is not None:
            L.append(f"| top-1 picks: {LABELS.get(name, name)} | {r['median_top1_ratings']:g} | "
                     f"{r['top1_in_ml_top100']:.1%} |")
    L.append("")
    L.append("## Examples\n")
    L.append("Text as recbot was asked (`/` between messages, cut to 160 characters); `<-` "
             "the text recbot read as a title; `[n]` MovieLens ratings of a film.\n")
    if "recognition" in s:
        for why, items in s["recognition"]["examples"].items():
            if not items:
                continue
            L.append(f"### {why.capitalize()} (variant b)\n")
            for e in items:
                if why.startswith("missed"):
                    got = ("; resolved instead: " + ", ".join(e["resolved"])) if e["resolved"] \
                        else ""
                    L.append(f"- {e['cid']}: \"{short(e['text'])}\" — **{e['film']}** "
                             f"(catalog: {e['catalog']}){got}")
                else:
                    named = ", ".join(e["mentions"]) or "none"
                    L.append(f"- {e['cid']}: \"{short(e['text'])}\" — names: {named}; "
                             f"resolved: **{', '.join(e['resolved'])}**")
            L.append("")
    for name, r in s["systems"].items():
        if r["no_list_examples"]:
            L.append(f"### No list at an evaluation point, variant {name}\n")
            for e in r["no_list_examples"]:
                L.append(f"- {e['cid']}: \"{short(e['text'], 120)}\" — {e['kind']}: "
                         f"\"{short(e['reply'], 120)}\"")
            L.append("")
    for name, r in s["systems"].items():
        if r["samples"] and name != "b-last":
            L.append(f"### What recbot recommends, variant {name} (top 3; novel targets, "
                     f"their rank in the top {K} or –)\n")
            for e in r["samples"]:
                ranks = ", ".join("–" if x is None else f"#{x}" for x in e["hit"])
                L.append(f"- {e['cid']}: \"{short(e['text'], 120)}\" → "
                         f"{'; '.join(e['picks'])} — targets: {'; '.join(e['targets'])} "
                         f"({ranks})")
            L.append("")
    L.append("---\n")
    L.append(CREDIT)
    return "\n".join(L) + "\n"


# ----- main -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("RECBOT_DATA_DIR"),
                    required="RECBOT_DATA_DIR" not in os.environ,
                    help="a warm recbot data dir (catalog index built, MF model trained); "
                         "default RECBOT_DATA_DIR. Only read, except that a stale index is "
                         "rebuilt (and an untrained MF model trained) there.")
    ap.add_argument("--data", type=Path, default=DATA, help="ReDial jsonl(.gz)")
    ap.add_argument("--part", choices=["measure", "learn", "fold1", "fold2"], default="measure",
                    help="fold1/fold2: learn dialogues with conversationId %% 3 == 1/2 (tune "
                         "there with RECBOT_PRIOR_CSV built from the other fold)")
    ap.add_argument("--variant", choices=["a", "b", "both"], default="both")
    ap.add_argument("--limit", type=int, help="only the first N dialogues of the part")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results/redial.md"),
                    help="markdown result file ('' for none; default bench/results/redial.md)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--no-years", dest="years", action="store_false",
                    help="write movie names into the text without their year (\"Coco\")")
    ap.add_argument("--examples", type=int, default=10, help="examples per failure kind")
    ap.add_argument("--dump", type=Path, help="write every miss/invention example as JSON")
    args = ap.parse_args(argv[1:])

    notes: list[str] = []
    settings = Settings.load(data_dir=Path(args.data_dir).expanduser())
    ws = Workspace(settings)
    if not ws.index_is_current():
        msg = "the catalog index in the data dir was not current; built it first"
        print(msg + " …", file=sys.stderr, flush=True)
        report = ws.build_index()
        notes.append(f"{msg} ({report})." if report is not None else f"{msg}.")
    trained = getattr(ws, "ranker_is_trained", None)
    if trained is not None and not trained("als"):
        msg = "the MF model was not trained in the data dir; trained it first"
        print(msg + " …", file=sys.stderr, flush=True)
        notes.append(msg + ".")
    catalog = ws.catalog
    mapper = NameMapper(catalog)
    popularity_rank = {m: i for i, m in enumerate(
        sorted(catalog.popularity, key=lambda m: (-catalog.popularity[m], m)))}

    learn, measure = split(load_dialogues(args.data, years=args.years))
    dialogues = measure if args.part == "measure" else learn
    if args.part.startswith("fold"):   # tune on one fold of the learn part, prior from the other
        dialogues = [d for d in learn if d.cid % 3 == int(args.part[-1])]
    if args.limit:
        dialogues = dialogues[: args.limit]
    if args.part != "measure":
        notes.append(f"evaluated on the {args.part} part, inside the learn part, which trains the "
                     "popularity baseline and anything recbot learns from ReDial (e.g. a shipped "
                     "prior, unless built from the other fold): those numbers are in-sample.")

    def progress(variant, n, total):
        if n % 10 == 0 or n == total:
            print(f"  variant {variant}: {n}/{total} dialogues", file=sys.stderr, flush=True)

    popular = popularity_list(learn, mapper, catalog)
    notes.append("the popularity baseline's top 5: " + ", ".join(
        f"{catalog[m].label()} [{catalog.popularity.get(m, 0)}]" for m in popular[:5])
        + " ([n]: MovieLens ratings).")
    runs = [run_baseline("popularity", popular, dialogues, mapper),
            run_baseline("ml-popularity", sorted(popularity_rank, key=popularity_rank.get),
                         dialogues, mapper)]
    rec = None
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-redial-") as tmp:
        runner = Runner(ws, Path(tmp))
        try:
            if args.variant in ("a", "both"):
                runs.append(run_a(runner, dialogues, mapper, progress))
            if args.variant in ("b", "both"):
                run, last_run, rec = run_b(runner, dialogues, mapper, catalog, progress)
                runs += [run, last_run]
        except BrokenAgent as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        finally:
            runner.agent.memory.close()
    notes.append(f"wall time of the recbot runs: {time.perf_counter() - t_start:.0f} s "
                 f"({os.cpu_count()} CPUs).")
    s = summarise(args, argv, learn, measure, dialogues, mapper, catalog, runs, rec, notes,
                  popularity_rank)
    if args.dump:
        args.dump.write_text(json.dumps({
            "recognition": rec.examples if rec is not None else {},
            "no_list": {r.name: r.no_list for r in runs if r.no_list},
            "samples": {r.name: r.samples for r in runs if r.samples}},
            indent=1, ensure_ascii=False), encoding="utf-8")
    return write_report(markdown(s), s, runs, args)


def write_report(md: str, s: dict, runs: list, args) -> int:
    """Write the result file and print it (or its JSON); exit code 1, and no file, when
    recbot raised on more than MAX_ERROR_SHARE of some variant's turns. bench_inspired
    shares it."""
    failing = [r for r in runs if r.seconds or r.errors
               if sum(not e.startswith("refused") for e in r.errors)
               > MAX_ERROR_SHARE * (len(r.seconds) + len(r.errors))]
    if failing:
        print(md if not args.json else json.dumps(s, indent=1, ensure_ascii=False))
        print(f"error: recbot raised on more than {MAX_ERROR_SHARE:.0%} of the turns of variant "
              f"{', '.join(r.name for r in failing)} (e.g. {failing[0].errors[0]}); "
              f"{args.out or 'no file'} not written", file=sys.stderr)
        return 1
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md, encoding="utf-8")
    print(json.dumps(s, indent=1, ensure_ascii=False) if args.json else md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
