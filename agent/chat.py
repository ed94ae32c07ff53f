"""One chat turn: understand -> candidates -> evidence -> rerank -> explain -> remember.

The deterministic path alone gives a complete answer; the LLM (when there is one) may
fill what the parser could not read, reorder the top of the list a little, and phrase
the explanations. Everything it returns is checked (see ``agent.grounding``).
"""

from __future__ import annotations

import functools
import re
import statistics
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property

from .candidates import Candidate, CandidateGenerator, Constraints, Request, shift_years
from .events import Candidates, Final, OnEvent, Reason, Reply, Status
from .evidence import MIN_SUPPORT, Fact, co_rating_text
from .grounding import (
    LLMTrace,
    apply_leads,
    briefing,
    choose_with_evidence,
    explain,
    rerank,
    template_explanation,
)
from .intent import Intent, Mention, chitchat_reply, parse
from .llm import ChatModel, LLMError, describe, parse_json
from .memory import Memory, SessionState
from .mentions import MentionFinder

DEFAULT_K = 5
MAX_K = 20


@dataclass(slots=True)
class Recommendation:
    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    score: float
    explanation: str
    evidence: list[Fact]
    explained_by: str = "template"
    info: dict = field(default_factory=dict)    # year, runtime_min, ml_mean, ml_count, ...
    sources: dict = field(default_factory=dict)  # candidate source -> rank (why #n)

    def as_dict(self) -> dict:
        return {"movie_id": self.movie_id, "title": self.title, "year": self.year,
                "genres": list(self.genres), "score": self.score,
                "explanation": self.explanation, "explained_by": self.explained_by,
                "info": dict(self.info), "sources": dict(self.sources),
                "evidence": [f.as_dict() for f in self.evidence]}

    @classmethod
    def from_candidate(cls, c: Candidate) -> Recommendation:
        return cls(c.movie_id, c.title, c.year, c.genres, c.score, c.explanation,
                   list(c.facts), c.explained_by, dict(c.info), dict(c.sources))

    @classmethod
    def from_dict(cls, d: dict) -> Recommendation:
        facts = [Fact.from_dict(e) for e in d.get("evidence", [])]
        return cls(d["movie_id"], d["title"], d.get("year"), tuple(d.get("genres", ())),
                   d.get("score", 0.0), d.get("explanation", ""), facts,
                   d.get("explained_by", "template"), dict(d.get("info") or {}),
                   dict(d.get("sources") or {}))

    def label(self) -> str:
        return self.title if self.year is None else f"{self.title} ({self.year})"


@dataclass(slots=True)
class Answer:
    reply: str
    recommendations: list[Recommendation] = field(default_factory=list)
    resolved: list[Mention] = field(default_factory=list)
    llm: dict = field(default_factory=dict)
    session: str = ""
    kind: str = "recommend"   # recommend why why_not about feedback clarify chitchat nonsense help
    timings: dict[str, float] = field(default_factory=dict)
    trace: LLMTrace = field(default_factory=LLMTrace)
    candidates: list[int] = field(default_factory=list)   # the candidate set of the turn

    def as_dict(self) -> dict:
        return {"reply": self.reply,
                "recommendations": [r.as_dict() for r in self.recommendations],
                "resolved": [m.as_dict() for m in self.resolved if m.movie_id is not None],
                "llm": self.llm, "session": self.session, "kind": self.kind}


