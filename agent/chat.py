"""One chat turn: understand -> candidates -> evidence -> rerank -> explain -> remember.

The deterministic path alone gives a complete answer; the LLM (when there is one) may
fill what the parser could not read, reorder the top of the list a little, and phrase
the explanations. Everything it returns is checked (see ``agent.explain.grounding``).
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
import zlib
from functools import cached_property

from . import preferences, questions
from .candidates import Candidate, CandidateGenerator, Constraints, Request, shift_years
from .events import Candidates, Final, OnEvent, Reason, Reply, Status
from .reader.frames import (
    Again,
    Ask,
    Critique,
    Feedback,
    Foreign,
    More,
    Nonsense,
    Question,
    Reject,
    SmallTalk,
    Unclear,
    complete,
    frames_of,
)
from .i18n import N_, current, either, genre, join, ntr, ptr, sentences, speaking, tr
from .explain.grounding import (
    LLMTrace,
    apply_leads,
    briefing,
    choose_with_evidence,
    explain,
    rerank,
    template_explanation,
)
from .reader.intent import Intent, Mention, chitchat_reply, clean_message, name_picks, parse
from .kinds import CritiqueKind
from .llm import ChatModel, LLMError, describe, parse_json
from .memory import Memory, SessionState
from .reader import polarity
from .reader.passes import MOODS as FEEL_WORDS
from .reader.feel import feel_of
from recbot.retrieval.ledger import USER_ITEM_BASE
from .reader.language import (
    described_part,
    has_words_of,
    language,
    pivot,
    read_other,
    spanish_content,
)
from .reader.mentions import MentionFinder
from .reader.lexicon import lexicon
from .reader.reading import word_or_plural
from .state import Answer, DialogueState, LastAsk, Pending, Recommendation, Turn

__all__ = ["Agent", "Answer", "Recommendation", "verify_picks"]

DEFAULT_K = 5
MAX_K = 20


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
        self._no_llm: dict | None = None

    @property
    def llm(self) -> ChatModel | None:
        """The LLM, or None once its server is marked down (``down``: it did not answer in
        time, refused, or kept failing): later turns answer without it at once."""
        model = self._llm
        return None if getattr(model, "down", None) else model

    @llm.setter
    def llm(self, model: ChatModel | None) -> None:
        self._llm = model

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
        multilingual = (lambda: self.ws.index.ready_multilingual_searcher()) \
            if self.use_search else None
        return CandidateGenerator(self.catalog, ranker, self.ws.corate, searcher,
                                  ChatPrior.load(),
                                  self._conversations if self.use_search else None,
                                  multilingual, lambda: self.ws.data.videos)

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
        _ = self.generator, self.catalog.titles, self.llm_info()
        if self.use_search:
            self.ws.searcher.search("warm up", k=1)

    def llm_info(self, used: bool = False) -> dict:
        if self.llm is None:    # the same every turn: described once
            if self._no_llm is None:
                self._no_llm = describe(None)
            return {**self._no_llm, "used": used}
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
        for name in ("catalog", "generator", "max_year", "mentions", "_runtimes_known"):
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
        text = said = clean_message(text)   # bad input: InputError, before any session is made
        sid = session or self.memory.new_session()
        self.memory.ensure(sid)
        st = self.memory.load(sid)
        state = DialogueState.from_dict(st.state)
        if state.pending is not None:    # "the 1995 one" after "Which Heat do you mean?"
            text = complete(state.pending, text) or text
        else:                            # "the charade one sounds cute": #2
            text = name_picks(text, [d.get("title") or "" for d in st.last_shown])
            text = self._that_director(text, state, st)
            text = self._that_person(text, state, st)
        intent = parse(text, self.mentions, max_year=self.max_year)
        trace = LLMTrace()
        if self.llm is not None and self._should_fill(intent):
            self._llm_fill(intent, trace)
        if self.use_search and polarity.bare(intent):   # the learned reader: liked or not said
            from recbot.retrieval.errors import RetrievalError

            try:
                polarity.refine(intent, self.ws.embedder)
            except RetrievalError:
                pass     # no embedder this turn: the rules' reading stands
        if user_id is None:     # "--user 68" once: the session's follow-ups are theirs too
            user_id = state.user_id
        state.user_id, state.pending = user_id, None
        self._known_spelling(intent, state, st)
        frames = frames_of(intent)
        lang = language(said, state.last.lang if state.last else "en")
        if lang == "en" and frames and all(isinstance(f, Nonsense) for f in frames) and \
                pivot(said, "es") is not None:
            lang = "es"     # "hola", "gracias" as a first message: one word, but Spanish's
        unmatched = translated = ""
        english = pivot(said, lang) if lang in ("zh", "es") else None
        speak = lang        # the language of the reply: the one the user wrote in
        if english is not None:
            # "ninguna de estas", "为什么推荐第二部": read as the English reader reads
            # "none of these", "why the second one?" (and answered in Spanish, Chinese)
            intent = parse(english, self.mentions, max_year=self.max_year)
            frames = frames_of(intent)
            lang = "en"
        elif lang in ("zh", "es") and language(said) == "en" and not has_words_of(said, lang) \
                and any(not isinstance(f, (Foreign, Nonsense)) for f in frames):
            # "more", "thanks" after a Spanish ask: English words the English reader reads
            # (the conversation's language is kept only for words that are not English)
            lang = speak = "en"
        if lang == "zh" and not (intent.seeds or intent.people):
            # a Chinese title of a Chinese-language film, through its pinyin ("卧虎藏龙"):
            # the ask is read as "something like" that film (and the genres it names)
            from .reader.chinese_titles import find

            found, missing = find(said, self.catalog)
            if not found and missing and self.llm is not None:
                found = self._llm_title(missing[0], trace)     # checked in the catalog
                if found:
                    movie = self.catalog[found[0].movie_id]
                    with speaking(speak):
                        translated = tr("I read 《{title}》 as {film} (the LLM's translation, "
                                        "found in the catalog).", title=found[0].text,
                                        film=movie.label())
            if found:
                intent = parse(self._pivot(said, found), self.mentions, max_year=self.max_year)
                frames = frames_of(intent)
            else:
                unmatched = missing[0].text if missing else ""
        if lang == "es" and english is None and intent.describe and (intent.seeds or intent.people):
            # "algo con Meryl Streep": read by the English reader for its name, whose
            # Spanish function words are no description to search
            intent.describe = spanish_content(intent.describe)
        verdicts = self._latin_verdicts(said, lang) if lang in ("zh", "es") and \
            english is None else {}
        pivoted = False
        if lang in ("zh", "es") and english is None and (
                verdicts or not (intent.seeds or intent.people)):
            # "类似Heat的电影", "una película como Titanic pero sin romance": a title in Latin
            # letters, found in the catalog, is the film the ask is like ("me gustó Heat", "ya
            # vi Titanic", "Heat看过了": liked, seen)
            latin = self._latin_titles(said, lang)
            if latin or verdicts:
                intent = parse(self._pivot(said, latin, lang, verdicts,
                                           [p.name for p in intent.people]),
                               self.mentions, max_year=self.max_year)
                pivoted = bool(verdicts)
                frames = frames_of(intent)
                unmatched = ""
        if lang in ("zh", "es") and english is None and not unmatched and not (
                intent.seeds or intent.people) and state.last is not None:
            # "pero nada de superhéroes", "不要爱情片", "有没有九十年代的" after an ask: it
            # narrows that ask, as "no superheroes" does in English (answered in its language)
            narrowing = _narrowing(read_other(said, lang))
            if narrowing:
                intent = parse(narrowing, self.mentions, max_year=self.max_year)
                intent.refine = intent.refine or "narrow"
                frames = frames_of(intent)
                lang = "en"
        if lang != "en" and not (intent.seeds or intent.people or pivoted):
            # Chinese, Spanish or a language recbot does not read: not read word by word
            # by the English rules ("推荐几部像 Forrest Gump 一样的电影" keeps its film)
            frames = (Foreign(),)
        turn = Turn(intent, frames, st, state,
                    [Recommendation.from_dict(d) for d in st.last_shown],
                    max(1, min(int(k or intent.k or self.k), MAX_K)),
                    emit=_plain_events(on_event) if on_event else _ignore,
                    trace=trace, t0=t0, said=said, lang=lang, unmatched=unmatched)
        if translated:
            turn.notes.append(translated)
        with speaking(speak):
            return self._answered(turn, intent, sid, trace)

    def _answered(self, turn: Turn, intent: Intent, sid: str, trace: LLMTrace) -> Answer:
        answer = self._turn(turn)
        answer.session, answer.lang = sid, current()
        answer.trace = trace
        answer.llm = self.llm_info(trace.used)
        answer.resolved = list({m.movie_id: m for m in intent.mentions
                                if m.movie_id is not None}.values())   # each film once
        # what the user said of it first, then how the ask used it (a bare mention the learned
        # reader reads as liked stays a seed here: its reading is a lean, not the user's word)
        for attr, role in ROLES:
            for m in getattr(intent, attr):
                answer.roles.setdefault(m.movie_id, role)
        answer.timings["total"] = time.perf_counter() - turn.t0
        turn.emit(Final(answer))
        return answer

    @cached_property
    def _runtimes_known(self) -> int:
        return sum(1 for m in self.catalog if m.runtime_min)

    @cached_property
    def mentions(self) -> MentionFinder:
        return MentionFinder(self.catalog)

    # -- the dispatch ------------------------------------------------------------------------
    def _turn(self, t: Turn) -> Answer:
        """One message: what it says of films first (feedback, which every route keeps),
        then the first route in ``ROUTES`` whose frame the message holds and that answers."""
        early = self._take_feedback(t)
        if early is not None:
            return early
        self._remember(t)
        for kinds, handler in ROUTES:
            if any(isinstance(f, kinds) for f in t.frames):
                answer = handler(self, t)
                if answer is not None:
                    return answer
        return self._finish(t, Answer(tr(HELP_REPLY), kind="help"))

    @staticmethod
    def _remember(t: Turn) -> None:
        """The preference state takes what this message says of films, genres and people
        (and its feedback on picks): the newest word on each replaces the older one."""
        st, intent = t.state, t.intent
        if "genres" in intent.clear:           # "any genre is fine": the old genres go
            st.prefs = preferences.without(st.prefs, "genre")
        elif intent.refine == "switch" and intent.genres:   # "make it a comedy": instead
            st.prefs = preferences.without(st.prefs, "genre", keep_against=True)
        if "years" in intent.clear or {CritiqueKind.MORE_RECENT, CritiqueKind.OLDER} & set(
                intent.critiques):      # "forget the year", "something newer": the era goes
            st.prefs = preferences.without(st.prefs, "era")
        # "superhero is fine actually": a kind or mood kept out before and named again, not
        # kept out by this message, is no longer avoided
        low = intent.text.lower()
        again = {k.lower() for k in [*intent.avoid_kinds, *intent.avoid_moods]}
        if intent.question is None and intent.has_ask:   # not "is the first one sad?"
            st.prefs = [p for p in st.prefs if not (
                p.kind in ("kind", "mood") and p.polarity < 0 and isinstance(p.value, str)
                and p.value.lower() not in again
                and re.search(word_or_plural(p.value.lower()), low))]
        if "people" in intent.clear:      # "forget the actor": who was kept out comes back
            st.prefs = [p for p in st.prefs if not (p.kind == "person" and p.polarity < 0)]
        for word in _unavoided(intent):   # "forget the no mob thing": the avoidance goes
            st.prefs = [p for p in st.prefs if not (
                p.polarity < 0 and isinstance(p.value, str)
                and re.fullmatch(word_or_plural(word), p.value.lower()))]
        st.prefs = preferences.update(st.prefs, preferences.said(intent, t.feedback),
                                      t.session.turns + 1)

    def _take_feedback(self, t: Turn) -> Answer | None:
        """Feedback on films named in the message, each with its own sentiment, and on
        picks of the last list it points at ("#2 seen it", "not that one"); an answer when
        the references cannot work."""
        intent, shown = t.intent, t.shown
        if any(isinstance(f, Foreign) for f in t.frames):
            return None     # not read word by word: no feedback taken from it
        for attr, kind in (("seen", "seen"), ("liked", "like"), ("disliked", "dislike")):
            for m in getattr(intent, attr):
                t.feedback[m.movie_id] = kind
        t.targets = self._targets(intent, shown, t.state)
        if intent.refs and t.targets:
            t.state.focus = t.targets[-1].movie_id    # "#10 seen it", then "not that one"
        bad = [r for r in intent.refs if r != -1 and not 1 <= r <= len(shown)]
        if bad and shown:
            return self._finish(t, Answer(tr("There is no #{n} in the last answer; pick 1 to "
                                             "{last}.", n=bad[0], last=len(shown)),
                                          kind="clarify"))
        if (intent.refs or intent.feedback or (intent.more and intent.that_one)) and \
                not shown and not intent.content and intent.question is None:
            return self._finish(t, Answer(tr("I haven't shown any films in this session yet; "
                                             "ask me for something first."), kind="clarify"))
        if intent.question is None:
            for pos, r in enumerate(shown, 1):
                if pos in intent.ref_feedback:           # "loved #1, not #3": #3 only
                    t.feedback[r.movie_id] = intent.ref_feedback[pos]
            if intent.more:                               # "more like #1, not #2"
                t.targets = [r for r in t.targets if t.feedback.get(r.movie_id) != "dislike"]
            if intent.feedback and t.targets:
                for pos, r in enumerate(shown, 1):
                    if r in t.targets and pos not in intent.ref_feedback:
                        t.feedback[r.movie_id] = intent.feedback
                for r in t.targets:      # the pick in focus, replaced since
                    if r not in shown:
                        t.feedback[r.movie_id] = intent.feedback
        t.notes = [*t.notes, *self._feedback_notes(t.feedback)]   # (a title read for it)
        return None

    # -- the routes --------------------------------------------------------------------------
    def _llm_title(self, cue, trace: LLMTrace) -> list:
        """The catalog film an LLM says a Chinese title names ("阿甘正传" -> Forrest Gump),
        or []. Nothing is taken on its word alone: the title must resolve in the catalog
        with confidence, and a year it gives must be the film's (±1)."""
        from .reader.chinese_titles import Found

        schema = {"type": "object", "properties": {
            "title": {"type": ["string", "null"], "maxLength": 100},
            "year": {"type": ["integer", "null"]}}, "required": ["title", "year"]}
        prompt = ("A user names a film by its Chinese title. Give the film's original or "
                  "English title and its release year, or null for both if you do not know "
                  f"it.\nChinese title: <data>{cue.text}</data>")
        got = self._ask_json(prompt, schema, 60, "translate a title", trace)
        if got is None:
            return []
        title, year = got.get("title"), got.get("year")
        if not isinstance(title, str) or len(title.strip()) < 2:
            return []
        res = self.catalog.titles.resolve(title.strip())
        if not (res.confident and res.best) or res.best.movie_id not in self.catalog:
            return []
        movie = self.catalog[res.best.movie_id]
        if isinstance(year, int) and movie.year is not None and abs(movie.year - year) > 1:
            return []
        trace.used = True
        return [Found(cue.text, movie.movie_id)]

    def _that_director(self, text: str, state: DialogueState, st) -> str:
        """``text`` with "that director", "the same director" as the director's name: of the
        film the last ask was like, else of the first pick shown ("what else has that
        director done?" after Inception: Christopher Nolan)."""
        m = LEX_LATIN["that_director"].search(text)
        if not m:
            return text
        films = [*(state.last.seeds if state.last else []),
                 *(d.get("movie_id") for d in st.last_shown[:1])]
        for movie_id in films:
            movie = self.catalog.get(movie_id)
            if movie is not None and movie.director:
                return f"{text[:m.start()]}{movie.director}{text[m.end():]}"
        return text

    @staticmethod
    def _that_person(text: str, state: DialogueState, st) -> str:
        """``text`` with "with her", "starring him" as the name of the person the chat was
        about (a person asked for or loved, said at most ``PERSON_TURNS`` turns ago): "my
        wife loves meryl streep", then "something lighter, a comedy with her maybe?" (not
        "a movie to watch with her": who watches is no cast)."""
        m = LEX_LATIN["that_person"].search(text)
        if not m or _WATCHING.search(re.split(r"[.!?;]", text[:m.start()])[-1]):
            return text     # "I want to watch a comedy with her": who watches
        now = st.turns + 1
        said = [p for p in state.prefs if p.kind == "person" and p.polarity > 0
                and now - p.turn <= PERSON_TURNS]
        if not said:
            return text
        name = max(said, key=lambda p: p.turn).value
        return f"{text[:m.start(1)]}{name}{text[m.end(1):]}"

    def _latin_verdicts(self, said: str, lang: str) -> dict[int, str]:
        """What a Spanish or Chinese ask says of each title in Latin letters it names ("me
        gustó Heat": like, "ya vi titanic": seen, "no me gustó Cars": dislike, "Heat看过了":
        seen), by movie id; a title with no such word is not in it."""

        out: dict[int, str] = {}
        if lang == "es":
            cue = LEX_LATIN["verdict_es"]
            last, last_end = "", -1
            for m in re.finditer(r"(?<![\w'’])[A-Za-z0-9]", said):     # each word's start
                before = cue.search(said[:m.start()])
                verdict = before.lastgroup if before else ""
                if not before and last and re.fullmatch(r"\s*,?\s*(?:y|e)\s+",
                                                        said[last_end:m.start()]):
                    verdict = last      # "me gustó Heat y Casino": Casino too
                if verdict == "seen" and LEX_LATIN["not_seen_es"].search(said[:before.start()]):
                    continue            # "todavía no he visto Heat": not seen, nothing said
                if not verdict:
                    continue
                end = LEX_LATIN["title_end_es"].search(said, m.start())
                words = said[m.start():end.start() if end else len(said)].split()
                for n in range(min(len(words), 6), 0, -1):      # the longest title said
                    movie_id = self._latin_title(" ".join(words[:n]).strip(" .,:;!?¿¡-"))
                    if movie_id is not None:
                        at = said.find(words[n - 1], m.start()) + len(words[n - 1])
                        then = LEX_LATIN["verdict_after_es"].match(said, at)
                        verdict = then.lastgroup if then else verdict   # "y no me gustó"
                        out.setdefault(movie_id, verdict)
                        last, last_end = verdict, at
                        break
        elif lang == "zh":
            for f, m in self._latin_runs(said):
                after = LEX_LATIN["verdict_zh"].match(said, m.end())
                if after:
                    # "Heat看过了，不喜欢": what is said next of it wins
                    then = LEX_LATIN["verdict_zh"].match(
                        said, after.end() + len(re.match(r"[了，,。\s但是可]*", said[after.end():]).group()))
                    out.setdefault(f.movie_id, (then or after).lastgroup)
        return out

    def _latin_title(self, raw: str) -> int | None:
        """The catalog film a run of Latin letters names (a close, confident match only)."""
        from .reader.mentions import _close

        if len(raw) < 2 or raw.lower() in self._latin_stop or not re.search(r"[A-Za-z]", raw):
            return None
        res = self.catalog.titles.resolve(raw)
        if res.best is not None and res.confidence >= 0.9 and _close(raw, res.best.title) \
                and res.best.movie_id in self.catalog:
            return res.best.movie_id
        return None

    def _latin_runs(self, said: str) -> list:
        """The Latin-letter runs of a Chinese ask that are catalog titles, with their match."""
        from .reader.chinese_titles import Found

        out = []
        for m in LEX_LATIN["zh"].finditer(said):
            raw = m.group().strip(" .,:;!?¿¡-")
            movie_id = self._latin_title(raw)
            if movie_id is not None:
                out.append((Found(raw, movie_id), m))
        return out

    def _latin_titles(self, said: str, lang: str) -> list:
        """Titles in Latin letters inside a Chinese ask ("类似Heat的电影") or after a Spanish
        "como", "parecida a", "tipo" ("algo como Shrek pero sin romance"), as the catalog has
        them (a close, confident match only); [] when there are none."""
        from .reader.chinese_titles import Found

        out = []
        for m in LEX_LATIN[lang].finditer(said):
            at = m.start(m.lastindex or 0)
            raw = m.group(m.lastindex or 0).strip(" .,:;!?¿¡-")
            if LEX_LATIN["number"].match(said, at) or LEX_LATIN["against"].search(said[:at]):
                continue    # "推荐10部电影", "我不喜欢Titanic": no title the ask is like
            movie_id = self._latin_title(raw)
            if movie_id is not None:
                out.append(Found(raw, movie_id))
        return out[:3]

    @cached_property
    def _latin_stop(self) -> frozenset[str]:
        """Latin words in a Chinese or Spanish ask that are no title ("OK", "TV", "DVD")."""
        from .reader.lexicon import lexicon

        return frozenset(lexicon().words("languages.latin_not_titles"))

    def _pivot(self, said: str, found, lang: str = "zh",
               verdicts: dict[int, str] | None = None, people: list[str] = ()) -> str:
        """What an English ask of the same films and genres says: "something like Crouching
        Tiger, Hidden Dragon (2000), a comedy film"; a film the ask says it liked, saw or
        disliked (``verdicts``) as "I loved X", "I've seen X", "I didn't like X"."""
        verdicts = verdicts or {}
        text, said = said, read_other(said, lang)
        parts, said_of = [], []
        verbs = {"like": "I loved", "seen": "I've seen", "dislike": "I didn't like"}
        for kind, verb in verbs.items():
            films = [m for m, v in verdicts.items() if v == kind]
            if films:
                said_of.append(f"{verb} " + " and ".join(self.catalog[m].label() for m in films))
        like = list(dict.fromkeys(f.movie_id for f in found if f.movie_id not in verdicts))
        judged = [m for m, v in verdicts.items() if v in ("like", "seen")]
        if judged and not like and LEX_LATIN["similar_other"].search(text):
            like = judged       # "ya vi Heat, algo parecido": films like it
        if like:
            parts.append("something like " + " and ".join(self.catalog[m].label() for m in like))
        elif verdicts and LEX_LATIN["more_other"].search(text):
            parts.append("what else?")     # "ya vi Heat, ¿qué me recomiendas?"
        if people:          # "me gustó Heat, algo con Al Pacino": the person stays
            parts.append("with " + " and ".join(people))
        if said["genres"]:
            parts.append(f"a {' '.join(g.lower() for g in said['genres'])} film")
        lo, hi = said["year_min"], said["year_max"]
        if lo is not None and hi is not None and hi - lo == 9 and lo % 10 == 0:
            parts.append(f"from the {lo}s")
        elif lo is not None:
            parts.append(f"from {lo} on")
        elif hi is not None:
            parts.append(f"before {hi + 1}")
        parts += [f"no {g.lower()}" for g in said["exclude_genres"]]
        if said.get("runtime_max"):
            parts.append(f"under {said['runtime_max']} minutes")
        # "I've seen Heat (1995). something like Heat (1995), a crime film": each verdict a
        # sentence of its own (a "like" after it would judge the film too)
        return ". ".join([*said_of, ", ".join(parts)] if parts else said_of)

    def _foreign(self, t: Turn) -> Answer:
        """A message in Chinese or Spanish: what it describes, searched with the
        multilingual embedder; in another language ("je voudrais un film romantique"):
        which languages recbot reads. Never guessed at word by word."""
        if t.unmatched:     # "像阿甘正传那样的": a title no romanised title matches
            return self._finish(t, Answer(tr(
                "I can't find 《{title}》 in the catalog: I know the Chinese titles only of "
                "Chinese-language films. What is its original or English title?",
                title=t.unmatched), kind="clarify"))
        if t.lang in ("zh", "es") and self.use_search:
            return self._described(t)
        return self._finish(t, Answer(
            "I read English, Chinese and Spanish (English, 中文, español): try \"a romantic "
            "film\", \"一部浪漫的爱情电影\" or \"una película romántica\".", kind="nonsense"))

    def _described(self, t: Turn) -> Answer:
        """A described ask in Chinese or Spanish: the multilingual search over the catalog,
        ranked and explained like any list, and answered in its language."""
        self.ws.index.ready_multilingual_searcher(lambda said: t.emit(Status(said)))
        fb = {**self.memory.profile(), **t.session.feedback}
        said = read_other(t.said, t.lang)     # its genres and years (rules/languages.toml)
        cons = Constraints(genres=[[g] for g in said["genres"]],
                           exclude_genres=said["exclude_genres"],
                           year_min=said["year_min"], year_max=said["year_max"])
        from recbot.retrieval.safe_text import one_line

        # an ask of genres and eras alone ("有没有什么好看的恐怖片？") is no description: the
        # well-known films of the genre, as for "a horror movie" in English
        for kind, word in zip(said["exclude_kinds"], said["kept_out_words"]):
            # "que no sea de superhéroes": out, and said so in the user's word ("sin superhéroes")
            cons.exclude_ids = sorted(set(cons.exclude_ids) | self.generator.films_naming(kind))
            _add(cons.avoided, tr("no {genre}", genre=word))
        for crit in said["critiques"]:    # "别太血腥", "sin tanta violencia": a soft critique
            if crit == CritiqueKind.MORE_RECENT:    # "不要太老的", "nada muy viejo"
                if cons.year_min is None and cons.year_max is None:
                    shift_years(cons, [2000], newer=True)
            elif crit not in cons.soft:
                cons.soft.append(crit)
        cons.runtime_max = said["runtime_max"]     # "nada muy largo", "两个小时以内"
        keeps = said["described"] or cons.is_empty()
        query = one_line(described_part(said["wanted"], t.lang))[:300] if keeps else ""
        req = Request(query=query, k=t.k, lang=t.lang, feel=feel_of(t.said),
                      constraints=cons,
                      likes=[m for m, kind in fb.items() if kind == "like"],
                      dislikes=[m for m, kind in fb.items() if kind == "dislike"],
                      exclude={m for m, kind in fb.items() if kind in ("seen", "dislike")})
        return self._recommend(t, req, self._headline(req, t.k))

    def _known_spelling(self, intent: Intent, state: DialogueState, st) -> None:
        """A title the catalog has only under a longer name, when that film is on the list
        shown or was named earlier in the chat ("something like Eternal Sunshine" after
        Eternal Sunshine of the Spotless Mind was #1): that film, no question asked."""
        known = {d.get("movie_id") for d in st.last_shown if isinstance(d, dict)}
        known |= set(state.named)
        for m in list(intent.unresolved):
            hit = next((mid for mid, _ in m.suggestions if mid in known), None)
            movie = self.catalog.get(hit) if hit is not None else None
            if movie is None:
                continue
            intent.unresolved.remove(m)
            film = Mention(m.text, hit, movie.title, movie.year, sentiment=m.sentiment)
            role = {"like": intent.liked, "dislike": intent.disliked, "seen": intent.seen,
                    "unseen": intent.unseen}.get(m.sentiment)
            if role is not None:
                role.append(film)
            if m.sentiment not in ("dislike", "seen"):    # "I hated Eternal Sunshine": no seed
                intent.seeds.append(film)

    def _unclear(self, t: Turn) -> Answer | None:
        """A title or name that needs a word from the user first (unless the rest of the
        message asks enough without it)."""
        intent = t.intent
        if intent.ambiguous and not intent.seeds:
            m = intent.ambiguous[0]
            labels = [label for _, label in m.options]
            reply = tr("Which \"{text}\" do you mean: {options}? Add the year, e.g. "
                       "\"{example}\".", text=m.text, options=either(labels),
                       example=labels[0])
            t.state.pending = Pending("which", m.text, list(m.options), intent.text)
            return self._finish(t, Answer(sentences([*t.notes, reply]), kind="clarify"))
        if intent.unknown_people and not (intent.seeds or intent.people or intent.genres
                                          or intent.describe or intent.unresolved):
            names = join([f'"{n}"' for n in intent.unknown_people], " or ")
            reply = tr("I don't know {names}: the data names the directors and leading stars "
                       "of about 1,000 well-known films, and people MovieLens users tagged. Try "
                       "another name, or a film you liked (\"something like Heat\").",
                       names=names)
            return self._finish(t, Answer(reply, kind="clarify"))
        if intent.unresolved and not (intent.seeds or intent.people or intent.genres
                                      or intent.describe):
            m = intent.unresolved[0]
            if m.suggestions:
                options = join([label for _, label in m.suggestions])
                reply = tr("I couldn't find \"{text}\" in the catalog. Did you mean: "
                           "{options}?", text=m.text, options=options)
                t.state.pending = Pending("spelling", m.text, list(m.suggestions), intent.text)
            else:
                reply = tr("I couldn't find \"{text}\" in the catalog. Could you check the "
                           "spelling, or describe the film instead?", text=m.text)
            return self._finish(t, Answer(reply, kind="clarify"))
        return None

    def _list(self, t: Turn) -> Answer | None:
        """A list: a new ask, a refinement of the last one ("not that one"), or more."""
        intent = t.intent
        refines = bool(intent.feedback == "dislike" and t.targets and t.state.last)
        # what the user says of films after a list ("seen it", "loved that one", "I saw Heat")
        # updates the state, and the state's list comes again without those films
        refreshes = bool(t.feedback and t.state.last and intent.question is None
                         and not _closes(t))   # not "perfect, the first one. thanks!"
        if not (refines or refreshes or any(isinstance(f, LIST_ASKS) for f in t.frames)):
            return None
        req, headline, note = self._request(t)
        if req is None:
            return None
        if note:
            t.notes.append(note)
        if intent.unknown_people:   # "a comedy with Zendaya": the rest of the ask
            names = join([f'"{n}"' for n in intent.unknown_people], " or ")
            t.notes.append(tr("I don't know {names}, so this list leaves that out.",
                              names=names))
        return self._recommend(t, req, headline)

    def _noted(self, t: Turn) -> Answer | None:
        if not t.feedback:
            if t.intent.feedback == "like" and not (t.intent.refs or t.intent.content):
                # "perfect, thx!" with no pick to point at: thanks, or an ack
                return self._finish(t, Answer(chitchat_reply(t.intent.chitchat or "ack",
                                                             bool(t.shown)), kind="chitchat"))
            return None
        if _closes(t):   # "perfect, the first one. thanks!": noted, and enjoy
            return self._finish(t, Answer(sentences([*t.notes, chitchat_reply(
                t.intent.chitchat, bool(t.shown))]), kind="feedback"))
        return self._finish(t, Answer(sentences(t.notes), kind="feedback"))

    def _again(self, t: Turn) -> Answer | None:
        if not t.shown:     # "show me the list again" before any list: small talk at most
            return self._small_talk(t) if "chitchat" in t.intent.acts else None
        return self._finish(t, Answer(tr("Here is the last list again."), t.shown,
                                      kind="recommend"), t.shown)

    def _small_talk(self, t: Turn) -> Answer:
        return self._finish(t, Answer(chitchat_reply(t.intent.chitchat, bool(t.shown)),
                                      kind="chitchat"))

    def _nonsense(self, t: Turn) -> Answer:
        return self._finish(t, Answer(tr("Sorry, I didn't understand that. Name a film you "
                                         "like, a genre, a person, or describe what you're in "
                                         "the mood for."), kind="nonsense"))

    def _question(self, t: Turn) -> Answer | None:
        return questions.answer(self, t)

    def _feedback_notes(self, feedback: dict[int, str]) -> list[str]:
        if not feedback:
            return []
        verb = {"like": tr("you liked {films}"), "dislike": tr("not for you: {films}"),
                "seen": tr("you've seen {films}")}
        by_kind: dict[str, list[str]] = {}
        for movie_id, kind in feedback.items():
            movie = self.catalog.get(movie_id)
            by_kind.setdefault(kind, []).append(movie.label() if movie else str(movie_id))
        parts = [verb[kind].format(films=join(names)) for kind, names in by_kind.items()]
        return [tr("Noted for this chat: {what}.", what=ptr("list", "; ").join(parts))]

    def _recommend(self, t: Turn, req: Request, headline: str) -> Answer:
        intent, k, notes, emit, trace = t.intent, t.k, t.notes, t.emit, t.trace
        window = max(self.rerank_window, k)
        if req.topic and intent.topic and not self.generator.names_subject(req.query):
            # "a movie about a lighthouse": no tag or plot says so; the search is all there is
            notes.append(tr("No film in the data has \"{topic}\" in its tags or plot "
                            "summary; these are only the nearest by description.",
                            topic=intent.topic))
        pool = min(max(20, k), max(window, k))
        cands = self.generator.gather(req, pool=pool)
        left = None if req.only is None else req.only - req.exclude - set(req.constraints.exclude_ids)
        if not verify_picks(cands, req, k) and (left is None or left):
            # (a person's films all shown or kept out: said so below, what was kept out stays out)
            # an ask never gets an empty list: the weakest filters go first, and it says so
            # ("Leonardo DiCaprio, not too long": his films, whatever their length)
            req, cands, dropped = self._relax(req, pool)
            if dropped and not (req.constraints.runtime_min or req.constraints.runtime_max):
                known = tr("Runtimes are known for {known} films of the catalog; I only pick "
                           "from those.", known=f"{self._runtimes_known:,}")
                notes[:] = [n.replace(known, "").strip() for n in notes]
                notes[:] = [n for n in notes if n]
            if dropped:
                notes.append(tr("Nothing in the catalog fits all of that, so this list "
                                "leaves out {what}.", what=join(
                                    [tr(d) for d in dropped], " and ")))
                headline = self._headline(req, k)
        for c in cands:
            c.explanation = template_explanation(c)
        t_cand = time.perf_counter() - t.t0
        emit(Reply(sentences([*notes, headline])))
        emit(Candidates(tuple(Recommendation.from_candidate(c) for c in cands[:k])))
        seed = zlib.crc32(f"{t.session.id}/{t.session.turns}".encode())
        if self.llm is not None and self.compact and len(cands) > 1:
            emit(Status("asking the LLM"))
            cands, leads = choose_with_evidence(self.llm, intent.text, cands, k, trace,
                                                window=window, seed=seed)
            picks = verify_picks(cands, req, k)
            apply_leads(picks, leads, trace)
            return self._answer(t, req, headline, cands, picks, t_cand)
        brief, briefed = briefing(intent.text, cands[:window], seed=seed)
        if self.llm is not None and len(cands) > 1:
            emit(Status("asking the LLM to rerank"))
            cands = rerank(self.llm, intent.text, cands, k, trace, window=window, brief=brief)
        picks = verify_picks(cands, req, k)
        if self.llm is not None and picks and current() == "en":
            # in Chinese and Spanish the reasons are the catalogs' phrases of the same facts:
            # the checker reads English, and a small model's Chinese is not measured
            emit(Status("asking the LLM to explain"))
            explain(self.llm, intent.text, picks, trace,
                    on_reason=lambda mid, text: emit(Reason(mid, text)),
                    brief=brief, briefed=briefed, others=cands[:window])
        else:
            explain(None, intent.text, picks, trace)
        return self._answer(t, req, headline, cands, picks, t_cand)

    def _relax(self, req: Request, pool: int) -> tuple[Request, list, list[str]]:
        """Drop the constraints one by one, weakest first (``RELAX``), until a list is left:
        the request, its candidates and what was left out (nothing: the ask as it was)."""
        dropped: list[str] = []
        cons = Constraints.from_dict(req.constraints.as_dict())
        for names, said in RELAX:
            if not any(getattr(cons, n) for n in names):
                continue
            for n in names:
                setattr(cons, n, [] if isinstance(getattr(cons, n), list) else None)
            dropped.append(said)
            trial = dataclasses.replace(req, constraints=Constraints.from_dict(cons.as_dict()))
            cands = self.generator.gather(trial, pool=pool)
            if verify_picks(cands, trial, req.k):
                return trial, cands, dropped
        return req, self.generator.gather(req, pool=pool), []

    def _answer(self, t: Turn, req: Request, headline: str, cands, picks, t_cand) -> Answer:
        lean = _leaning(req)
        if lean and not any(set(lean) & set(c.genres) for c in picks):
            headline = self._headline(dataclasses.replace(req, prefer_genres={}), req.k)
        if t.keeps_list:   # the films still fit: in their places, wherever they rank now
            picks = in_place(verify_picks(cands, req, len(cands)), [r.movie_id for r in t.shown],
                             max(len(picks), len(t.shown)))
        if req.series and not (req.people or req.seeds or req.query):
            # "the harry potter films": in the order they came out
            picks = sorted(picks, key=lambda c: (c.year or 0, c.movie_id))
        recs = [Recommendation.from_candidate(c) for c in picks]
        if not recs:
            what = ", ".join(x for x in (tr("with {people}", people=join(req.people, " and "))
                                         if req.people else "", req.constraints.describe())
                             if x)
            reply = tr("Nothing in the catalog fits all of that ({what}) that I haven't shown; "
                       "try loosening a filter.", what=what or tr("your filters"))
            if req.only is not None and not (
                    req.only - req.exclude - set(req.constraints.exclude_ids)):
                reply = tr("That was every film with {who} the catalog knows; name another "
                           "person, or a film you like.",
                           who=join(req.people, " and ") or tr("that"))
                if req.series and not req.people:
                    reply = tr("That was every film the catalog has with \"{series}\" in its "
                               "title; name another series, or a film you like.",
                               series=req.series)
            reply = sentences([*t.notes, reply])
        else:
            if len(recs) < req.k:
                headline = self._headline(req, len(recs))
                if lean and not any(set(lean) & set(c.genres) for c in picks):
                    headline = self._headline(dataclasses.replace(req, prefer_genres={}),
                                              len(recs))
            reply = sentences([*t.notes, headline])
        answer = Answer(reply, recs, kind="recommend", candidates=[c.movie_id for c in cands])
        answer.timings["candidates"] = t_cand
        t.state.last = LastAsk.of(req)
        # "#10 seen it" refreshes the list; "not that one" next still means #10
        t.state.focus = t.targets[-1].movie_id if t.feedback and t.targets else None
        return self._finish(t, answer, recs)

    def _finish(self, t: Turn, answer: Answer, shown=(), meta: dict | None = None) -> Answer:
        """Record the turn (what was said, the reply, the state, the list shown) and answer.
        No escape sequence or control character (from an LLM, a transcript, a file name)
        reaches the reply or its cards."""
        from recbot.retrieval.safe_text import one_line, printable

        answer.reply = printable(answer.reply)
        for r in {id(r): r for r in (*answer.recommendations, *shown)}.values():
            r.title, r.explanation = one_line(r.title), printable(r.explanation)
        meta = meta or {"kind": answer.kind, "recommendations": [r.movie_id for r in shown]}
        self.memory.record_turn(t.session.id, t.said, answer.reply, meta, t.state.as_dict(),
                                [r.as_dict() for r in shown], t.feedback)
        return answer

    # -- pieces ------------------------------------------------------------------------------
    def _targets(self, intent: Intent, shown: list[Recommendation], state) -> list[Recommendation]:
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
            if not hit and lexicon().re("reader.that_one_too").search(intent.text):
                hit = shown[:1]     # "seen it", then "seen that one too": the new first pick
            if not hit and state.focus in self.catalog:   # talked about, then replaced
                m = self.catalog[state.focus]
                hit = [Recommendation(m.movie_id, m.title, m.year, tuple(m.genres), 0.0, "", [])]
            out = hit or shown[:1]
        return out

    def _should_fill(self, intent: Intent) -> bool:
        return (not intent.acts and not intent.chitchat and len(intent.text.split()) >= 3
                and intent.question is None)

    def _ask_json(self, prompt: str, schema: dict, max_tokens: int, what: str,
                  trace: LLMTrace) -> dict | None:
        """The LLM's JSON answer to ``prompt`` under ``schema`` (counted in ``trace``), or
        None when it failed (the error noted as ``what``)."""
        trace.calls += 1
        try:
            return parse_json(self.llm.chat([{"role": "user", "content": prompt}], schema=schema,
                                            max_tokens=max_tokens, temperature=0.0))
        except LLMError as err:
            trace.errors.append(f"{what}: {err}")
            return None

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
        got = self._ask_json(prompt, schema, 120, "understand", trace)
        if got is None:
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

    def _request(self, t: Turn) -> tuple[Request | None, str, str]:
        """The request this turn asks for, its headline and a note; (None, "", "") when the
        message asks for no list after all."""
        intent, st, state, targets, k = t.intent, t.session, t.state, t.targets, t.k
        user_id = state.user_id
        lang = "en"      # a new ask here is read in English
        profile = self.memory.profile()
        fb = {**profile, **st.feedback, **t.feedback}
        likes = [m for m, kind in fb.items() if kind == "like"]
        dislikes = [m for m, kind in fb.items() if kind == "dislike"]
        seen = {m for m, kind in fb.items() if kind == "seen"}
        if user_id is not None:     # a MovieLens user has seen what they rated
            seen |= set(self.generator.ranker.rated_by(user_id))
        last = state.last
        note = ""
        either: list[str] = []     # "Also adventure movies" after horror: one either-or group
        prefer: dict[str, float] = {}    # genres said earlier in the chat (a nudge)
        carried: dict[int, float] = {}   # films named or liked earlier (a nudge)
        about: dict[str, float] = {}     # descriptions said earlier (searched, faded)
        era: tuple = ()                  # years asked for earlier (a nudge)
        narrows = bool(intent.refine and last and (intent.genres or intent.constraints_given)
                       and not (intent.seeds or intent.people or intent.describe))
        # "with Jim Carrey" / "a Tom Hanks one" after a list: the person joins the last ask
        narrows = narrows or bool(last and intent.add_person and intent.people and not (
            intent.seeds or intent.describe))
        if (intent.content and not narrows) or ((intent.asks_for_list or intent.more)
                                                and not last and not intent.reject):
            # ("any others?", "do you have one more?" before any list: a new ask all the same)
            # A new ask: its own seeds, people, genres and description.
            cons = Constraints()
            seeds = [m.movie_id for m in intent.seeds]
            people = [p.name for p in intent.people]
            series_asked, series_films = intent.series, list(intent.series_films)
            query = intent.describe
            quality = intent.quality
            topic = bool(intent.topic)
            similar = any(m.sentiment == "similar" for m in intent.seeds)
            if intent.also and last and seeds and not (people or query):
                # "I also loved X": X joins the films named before, the filters stay (a
                # person asked for before does not: X is a taste, not their filmography)
                cons = last.fresh_constraints()
                seeds = list(dict.fromkeys([*last.seeds, *seeds]))
            elif intent.also and last and intent.genres and last.constraints.genres and not (
                    seeds or people or query):
                # "I like horror." then "Also adventure movies.": either will do
                cons = last.fresh_constraints()
                either = list(dict.fromkeys([*(g for grp in cons.genres for g in grp),
                                             *(g for grp in intent.genres for g in grp)]))
            if intent.refine != "switch" and not intent.also:
                # the conversation so far still counts where the new ask does not replace it
                prefer, carried = self._carry(state, st, intent)
                about = preferences.carried(state.prefs, st.turns + 1, "about")
                era = self._carry_era(state, st, intent)
        elif last or intent.constraints_given or intent.critiques or intent.avoid_people \
                or intent.avoid_kinds or intent.avoid_moods or intent.lean_away:
            # "nothing with Adam Sandler" first: any film but his
            last = last or LastAsk()
            cons = last.fresh_constraints()
            seeds = list(last.seeds)
            people = list(last.people)
            series_asked, series_films = last.series, list(last.series_films)
            if intent.add_person and intent.people:
                people = list(dict.fromkeys([*people, *(p.name for p in intent.people)]))
            if "people" in intent.clear:
                people = []
            query, quality, topic, similar = last.query, last.quality, last.topic, last.similar
            if CritiqueKind.LIGHTER in intent.critiques and query:
                # "a good cry movie", then "actually, something feel good": the sad words
                # of the last ask go with the mood they named
                sad = {w for w, mood in lexicon().mood_words.items() if mood == "sad"}
                query = " ".join(w for w in query.split() if w.lower() not in sad)
            avoided = {p.name for p in intent.avoid_people}
            if avoided & set(people):
                # "something similar but not by nolan" after Nolan's films: films like those
                # shown, by anyone else (not "every film with Christopher Nolan is shown")
                people = [p for p in people if p not in avoided]
                if not (seeds or people or query) and t.shown:
                    seeds, similar = [r.movie_id for r in t.shown[:3]], True
            prefer = dict(last.prefer)
            lang = last.lang         # "ninguna de estas": the Spanish ask, searched as before
        else:
            return None, "", ""
        if intent.more and targets:
            seeds, people, query, topic = [r.movie_id for r in targets], [], "", False
            series_asked, series_films = "", []     # more like that film, of any series
            similar = True
        self._apply_constraints(cons, t)
        if not (intent.seeds or intent.people or intent.more) and not narrows and \
                self._for_children(state, st, intent):
            # "family movie night, kids are 6 and 9", then "something funny" or "something
            # newer, with real actors not cartoons": films for the children still (the list
            # is relaxed, and says so, if none fit)
            group = [g for g in FAMILY if g not in intent.exclude_genres]
            if not any(set(g) & set(FAMILY) for g in cons.genres):   # (said once in the header)
                cons.genres.append(group)
        if either:
            cons.genres = [either]
        # "no animation" earlier, then "classic 80s family stuff" (children or animation): a
        # genre avoided before leaves a new ask's either-or group unless the ask names it
        avoided = {g for g, w in prefer.items() if w < 0} - set(intent.named_genres)
        cons.genres = [[g for g in grp if g not in avoided] or grp if len(grp) > 1 else grp
                       for grp in cons.genres]
        for p in intent.avoid_people:
            cons.exclude_ids = sorted(set(cons.exclude_ids) | set(p.films))
            # the data links a person to some of their films only: the header says how many
            _add(cons.avoided, f"without the {len(p.films)} {p.name} films the data knows")
        for kind in intent.avoid_kinds:   # "no superheroes", "not Star Wars"
            cons.exclude_ids = sorted(set(cons.exclude_ids) | self.generator.films_naming(kind))
            _add(cons.avoided, f"nothing {kind}" if kind in FEEL_WORDS else tr("no {genre}",
                                                                                  genre=kind))
        for mood in intent.avoid_moods:   # "nothing sad": the films tagged so
            cons.exclude_ids = sorted(set(cons.exclude_ids) | self.generator.films_tagged(mood))
            _add(cons.avoided, f"nothing {mood}")
        only = None
        if people:
            films = [set(self.mentions_person(name, intent)) for name in people]
            only = set.intersection(*films)
            if len(films) > 1 and not only - set(st.shown_ids):
                only = set.union(*films)    # nobody's films with all of them: any of them
        if series_films:    # "the bourne movies": its films (after "with Tom Cruise": his)
            only = set(series_films) if only is None else (only & set(series_films)
                                                           or set(series_films))
        boost = [m for p in intent.fans_of for m in p.films]
        named = set(state.named) | {m.movie_id for m in intent.mentions if m.movie_id is not None}
        state.named = sorted(named)
        shown_before = set(st.shown_ids)
        kept = intent.refine == "narrow" and not (intent.reject or intent.more)
        # "#2 seen it", "loved that one": the rest of the list stays, the slot is filled
        kept = kept or bool(t.feedback and not (intent.content or intent.more or intent.reject)
                            and "dislike" not in t.feedback.values())
        t.keeps_list = bool(kept and t.feedback)
        if kept:
            # "only dramas", "from the 90s only": the list just shown, filtered, may answer
            shown_before -= {d["movie_id"] for d in st.last_shown}
        if intent.content and not (intent.more or intent.reject):
            # a new ask may bring back a film shown for an earlier one: only "more" and
            # "none of these" rule the shown films out (in ReDial replays, ruling out every
            # film ever shown cost a third of the hits; putting them after the films not yet
            # shown cost a sixth on the learn fold and gained nothing for simulated users)
            shown_before = set()
        exclude = shown_before | seen | set(dislikes) | (named - set(seeds))
        said_as_one = {}     # the films one name brought ("harry potter": three of them)
        for m in intent.seeds:
            said_as_one.setdefault(m.text.lower(), []).append(m.movie_id)
        one = max(said_as_one.values(), key=len, default=[])
        series = _series_name([self.catalog[s].title for s in one if s in self.catalog])
        if series and len(one) >= 2 and not intent.more:
            # "movies like Harry Potter": other films, not the rest of the series
            exclude |= {m.movie_id for m in self.catalog
                        if m.title.startswith((series, "The " + series))}
        from recbot.retrieval.prior import talk_text

        talk = talk_text([*self.memory.said(st.id), intent.text])
        said = _searchable(intent) if query == intent.describe else ""
        away, away_said = self._carry_away(state, st, intent, people)
        # what this list keeps out already is not said twice ("no superhero; still no superhero")
        away_said = [w for w in away_said if not any(
            re.search(rf"(?<!\w){re.escape(w)}(?!\w)", a, re.I) for a in cons.avoided)]
        if intent.lean_away:    # "not a huge fan of musicals": this ask leans away from them
            prefer = {**prefer, **{g: min(prefer.get(g, 0.0), -1.0) for g in intent.lean_away}}
        thin, thin_genres = [], set()
        for s in ([m.movie_id for m in intent.seeds] if intent.seeds else []):
            if s in self.generator.own_videos():
                continue     # a video of the user's: its sound, picture and speech speak
            got = self.generator.corate.co_likes(s) if s in self.catalog else None
            fans = got[0] if got else 0
            if fans < FEW_FANS:
                thin.append(f"{self.catalog[s].title} ({fans})" if s in self.catalog else str(s))
                thin_genres |= set(self.catalog[s].genres) if s in self.catalog else set()
        if FAMILY[0] in thin_genres and not (intent.genres or intent.exclude_genres) and \
                not any(FAMILY[0] in g for g in cons.genres):
            # "more like paddington": few fans to follow, and a children's film asks for
            # children's films (The Pianist and Kingsman were its "neighbours")
            cons.genres.append([FAMILY[0]])
        req = Request(seeds=seeds, likes=[m for m in likes if m not in seeds],
                      dislikes=dislikes, exclude=exclude, user_id=user_id, query=query,
                      constraints=cons, k=k, only=only, people=people, series=series_asked,
                      series_films=series_films, quality=quality, topic=topic,
                      boost=boost, similar=similar, talk=talk, prefer_genres=prefer,
                      prefer_years=era,
                      carried={m: w for m, w in carried.items()
                               if m not in seen and m not in dislikes}, about=about,
                      away=away, away_said=away_said,
                      said=said, lang=lang, feel=feel_of(_without_names(intent)))
        if only is not None and people:
            left = only - exclude - set(seeds)
            fits = [m for m in left if m in self.catalog and cons.allows(self.catalog[m])]
            who = join(people, " and ")
            if 0 < len(fits) < k:     # none at all: the answer says so
                note = (ntr("The catalog knows {n} film with {who} that fits and isn't shown "
                            "yet (its cast and crew data covers about 1,000 films).",
                            "The catalog knows {n} films with {who} that fit and aren't shown "
                            "yet (its cast and crew data covers about 1,000 films).",
                            len(fits), who=who) if shown_before & only else
                        ntr("The catalog knows {n} film with {who} that fits (its cast and "
                            "crew data covers about 1,000 films).",
                            "The catalog knows {n} films with {who} that fit (its cast and "
                            "crew data covers about 1,000 films).", len(fits), who=who))
        if thin:
            note = (note + " " if note else "") + ntr(
                "Few people in the ratings loved {films}, so this list leans on its genres and "
                "what people suggest in chats more than on fans' tastes.",
                "Few people in the ratings loved {films}, so this list leans on their genres "
                "and what people suggest in chats more than on fans' tastes.", len(thin),
                films=join(thin, " and "))
        if cons.runtime_max or cons.runtime_min:
            note = (note + " " if note else "") + tr(
                "Runtimes are known for {known} films of the catalog; I only pick from those.",
                known=f"{self._runtimes_known:,}")
        return req, self._headline(req, k), note

    def _carry(self, state: DialogueState, session: SessionState,
               intent: Intent) -> tuple[dict[str, float], dict[int, float]]:
        """What a new ask keeps of the conversation before it (the preference state, faded
        by age): the genres said, as a lean, and the films named or liked, as a weak pull
        (the ``carried`` source). Genres said before lean only while the new ask names none
        and every film it names shares one of them ("a good crime movie", then "I loved The
        Departed": films like it, crime first); avoided genres keep leaning away whatever
        the new ask names, unless it names them. Nothing carried is a filter: kept as
        filters, years and lengths cost hits on the ReDial learn fold and simulated users'
        success."""
        now = session.turns + 1
        lean = preferences.carried(state.prefs, now, "genre")
        if intent.genres:
            lean = {g: w for g, w in lean.items() if w < 0}
        seeds = [self.catalog[m.movie_id] for m in intent.seeds if m.movie_id in self.catalog]
        wanted = {g for g, w in lean.items() if w > 0}
        if wanted and not all(set(s.genres) & wanted for s in seeds):
            lean = {g: w for g, w in lean.items() if w < 0}
        if intent.seeds and not CARRY_WITH_SEEDS:
            return lean, {}
        films = {m: w for m, w in preferences.carried(state.prefs, now, "film").items()
                 if w > 0 and m in self.catalog}
        return lean, films

    def _carry_away(self, state: DialogueState, session: SessionState, intent: Intent,
                    people: list[str]) -> tuple[dict[int, float], list[str]]:
        """What was kept out in earlier turns ("nothing with Adam Sandler", "no superhero
        stuff", "nothing sad"), as a lean away from those films: {film: weight} and the
        avoidances in words, strongest first. A person or word the new message names again
        is left to it ("ok, superhero movies then"); "forget the person" drops the people."""
        now = session.turns + 1
        low = intent.text.lower()
        asked = {p.lower() for p in people} | {p.name.lower() for p in intent.people}
        away: dict[int, float] = {}
        words: list[tuple[float, str]] = []
        for kind in ("person", "kind", "mood"):
            if kind == "person" and "people" in intent.clear:
                continue
            for value, w in preferences.carried(state.prefs, now, kind).items():
                if w >= 0 or not isinstance(value, str):
                    continue
                if value.lower() in asked or (kind != "person" and re.search(
                        rf"\b{re.escape(value.lower())}", low)):
                    continue
                films = (self.mentions_person(value) if kind == "person" else
                         self.generator.films_naming(value) if kind == "kind" else
                         self.generator.films_tagged(value))
                for m in films:
                    away[m] = max(away.get(m, 0.0), -w)
                if films:
                    words.append((w, value))
        return away, [v for _, v in sorted(words)]

    @staticmethod
    def _for_children(state: DialogueState, session: SessionState, intent: Intent) -> bool:
        """Was a film for children asked for lately ("family night", "for my 8 year old": a
        Children or Animation ask said at most ``FAMILY_TURNS`` turns ago and not overturned)
        while the new ask names a genre of neither and keeps no children's films out ("not
        cartoons" keeps the children's films that are not animated)?"""
        if any(set(g) & set(FAMILY) for g in intent.genres) or \
                FAMILY[0] in intent.exclude_genres or _KIDS_AWAY.search(intent.text.lower()) or \
                _GROWN_UPS.search(intent.text):
            return False    # ("the kids are asleep now, something scary for us")
        now = session.turns + 1
        said = [p for p in state.prefs if p.kind == "genre" and p.value == FAMILY[0]]
        return bool(said) and all(
            p.polarity > 0 and p.role == "genre_either" and now - p.turn <= FAMILY_TURNS
            for p in said)

    def _carry_era(self, state: DialogueState, session: SessionState,
                   intent: Intent) -> tuple:
        """The years asked for before, as a lean of a new ask that names none: (from, to,
        weight), or () ("a crime movie from the 90s", then "seen goodfellas and casino": 90s
        films first). Like a genre said before, it leans only while every film the new ask
        names is of those years ("... then I loved The Departed (2006)": no lean)."""
        if intent.year_min is not None or intent.year_max is not None or "years" in intent.clear:
            return ()
        eras = preferences.carried(state.prefs, session.turns + 1, "era")
        if not eras:
            return ()
        value, w = max(eras.items(), key=lambda kv: kv[1])
        lo, hi = preferences.era_bounds(value)
        if (lo is None and hi is None) or w <= 0:
            return ()
        said = next(p.turn for p in state.prefs if p.kind == "era" and p.value == value)
        # the films named since (this ask's too) are of those years, or the era is overturned
        # ("a comedy from the 80s", "something like the hangover", "any thrillers?": no lean)
        later = [p.value for p in state.prefs if p.kind == "film" and p.turn > said
                 and p.polarity > 0]
        later += [m.movie_id for m in intent.seeds]
        if not all(preferences.in_era(self.catalog[m].year, lo, hi)
                   for m in later if m in self.catalog):
            return ()
        return (lo, hi, w)

    def mentions_person(self, name: str, intent: Intent | None = None) -> tuple[int, ...]:
        """The catalog films the data links to a person (by name as the finder knows it)."""
        for p in (intent.people if intent else []):
            if p.name == name:
                return p.films
        _, films, _ = self.mentions._people
        return tuple(films.get(name, {}))

    def _apply_constraints(self, cons: Constraints, t: Turn) -> None:
        intent, shown = t.intent, t.shown
        if "years" in intent.clear:          # "forget the year"
            cons.year_min = cons.year_max = None
            cons.exclude_years = []
        if "genres" in intent.clear:
            cons.genres, cons.exclude_genres = [], []
        if "runtime" in intent.clear:
            cons.runtime_min = cons.runtime_max = None
        for word in _unavoided(intent):      # "forget the no mob thing": mob may come back
            cons.exclude_genres = [g for g in cons.exclude_genres
                                   if _stem(g.lower()) != _stem(word)]
            back = set(self.generator.films_naming(word)) | set(self.generator.films_tagged(word))
            people = [p for p in self.mentions._people[1]
                      if re.fullmatch(word_or_plural(word), p.lower())]
            for name in people:
                back |= set(self.mentions_person(name))
            cons.exclude_ids = sorted(set(cons.exclude_ids) - back)
            said = re.compile(word_or_plural(word), re.I)
            cons.avoided = [a for a in cons.avoided if not said.search(a)]
        if intent.refine == "switch" and intent.genres:
            cons.genres = []     # "make it a comedy": instead of the genre asked before
        for group in intent.genres:
            if list(group) not in cons.genres:
                cons.genres.append(list(group))
            cons.exclude_genres = [g for g in cons.exclude_genres if g not in group]
        # "an animated movie for kids": Animation and (Children or Animation) is Animation;
        # a group holding every genre of another group asks nothing more
        cons.genres = [g for g in cons.genres if not any(
            set(o) < set(g) for o in cons.genres)]
        for g in intent.exclude_genres:
            if g not in cons.exclude_genres:
                cons.exclude_genres.append(g)
            # "no animation" after "family": (Children or Animation) is Children now
            cons.genres = [[x for x in grp if x != g] if len(grp) > 1 else grp
                           for grp in cons.genres if list(grp) != [g]]
        if intent.year_min is not None:
            cons.year_min = intent.year_min
            if cons.year_max is not None and cons.year_max < cons.year_min:
                cons.year_max = None
        if intent.year_max is not None:
            cons.year_max = intent.year_max
            if cons.year_min is not None and cons.year_min > cons.year_max:
                cons.year_min = None
        if intent.year_min is not None and intent.year_max is not None:
            # "from the 90s" after "nothing from the 90s": the years asked for now are wanted
            # (a bound, "before 2005", keeps the exclusion)
            lo, hi = intent.year_min, intent.year_max
            cons.exclude_years = [[a, b] for a, b in cons.exclude_years
                                  if not (a <= lo and hi <= b)]
        for a, b in intent.avoid_years:
            if [a, b] not in cons.exclude_years:
                cons.exclude_years.append([a, b])
            if cons.year_min is not None and cons.year_max is not None and \
                    a <= cons.year_min and cons.year_max <= b:
                cons.year_min = cons.year_max = None   # "from the 90s", then "not the 90s"
        if intent.runtime_max is not None:
            cons.runtime_max, cons.runtime_min = intent.runtime_max, None
        if intent.runtime_min is not None:
            cons.runtime_min = intent.runtime_min
        years = [r.year for r in shown if r.year]
        for crit in intent.critiques:
            if crit == CritiqueKind.MORE_RECENT:
                shift_years(cons, years or [2000], newer=True)
                if intent.year_max is not None:     # "more recent but before 2010"
                    cons.year_max = intent.year_max
            elif crit == CritiqueKind.OLDER:
                shift_years(cons, years or [1995], newer=False)
                if intent.year_min is not None:     # "older, but after 1990": the number stays
                    cons.year_min = intent.year_min
            elif crit in (CritiqueKind.SHORTER, CritiqueKind.LONGER):
                if intent.runtime_min is not None or intent.runtime_max is not None:
                    continue    # "an epic over 3 hours long": the number says how long
                runtimes = [self.catalog[r.movie_id].runtime_min for r in shown
                            if r.movie_id in self.catalog and self.catalog[r.movie_id].runtime_min]
                shorter = crit == CritiqueKind.SHORTER
                mid = int(statistics.median(runtimes)) if runtimes else (110 if shorter else 120)
                if shorter:
                    cons.runtime_max, cons.runtime_min = mid - 10, None
                else:
                    cons.runtime_min, cons.runtime_max = mid + 10, None
            elif crit == CritiqueKind.LESS_VIOLENT:
                asked = {g for group in cons.genres for g in group}
                for g in ("Horror", "War"):
                    if g not in cons.exclude_genres and g not in asked:
                        cons.exclude_genres.append(g)
                if crit not in cons.soft:
                    cons.soft.append(crit)
            else:
                opposite = {CritiqueKind.LIGHTER: CritiqueKind.DARKER,
                            CritiqueKind.DARKER: CritiqueKind.LIGHTER,
                            CritiqueKind.MORE_POPULAR: CritiqueKind.LESS_POPULAR,
                            CritiqueKind.LESS_POPULAR: CritiqueKind.MORE_POPULAR}
                cons.soft = [s for s in cons.soft if s != opposite.get(crit)]
                if crit not in cons.soft:
                    cons.soft.append(crit)

    def _headline(self, req: Request, k: int) -> str:
        """"Here are 5 films for people who loved Heat (1995) (from 1990 on):", in the
        turn's language."""
        people = join(req.people, " and ")
        if req.seeds:
            names = join([self.catalog[s].label() for s in req.seeds if s in self.catalog], " and ")
            series = _series_name([self.catalog[s].title for s in req.seeds if s in self.catalog])
            if series:      # "the Harry Potter films", not three long titles
                names = tr("the {series} films", series=series)
            own = self.generator.own_videos()
            if all(s in own and s >= USER_ITEM_BASE for s in req.seeds):   # "more like <my video>"
                text = ntr("Here is {n} pick like {names}", "Here are {n} picks like {names}", k,
                           names=names)
            else:
                text = (ntr("Here is {n} film with {people} for people who loved {names}",
                            "Here are {n} films with {people} for people who loved {names}", k,
                            people=people, names=names) if req.people else
                        ntr("Here is {n} film for people who loved {names}",
                            "Here are {n} films for people who loved {names}", k, names=names))
        elif req.query:
            text = (ntr("Here is {n} film with {people} for \"{query}\"",
                        "Here are {n} films with {people} for \"{query}\"", k,
                        people=people, query=req.query) if req.people else
                    ntr("Here is {n} film for \"{query}\"", "Here are {n} films for \"{query}\"",
                        k, query=req.query))
        elif req.people:
            text = ntr("Here is {n} film with {people}", "Here are {n} films with {people}", k,
                       people=people)
        elif req.series:
            text = ntr("Here is {n} film of the {series} series",
                       "Here are {n} films of the {series} series", k, series=req.series)
        elif req.likes:
            text = ntr("Here is {n} film from what you liked",
                       "Here are {n} films from what you liked", k)
        else:
            text = ntr("Here is {n} film that many people love",
                       "Here are {n} films that many people love", k)
        lean = _leaning(req)
        away = _leaning_away(req)
        leaning = ", ".join(x for x in (join([genre(g) for g in lean], " or "), _era_said(req)) if x)
        said = [x for x in (req.constraints.describe() if not req.constraints.is_empty() else "",
                            tr("leaning {genres}", genres=leaning) if leaning else "",
                            tr("fewer {genres}", genres=join([genre(g) for g in away], " or "))
                            if away else "",
                            tr("still no {what}", what=join(req.away_said, " or "))
                            if req.away_said else "")
                if x]
        if said:
            text += tr(" ({what})", what=ptr("list", "; ").join(said))
        return text.rstrip() + ptr("punctuation", ":")


