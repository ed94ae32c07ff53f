"""Candidates for one turn: every registered source (``candidates.sources``) gives a
ranked list; the lists are fused by weighted reciprocal rank, constrained, nudged (genre
overlap with the seeds, critiques such as "lighter" or "more popular", confidence),
diversified, and each film gets its evidence: what each source's ``evidence`` says of it,
then what the catalog says.
"""

from __future__ import annotations

import functools
import os
import re

import numpy as np

from ..explain.cards import first_sentence
from ..explain.evidence import (
    MIN_SUPPORT,
    SPECIFIC,
    STRONG,
    CoRatings,
    Fact,
    catalog_facts,
    fact,
    looks_like_instructions,
)
from ..i18n import N_, current, join, tr
from ..kinds import CritiqueKind, FactKind
from ..preferences import in_era
from .request import Candidate, Constraints, Found, Request
from . import sources as registry
from recbot.retrieval.ledger import USER_ITEM_BASE
from .sources import Clues
from .text import (
    _MOOD_PATTERNS,
    _SEQUEL,
    _STUDIO_WORDS,
    MOOD_TAGS,
    MOOD_WORDS,
    _era_asked,
    _eras_of,
    _is_superhero,
    _mood_only,
    _names_someone,
    _query_words,
    _stem_pattern,
    LEX,
    _studios_of,
)

RRF_K = 60
if os.environ.get("RECBOT_TUNE"):   # benchmark sweeps only: "name=w,name=w"
    _TUNE = dict(kv.split("=") for kv in os.environ["RECBOT_TUNE"].split(","))
else:
    _TUNE = {}