class Agent:
    """``ask(text, session)`` runs one turn. ``workspace`` gives catalog, ranker, searcher."""

    def __init__(self, workspace, llm: ChatModel | None, memory: Memory, *,
                 k: int = DEFAULT_K, use_search: bool = True, rerank_window: int | None = None,
                 compact: bool | None = None) -> None:
        self.ws = workspace
        self.llm = llm
        self._compact = compact
        self._window = rerank_window
        self.memory = memory
        self.k = k
        self.use_search = use_search

    @property
    def compact(self) -> bool:
        """Embedded models are slow to read and write: one call over a smaller window."""
        if self._compact is not None:
            return self._compact
        mode = getattr(getattr(self.ws, "settings", None), "llm_mode", "auto")
        if mode != "auto":
            return mode == "compact"
        return getattr(self.llm, "backend", None) == "local"

    @property
    def rerank_window(self) -> int:
        return self._window or (6 if self.compact else 10)

    @cached_property
    def max_year(self) -> int:
        return max((m.year or 0 for m in self.catalog), default=0) or 2018

    @cached_property
    def catalog(self):
        return self.ws.catalog

    @cached_property
    def ranker(self):
        return self.ws.ranker("als")

    @cached_property
    def generator(self) -> CandidateGenerator:
        searcher = (lambda: self.ws.searcher) if self.use_search else None
        from recbot.retrieval.prior import ChatPrior

        ranker = self.ranker   # loads the ratings with the model, before the co-ratings
        return CandidateGenerator(self.catalog, ranker, self.ws.corate, searcher,
                                  ChatPrior.load(),
                                  self._conversations if self.use_search else None)

    def _conversations(self, talk: str) -> tuple[list[int], dict[int, str]]:
        """What real chats suggested to the seekers who said what is nearest to ``talk``."""
        nb = self.ws.chat_neighbours
        if nb is None:
            return [], {}
        from recbot.retrieval.errors import RetrievalError

        try:
            query = self.ws.embedder.embed([talk])[0]
        except RetrievalError:
            return [], {}
        films, best = nb.rank(query)
        return films, {m: nb.contexts[j].text for m, j in best.items()}

    def warm(self) -> None:
        """Load everything a turn needs (catalog, MF, co-ratings, title index, search)."""
        _ = self.generator, self.catalog.titles
        if self.use_search:
            self.ws.searcher.search("warm up", k=1)

    def llm_info(self, used: bool = False) -> dict:
        return {**describe(self.llm), "used": used}

    @property
    def catalog_size(self) -> int | None:
        """Films in the catalog, or None while it is not loaded yet (no I/O)."""
        catalog = self.__dict__.get("catalog")
        return None if catalog is None else len(catalog)

    def load_llm(self) -> str | None:
        """Load the LLM now (weights, or a server's default model name) rather than on the
        first turn. A failure means "answer without it": the LLM is dropped and the one-line
        reason returned."""
        if self.llm is None or not hasattr(self.llm, "load"):
            return None
        try:
            self.llm.load()
        except Exception as err:  # noqa: BLE001 — a broken LLM means "answer without it"
            self.llm = None
            return " ".join(str(err).split())[:200] or type(err).__name__
        return None

    def set_llm(self, name: str) -> str | None:
        """Switch to backend ``name`` (loaded at once); None, or why it cannot be used
        (the current LLM then stays)."""
        from .llm import LLMError, make_chat_model

        try:
            model = make_chat_model(self.ws.settings, name)
        except LLMError as err:
            return str(err)
        old, self.llm = self.llm, model
        error = self.load_llm()
        if error:
            self.llm = old
        return error

    def refresh_catalog(self) -> None:
        """Pick up items that joined the workspace's catalog (ingested files)."""
        for name in ("catalog", "generator", "max_year", "mentions"):
            self.__dict__.pop(name, None)

    def profile_labels(self) -> dict[str, list[str]]:
        """The stored profile by kind, as film labels."""
        out: dict[str, list[str]] = {"like": [], "dislike": [], "seen": []}
        for movie_id, kind in self.memory.profile().items():
            movie = self.catalog.get(movie_id)
            out.setdefault(kind, []).append(movie.label() if movie else str(movie_id))
        return out

    # -- a turn ------------------------------------------------------------------------------
    def ask(self, text: str, session: str | None = None, *, k: int | None = None,
            user_id: int | None = None, on_event: OnEvent | None = None) -> Answer:
        t0 = time.perf_counter()
        emit = on_event or (lambda _event: None)
        intent = parse(text, self.mentions, max_year=self.max_year)
        sid = session or self.memory.new_session()
        self.memory.ensure(sid)
        st = self.memory.load(sid)
        trace = LLMTrace()
        if self.llm is not None and self._should_fill(intent):
            self._llm_fill(intent, trace)
        answer = self._turn(intent, st, k or intent.k or self.k, user_id, emit, trace, t0)
        answer.session = sid
        answer.trace = trace
        answer.llm = self.llm_info(trace.used)
        answer.resolved = [m for m in intent.mentions if m.movie_id is not None]
        answer.timings["total"] = time.perf_counter() - t0
        emit(Final(answer))
        return answer

    @cached_property
    def mentions(self) -> MentionFinder:
        return MentionFinder(self.catalog)

    # -- the dispatch ------------------------------------------------------------------------
    def _turn(self, intent: Intent, st: SessionState, k: int, user_id, emit, trace, t0) -> Answer:
        """One message, act by act: what it says of films first (feedback), then what it
        asks (a question, a clarification, or a list), else a short reply."""
        k = max(1, min(int(k), MAX_K))
        state = TurnState.from_dict(st.state)
        if user_id is None:     # "--user 68" once: the session's follow-ups are theirs too
            user_id = state.user_id
        state.user_id = user_id
        shown = [Recommendation.from_dict(d) for d in st.last_shown]
        acts = intent.acts
        finish = functools.partial(self._finish, st, intent)
        if intent.foreign:      # "je voudrais un film romantique": not guessed at word by word
            return finish(Answer("Sorry, I only understand English so far: try \"a romantic "
                                 "film\" or \"something like Amélie\".", kind="nonsense"),
                          state, [], {})

        # 1. Feedback on films named in the message, each with its own sentiment.
        feedback: dict[int, str] = {}
        for attr, kind in (("seen", "seen"), ("liked", "like"), ("disliked", "dislike")):
            for m in getattr(intent, attr):
                feedback[m.movie_id] = kind
        # ... and on films of the last list it points at ("#2 seen it", "not that one").
        targets = self._targets(intent, shown, state)
        if intent.refs and targets:
            state.focus = targets[-1].movie_id    # "#10 seen it", then "not that one": #10
        bad = [r for r in intent.refs if r != -1 and not 1 <= r <= len(shown)]
        if bad and shown:
            return finish(Answer(f"There is no #{bad[0]} in the last answer; pick 1 to "
                                 f"{len(shown)}.", kind="clarify"), state, [], feedback)
        if (intent.refs or intent.feedback or (intent.more and not intent.content)) and \
                not shown and not intent.content and intent.question is None:
            return finish(Answer("I haven't shown any films in this session yet; ask me for "
                                 "something first.", kind="clarify"), state, [], feedback)
        if intent.question is None:
            for pos, r in enumerate(shown, 1):
                if pos in intent.ref_feedback:           # "loved #1, not #3": #3 only
                    feedback[r.movie_id] = intent.ref_feedback[pos]
            if intent.more:                               # "more like #1, not #2"
                targets = [r for r in targets if feedback.get(r.movie_id) != "dislike"]
        if intent.feedback and targets and intent.question is None:
            for pos, r in enumerate(shown, 1):
                if r in targets and pos not in intent.ref_feedback:
                    feedback[r.movie_id] = intent.feedback
        notes = self._feedback_notes(feedback)

        # 2. Questions.
        if intent.question == "why" and intent.why_of is not None and shown:
            m = intent.why_of      # "why Rocky?": that pick, whichever number it has
            same = {m.movie_id, *(i for i, _ in m.options)} | {
                t.movie_id for t in self.catalog.titles.exact(m.title or m.text)}
            picked = [r for r in shown if r.movie_id in same]
            if not picked:
                return finish(Answer(
                    f"{m.title or m.text} isn't in the list I showed. Ask "
                    f"\"why not {m.title or m.text}?\" to see where it ranks for this ask.",
                    kind="clarify"), state, [], feedback)
            targets = picked[:1]
        if intent.question == "why":
            return self._why(intent, st, targets or shown[:1], state, feedback)
        if intent.question == "why_not":
            return self._why_not(intent, st, state, feedback)
        if intent.question in ("about", "cast"):
            return self._about(intent, st, state, feedback)

        # 3. Titles that need a word from the user first.
        if intent.ambiguous and not intent.seeds:
            m = intent.ambiguous[0]
            labels = [label for _, label in m.options]
            reply = (f"Which \"{m.text}\" do you mean: {', '.join(labels[:-1])} or {labels[-1]}? "
                     "Add the year, e.g. \"" + labels[0] + "\".")
            return finish(Answer(" ".join([*notes, reply]), kind="clarify"), state, [], feedback)
        if intent.unknown_people and not (intent.seeds or intent.people or intent.genres
                                          or intent.describe or intent.unresolved):
            names = " or ".join(f'"{n}"' for n in intent.unknown_people)
            reply = (f"I don't know {names}: the data names the directors and leading stars "
                     f"of about 1,000 well-known films, and people MovieLens users tagged. Try "
                     f"another name, or a film you liked (\"something like Heat\").")
            return finish(Answer(reply, kind="clarify"), state, [], feedback)
        if intent.unresolved and not (intent.seeds or intent.people or intent.genres
                                      or intent.describe):
            m = intent.unresolved[0]
            if m.suggestions:
                options = ", ".join(label for _, label in m.suggestions)
                reply = f"I couldn't find \"{m.text}\" in the catalog. Did you mean: {options}?"
            else:
                reply = (f"I couldn't find \"{m.text}\" in the catalog. Could you check the "
                         f"spelling, or describe the film instead?")
            return finish(Answer(reply, kind="clarify"), state, [], feedback)

        # 4. A list: a new ask, a refinement of the last one, or a generic one.
        refines = bool(intent.feedback == "dislike" and targets and state.request)  # "not that one"
        if refines or "request" in acts or "reject" in acts or "critique" in acts or \
                "more" in acts:
            req, headline, note = self._request(intent, st, state, targets, feedback, k, user_id)
            if req is not None:
                if note:
                    notes.append(note)
                if intent.unknown_people:   # "a comedy with Zendaya": the rest of the ask
                    names = " or ".join(f'"{n}"' for n in intent.unknown_people)
                    notes.append(f"I don't know {names}, so this list leaves that out.")
                return self._recommend(intent, st, state, req, headline, notes, feedback, k,
                                       emit, trace, t0)
        if feedback:
            return finish(Answer(" ".join(notes), kind="feedback"), state, [], feedback)
        if intent.again and shown:   # "show me the list again": the same list, nothing new
            return finish(Answer("Here is the last list again.", shown, kind="recommend"),
                          state, [r.as_dict() for r in shown], feedback)
        if "chitchat" in acts:
            return finish(Answer(chitchat_reply(intent.chitchat, bool(shown)), kind="chitchat"), state, [],
                          feedback)
        if intent.nonsense:
            return finish(Answer("Sorry, I didn't understand that. Name a film you like, a "
                                 "genre, a person, or describe what you're in the mood for.",
                                 kind="nonsense"), state, [], feedback)
        return finish(Answer(HELP_REPLY, kind="help"), state, [], feedback)

    def _feedback_notes(self, feedback: dict[int, str]) -> list[str]:
        if not feedback:
            return []
        verb = {"like": "you liked", "dislike": "not for you:", "seen": "you've seen"}
        by_kind: dict[str, list[str]] = {}
        for movie_id, kind in feedback.items():
            movie = self.catalog.get(movie_id)
            by_kind.setdefault(kind, []).append(movie.label() if movie else str(movie_id))
        parts = [f"{verb[kind]} {', '.join(names)}" for kind, names in by_kind.items()]
        return [f"Noted for this chat: {'; '.join(parts)}."]

    def _recommend(self, intent, st, state, req, headline, notes, feedback, k, emit, trace,
                   t0) -> Answer:
        window = max(self.rerank_window, k)
        if req.topic and intent.topic and not self.generator.names_subject(req.query):
            # "a movie about a lighthouse": no tag or plot says so; the search is all there is
            notes.append(f"No film in the data has \"{intent.topic}\" in its tags or plot "
                         f"summary; these are only the nearest by description.")
        cands = self.generator.gather(req, pool=min(max(20, k), max(window, k)))
        for c in cands:
            c.explanation = template_explanation(c)
        t_cand = time.perf_counter() - t0
        emit(Reply(" ".join([*notes, headline])))
        emit(Candidates(tuple(Recommendation.from_candidate(c) for c in cands[:k])))
        seed = zlib.crc32(f"{st.id}/{st.turns}".encode())
        if self.llm is not None and self.compact and len(cands) > 1:
            emit(Status("asking the LLM"))
            cands, leads = choose_with_evidence(self.llm, intent.text, cands, k, trace,
                                                window=window, seed=seed)
            picks = verify_picks(cands, req, k)
            apply_leads(picks, leads, trace)
            return self._answer(st, intent, req, headline, notes, cands, picks, state,
                                feedback, t_cand)
        brief, briefed = briefing(intent.text, cands[:window], seed=seed)
        if self.llm is not None and len(cands) > 1:
            emit(Status("asking the LLM to rerank"))
            cands = rerank(self.llm, intent.text, cands, k, trace, window=window, brief=brief)
        picks = verify_picks(cands, req, k)
        if self.llm is not None and picks:
            emit(Status("asking the LLM to explain"))
            explain(self.llm, intent.text, picks, trace,
                    on_reason=lambda mid, text: emit(Reason(mid, text)),
                    brief=brief, briefed=briefed, others=cands[:window])
        else:
            explain(None, intent.text, picks, trace)
        return self._answer(st, intent, req, headline, notes, cands, picks, state, feedback,
                            t_cand)

    def _answer(self, st, intent, req, headline, notes, cands, picks, state, feedback,
                t_cand) -> Answer:
        recs = [Recommendation.from_candidate(c) for c in picks]
        if not recs:
            what = ", ".join(x for x in (f"with {' and '.join(req.people)}" if req.people else "",
                                         req.constraints.describe()) if x)
            reply = ("Nothing in the catalog fits all of that "
                     f"({what or 'your filters'}) that I haven't shown; try loosening a filter.")
            if req.only is not None and not req.only - req.exclude:
                who = " and ".join(req.people) or "that"
                reply = (f"That was every film with {who} the catalog knows; name another "
                         "person, or a film you like.")
            reply = " ".join([*notes, reply])
        else:
            if len(recs) < req.k:
                headline = headline.replace(
                    f"Here are {req.k} films",
                    f"Here {'is 1 film' if len(recs) == 1 else f'are {len(recs)} films'}", 1)
            reply = " ".join([*notes, headline])
        answer = Answer(reply, recs, kind="recommend", candidates=[c.movie_id for c in cands])
        answer.timings["candidates"] = t_cand
        state.request = req_state(req)
        state.focus = None
        state.headline = headline
        return self._finish(st, intent, answer, state, [r.as_dict() for r in recs], feedback)

    def _finish(self, st: SessionState, intent: Intent, answer: Answer, state: TurnState,
                shown: list[dict], feedback: dict[int, str]) -> Answer:
        self.memory.record_turn(st.id, intent.text, answer.reply,
                                {"kind": answer.kind,
                                 "recommendations": [r["movie_id"] for r in shown]},
                                state.as_dict(), shown, feedback)
        return answer

    # -- pieces ------------------------------------------------------------------------------
    @staticmethod
    def _targets(intent: Intent, shown: list[Recommendation], state) -> list[Recommendation]:
        """Shown items the message refers to ("#2", "the last one", "that one")."""
        out = []
        for ref in intent.refs:
            pos = len(shown) if ref == -1 else ref
            if 1 <= pos <= len(shown):
                out.append(shown[pos - 1])
        if not out and shown and not intent.mentions and intent.all_shown and intent.feedback:
            return list(shown)      # "seen them all"
        if not out and shown and not intent.mentions and (
                intent.that_one and (intent.feedback or intent.more)):
            hit = [r for r in shown if r.movie_id == state.focus]
            out = hit or shown[:1]
        return out

    def _should_fill(self, intent: Intent) -> bool:
        return (not intent.acts and not intent.chitchat and len(intent.text.split()) >= 3
                and intent.question is None)

    def _llm_fill(self, intent: Intent, trace: LLMTrace) -> None:
        """Ask the LLM for titles, genres and years the parser did not find. Nothing it
        says is taken without a word of the message behind it: a title must occur in the
        message and resolve in the catalog, a genre's name must be in it, a year written."""
        genres = sorted({g for m in self.catalog for g in m.genres})
        schema = {"type": "object", "properties": {
            "titles": {"type": "array", "items": {"type": "string", "maxLength": 80},
                       "maxItems": 3},
            "genres": {"type": "array", "items": {"type": "string", "enum": genres},
                       "maxItems": 3},
            "year_min": {"type": ["integer", "null"]}, "year_max": {"type": ["integer", "null"]}},
            "required": ["titles", "genres", "year_min", "year_max"]}
        prompt = ("Extract from the user's message the movie titles they name, the genres they "
                  "ask for and any year range. Use empty lists and nulls for what is not "
                  f"there.\nMessage: <data>{intent.text}</data>")
        trace.calls += 1
        try:
            got = parse_json(self.llm.chat([{"role": "user", "content": prompt}], schema=schema,
                                           max_tokens=120, temperature=0.0))
        except LLMError as err:
            trace.errors.append(f"understand: {err}")
            return

        def listed(key):
            value = got.get(key)
            return value if isinstance(value, list) else []
        low = intent.text.lower()
        for title in listed("titles"):
            if isinstance(title, str) and len(title) >= 3 and title.lower() in low:
                res = self.catalog.titles.resolve(title)
                if res.confident and res.best:
                    b = res.best
                    intent.seeds.append(Mention(title, b.movie_id, b.title, b.year))
                    intent.filled_by_llm.append("titles")
        for g in listed("genres"):
            if g in genres and (g,) not in intent.genres and \
                    re.search(rf"\b{re.escape(g.lower())}", low):
                intent.genres.append((g,))
                intent.filled_by_llm.append("genres")
        for key in ("year_min", "year_max"):
            v = got.get(key)
            if type(v) is int and 1870 <= v <= 2100 and str(v) in intent.text:
                setattr(intent, key, v)
                intent.filled_by_llm.append(key)
        trace.used = trace.used or bool(intent.filled_by_llm)

    def _request(self, intent: Intent, st: SessionState, state: TurnState,
                 targets: list[Recommendation], feedback: dict[int, str], k: int,
                 user_id) -> tuple[Request | None, str, str]:
        """The request this turn asks for, its headline and a note; (None, "", "") when the
        message asks for no list after all."""
        profile = self.memory.profile()
        fb = {**profile, **st.feedback, **feedback}
        likes = [m for m, kind in fb.items() if kind == "like"]
        dislikes = [m for m, kind in fb.items() if kind == "dislike"]
        seen = {m for m, kind in fb.items() if kind == "seen"}
        if user_id is not None:     # a MovieLens user has seen what they rated
            seen |= set(self.generator.ranker.rated_by(user_id))
        last = state.request
        note = ""
        narrows = bool(intent.refine and last and (intent.genres or intent.constraints_given)
                       and not (intent.seeds or intent.people or intent.describe))
        # "with Jim Carrey" / "a Tom Hanks one" after a list: the person joins the last ask
        narrows = narrows or bool(last and intent.add_person and intent.people and not (
            intent.seeds or intent.describe))
        if (intent.content and not narrows) or (intent.asks_for_list and not last
                                                and not intent.more and not intent.reject):
            # A new ask: its own seeds, people, genres and description.
            cons = Constraints()
            seeds = [m.movie_id for m in intent.seeds]
            people = [p.name for p in intent.people]
            query = intent.describe
            quality = intent.quality
            topic = bool(intent.topic)
            similar = any(m.sentiment == "similar" for m in intent.seeds)
            if intent.also and last and seeds and not (people or query):
                # "I also loved X": X joins the films named before, the filters stay (a
                # person asked for before does not: X is a taste, not their filmography)
                cons = Constraints.from_dict(last.get("constraints"))
                seeds = list(dict.fromkeys([*(last.get("seeds") or []), *seeds]))
        elif last or intent.constraints_given or intent.critiques or intent.avoid_people \
                or intent.avoid_kinds:    # "nothing with Adam Sandler" first: any film but his
            last = last or {}
            cons = Constraints.from_dict(last.get("constraints"))
            seeds = list(last.get("seeds") or [])
            people = list(last.get("people") or [])
            if intent.add_person and intent.people:
                people = list(dict.fromkeys([*people, *(p.name for p in intent.people)]))
            if "people" in intent.clear:
                people = []
            query = last.get("query") or ""
            quality = bool(last.get("quality"))
            topic = bool(last.get("topic"))
            similar = bool(last.get("similar"))
        else:
            return None, "", ""
        if intent.more and targets:
            seeds, people, query, topic = [r.movie_id for r in targets], [], "", False
            similar = True
        self._apply_constraints(cons, intent, st)
        for p in intent.avoid_people:
            cons.exclude_ids = sorted(set(cons.exclude_ids) | set(p.films))
            # the data links a person to some of their films only: the header says how many
            _add(cons.avoided, f"without the {len(p.films)} {p.name} films the data knows")
        for kind in intent.avoid_kinds:   # "no superheroes", "not Star Wars"
            cons.exclude_ids = sorted(set(cons.exclude_ids) | self.generator.films_naming(kind))
            _add(cons.avoided, f"no {kind}")
        only = None
        if people:
            films = [set(self.mentions_person(name, intent)) for name in people]
            only = set.intersection(*films)
            if len(films) > 1 and not only - set(st.shown_ids):
                only = set.union(*films)    # nobody's films with all of them: any of them
        boost = [m for p in intent.fans_of for m in p.films]
        named = set(state.named) | {m.movie_id for m in intent.mentions if m.movie_id is not None}
        state.named = sorted(named)
        shown_before = set(st.shown_ids)
        if intent.refine == "narrow" and not (intent.reject or intent.more):
            # "only dramas", "from the 90s only": the list just shown, filtered, may answer
            shown_before -= {d["movie_id"] for d in st.last_shown}
        exclude = shown_before | seen | set(dislikes) | (named - set(seeds))
        from recbot.retrieval.prior import talk_text

        talk = talk_text([*self.memory.said(st.id), intent.text])
        req = Request(seeds=seeds, likes=[m for m in likes if m not in seeds],
                      dislikes=dislikes, exclude=exclude, user_id=user_id, query=query,
                      constraints=cons, k=k, only=only, people=people, quality=quality, topic=topic,
                      boost=boost, similar=similar, talk=talk)
        if only is not None:
            left = only - exclude - set(seeds)
            fits = [m for m in left if m in self.catalog and cons.allows(self.catalog[m])]
            who = " and ".join(people)
            if 0 < len(fits) < k:     # none at all: the answer says so
                note = (f"The catalog knows {len(fits)} {'film' if len(fits) == 1 else 'films'} "
                        f"with {who} that fit" + (" and aren't shown yet" if shown_before & only else "")
                        + " (its cast and crew data covers about 1,000 films).")
        thin = []
        for s in ([m.movie_id for m in intent.seeds] if intent.seeds else []):
            got = self.generator.corate.co_likes(s) if s in self.catalog else None
            fans = got[0] if got else 0
            if fans < FEW_FANS:
                thin.append(f"{self.catalog[s].title} ({fans})" if s in self.catalog else str(s))
        if thin:
            note = (note + " " if note else "") + (
                f"Few people in the ratings loved {' and '.join(thin)}, so this list leans on "
                f"{'its' if len(thin) == 1 else 'their'} genres and what people suggest in "
                f"chats more than on fans' tastes.")
        if cons.runtime_max or cons.runtime_min:
            known = sum(1 for m in self.catalog if m.runtime_min)
            note = (note + " " if note else "") + \
                f"Runtimes are known for {known:,} films of the catalog; I only pick from those."
        return req, self._headline(req, k), note

    def mentions_person(self, name: str, intent: Intent | None = None) -> tuple[int, ...]:
        """The catalog films the data links to a person (by name as the finder knows it)."""
        for p in (intent.people if intent else []):
            if p.name == name:
                return p.films
        _, films, _ = self.mentions._people
        return tuple(films.get(name, {}))

    def _apply_constraints(self, cons: Constraints, intent: Intent, st: SessionState) -> None:
        if "years" in intent.clear:          # "forget the year"
            cons.year_min = cons.year_max = None
        if "genres" in intent.clear:
            cons.genres, cons.exclude_genres = [], []
        if "runtime" in intent.clear:
            cons.runtime_min = cons.runtime_max = None
        if intent.refine == "switch" and intent.genres:
            cons.genres = []     # "make it a comedy": instead of the genre asked before
        for group in intent.genres:
            if list(group) not in cons.genres:
                cons.genres.append(list(group))
            cons.exclude_genres = [g for g in cons.exclude_genres if g not in group]
        for g in intent.exclude_genres:
            if g not in cons.exclude_genres:
                cons.exclude_genres.append(g)
            cons.genres = [grp for grp in cons.genres if g not in grp or len(grp) > 1]
        if intent.year_min is not None:
            cons.year_min = intent.year_min
            if cons.year_max is not None and cons.year_max < cons.year_min:
                cons.year_max = None
        if intent.year_max is not None:
            cons.year_max = intent.year_max
            if cons.year_min is not None and cons.year_min > cons.year_max:
                cons.year_min = None
        if intent.runtime_max is not None:
            cons.runtime_max, cons.runtime_min = intent.runtime_max, None
        if intent.runtime_min is not None:
            cons.runtime_min = intent.runtime_min
        shown = [Recommendation.from_dict(d) for d in st.last_shown]
        years = [r.year for r in shown if r.year]
        for crit in intent.critiques:
            if crit == "more_recent":
                shift_years(cons, years or [2000], newer=True)
                if intent.year_max is not None:     # "more recent but before 2010"
                    cons.year_max = intent.year_max
            elif crit == "older":
                shift_years(cons, years or [1995], newer=False)
                if intent.year_min is not None:     # "older, but after 1990": the number stays
                    cons.year_min = intent.year_min
            elif crit in ("shorter", "longer"):
                if intent.runtime_min is not None or intent.runtime_max is not None:
                    continue    # "an epic over 3 hours long": the number says how long
                runtimes = [self.catalog[r.movie_id].runtime_min for r in shown
                            if r.movie_id in self.catalog and self.catalog[r.movie_id].runtime_min]
                mid = int(statistics.median(runtimes)) if runtimes else (110 if crit == "shorter"
                                                                        else 120)
                if crit == "shorter":
                    cons.runtime_max, cons.runtime_min = mid - 10, None
                else:
                    cons.runtime_min, cons.runtime_max = mid + 10, None
            elif crit == "less_violent":
                asked = {g for group in cons.genres for g in group}
                for g in ("Horror", "War"):
                    if g not in cons.exclude_genres and g not in asked:
                        cons.exclude_genres.append(g)
                if crit not in cons.soft:
                    cons.soft.append(crit)
            else:
                opposite = {"lighter": "darker", "darker": "lighter",
                            "more_popular": "less_popular", "less_popular": "more_popular"}
                cons.soft = [s for s in cons.soft if s != opposite.get(crit)]
                if crit not in cons.soft:
                    cons.soft.append(crit)

    def _headline(self, req: Request, k: int) -> str:
        parts = []
        if req.people:
            parts.append(f"with {' and '.join(req.people)}")
        if req.seeds:
            names = [self.catalog[s].label() for s in req.seeds if s in self.catalog]
            parts.append(f"for people who loved {' and '.join(names)}")
        elif req.query:
            parts.append(f"for \"{req.query}\"")
        elif req.likes and not req.people:
            parts.append("from what you liked")
        elif not req.people:
            parts.append("that many people love")
        text = f"Here are {k} films " + " ".join(parts)
        if not req.constraints.is_empty():
            text += f" ({req.constraints.describe()})"
        return text.rstrip() + ":"

    def _why(self, intent, st, targets, state, feedback) -> Answer:
        if not targets:
            return self._finish(st, intent, Answer(
                "I haven't recommended anything yet in this session; ask me for something first.",
                kind="clarify"), state, [], feedback)
        r = targets[0]
        state.focus = r.movie_id
        said = r.explanation.lower()
        extra = [f.text if f.kind != "transcript" else f"dialogue at {int(f.start or 0) // 60}:"
                 f"{int(f.start or 0) % 60:02d}: \"{f.text}\""
                 for f in r.evidence if f.text.lower()[:40] not in said
                 and f.kind not in ("overview", "genres", "thin", "match")]
        reply = f"Why {r.label()}: {r.explanation}"
        seeds = [s for s in (state.request.get("seeds") or []) if s in self.catalog]
        names = " and ".join(self.catalog[s].title for s in seeds[:2])
        signals = [_SIGNAL[s].format(names=names or "what you named", rank=rank)
                   for s, rank in sorted(r.sources.items(), key=lambda sr: sr[1])
                   if s in _SIGNAL and (names or "{names}" not in _SIGNAL[s])]
        if signals:
            # the signals' own ranks, among the films that fit the ask; the list fuses them
            reply += f" Its rank by each signal (the list blends them): {'; '.join(signals[:3])}."
        if extra:
            reply += f" Also: {'; '.join(extra[:3])}."
        answer = Answer(reply, [r], kind="why")
        self.memory.record_turn(st.id, intent.text, reply, {"kind": "why", "movie_id": r.movie_id},
                                state.as_dict(), [], feedback)
        return answer

    def _not_found(self, m: Mention | None, intent, st, state, feedback) -> Answer:
        if m is None:
            reply = "Which film do you mean? Name it, or give its number in the last list."
        else:
            opts = ", ".join(label for _, label in m.suggestions)
            reply = (f"I couldn't find \"{m.text}\" in the catalog"
                     + (f"; did you mean {opts}?" if opts else "."))
        return self._finish(st, intent, Answer(reply, kind="clarify"), state, [], feedback)

    def _about(self, intent, st, state, feedback) -> Answer:
        m = intent.about
        if m is None and (intent.that_one or intent.refs) and st.last_shown:
            # "what is it about?": the film asked about last, the one referred to, or #1
            shown = [Recommendation.from_dict(d) for d in st.last_shown]
            target = (self._targets(intent, shown, state) or
                      [r for r in shown if r.movie_id == state.focus] or shown[:1])[0]
            m = Mention(target.title, target.movie_id, target.title, target.year)
        if m is None or m.movie_id is None:
            return self._not_found(m, intent, st, state, feedback)
        state.focus = m.movie_id
        movie = self.catalog[m.movie_id]
        bits = []
        lead = self._facet(movie, intent.facet) if intent.facet else ""
        if lead:   # "how long is Titanic?": the answer first, then what else the data says
            bits.append(lead)
        if intent.facet == "runtime" and movie.runtime_min:
            bits.append(f"{movie.runtime_min} min.")
        if intent.question == "about" and movie.overview:
            bits.append(movie.overview.strip())
        if movie.director:
            bits.append(f"Directed by {movie.directed_by()}.")
        if movie.stars:
            bits.append(f"Starring {', '.join(movie.stars)}.")
        if intent.question == "cast" and movie.overview:
            bits.append(movie.overview.strip())
        if movie.genres and intent.facet != "genre":
            bits.append(f"Genres: {', '.join(movie.genres)}.")
        if movie.runtime_min and intent.facet != "runtime":
            bits.append(f"{movie.runtime_min} min.")
        if not (movie.overview or movie.director or movie.stars):
            bits.insert(1 if lead else 0, "The catalog has no plot or cast for it.")
        reply = f"{movie.label()}: " + " ".join(bits)
        return self._finish(st, intent, Answer(reply, kind="about"), state, [], feedback)

    def _facet(self, movie, facet: str) -> str:
        """The one fact a question asks for, from the data; says so when the data lacks it."""
        if facet == "runtime":
            return "" if movie.runtime_min else "The catalog doesn't know its runtime."
        if facet == "year":
            return f"Released in {movie.year}." if movie.year else "The catalog has no year for it."
        if facet == "genre":
            return f"Genres: {', '.join(movie.genres)}." if movie.genres else \
                "The catalog lists no genre for it."
        if facet == "rating":
            c = self.generator.corate
            col = c.item_index.get(movie.movie_id)
            n = int(c.rating_counts[col]) if col is not None else 0
            parts = []
            if n:
                parts.append(f"rated {c.means[col]:.1f} of 5 by {n} "
                             f"{'person' if n == 1 else 'people'} on MovieLens"
                             + (" (too few to go by)" if n < MIN_SUPPORT else ""))
            if movie.imdb_rating:
                parts.append(f"{movie.imdb_rating:.1f} of 10 on IMDb")
            if not parts:
                return "Nobody in the ratings has rated it, so I can't say."
            text = "; ".join(parts)
            return text[0].upper() + text[1:] + "."
        return ""

    def _why_not(self, intent, st: SessionState, state, feedback) -> Answer:
        m = intent.why_not
        if m is None or m.movie_id is None:
            return self._not_found(m, intent, st, state, feedback)
        last = state.request
        cons = Constraints.from_dict(last.get("constraints"))
        movie = self.catalog[m.movie_id]
        if not re.search(r"\b(?:19|20)\d\d\b", m.text) and not cons.allows(movie):
            # "why not King Kong?" after a 70s ask: the film of that name that fits the ask
            same = [i for i, _ in m.options] + [t.movie_id for t in
                                                self.catalog.titles.exact(movie.title)]
            fitting = [self.catalog[i] for i in dict.fromkeys(same)
                       if i in self.catalog and cons.allows(self.catalog[i])]
            movie = fitting[0] if fitting else movie
        label = movie.label()
        fb = {**self.memory.profile(), **st.feedback}
        seeds = list(last.get("seeds") or [])
        if movie.movie_id in seeds:
            reply = f"{label} is the film you asked for things like, so I don't repeat it."
        elif fb.get(movie.movie_id) in ("seen", "dislike", "like"):
            why = {"seen": "you told me you've seen it", "dislike": "you said it's not for you",
                   "like": "you told me you already loved it"}[fb[movie.movie_id]]
            reply = f"I left out {label} because {why}."
        elif movie.movie_id in {r["movie_id"] for r in st.last_shown}:
            pos = [r["movie_id"] for r in st.last_shown].index(movie.movie_id) + 1
            reply = f"{label} is in the list: it's #{pos}."
        elif movie.movie_id in st.shown_ids:
            reply = f"I showed {label} earlier in this session, so I don't repeat it."
        elif (reason := cons.why_not(movie)) is not None:
            reply = f"{label} doesn't fit your filters: {reason}."
        elif last:
            return self._placed(intent, st, state, feedback, movie, fb)
        else:
            reply = self._rank_reason(movie, seeds, st)
        return self._finish(st, intent, Answer(reply, kind="why_not"), state, [], feedback)

    def _last_request(self, state, fb: dict[int, str]) -> Request:
        """The last list's request, rebuilt to look a film up against it."""
        last = state.request
        people = list(last.get("people") or [])
        only = None
        if people:
            films = [set(self.mentions_person(p)) for p in people]
            only = set.intersection(*films) or set.union(*films)   # as the ask had it
        seeds = list(last.get("seeds") or [])
        return Request(seeds=seeds,
                       likes=[m for m, kind in fb.items() if kind == "like" and m not in seeds],
                       dislikes=[m for m, kind in fb.items() if kind == "dislike"],
                       query=last.get("query") or "",
                       constraints=Constraints.from_dict(last.get("constraints")),
                       only=only, people=people, quality=bool(last.get("quality")),
                       similar=bool(last.get("similar")), topic=bool(last.get("topic")))

    def _placed(self, intent, st, state, feedback, movie, fb) -> Answer:
        """"Why not X?" against the current ask: where X ranks and which signals reach it;
        a film that fits and ranks near the list is offered now."""
        label = movie.label()
        req = self._last_request(state, fb)
        if req.only is not None and movie.movie_id not in req.only:
            who = " and ".join(req.people)
            reply = f"You asked for films with {who}, and the catalog doesn't list {who} for {label}."
            return self._finish(st, intent, Answer(reply, kind="why_not"), state, [], feedback)
        pos, found, total = self.generator.place(req, movie.movie_id)
        asked = {g for group in req.constraints.genres for g in group}
        genres = sorted(movie.genres, key=lambda g: g not in asked)[:3]   # the asked-for first
        what = ", ".join(x for x in (str(movie.year or ""), "/".join(genres)) if x)
        if pos is not None and pos <= OFFER_WITHIN:
            cands = self.generator.gather(Request(
                seeds=req.seeds, likes=req.likes, query=req.query, constraints=req.constraints,
                only={movie.movie_id}, people=req.people, similar=req.similar), pool=1)
            if cands:
                cands[0].sources = dict(found)       # its ranks in this ask, not in a list of one
                cands[0].explanation = template_explanation(cands[0])
                rec = Recommendation.from_candidate(cands[0])
                shown = [Recommendation.from_dict(d) for d in st.last_shown] + [rec]
                where = (f"it ranked #{pos} for this ask, below the ones I showed"
                         if pos > len(st.last_shown) else
                         f"it ranked #{pos} for this ask, but I kept the list varied "
                         f"(one film per franchise, few of one genre mix)")
                reply = f"{label} fits — {what} — {where}; added as #{len(shown)}."
                return self._finish(st, intent, Answer(reply, shown, kind="why_not"), state,
                                    [r.as_dict() for r in shown], feedback)
        names = " and ".join(self.catalog[s].title for s in req.seeds[:2] if s in self.catalog)
        signals = [_SIGNAL[s].format(names=names or "what you named", rank=r)
                   for s, r in sorted(found.items(), key=lambda sr: sr[1]) if s in _SIGNAL]
        fits = "fits your filters" if not req.constraints.is_empty() else "is not ruled out"
        if pos is None:
            reply = (f"{label} {fits}, but none of this ask's signals reach it "
                     f"({_asked(req, names)}).")
        else:
            reply = (f"{label} {fits}, but it ranks #{pos} of {total:,} for this ask "
                     f"({_asked(req, names)})")
            reply += f": {'; '.join(signals[:3])}." if signals else "."
        share = None
        if req.seeds:
            share = self.generator.corate.lift(req.seeds[0], movie.movie_id)
        if share and share[1] >= MIN_SUPPORT and share[0] >= MIN_SUPPORT:
            both, fans, lift = share
            seed = self.catalog[req.seeds[0]].title
            text = co_rating_text(seed, both, fans, lift)
            reply += f" {text[0].upper()}{text[1:]}."
        return self._finish(st, intent, Answer(reply, kind="why_not"), state, [], feedback)

    def _rank_reason(self, movie, seeds: list[int], st: SessionState) -> str:
        label = movie.label()
        gen = self.generator
        if movie.movie_id not in gen.corate.item_index:
            return f"{label} has no ratings in the data, so the ranker can't place it."
        likes = seeds or st.ids("like")
        if not likes:
            return f"Nothing in this session points to {label} yet; tell me what you like."
        ranked = [c.item_id for c in self.ranker.recommend_for_items(likes, n=len(self.catalog))]
        pos = ranked.index(movie.movie_id) + 1 if movie.movie_id in ranked else None
        names = " and ".join(self.catalog[s].title for s in likes[:2] if s in self.catalog)
        text = f"{label} ranks #{pos} of {len(ranked)} for people who loved {names}" if pos else \
            f"{label} doesn't score for people who loved {names}"
        share = gen.corate.lift(likes[0], movie.movie_id) if likes else None
        if share and share[1] >= MIN_SUPPORT and share[0] >= MIN_SUPPORT:
            text += "; " + co_rating_text(self.catalog[likes[0]].title, *share)
        shown = st.last_shown
        return text + (f", below the {len(shown)} I showed." if shown else ".")