FEW_FANS = 10
"""Under this many people who rated a named film 4+, "like X" says its list is a rough guess."""
# True: an ask naming films of its own still feels the films named before; False (chosen):
# only an ask that names no film does (see preferences.DECAY for what was measured)
CARRY_WITH_SEEDS = False

LIST_ASKS = (Ask, Reject, Critique, More)
# The either-or genres of an ask for children ("family night", "for my kids"): a genre
# asked for in the next FAMILY_TURNS turns is asked for within them
FAMILY = ("Children", "Animation")
PERSON_TURNS = 4     # "with her" names the person said at most this many turns ago
# words of a clause about watching with someone: "with her" there is who watches
_WATCHING = re.compile(r"\b(?:watch(?:ing)?|see(?:ing)?|enjoy|share|night|date|evening|"
                       r"weekend|cuddle|together|tonight|for)\b", re.I)
FAMILY_TURNS = 3
_KIDS_AWAY = re.compile(r"\b(?:kids?|children|child)(?:" + "|".join(
    g.not_before for g in lexicon().genres if "kids" in g.words and g.not_before) + ")")
# an ask for the grown-ups after a kids' ask: "now a movie for my wife and me after they
# sleep", "something for date night later", "something more grown up"
_GROWN_UPS = re.compile(r"\b(?:for (?:my )?(?:wife|husband|partner|gf|bf|girlfriend|boyfriend|"
                        r"us|me|myself|adults|grown-?ups|the two of us)|(?:my )?(?:wife|husband|"
                        r"partner) and (?:me|i)|date night|grown[- ]?ups?|adults? only|after "
                        r"(?:they|the kids?)(?:'re| are)? (?:sleep|asleep|go to bed|in bed))\b",
                        re.I)