# The multilingual embedder's share of an English search (0: MiniLM alone). Measured at 0.5
# (chosen on 300 ReDial learn dialogues among 0.3/0.5/0.7, all alike): ReDial measure
# (a) 0.117 -> 0.123, (b) 0.102 -> 0.106; INSPIRED covered R@10 (a) 0.067 -> 0.067,
# (b) 0.059 -> 0.037 (8 -> 5 of 135); the frozen English descriptions' ask hit@10 0.233 ->
# 0.250. Gains within noise, a loss on the other crowd, and every scripted English ask
# would load USE (+0.2 s against bench_cli's 1.0 s): off (RECBOT_TUNE=fuse_use=0.5 on).
FUSE_USE = 0.0
# How far a film few people rated moves down the multilingual search's list: its similarity
# less this times (1 - confidence in its ratings). On the 60 frozen descriptions (values
# 0/0.03/0.06/0.1 tried) picks with under 10 ratings went 10% -> 5% (zh) and 10% -> 6% (es)
# at 0.03, for one film fewer found of 60 in each language; "一部关于二战的战争片" had
# Gunga Din (3 ratings) and Run Silent Run Deep (5), now The Hurt Locker leads.
KNOWN_FIRST = 0.03
CONFIDENT_RATINGS = 25   # ratings from which a film's support counts in full
PREFER_GENRE = 1.5   # a genre asked earlier in the chat multiplies a film's score by this
# Years asked for earlier in the chat ("a crime movie from the 90s", then "seen goodfellas and
# casino"): a film of those years, by this (at weight 1; the weight fades with the turns)
PREFER_ERA = 1.5
# Within the ask (an ask with a description or films of its own): the profile, the films
# carried from earlier turns, and the chat sources when only likes feed them move up only
# films that one of the ask's own sources ranks in its first ASK_DEPTH. Without the depth
# (any rank), "a cozy feel-good movie" after likes of Alien, The Thing and Predator showed
# The Fifth Element and E.T. (223rd and 107th in the chat-talk source); ReDial learn fold 1,
# variant b: 0.228 without the depth, 0.227 with 100.
ASK_DEPTH = 100
LIKES_DRIVEN = frozenset({"chat", "chat_similar"})   # fed by the likes when the ask names no film
AVOID_GENRE = 0.5    # a genre avoided earlier in the chat (and not asked since), by this
# A film of a person, kind or mood kept out earlier ("nothing with Adam Sandler", "no
# superhero stuff", "nothing sad") and not asked for since: by this at weight 1 (the
# avoidance fades with preferences.AGAINST_DECAY). Stronger than a genre's lean: the user
# named these films' trait to rule it out, where a genre avoided leaves its neighbours fine.
AVOID_CARRIED = 0.2
CHAT_SUPPORT = 10   # one suggestion in a real chat counts as this many ratings of support
# popular / chat_popular / chat weights for "something like X" (X's neighbours lead)
# (measured: 0.3/0.3/0.3 gave like-X 96% in X's neighbours but 90% sharing a genre, and no
# ReDial gain; 0.1/0/0.1 keeps 91% / 95%)
SIMILAR_MIX = (0.1, 0.0, 0.1)
# Films the data says nothing particular about (no person, tag, theme, transcript, your
# likes or co-rating with lift among their facts: evidence.SPECIFIC) score x BARE. The
# issue asks that >= 90% of shown picks name a specific fact; measured (bench_explain;
# ReDial novel R@10 / R@20 on learn folds 1 / 2, variant a, prior from the other fold):
#   1.0   83.2%   0.113 / 0.118   0.149 / 0.153
#   0.95  89.1%   0.108 / 0.112   0.143 / 0.154
#   0.92  92.1%   0.105 / 0.110   0.146 / 0.155   (simulated users SR@5 0.808 either way)
#   0.85  95.4%   (an earlier session: R@10 -0.009 on both folds)
# 0.92 meets the explanation target and keeps R@20; the price is ~0.008 of R@10 (on the
# measure part, looked at only after choosing: 0.130 -> 0.123, R@20 0.175 -> 0.173), since
# the films real recommenders suggest are often recent ones without IMDb rows or tags.
BARE = 0.92
# MovieLens ratings a film needs to lead a list ("a film with three ratings is not a first
# pick"): a thinner film that fuses first swaps places with the next film that has them, so
# the top 5 (and every recall@k from 2 up) keep the same films. Not tuned.
FIRST_PICK_MIN = 10
POOL = 1000
# "a movie about <subject>": films the search places near the subject (its top 50 scoring
# >= 0.75 of the best hit, and at least its top 12) keep their score, the rest x0.03
TOPIC_DEPTH, TOPIC_MIN, TOPIC_REL, TOPIC_OFF = 50, 12, 0.75, 0.03
TOPIC_NAMED = 10    # films naming the subject before the search's first hits stop counting
WELL_LIKED = (20, 3.5)   # raters and mean rating before a film is called "well liked"
DIVERSE_MIN = 0.5   # a film waiting for variety waits only for films scoring >= half of it
# Chosen on ReDial's learn part (bench/bench_redial.py --part fold1/fold2, the chat prior
# built from the other fold, so no dialogue both trains and scores): chat, chat_popular and
# chat_similar 1, MovieLens popularity only a tie-break (0.05; 0.1 for a generic ask) gave
# novel R@10 0.101 / 0.098 against 0.075 / 0.082 with popular 0.5 and no chat_similar.
# Lowering chat_popular to 0.3 when a description finds search hits (so "loneliness in
# space" is not answered with Black Panther) cost fold 1 0.097 -> 0.085: real seekers'
# descriptions are vague, and what chats suggest is what they wanted.
# chat_talk: what recommenders suggested to the real seekers whose words are nearest to the
# user's (retrieval.prior.ChatNeighbours). On the learn folds (contexts and prior from the
# other fold) novel R@10 0.098 / 0.111 -> 0.114 / 0.121 at 1.5 (1.0: 0.111 / 0.116; 2.0:
# 0.116 / 0.121, ties 1.5 on fold 2); "something like X" asks leave it out (X's neighbours
# lead there, and that turn then needs no embedding): 0.114 / 0.120.
# The chat_talk weight scales with how specific its neighbours' suggestions are: for a
# generic ask always, for any ask with TALK_SPEC 1. On ReDial's learn folds (prior and
# contexts from the other fold) scaling every ask cost novel R@10 (a) 0.113 -> 0.109 and
# 0.117 -> 0.113 (b 0.100 -> 0.097, 0.094 -> 0.093): real seekers' generic talk was mostly
# answered with the favourites.
TALK_SPEC = 0
SPEC_DEPTH = 20
# popular, chat_popular weights for a generic ask (and chat_talk scaled by specificity):
# "Recommend me a good movie" gave Jumanji: Welcome to the Jungle (6 ratings), Get Out,
# John Wick, The Avengers, Black Panther; now The Matrix, Forrest Gump, The Shawshank
# Redemption, The Usual Suspects, Pulp Fiction. ReDial learn folds (a): 0.113 -> 0.112,
# 0.117 -> 0.117 (its real seekers' generic openings were answered with 2018 favourites).
GENERIC_MIX = (1.0, 0.3)
TASTE_LIKES = 5      # likes from which a generic ask leans to the user's genres
TASTE_FLOOR = 0.5    # a film of none of them keeps half its score; one of every liked film's, 1.5x