FEW_FANS = 10
"""Under this many people who rated a named film 4+, "like X" says its list is a rough guess."""

OFFER_WITHIN = 30
"""A film asked about that ranks this high for the current ask is offered on the spot."""

_SIGNAL = {
    "similar": "#{rank} among the films people who loved {names} also loved",
    "profile": "#{rank} for your likes (MF ranker)",
    "search": "#{rank} in the search for your description",
    "chat": "#{rank} among films suggested after {names} in real chats",
    "chat_similar": "#{rank} among chat favourites near {names}",
    "chat_popular": "#{rank} among the films most suggested in real chats",
    "chat_talk": "#{rank} among what real chats suggested to people who said what you said",
    "popular": "#{rank} among well-rated, well-known films",
    "people": "#{rank} among that person's best-known films",
}


def _asked(req: Request, names: str) -> str:
    parts = []
    if names:
        parts.append(f"like {names}")
    if req.people:
        parts.append(f"with {' and '.join(req.people)}")
    if req.query:
        parts.append(f'"{req.query}"')
    if not req.constraints.is_empty():
        parts.append(req.constraints.describe())
    return ", ".join(parts) or "a general ask"


HELP_REPLY = ("Tell me a film you like (\"something like Heat\"), a person (\"something with "
              "Meryl Streep\"), describe what you're in the mood for (\"a funny animated film, "
              "nothing before 2000\", \"under 90 minutes\"), or give feedback on a pick (\"#2 "
              "seen it\", \"none of these\", \"loved the first one, more like that\", \"why #3?\").")