LEAN_SAID = 0.3   # a genre lean this strong or more is named in the headline ("leaning Crime")


def _unavoided(intent: Intent) -> list[str]:
    """What the message lets back in ("forget the no mob thing": ["mob"]), lower case."""
    words = [c.removeprefix("no ").strip().lower() for c in intent.clear if c.startswith("no ")]
    return [" ".join([*w.split()[:-1], _stem(w.split()[-1])]) for w in words if w]


def _stem(word: str) -> str:
    """A word without its plural ending ("thrillers", "comedies": thriller, comedy)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("oes", "ses", "xes", "zes", "ches", "shes")) and len(word) > 4:
        return word[:-2]      # superheroes, bosses
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _era_said(req: Request) -> str:
    """The years a list leans to, as the headline says them ("1990–1999", "from 2000 on")."""
    if not req.prefer_years or req.prefer_years[2] < LEAN_SAID:
        return ""
    lo, hi, _ = req.prefer_years
    if lo is not None and hi is not None:
        return tr("{first}–{last}", first=lo, last=hi)
    return tr("from {year} on", year=lo) if lo is not None else tr("up to {year}", year=hi)


def _leaning(req: Request) -> list[str]:
    """The genres a list leans to, strongest first, as its headline names them."""
    lean = sorted((-w, g) for g, w in req.prefer_genres.items() if w >= LEAN_SAID)
    return [g for _, g in lean]


def _series_name(titles: list[str]) -> str:
    """The name two or more titles of one series share ("Harry Potter and the Sorcerer's
    Stone", "Harry Potter and the Chamber of Secrets" -> "Harry Potter"), else ""."""
    if len(titles) < 2:
        return ""
    split = [t.split() for t in titles]
    common = []
    for words in zip(*split):
        if len({w.lower() for w in words}) != 1:
            break
        common.append(words[0])
    while common and (common[-1].lower() in ("and", "the", "of", "a", "-", "episode", "part")
                      or common[-1].endswith(":")):
        if common[-1].endswith(":") and common[-1] != ":":
            common[-1] = common[-1].rstrip(":")
            break
        common.pop()
    if common and common[0].lower() == "the":
        common = common[1:]
    return " ".join(common) if len(common) >= 2 or (common and len(common[0]) >= 5) else ""


def _leaning_away(req: Request) -> list[str]:
    """The genres a list leans away from (a hedge: "not a huge fan of musicals")."""
    return sorted(g for g, w in req.prefer_genres.items() if w <= -1.0)

# What a list may do without when nothing fits, weakest first: (fields of Constraints, how
# the reply names them)
RELAX = ((("soft",), N_("the critiques")), (("runtime_min", "runtime_max"), N_("the length")),
         (("year_min", "year_max"), N_("the years")),
         (("exclude_ids", "avoided"), N_("what you kept out")),
         (("exclude_genres",), N_("the genres you kept out")), (("genres",), N_("the genres")))

# The role of a film the message names, for `recbot ask --json` ("mentioned" otherwise: a
# film asked about, or why not)
ROLES = (("liked", "liked"), ("disliked", "disliked"), ("seeds", "seed"), ("seen", "seen"),
         ("unseen", "unseen"))

def _latin_patterns() -> dict:
    from .reader.lexicon import lexicon

    lex = lexicon()
    return {"zh": lex.re("languages.latin_in_zh"), "es": lex.re("languages.latin_after_es"),
            "against": lex.re("languages.latin_against"),
            "number": lex.re("languages.latin_number"),
            "verdict_es": lex.re("languages.verdict_before_es"),
            "verdict_zh": lex.re("languages.verdict_after_zh"),
            "title_end_es": lex.re("languages.title_end_es"),
            "not_seen_es": lex.re("languages.not_seen_es"),
            "that_director": lex.re("reader.that_director"),
            "that_person": lex.re("reader.that_person"),
            "verdict_after_es": lex.re("languages.verdict_after_es"),
            "similar_other": lex.re("languages.ask_similar_other"),
            "more_other": lex.re("languages.ask_more_other")}


LEX_LATIN = _latin_patterns()


def _narrowing(said: dict) -> str:
    """The English of a Chinese or Spanish follow-up that only narrows the last ask (genres
    kept out, kinds kept out, years: ``read_other``'s reading), "" for any other message:
    "pero nada de superhéroes" -> "no superheroes", "有没有九十年代的" -> "from 1990 to 1999"."""
    if said["genres"] or said["described"]:
        return ""
    parts = [f"no {g.lower()}" for g in said["exclude_genres"]]
    parts += [f"no {kind}" for kind in said["exclude_kinds"]]
    parts += [{"less_violent": "less violent", "lighter": "something lighter",
               "more_recent": "something newer"}.get(c, "")
              for c in said.get("critiques", [])]
    parts = [p for p in parts if p]
    if said.get("runtime_max"):
        parts.append(f"under {said['runtime_max']} minutes")
    lo, hi = said["year_min"], said["year_max"]
    if lo is not None and hi is not None:
        parts.append(f"from {lo} to {hi}")
    elif lo is not None:
        parts.append(f"nothing before {lo}")
    elif hi is not None:
        parts.append(f"nothing after {hi}")
    return ", ".join(parts)


def _searchable(intent: Intent) -> str:
    """What the transcript source searches for an ask with a description: the message
    itself, the films and people it names left out (they have sources of their own), not
    its leftover words: "they make an air filter from spare parts" finds Apollo 13 by its
    transcript at 0.32, "make air filter spare parts" at 0.27. (For the catalog, searching
    the message cost ReDial's turn-by-turn recall on learn fold 1: 0.099 -> 0.092.) Empty
    without a description: counts, greetings and titles alone search nothing."""
    if not intent.describe:
        return ""
    return _without_names(intent)


def _without_names(intent: Intent) -> str:
    """The message with the films and people it names left out."""
    text = intent.text
    pieces = {*(m.text for m in intent.mentions),
              *(p.name for p in [*intent.people, *intent.fans_of, *intent.avoid_people])}
    for piece in sorted((p for p in pieces if p), key=len, reverse=True):   # whole words:
        text = re.sub(rf"(?<!\w){re.escape(piece)}(?!\w)", " ", text, flags=re.I)  # not "c-ity"
    return " ".join(text.split())


# The routes of a turn, in order: the first whose frame the message holds and that answers
# (a route returns None to pass: "not that one" without a last ask is no list) ends it.
def _closes(t: Turn) -> bool:
    """The message ends the chat ("perfect, the first one. thanks!", "we'll watch that one,
    thx"): thanks, goodbye or a pick chosen, with no ask, question or critique, and nothing
    said of a pick but liking it ("seen the first one already, thanks" wants another)."""
    intent = t.intent
    return intent.chitchat in ("chose", "thanks", "bye") and set(t.feedback.values()) <= {
        "like"} and not (
        intent.has_ask or intent.more or intent.asks_for_list or intent.question is not None
        or intent.critiques or intent.reject or intent.feedback == "dislike")


ROUTES = (
    (Foreign, Agent._foreign),
    (Question, Agent._question),
    (Unclear, Agent._unclear),
    ((*LIST_ASKS, Feedback), Agent._list),
    (Feedback, Agent._noted),
    (Again, Agent._again),
    (SmallTalk, Agent._small_talk),
    (Nonsense, Agent._nonsense),
)


def _plain_events(on_event):
    """``on_event`` with the text of replies and reasons (an LLM's draft words) printable."""
    from recbot.retrieval.safe_text import printable

    from .events import Reason, Reply

    def emit(event) -> None:
        if isinstance(event, Reply):
            event = Reply(printable(event.text))
        elif isinstance(event, Reason):
            event = Reason(event.movie_id, printable(event.text))
        on_event(event)
    return emit


def _ignore(_event) -> None:
    pass


HELP_REPLY = N_("Tell me a film you like (\"something like Heat\"), a person (\"something with "
              "Meryl Streep\"), describe what you're in the mood for (\"a funny animated film, "
              "nothing before 2000\", \"under 90 minutes\"), or give feedback on a pick (\"#2 "
              "seen it\", \"none of these\", \"loved the first one, more like that\", \"why #3?\").")


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


def in_place(ranked: list[Candidate], before: list[int], k: int) -> list[Candidate]:
    """``k`` of the ``ranked`` films: each film of the list shown before that is still among
    them keeps its place, and the best new films fill the places of those that went ("#2
    seen it", then "not #4": #4 is still the film the user read as #4)."""
    by_id = {c.movie_id: c for c in ranked}
    fillers = [c for c in ranked if c.movie_id not in before]
    out = []
    for mid in before:
        if mid in by_id:
            out.append(by_id[mid])
        elif fillers:
            out.append(fillers.pop(0))
    out += fillers
    return out[:k]


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