class CandidateGenerator:
    def __init__(self, catalog, ranker, corate: CoRatings, searcher=None, prior=None,
                 conversations=None, multilingual=None, videos=None) -> None:
        self.catalog = catalog
        # the user's own videos by item, with their sound, picture and speech (a callable
        # returning {movie_id: retrieval.sound_picture.OwnVideo}), or None
        self.videos = videos
        self.ranker = ranker
        self.corate = corate
        self.searcher = searcher   # a callable returning a Searcher, loaded on first use
        # the same, with the multilingual embedder over the catalog (Chinese, Spanish asks)
        self.multilingual = multilingual
        self.prior = prior         # what people suggest in chats (retrieval.prior.ChatPrior)
        # text -> (films, {film: the real seeker's words that brought it}), or None: what
        # was suggested in real chats to people who said something like this
        self.conversations = conversations
        self._popular: list[int] | None = None
        self._texts: dict[int, str] | None = None
        self._extras: dict[int, str] | None = None
        self._tagged: dict[str, set[int]] = {}     # mood -> the films tagged with it
        self._keyword_seen: dict[str, list[int]] = {}
        self._spoken: dict = {}
        self._text_vectors: dict[str, np.ndarray] = {}

    @functools.cached_property
    def first_names(self) -> frozenset[str]:
        """The first names of the catalog's directors and stars."""
        return frozenset(n.split()[0] for m in self.catalog if m.director or m.stars
                         or m.codirectors for n in (*m.directors, *m.stars)
                         if len(n.split()) >= 2)

    def own_videos(self) -> dict:
        """The user's own videos ({} when there are none, or no way to know them)."""
        return self.videos() if self.videos is not None else {}

    # -- sources ---------------------------------------------------------------------------
    def films_naming(self, phrase: str) -> set[int]:
        """Films whose title holds ``phrase`` ("star wars": the series) or whose tags or
        plot name it ("superheroes" finds films tagged "superhero")."""
        key = phrase.lower().strip()
        if not key:
            return set()
        title = re.compile(rf"\b{re.escape(key)}\b", re.I)
        out = {m.movie_id for m in self.catalog if title.search(m.title)}
        if key.endswith("ies") and len(key) > 4:     # "spies": spy, spies
            stem = re.compile(rf"\b{re.escape(key[:-3])}(?:y|ies?)\b")   # zombies: zombie
        else:
            stem = _stem_pattern(key.rstrip("s").removesuffix("e") if key.endswith("es") else key)
        return out | self._films_matching(stem)

    def films_tagged(self, mood: str) -> set[int]:
        """Films MovieLens users tagged with one of the tags of ``mood`` (moods.toml)."""
        if mood not in self._tagged:
            tags = {t.lower() for t in MOOD_TAGS.get(mood, ())}
            self._tagged[mood] = {m.movie_id for m in self.catalog
                                  if any(t.lower() in tags for t in m.tags)}
        return set(self._tagged[mood])

    def _films_matching(self, pattern: re.Pattern) -> set[int]:
        """The films whose tags, plot, studio or "superhero" (``_film_texts``) ``pattern``
        finds."""
        hits = {i for i, text in self._film_texts().items() if pattern.search(text)}
        if " " in pattern.pattern or pattern.search(self._extra_words):
            hits |= {i for i, text in self._film_extras().items() if pattern.search(text)}
        return hits

    def _film_texts(self) -> dict[int, str]:
        """Each film's tags and plot, lowercased, built once. Not the title: "films about
        dogs" is not Reservoir Dogs. Its studio and "superhero" (``_film_extras``) are
        looked at only for a word they could hold: telling them costs ~25 ms a process."""
        if self._texts is None:
            firsts = self.first_names
            # a tag that is a person's name says who, not what: "Rob Zombie" is no zombie film
            self._texts = {m.movie_id: " ".join([*(t for t in m.tags
                                                   if not _names_someone(t, firsts)),
                                                 m.overview or ""]).lower()
                           for m in self.catalog}
        return self._texts

    @functools.cached_property
    def _extra_words(self) -> str:
        """Every word a film's extras can hold (a query word that none of them matches
        needs no extras)."""
        return " ".join([*(s.name for s in LEX.studios), "superhero"]).lower()

    def _film_extras(self) -> dict[int, str]:
        """The studios that made a film and "superhero" for a superhero film, lowercased
        (the films that have any)."""
        if self._extras is None:
            self._extras = {}
            for m in self.catalog:
                words = [*_studios_of(m), *(["superhero"] if _is_superhero(m) else [])]
                if words:
                    self._extras[m.movie_id] = " ".join(words).lower()
        return self._extras

    def names_subject(self, query: str) -> bool:
        """Whether any film's tags or plot (or year, studio, mood) name what ``query`` asks;
        True when its words are too common to tell ("a boy")."""
        return not _query_words(query) or bool(self._keyword(query))

    def _keyword(self, query: str) -> list[int]:
        """Films whose title, tags or overview name the most of the query's words (a word
        and its endings: "zombie" finds "zombies", "zombie-filled"), best known first: the
        embedding search misses some ("a zombie comedy" ranks Zombieland 15th). The last
        few queries' answers are kept: a turn asks for one twice (the note, the source)."""
        if query not in self._keyword_seen:
            if len(self._keyword_seen) >= 32:
                self._keyword_seen.clear()
            self._keyword_seen[query] = self._keyword_scan(query)
        return self._keyword_seen[query]

    def _keyword_scan(self, query: str) -> list[int]:
        words = _query_words(query)
        era = _era_asked(query)
        if era:     # "a silent film": by its year (and tags), not "Jay and Silent Bob"
            rank = {i: r for r, i in enumerate(self.popular())}
            # not through the words: "a silent assassin" is no silent film
            return sorted((m.movie_id for m in self.catalog if era in _eras_of(m)),
                          key=lambda i: (rank.get(i, 10**9), i))
        moods = {MOOD_WORDS[w] for w in words if w in MOOD_WORDS}
        if moods and _mood_only(query):   # "a sad movie": the films tagged with the mood's words
            rank = {i: r for r, i in enumerate(self.popular())}
            return sorted((m.movie_id for m in self.catalog if any(
                _MOOD_PATTERNS[k].search(t) for k in moods for t in m.tags)),
                key=lambda i: (rank.get(i, 10**9), i))
        if not words:
            return []
        pats = [_stem_pattern(w) for w in dict.fromkeys(words)]
        hits: dict[int, int] = {}
        for p in pats:      # a film counts each word once, in its text or in its extras
            for item in self._films_matching(p):
                hits[item] = hits.get(item, 0) + 1
        if not hits:
            return []
        best = max(hits.values())
        rank = {i: r for r, i in enumerate(self.popular())}
        return sorted((i for i, n in hits.items() if n == best),
                      key=lambda i: (rank.get(i, 10**9), i))

    def _mf(self, liked, disliked=()) -> list[int]:
        liked = [i for i in liked if i in self.corate.item_index]
        if not liked:
            return []
        return [c.item_id for c in self.ranker.recommend_for_items(liked, disliked, n=POOL)]

    def _user(self, user_id: int) -> list[int]:
        return [c.item_id for c in self.ranker.recommend(user_id, n=POOL)]

    def popular(self) -> list[int]:
        if self._popular is None:
            c = self.corate
            score = c.quality * np.log1p(c.rating_counts)
            # every rated film: a narrow ask ("a comedy under 90 minutes from 2000 on, none
            # of these") reaches films with a few ratings instead of saying nothing fits
            order = np.argsort(-score, kind="stable")
            self._popular = [int(c.item_ids[i]) for i in order]
        return self._popular

    def _search(self, query: str, cons: Constraints, exclude: set[int],
                about: dict[str, float] | None = None, lang: str = "en"):
        """The search's films for the ask's description, mixed with the descriptions said
        earlier in the conversation (``about``: text -> faded weight) as one query vector:
        each text's vector times its weight, the newest at 1."""
        about = {t: w for t, w in (about or {}).items() if t != query and w > 0} \
            if _TUNE.get("about", "1") != "0" else {}
        if not (query or about) or self.searcher is None:
            return [], {}
        from recbot.retrieval.search import SearchFilters

        single = tuple(g[0] for g in cons.genres if len(g) == 1)
        filters = SearchFilters(genres=single, year_min=cons.year_min, year_max=cons.year_max,
                                exclude=frozenset(exclude))
        from recbot.retrieval.errors import RetrievalError

        if lang != "en":
            if self.multilingual is None or not query:
                return [], {}
            try:    # the ask alone: earlier descriptions were embedded by the English model
                hits = self.multilingual().search(query, k=100, filters=filters)
            except RetrievalError:
                return [], {}
            hits = self._known_first(hits)
            return [h.movie_id for h in hits], {h.movie_id: h for h in hits}
        try:
            searcher = self.searcher()
            if about and hasattr(searcher, "search_vector") and hasattr(searcher, "embedder"):
                texts = [*([query] if query else []), *about]
                weights = np.array([*([1.0] if query else []), *about.values()], dtype=np.float32)
                vec = (self._vectors(searcher.embedder, texts) * weights[:, None]).sum(axis=0)
                vec /= max(float(np.linalg.norm(vec)), 1e-12)
                hits = searcher.search_vector(vec, " ".join(texts), k=100, filters=filters)
            else:
                hits = searcher.search(query or " ".join(about), k=100, filters=filters)
        except RetrievalError:
            return [], {}   # no semantic search this turn: the other sources still answer
        share = float(_TUNE.get("fuse_use", FUSE_USE))
        if share > 0 and query and self.multilingual is not None:
            try:     # the multilingual embedder's view of the same words, fused by score
                hits = fuse_scores(hits, self.multilingual().search(query, k=100,
                                                                    filters=filters), share)
            except RetrievalError:
                pass
        return [h.movie_id for h in hits], {h.movie_id: h for h in hits}

    def _known_first(self, hits: list) -> list:
        """The multilingual search's hits with a film few people rated moved down: its
        similarity less ``KNOWN_FIRST`` times how far its ratings are from confident. A
        film with nothing but genres for text matches a short description as well as a
        well-known one with tags, and the chat sources that lift well-known films in
        English do not read Chinese or Spanish."""
        tau = float(_TUNE.get("known_first", KNOWN_FIRST))
        if tau <= 0 or not hits:
            return hits
        confident = np.log1p(float(_TUNE.get("confident", CONFIDENT_RATINGS)))
        pop = self.catalog.popularity

        def score(h) -> float:
            return h.score - tau * (1.0 - min(1.0, np.log1p(pop.get(h.movie_id, 0)) / confident))
        return sorted(hits, key=lambda h: (-score(h), h.movie_id))

    def _vectors(self, embedder, texts: list[str]) -> np.ndarray:
        """The texts' vectors; a description carried from earlier turns is embedded once, not
        at every gather of every turn that carries it."""
        cache = self._text_vectors
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            if len(cache) + len(todo) > 64:      # bounded: keep only what this call needs
                keep = {t: cache[t] for t in texts if t in cache}
                cache.clear()
                cache.update(keep)
            cache.update(zip(todo, embedder.embed(todo), strict=True))
        return np.stack([cache[t] for t in texts])

    def spoken(self, text: str, cons: Constraints, exclude: set[int]):
        """The search for ``text`` when the user has ingested videos (their transcripts are
        searched with the catalog), else nothing; the last few searches are kept (a turn
        may gather again with the same filters: "why #2?", "why not X?")."""
        from recbot.retrieval.errors import RetrievalError

        try:
            live = getattr(self.searcher(), "live_sources", None)   # (an injected searcher
            if live is None or not live():                          # may search no videos)
                return [], {}
        except RetrievalError:
            return [], {}
        key = (text, repr(cons), frozenset(exclude))
        if key not in self._spoken:
            if len(self._spoken) >= 8:
                self._spoken.clear()
            self._spoken[key] = self._search(text, cons, exclude)
        return self._spoken[key]

    # -- the pipeline ----------------------------------------------------------------------
    def gather(self, req: Request, pool: int = 20) -> list[Candidate]:
        """The best ``pool`` candidates, fused, filtered, diversified, with evidence."""
        fused, ranks, found = self._fuse(req)
        return self._finish(req, fused, ranks, found, pool)

    def place(self, req: Request, item: int) -> tuple[int | None, dict[str, int], int]:
        """Where ``item`` ranks for ``req`` before diversity (1-based; None when no signal
        reaches it or a constraint keeps it out), the sources that found it with its rank
        in each, and how many films were ranked."""
        fused, ranks, _ = self._fuse(req)
        scored = self._score(req, fused, list(fused))
        order = sorted(scored, key=lambda i: (-scored[i], i))
        pos = order.index(item) + 1 if item in scored else None
        return pos, ranks.get(item, {}), len(order)

    def _score(self, req: Request, fused: dict[int, float], items) -> dict[int, float]:
        """Fused scores with the genre nudge and, for a generic ask, the user's taste."""
        seeds = [m for m in (self.catalog.get(s) for s in req.seeds) if m]
        scored = {i: fused[i] * self._nudge(i, seeds, req.constraints.soft) for i in items}
        if req.prefer_genres:   # genres said earlier in the chat: a nudge, not a filter
            scored = {i: s * self._lean(req.prefer_genres, self.catalog[i].genres)
                      for i, s in scored.items()}
        if req.away:    # films of what was kept out earlier: leaned away from, not filtered
            down = float(_TUNE.get("avoid_carried", AVOID_CARRIED))
            scored = {i: s * down ** req.away[i] if i in req.away else s
                      for i, s in scored.items()}
        if req.prefer_years:    # years asked for earlier: a nudge too
            lo, hi, w = req.prefer_years
            up = float(_TUNE.get("prefer_era", PREFER_ERA)) ** w
            scored = {i: s * (up if in_era(self.catalog[i].year, lo, hi) else 1.0)
                      for i, s in scored.items()}
        if not req.seeds and not req.query and len(req.likes) >= TASTE_LIKES:
            scored = self._taste(scored, req.likes)
        return scored

    @staticmethod
    def generic(req: Request) -> bool:
        """An ask that says nothing of what is wanted ("Recommend me a good movie"): no film,
        like, description, person, genre, kept-out film or earlier lean. Years and a runtime
        only bound it ("a good movie from after 2010" wants well-loved films of those years)."""
        c = req.constraints
        return not (req.seeds or req.likes or req.query or req.about or req.only is not None
                    or req.boost or req.user_id is not None or req.prefer_genres or req.carried
                    or req.prefer_years
                    or c.genres or c.exclude_genres or c.soft or c.exclude_ids)

    @staticmethod
    def _specific(talk: list[int], crowd: list[int] | None) -> float:
        """How specific the chats nearest to what was said are: the share of their first
        ``SPEC_DEPTH`` films that are not among the chats' overall favourites. "Can you
        recommend a good movie?" is near seekers who were offered the favourites of 2018
        (specificity about 0.1): their vote is the crowd's, not an answer to this user."""
        if not crowd:
            return 1.0
        top = set(crowd[:SPEC_DEPTH])
        head = talk[:SPEC_DEPTH]
        return (sum(1 for i in head if i not in top) / len(head)) if head else 1.0

    @staticmethod
    def _lean(lean: dict[str, float], genres) -> float:
        """The multiplier of a film of ``genres`` under a genre lean ({genre: signed weight}):
        its most wanted genre raises it (x PREFER_GENRE at weight 1), its most avoided one
        lowers it (x AVOID_GENRE at weight -1)."""
        ws = [lean[g] for g in genres if g in lean]
        if not ws:
            return 1.0
        up = float(_TUNE.get("prefer_genre", PREFER_GENRE)) ** max(0.0, max(ws))
        down = float(_TUNE.get("avoid_genre", AVOID_GENRE)) ** max(0.0, -min(ws))
        return up * down

    def _fuse(self, req: Request, depth: int = 300):
        lists, found = self._sources(req)
        fused, ranks = self._combine(req, lists, self._weights(req, lists), depth)
        if (req.topic or _mood_only(req.query)) and (lists.get("search") or lists.get("keyword")):
            # "a movie about dogs": a film the search does not place near the subject, nor
            # names it in its tags or overview, is no answer, however often chats suggest it
            hits = lists.get("search", [])[:TOPIC_DEPTH]
            top = max((found.hits[i].score for i in hits if i in found.hits), default=0.0)
            named = lists.get("keyword", [])
            # the search's first hits count as near only while few films name the subject:
            # with 10+ that do, "a chess movie" needs no Psycho
            first = set(hits[:TOPIC_MIN]) if len(named) < TOPIC_NAMED else set()
            near = first | {i for i in hits if i in found.hits
                            and found.hits[i].score >= TOPIC_REL * top}
            near |= set(named[:TOPIC_DEPTH * 4])
            studio = {_STUDIO_WORDS[w] for w in req.query.lower().split() if w in _STUDIO_WORDS}
            if (studio or _era_asked(req.query)) and len(lists.get("keyword", [])) >= 5:
                near = set(lists["keyword"])    # who made it, or when: nothing "near" counts
            fused = {i: s * (1.0 if i in near else TOPIC_OFF) for i, s in fused.items()}
        return fused, ranks, found

    def _sources(self, req: Request) -> tuple[dict[str, list[int]], Found]:
        """Each registered source's ranked list for ``req`` (a source with nothing to say
        for this ask gives none), and what the search and the chats found about each film."""
        lists: dict[str, list[int]] = {}
        found = Found()
        for source in registry.SOURCES:
            got = source.collect(self, req, found, lists)
            if got is not None:
                lists[source.name] = got
        return lists, found

    @staticmethod
    def _weights(req: Request, lists: dict[str, list[int]]) -> dict[str, float]:
        weights = registry.weights()
        if not req.seeds and "profile" in lists and not req.query:
            weights["profile"] = 1.0
        if req.query and not req.seeds and not lists.get("search"):
            weights["popular"] = 0.5   # no semantic index: fall back on well-liked films
        if not req.seeds and not req.query and "profile" not in lists:
            weights["popular"] = 0.1   # a generic ask: what chats suggest, then well-liked films
        if req.seeds and (req.similar or _TUNE.get("loved_similar") == "1"):
            # "something like X": X's neighbours lead; what chats suggest after X barely joins
            # (tried for "I loved X" too, RECBOT_TUNE=loved_similar=1: a newcomer's two Wes
            # Anderson films got Interstellar, The Avengers, Guardians of the Galaxy without
            # it. ReDial learn folds, novel R@10 (a)/(b): fold 1 0.118/0.100 -> 0.116/0.102,
            # fold 2 0.112/0.098 -> 0.113/0.099; but the measure part 0.116/0.097 ->
            # 0.109/0.091 and INSPIRED covered 0.067/0.059 -> 0.067/0.067: not kept)
            weights["popular"], weights["chat_popular"], weights["chat"] = SIMILAR_MIX
        if req.quality:
            weights["popular"] = max(weights["popular"], 0.6)
        for name, w in _TUNE.items():
            if name in weights:
                weights[name] = float(w)
        generic = CandidateGenerator.generic(req)
        if "chat_talk" in lists and (generic or float(_TUNE.get("talk_spec", TALK_SPEC))):
            weights["chat_talk"] *= CandidateGenerator._specific(lists["chat_talk"],
                                                                 lists.get("chat_popular"))
        if generic and float(_TUNE.get("generic", 1)):
            # nothing said of what is wanted: well-loved, well-known films (the MovieLens
            # list) lead; the chats' favourites of 2018 only break ties
            weights["popular"] = float(_TUNE.get("generic_popular", GENERIC_MIX[0]))
            weights["chat_popular"] = float(_TUNE.get("generic_chat_popular", GENERIC_MIX[1]))
        if req.lang != "en" and req.query:
            # a description in Chinese or Spanish: only the multilingual search reads it (the
            # chats' and keyword sources read English), so the chats' 2018 favourites only
            # break ties, as for an ask that says nothing (not tuned: set by that reasoning)
            weights["chat_popular"] = min(weights["chat_popular"], 0.1)
        if "search" in lists and not req.query:   # only descriptions carried from before
            weights["search"] *= max(req.about.values(), default=0.0)
        if "carried" in lists:   # as strong as the strongest film carried from earlier turns
            weights["carried"] *= max((w for w in req.carried.values() if w > 0), default=0.0)
        return weights

    def _combine(self, req: Request, lists: dict[str, list[int]], weights: dict[str, float],
                 depth: int = 300) -> tuple[dict[int, float], dict[int, dict[str, int]]]:
        """Weighted reciprocal-rank fusion of the lists, constraints and exclusions applied."""
        blocked = set(req.exclude) | set(req.seeds) | set(req.dislikes) | set(req.likes)
        by_name = {s.name: s for s in registry.SOURCES}
        # within the ask: the profile, films carried from earlier turns, and the chat sources
        # when only the user's likes (no film of this ask) feed them
        within_ask = {s.name for s in registry.SOURCES if s.within_ask}
        if not req.seeds:
            within_ask |= LIKES_DRIVEN
        asked = None
        if req.query or req.seeds:     # what the ask itself found, for within_ask sources
            depth_asked = int(_TUNE.get("ask_depth", ASK_DEPTH))
            asked = {i for name, items in lists.items() if name in by_name and not (
                by_name[name].generic or name in within_ask) for i in items[:depth_asked]}
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for source, items in lists.items():
            w = weights[source]
            kept = 0
            within = asked is not None and source in within_ask
            for item in items:
                if item in blocked or (within and item not in asked):
                    continue
                movie = self.catalog.get(item)
                if movie is None or not req.constraints.allows(movie):
                    continue
                if req.only is not None and item not in req.only:
                    continue
                kept += 1
                fused[item] = fused.get(item, 0.0) + w / (RRF_K + kept)
                ranks.setdefault(item, {})[source] = kept
                if kept >= depth:
                    break
        return fused, ranks

    def _finish(self, req: Request, fused, ranks, found: Found, pool: int) -> list[Candidate]:
        seeds = [m for m in (self.catalog.get(s) for s in req.seeds) if m]
        top = sorted(fused, key=lambda i: (-fused[i], i))[: max(pool * 4, 60)]
        scored = self._score(req, fused, top)
        explained = None
        if req.likes and req.user_id is None:
            explained = self.ranker.explain_many(
                req.likes, [i for i in top if "profile" in ranks[i]], n=2)
        cands = {}
        for item in top:
            movie = self.catalog[item]
            cand = Candidate(item, movie.title, movie.year, tuple(movie.genres), 0.0, ranks[item])
            cand.facts = self.facts(cand, req, seeds, found.hits.get(item), explained,
                                    found.quotes.get(item))
            cands[item] = cand
        bare = float(_TUNE.get("bare", BARE))
        if bare != 1.0:
            scored = {i: s * (1.0 if any(f.kind in SPECIFIC for f in cands[i].facts) else bare)
                      for i, s in scored.items()}
        order = self._diversify(sorted(scored, key=lambda i: (-scored[i], i)), scored, pool)
        order = self._each_alternative(order, req.constraints.genres)
        order = self._rated_first(order, req)
        best = max(scored.values(), default=1.0) or 1.0
        out = []
        for item in order:
            cand = cands[item]
            cand.score = round(scored[item] / best, 4)
            cand.info = self.card(self.catalog[item])
            out.append(cand)
        return out

    def _ratings(self, item: int) -> int:
        col = self.corate.item_index.get(item)
        return int(self.corate.rating_counts[col]) if col is not None else 0

    def _rated_first(self, order: list[int], req: Request) -> list[int]:
        """``order`` with a well-rated film first: when the first film the user would see has
        fewer than FIRST_PICK_MIN ratings (Jumanji: Welcome to the Jungle, 6, leads what the
        2018 chat crowd suggested), the next of the top 5 that has them takes its place and
        it goes second. A person's or a series' films, and the user's own videos, stay."""
        if req.only is not None:
            return order
        blocked = set(req.exclude) | set(req.seeds) | set(req.dislikes)
        shown = [i for i in order if i not in blocked][:5]
        if not shown or shown[0] >= USER_ITEM_BASE or self._ratings(shown[0]) >= FIRST_PICK_MIN:
            return order
        known = next((i for i in shown[1:] if i < USER_ITEM_BASE
                      and self._ratings(i) >= FIRST_PICK_MIN), None)
        if known is None:
            return order
        out = [i for i in order if i != known]
        out.insert(out.index(shown[0]), known)
        return out

    def _taste(self, scored: dict[int, float], likes: list[int]) -> dict[int, float]:
        """A generic ask from someone whose likes say something (an imported history): films
        of the genres they like most move up. The MF fold-in alone leans to what everybody
        watched: 46 horror favourites gave 2 horror films in 10."""
        counts: dict[str, int] = {}
        liked = [self.catalog[m] for m in likes if m in self.catalog]
        for movie in liked:
            for g in movie.genres:
                counts[g] = counts.get(g, 0) + 1
        share = {g: n / len(liked) for g, n in counts.items()} if liked else {}
        out = {}
        for item, s in scored.items():
            affinity = max((share.get(g, 0.0) for g in self.catalog[item].genres), default=0.0)
            out[item] = s * (TASTE_FLOOR + affinity)
        return out

    def card(self, movie) -> dict:
        """What a card shows before any reason: year, runtime, ratings, and a line: the
        plot's first sentence when plot text is known (``recbot data enrich``), else who
        is in it (what is known; missing fields are left out, never guessed)."""
        info: dict = {}
        if movie.year:
            info["year"] = movie.year
        if movie.runtime_min:
            info["runtime_min"] = movie.runtime_min
        col = self.corate.item_index.get(movie.movie_id)
        if col is not None and self.corate.rating_counts[col]:
            info["ml_mean"] = float(self.corate.means[col])   # (rounded once, where shown)
            info["ml_count"] = int(self.corate.rating_counts[col])
        if movie.imdb_rating:
            info["imdb_rating"] = movie.imdb_rating
        if movie.overview and not looks_like_instructions(movie.overview):
            info["line"] = first_sentence(movie.overview)
        elif movie.stars:   # (the director is a reason's fact often enough to leave out)
            info["line"] = tr("With {names}.", names=join(movie.stars[:3]))
        video = self.own_videos().get(movie.movie_id)
        if video is not None and video.descriptors is not None:
            info["sound_picture"] = video.descriptors.as_dict()
        if current() != "en":
            info["lang"] = current()      # the card's own words follow the answer's language
        return info

    def _nudge(self, item: int, seeds, soft: list[str]) -> float:
        movie = self.catalog[item]
        g = set(movie.genres)
        factor = 1.0
        if seeds:
            sg = set().union(*(s.genres for s in seeds))
            if sg:
                factor *= 0.75 + 0.5 * len(g & sg) / len(g | sg)   # share genre and tone
        if CritiqueKind.LIGHTER in soft:
            factor *= 1.3 if g & {"Comedy", "Animation", "Children"} else 1.0
            factor *= 0.7 if g & {"Thriller", "Crime", "War", "Horror"} else 1.0
        if CritiqueKind.DARKER in soft:
            factor *= 1.3 if g & {"Thriller", "Crime", "Film-Noir", "Horror"} else 1.0
            factor *= 0.7 if g & {"Children", "Animation"} else 1.0
        if item >= USER_ITEM_BASE:
            return factor    # the user's own video: it has no ratings, and needs none
        pop = self.catalog.popularity.get(item, 0)
        if self.prior is not None:   # a film people keep suggesting in chats is well known
            pop += float(_TUNE.get("chat_support", CHAT_SUPPORT)) * self.prior.suggested.get(item, 0)
        if CritiqueKind.LESS_POPULAR not in soft:
            # confidence: a film few people rated is no first pick ("hidden gems" lift this)
            confident = float(_TUNE.get("confident", CONFIDENT_RATINGS))
            factor *= min(1.0, (np.log1p(pop) / np.log1p(confident)) ** 1.5)
        if CritiqueKind.MORE_POPULAR in soft:
            factor *= 1.0 + min(pop, 300) / 300
        if CritiqueKind.LESS_POPULAR in soft:
            factor *= 1.5 if 5 <= pop <= 60 else 0.8
        return factor

    def _diversify(self, ranked: list[int], scored: dict[int, float], pool: int) -> list[int]:
        """Greedy: a film from a franchise already picked, or with exactly the genres of
        two picks, waits behind the rest (the list stays varied, nothing is dropped) -- but
        not behind films scoring less than half of it ("a comedy about a wedding": the third
        wedding comedy before a comedy about nothing of the kind)."""
        picked: list[int] = []
        later: list[int] = []
        franchises: dict[str, int] = {}
        genre_sets: dict[tuple[str, ...], int] = {}
        for item in ranked:
            while later and scored[later[0]] * DIVERSE_MIN > scored[item] \
                    and len(picked) < pool:
                picked.append(later.pop(0))
            if len(picked) >= pool:
                break
            movie = self.catalog[item]
            fr = _SEQUEL.sub("", movie.title.lower()).strip()
            gs = tuple(sorted(movie.genres))
            if franchises.get(fr, 0) >= 1 or genre_sets.get(gs, 0) >= 2:
                later.append(item)
                continue
            picked.append(item)
            franchises[fr] = franchises.get(fr, 0) + 1
            genre_sets[gs] = genre_sets.get(gs, 0) + 1
            if len(picked) >= pool:
                break
        return (picked + later)[:pool]

    def _each_alternative(self, order: list[int], groups: list[list[str]]) -> list[int]:
        """"Westerns or war films": the best film of each alternative leads the list, so an
        either-or ask does not read as one genre."""
        leaders: list[int] = []
        for group in groups:
            if len(group) < 2:
                continue
            for genre in group:
                best = next((i for i in order if genre in self.catalog[i].genres), None)
                if best is not None and best not in leaders:
                    leaders.append(best)
        if not leaders:
            return order
        leaders.sort(key=order.index)
        return leaders + [i for i in order if i not in leaders]

    # -- evidence --------------------------------------------------------------------------
    def facts(self, cand: Candidate, req: Request, seeds, hit=None,
              explained: dict | None = None, quote: str | None = None) -> list[Fact]:
        """What each source vouches for (``Source.evidence``), then what the catalog says;
        a film with no strong reason gets its ratings, when enough people rated it."""
        facts: list[Fact] = []
        clues = Clues(seeds, hit, explained, quote)
        for source in registry.SOURCES:
            if source.evidence is not None:
                source.evidence(self, cand, req, clues, facts)
        movie = self.catalog[cand.movie_id]
        facts += catalog_facts(movie, seeds)
        if not any(f.kind in STRONG for f in facts):
            c = self.corate
            col = c.item_index.get(cand.movie_id)
            if col is not None and c.rating_counts[col] >= MIN_SUPPORT:
                n, mean = int(c.rating_counts[col]), float(c.means[col])
                # "well liked" only where the ratings say so: many raters, a good average
                if n >= WELL_LIKED[0] and mean >= WELL_LIKED[1]:
                    facts.append(fact(FactKind.POPULAR, N_("well liked: rated by {n} people, "
                                                           "average {mean:.1f} of 5"),
                                      n=n, mean=mean))
                else:
                    facts.append(fact(FactKind.POPULAR, N_("rated by {n} people, average "
                                                           "{mean:.1f} of 5"), n=n, mean=mean))
        return facts


def fuse_scores(first: list, second: list, share: float) -> list:
    """Two searches' hits as one list by ``(1 - share) * first + share * second`` of their
    similarities; a film only one search found gets the other's lowest score it returned.
    The first search's hits (with their transcript evidence) are kept."""
    import dataclasses

    if not second:
        return first
    if not first:
        return second
    a = {h.movie_id: h for h in first}
    b = {h.movie_id: h for h in second}
    floor_a, floor_b = min(h.score for h in first), min(h.score for h in second)
    fused = []
    for m in {**a, **b}:
        score = (1 - share) * (a[m].score if m in a else floor_a) + \
            share * (b[m].score if m in b else floor_b)
        fused.append(dataclasses.replace(a.get(m) or b[m], score=score))
    return sorted(fused, key=lambda h: (-h.score, h.movie_id))