@dataclass(slots=True)
class TurnState:
    """What a session carries from turn to turn (stored as JSON in its row)."""

    request: dict = field(default_factory=dict)   # the last list's request (req_state)
    named: list[int] = field(default_factory=list)  # films the user named in this session
    focus: int | None = None                        # the film last asked "why" about
    headline: str = ""
    user_id: int | None = None                      # the MovieLens user the session is for

    def as_dict(self) -> dict:
        return {"request": self.request, "named": self.named, "focus": self.focus,
                "headline": self.headline, "user_id": self.user_id}

    @classmethod
    def from_dict(cls, d: dict | None) -> TurnState:
        d = d or {}
        request = d.get("request")
        if request is None and (d.get("seeds") or d.get("query") or d.get("constraints")):
            # sessions stored before TurnState kept the request's parts at the top level
            request = {"seeds": d.get("seeds") or [], "query": d.get("query") or "",
                       "constraints": d.get("constraints") or {}}
        return cls(request=request or {}, named=list(d.get("named") or []),
                   focus=d.get("focus"), headline=d.get("headline") or "",
                   user_id=d.get("user_id"))


def req_state(req: Request) -> dict:
    return {"seeds": req.seeds, "people": req.people, "query": req.query,
            "constraints": req.constraints.as_dict(), "quality": req.quality,
            "similar": req.similar, "topic": req.topic}


def verify_picks(cands: list[Candidate], req: Request, k: int) -> list[Candidate]:
    """The final guard: picks come from the candidate list, once each, never excluded,
    seen, disliked or a seed (``gather`` has applied the hard constraints)."""
    blocked = set(req.exclude) | set(req.seeds) | set(req.dislikes)
    out, ids = [], set()
    for c in cands:
        if c.movie_id in ids or c.movie_id in blocked:
            continue
        out.append(c)
        ids.add(c.movie_id)
        if len(out) == k:
            break
    return out


def make_agent(settings, llm_backend: str | None = None, *, workspace=None) -> Agent:
    """An agent over the settings' dataset, memory and LLM backend (``LLMError`` when an
    explicitly chosen backend cannot work)."""
    from .llm import make_chat_model
    from .workspace import Workspace

    ws = workspace or Workspace(settings)
    return Agent(ws, make_chat_model(settings, llm_backend), Memory(settings.sessions_path))


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
