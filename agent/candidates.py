"""Candidates for one turn: gathered from MF and semantic search, fused, constrained,
diversified, each with its evidence.

Sources (each a ranked list): ``similar`` — MF fold-in from the movies the user named
("like X"); ``profile`` — MF fold-in from the session's likes and dislikes (or a MovieLens
user); ``search`` — semantic search over catalog documents and transcripts for
descriptive asks; ``popular`` — well-rated, often-rated films, so strict constraints
still leave something. Lists are fused by weighted reciprocal rank, then nudged by
genre overlap with the seeds and by critiques ("lighter", "more popular").
"""

from __future__ import annotations

import functools
import os
import re
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np

from .cards import first_sentence
from .intent import MOOD_TAGS, MOOD_WORDS
from .lexicon import lexicon
from .evidence import (
    MIN_LIFT,
    MIN_SUPPORT,
    SPECIFIC,
    CoRatings,
    Fact,
    catalog_facts,
    co_rating_text,
    looks_like_instructions,
)

LEX = lexicon()
COMMON_WORDS = LEX.words("words.common")
RRF_K = 60
if os.environ.get("RECBOT_TUNE"):   # benchmark sweeps only: "name=w,name=w"
    _TUNE = dict(kv.split("=") for kv in os.environ["RECBOT_TUNE"].split(","))
else:
    _TUNE = {}
CONFIDENT_RATINGS = 25   # ratings from which a film's support counts in full
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
def _query_words(query: str) -> list[str]:
    """The words of an ask the tags-and-plot keyword source matches."""
    return [w for w in re.findall(r"[a-z][a-z'-]{2,}", query.lower())
            if w not in _QUERY_STOP and w not in _SHORT_STOP]


_ERA_SILENT = LEX.re("subjects.era_silent")
_ERA_BW = LEX.re("subjects.era_black_and_white")


def _era_asked(query: str) -> str | None:
    """"silent", "black and white" as the whole ask ("a silent film"), not "a silent
    assassin" or "black and white friendship"."""
    low = " ".join(w for w in query.lower().split() if w not in COMMON_WORDS or w in (
        "black", "white"))
    if _ERA_SILENT.fullmatch(low):
        return "silentfilm"
    if _ERA_BW.fullmatch(low):
        return "blackandwhitefilm"
    return None


def _mood_only(query: str) -> bool:
    """"sad", "mind-bending": a mood the tags know and the search does not (MiniLM scores a
    lone mood word 0.13-0.19 against everything)."""
    words = query.lower().split()
    return any(w in MOOD_WORDS for w in words) and all(
        w in MOOD_WORDS or w in COMMON_WORDS or w in _PLAIN for w in words)


def _singular(word: str) -> str:
    """One plural "s" off: "dogs" -> "dog", "chess" and "boss" stay."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _stem_pattern(word: str) -> re.Pattern:
    """A word and its endings: "zombies" / "zombie" find "zombie-filled", "superheroes"
    finds "superhero"."""
    stem = _singular(word)
    if len(stem) <= 3:      # "dog" finds "dogs", not "dogma"
        return re.compile(rf"\b{re.escape(stem)}s?\b")
    return re.compile(rf"\b{re.escape(stem)}")


_SUPERHERO_TITLE = LEX.re("subjects.superhero_title")   # see subjects.toml
_SUPERHERO_TAG = LEX.re("subjects.superhero_tag")
_HERO_GENRES = LEX.words("subjects.hero_genres")
_NOT_SUPERHERO = LEX.re("subjects.not_superhero_title")


def _names_someone(tag: str, firsts: frozenset[str]) -> bool:
    """A tag that reads as a person's name: a first name some catalog person has, then one
    or two capitalised words ("Rob Zombie", "Samuel L. Jackson"; not "World War II")."""
    parts = tag.split()
    return 2 <= len(parts) <= 3 and parts[0] in firsts and all(w[:1].isupper() for w in parts[1:])


# A studio is who made a film, which no plot says: studios.toml lists its films' titles and
# directors; a one-word alias in an ask ("pixar", "ghibli") names the studio.
_STUDIO_WORDS = {a: name for a, name in LEX.studio_words.items() if " " not in a}


def _studios_of(movie) -> list[str]:
    if "Animation" not in movie.genres:
        return []
    return [s.name for s in LEX.studios
            if s.titles.search(movie.title) or s.directors & set(movie.directors)
            or any(s.name.split()[-1] in t.lower() for t in movie.tags)]


def _eras_of(movie) -> list[str]:
    """"a silent film", "black and white movies": what a film's year says of how it was made
    (sound came in 1927-29; colour features in 1935), and the tags, as one token each."""
    year = movie.year or 9999
    out = ["silentfilm"] if year <= 1928 and "Animation" not in movie.genres else []
    # three-strip colour features begin in 1935: before, a film is black and white
    if (year <= 1934 and "Animation" not in movie.genres) or any(
            "black and white" in t.lower() for t in movie.tags):
        out.append("blackandwhitefilm")
    return out


def _is_superhero(movie) -> bool:
    title, year = movie.title, movie.year or 0
    if _NOT_SUPERHERO.search(title) and year < 2005:    # the 1998 spy film, kung fu
        return False
    return (bool(_SUPERHERO_TITLE.search(title)) and bool(_HERO_GENRES & set(movie.genres))
            and year >= 1970 and "mockumentary" not in title.lower()) or any(
        _SUPERHERO_TAG.search(t) for t in movie.tags)


_MOOD_PATTERNS = {k: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in v) + r")\b", re.I)
                  for k, v in MOOD_TAGS.items()}
_SHORT_STOP = LEX.words("explain.short_stop")
_QUERY_STOP = LEX.words("explain.query_stop")
WEIGHTS = {"keyword": 1.0, "similar": 1.0, "profile": 0.3, "search": 1.0, "popular": 0.05, "chat": 1.0,
           "chat_popular": 1.0, "chat_similar": 1.0, "chat_talk": 1.5}
VIOLENT = tuple(LEX.word_list("subjects.violent_genres"))
_VIOLENT_TAGS = LEX.re("subjects.violent_tags")
TASTE_LIKES = 5      # likes from which a generic ask leans to the user's genres
TASTE_FLOOR = 0.5    # a film of none of them keeps half its score; one of every liked film's, 1.5x
_SEQUEL = LEX.re("titles.sequel_tail")


@dataclass(slots=True)
class Constraints:
    """Hard filters that stay active across follow-ups until a new ask replaces them."""

    genres: list[list[str]] = field(default_factory=list)   # every group: any one genre
    exclude_genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    runtime_max: int | None = None
    runtime_min: int | None = None
    soft: list[str] = field(default_factory=list)             # critiques applied as nudges
    exclude_ids: list[int] = field(default_factory=list)      # films of people to avoid
    avoided: list[str] = field(default_factory=list)   # what they are, in words, for the header

    def allows(self, movie) -> bool:
        if self.exclude_ids and movie.movie_id in self.exclude_ids:
            return False
        g = set(movie.genres)
        if any(not (set(group) & g) for group in self.genres):
            return False
        if g & set(self.exclude_genres):
            return False
        if "less_violent" in self.soft and self._violent(movie):
            return False
        if self.year_min is not None and (movie.year is None or movie.year < self.year_min):
            return False
        if self.year_max is not None and (movie.year is None or movie.year > self.year_max):
            return False
        rt = movie.runtime_min
        if (self.runtime_max is not None or self.runtime_min is not None) and rt is None:
            return False    # a runtime bound needs a known runtime: never a guess
        if self.runtime_max is not None and rt > self.runtime_max:
            return False
        return not (self.runtime_min is not None and rt < self.runtime_min)

    def _violent(self, movie) -> bool:
        """"Less violent": MovieLens tags of violence, or an Action film unless Action was
        asked for (a nudge let the chats' action favourites back in: they outscore the
        rest many times over)."""
        asked = {x for group in self.genres for x in group}
        return bool(_VIOLENT_TAGS.search(" ".join(movie.tags).lower())) or (
            "Action" in movie.genres and "Action" not in asked)

    def why_not(self, movie) -> str | None:
        """The constraint that excludes ``movie``, in words, or None."""
        g = set(movie.genres)
        for group in self.genres:
            if not set(group) & g:
                return f"you asked for {' or '.join(group)}"
        bad = sorted(g & set(self.exclude_genres))
        if bad:
            if "less_violent" in self.soft and set(bad) <= set(VIOLENT):
                return f"you asked for something less violent, so no {' or '.join(bad)}"
            return f"you asked for no {', '.join(bad)}"
        if "less_violent" in self.soft and self._violent(movie):
            return "you asked for something less violent" + (
                ", and its tags speak of violence" if _VIOLENT_TAGS.search(
                    " ".join(movie.tags).lower()) else ", and it is an Action film")
        if self.year_min is not None and (movie.year or 0) < self.year_min:
            return f"you asked for nothing before {self.year_min}"
        if self.year_max is not None and (movie.year or 9999) > self.year_max:
            return f"you asked for nothing after {self.year_max}"
        if (self.runtime_max or self.runtime_min) and not movie.runtime_min:
            return "the catalog doesn't know its runtime, and you asked for a length"
        if movie.runtime_min and self.runtime_max and movie.runtime_min > self.runtime_max:
            return f"it runs {movie.runtime_min} min, longer than the {self.runtime_max} you asked for"
        if movie.runtime_min and self.runtime_min and movie.runtime_min < self.runtime_min:
            return f"it runs {movie.runtime_min} min, shorter than the {self.runtime_min} you asked for"
        return None

    def is_empty(self) -> bool:
        return not (self.genres or self.exclude_genres or self.year_min or self.year_max
                    or self.runtime_max or self.runtime_min or self.soft or self.exclude_ids)

    def describe(self) -> str:
        parts = [" or ".join(g) for g in self.genres]
        parts += [f"no {g}" for g in self.exclude_genres]
        if self.year_min and self.year_max and self.year_min == self.year_max:
            parts.append(f"from {self.year_min}")
        else:
            if self.year_min:
                parts.append(f"from {self.year_min} on")
            if self.year_max:
                parts.append(f"up to {self.year_max}")
        if self.runtime_max:
            parts.append(f"at most {self.runtime_max} min")
        if self.runtime_min:
            parts.append(f"at least {self.runtime_min} min")
        parts += [s.replace("_", " ") for s in self.soft]
        parts += self.avoided
        return ", ".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Constraints:
        d = d or {}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(slots=True)
class Request:
    seeds: list[int] = field(default_factory=list)
    likes: list[int] = field(default_factory=list)
    dislikes: list[int] = field(default_factory=list)
    exclude: set[int] = field(default_factory=set)     # seen, disliked, already shown
    user_id: int | None = None
    query: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    k: int = 5
    only: set[int] | None = None      # pick only from these (a person's films)
    people: list[str] = field(default_factory=list)
    quality: bool = False             # "the best ...": well-rated first
    boost: list[int] = field(default_factory=list)   # films of people named in passing
    similar: bool = False             # "like X" (item similarity) rather than "I loved X"
    talk: str = ""                    # what the user said in this chat (newest messages)
    topic: bool = False               # the query says what the film is about ("about dogs")


@dataclass(slots=True)
class Found:
    """What the sources found about single films: search hits, and the real seekers' words
    behind a chat suggestion."""

    hits: dict = field(default_factory=dict)
    quotes: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Candidate:
    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    score: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)    # source -> rank (1-based)
    facts: list[Fact] = field(default_factory=list)
    explanation: str = ""
    explained_by: str = "template"
    info: dict = field(default_factory=dict)    # card fields: year, runtime, ratings, line

    def label(self) -> str:
        return self.title if self.year is None else f"{self.title} ({self.year})"


class CandidateGenerator:
    def __init__(self, catalog, ranker, corate: CoRatings, searcher=None, prior=None,
                 conversations=None) -> None:
        self.catalog = catalog
        self.ranker = ranker
        self.corate = corate
        self.searcher = searcher   # a callable returning a Searcher, loaded on first use
        self.prior = prior         # what people suggest in chats (retrieval.prior.ChatPrior)
        # text -> (films, {film: the real seeker's words that brought it}), or None: what
        # was suggested in real chats to people who said something like this
        self.conversations = conversations
        self._popular: list[int] | None = None
        self._texts: dict[int, str] | None = None
        self._keyword_seen: dict[str, list[int]] = {}

    @functools.cached_property
    def first_names(self) -> frozenset[str]:
        """The first names of the catalog's directors and stars."""
        return frozenset(n.split()[0] for m in self.catalog for n in (*m.directors, *m.stars)
                         if len(n.split()) >= 2)

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
        return out | {i for i, text in self._film_texts().items() if stem.search(text)}

    def _film_texts(self) -> dict[int, str]:
        """Each film's tags and plot, lowercased, built once. Not the title: "films about
        dogs" is not Reservoir Dogs."""
        if self._texts is None:
            # a tag that is a person's name says who, not what: "Rob Zombie" is no zombie film
            self._texts = {m.movie_id: " ".join([*(t for t in m.tags
                                                   if not _names_someone(t, self.first_names)),
                                                 m.overview or "", *_studios_of(m),
                                                 *_eras_of(m), *(
                ["superhero"] if _is_superhero(m) else [])]).lower() for m in self.catalog}
        return self._texts

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
            return sorted((i for i, text in self._film_texts().items() if era in text),
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
        for item, text in self._film_texts().items():
            n = sum(1 for p in pats if p.search(text))
            if n:
                hits[item] = n
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

    def _search(self, query: str, cons: Constraints, exclude: set[int]):
        if not query or self.searcher is None:
            return [], {}
        from recbot.retrieval.search import SearchFilters

        single = tuple(g[0] for g in cons.genres if len(g) == 1)
        filters = SearchFilters(genres=single, year_min=cons.year_min, year_max=cons.year_max,
                                exclude=frozenset(exclude))
        from recbot.retrieval.errors import RetrievalError

        try:
            hits = self.searcher().search(query, k=100, filters=filters)
        except RetrievalError:
            return [], {}   # no semantic search this turn: the other sources still answer
        return [h.movie_id for h in hits], {h.movie_id: h for h in hits}

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
        if not req.seeds and not req.query and len(req.likes) >= TASTE_LIKES:
            scored = self._taste(scored, req.likes)
        return scored

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
        """Each source's ranked list for ``req``, and what the search and the chats found
        about each film."""
        lists: dict[str, list[int]] = {}
        found = Found()
        if req.seeds:
            lists["similar"] = self._mf(req.seeds)
        if req.user_id is not None:
            lists["profile"] = self._user(req.user_id)
        elif req.likes:
            lists["profile"] = self._mf(req.likes, req.dislikes)
        mood = _mood_only(req.query)
        if req.query and not mood:
            lists["search"], found.hits = self._search(req.query, req.constraints, req.exclude)
        if req.query and (req.topic or mood):
            lists["keyword"] = self._keyword(req.query)
        lists["popular"] = self.popular()
        if self.prior is not None:
            seeds_and_likes = [*req.seeds, *req.likes]
            if seeds_and_likes:
                lists["chat"] = self.prior.following(seeds_and_likes)
                # the films people suggest in chats, nearest to what was named first
                near = lists.get("similar") or lists.get("profile") or []
                lists["chat_similar"] = [i for i in near if i in self.prior.suggested]
            lists["chat_popular"] = self.prior.popular()
        if self.conversations is not None and req.talk.strip() and not (req.seeds and req.similar):
            lists["chat_talk"], found.quotes = self.conversations(req.talk)
        if req.only is not None:
            best = {i: r for r, i in enumerate(self.popular())}
            lists["people"] = sorted(req.only, key=lambda i: (best.get(i, 10**9), i))
        if req.boost:
            best = {i: r for r, i in enumerate(self.popular())}
            lists["people_named"] = sorted(set(req.boost), key=lambda i: (best.get(i, 10**9), i))
        return lists, found

    @staticmethod
    def _weights(req: Request, lists: dict[str, list[int]]) -> dict[str, float]:
        weights = dict(WEIGHTS, people=1.0, people_named=0.4)
        if not req.seeds and "profile" in lists and not req.query:
            weights["profile"] = 1.0
        if req.query and not req.seeds and not lists.get("search"):
            weights["popular"] = 0.5   # no semantic index: fall back on well-liked films
        if not req.seeds and not req.query and "profile" not in lists:
            weights["popular"] = 0.1   # a generic ask: what chats suggest, then well-liked films
        if req.seeds and req.similar:
            # "something like X": X's neighbours lead; what chats suggest after X barely joins
            weights["popular"], weights["chat_popular"], weights["chat"] = SIMILAR_MIX
        if req.quality:
            weights["popular"] = max(weights["popular"], 0.6)
        for name, w in _TUNE.items():
            if name in weights:
                weights[name] = float(w)
        return weights

    def _combine(self, req: Request, lists: dict[str, list[int]], weights: dict[str, float],
                 depth: int = 300) -> tuple[dict[int, float], dict[int, dict[str, int]]]:
        """Weighted reciprocal-rank fusion of the lists, constraints and exclusions applied."""
        blocked = set(req.exclude) | set(req.seeds) | set(req.dislikes) | set(req.likes)
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for source, items in lists.items():
            w = weights[source]
            kept = 0
            for item in items:
                if item in blocked:
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
        best = max(scored.values(), default=1.0) or 1.0
        out = []
        for item in order:
            cand = cands[item]
            cand.score = round(scored[item] / best, 4)
            cand.info = self.card(self.catalog[item])
            out.append(cand)
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
        """What a card shows before any reason: year, runtime, ratings, the plot's first
        sentence (what is known; missing fields are left out, never guessed)."""
        info: dict = {}
        if movie.year:
            info["year"] = movie.year
        if movie.runtime_min:
            info["runtime_min"] = movie.runtime_min
        col = self.corate.item_index.get(movie.movie_id)
        if col is not None and self.corate.rating_counts[col]:
            info["ml_mean"] = round(float(self.corate.means[col]), 2)
            info["ml_count"] = int(self.corate.rating_counts[col])
        if movie.imdb_rating:
            info["imdb_rating"] = movie.imdb_rating
        if movie.overview and not looks_like_instructions(movie.overview):
            info["line"] = first_sentence(movie.overview)
        return info

    @staticmethod
    def _role(movie, name: str) -> str | None:
        if name in movie.directors:
            return f"directed by {movie.directed_by()}"
        if name in movie.stars:
            return f"starring {name}"
        if any(t.casefold() == name.casefold() for t in movie.tags):
            return f"tagged {name} by MovieLens users"
        return None

    def _nudge(self, item: int, seeds, soft: list[str]) -> float:
        movie = self.catalog[item]
        g = set(movie.genres)
        factor = 1.0
        if seeds:
            sg = set().union(*(s.genres for s in seeds))
            if sg:
                factor *= 0.75 + 0.5 * len(g & sg) / len(g | sg)   # share genre and tone
        if "lighter" in soft:
            factor *= 1.3 if g & {"Comedy", "Animation", "Children"} else 1.0
            factor *= 0.7 if g & {"Thriller", "Crime", "War", "Horror"} else 1.0
        if "darker" in soft:
            factor *= 1.3 if g & {"Thriller", "Crime", "Film-Noir", "Horror"} else 1.0
            factor *= 0.7 if g & {"Children", "Animation"} else 1.0
        pop = self.catalog.popularity.get(item, 0)
        if self.prior is not None:   # a film people keep suggesting in chats is well known
            pop += float(_TUNE.get("chat_support", CHAT_SUPPORT)) * self.prior.suggested.get(item, 0)
        if "less_popular" not in soft:
            # confidence: a film few people rated is no first pick ("hidden gems" lift this)
            confident = float(_TUNE.get("confident", CONFIDENT_RATINGS))
            factor *= min(1.0, (np.log1p(pop) / np.log1p(confident)) ** 1.5)
        if "more_popular" in soft:
            factor *= 1.0 + min(pop, 300) / 300
        if "less_popular" in soft:
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
        facts: list[Fact] = []
        for seed in seeds:
            got = self.corate.lift(seed.movie_id, cand.movie_id)
            if got is None:
                continue
            both, fans, lift = int(got[0]), int(got[1]), float(got[2])
            if fans < MIN_SUPPORT:
                facts.append(Fact("thin", f"few people rated {seed.title} 4+ ({fans}), too few "
                                          f"to say what else they loved"))
            elif both >= MIN_SUPPORT and lift >= MIN_LIFT:
                base = float(both / fans / lift)
                facts.append(Fact("co_rating", co_rating_text(seed.title, both, fans, lift),
                                  short=f"{seed.title} fans love it {lift:.1f}× as often",
                                  bars=((f"{seed.title} fans", both / fans),
                                        ("all raters", base))))
        if "profile" in cand.sources and explained is not None:
            ex = explained.get(cand.movie_id)
            names = [self.catalog[c.item_id].title for c in (ex.contributions if ex else ())
                     if c.share > 0.05 and c.item_id in self.catalog]
            if names:
                facts.append(Fact("because_you_liked",
                                  f"you liked {' and '.join(names)}, which pushed it up most"))
        if hit is not None:
            for ev in hit.evidence:
                if ev.kind == "transcript" and not looks_like_instructions(ev.text):
                    facts.append(Fact("transcript", ev.text, ev.start, ev.end, ev.source))
            if req.query:
                theme = _theme(self.catalog[cand.movie_id], req.query, self.first_names)
                if theme is not None:
                    facts.append(theme)
                facts.append(Fact("match", f"matches your description "
                                           f"(similarity {hit.score:.2f})"))
        elif req.query and "keyword" in cand.sources:
            theme = _theme(self.catalog[cand.movie_id], req.query, self.first_names)
            if theme is not None:
                facts.append(theme)
        movie = self.catalog[cand.movie_id]
        for name in req.people:
            role = self._role(movie, name)
            if role:
                facts.insert(0, Fact("person", role))
        if self.prior is not None and cand.sources.keys() & {"chat", "chat_popular", "chat_similar"}:
            after = [(s, self.prior.after.get(s.movie_id, {}).get(cand.movie_id, 0))
                     for s in seeds]
            after = [(s, n) for s, n in after if n >= 2]
            n_all = self.prior.suggested.get(cand.movie_id, 0)
            if after:
                s, n = max(after, key=lambda sn: sn[1])
                facts.append(Fact("chat", f"in real recommendation chats, it was suggested "
                                          f"together with {s.title} {n} times"))
            elif n_all >= 3:
                facts.append(Fact("chat", f"people suggested it {n_all} times in real movie "
                                          f"recommendation chats"))
        if quote and "chat_talk" in cand.sources:
            words = quote_line(quote, req.talk)
            kept_out = [_AVOID_WORDING.sub("", a).lower()
                        for a in req.constraints.avoided]
            if words and any(k and k in words.lower() for k in kept_out):
                words = None    # "Other than Star Wars": no reason after "not star wars"
            if words:
                facts.append(Fact("chat_talk", f'in a real recommendation chat, someone who '
                                               f'said "{words}" was suggested it'))
        facts += catalog_facts(movie, seeds)
        strong = ("co_rating", "because_you_liked", "chat", "chat_talk", "person", "transcript",
                  "match", "theme", "shared_director", "shared_cast")
        if not any(f.kind in strong for f in facts):
            c = self.corate
            col = c.item_index.get(cand.movie_id)
            if col is not None and c.rating_counts[col] >= MIN_SUPPORT:
                n, mean = int(c.rating_counts[col]), float(c.means[col])
                # "well liked" only where the ratings say so: many raters, a good average
                praise = "well liked: " if n >= WELL_LIKED[0] and mean >= WELL_LIKED[1] else ""
                facts.append(Fact("popular", f"{praise}rated by {n} people, average {mean:.1f} "
                                             f"of 5"))
        return facts


def shift_years(cons: Constraints, shown_years: list[int], *, newer: bool) -> None:
    """"More recent" / "older" relative to what was shown: the window moves that way, it
    does not shrink ("comedies from the 2000s", "older": before 2004, not 2000-2004)."""
    if not shown_years:
        return
    mid = int(statistics.median(shown_years))
    if newer:
        cons.year_min, cons.year_max = max(cons.year_min or 0, mid + 1), None
    else:
        cons.year_max, cons.year_min = min(cons.year_max or 9999, mid - 1), None


_QUERY_WORD = re.compile(r"[a-z][a-z'-]{3,}")
_PLAIN = LEX.words("explain.plain")


def _theme(movie, query: str, firsts: frozenset[str] = frozenset()) -> Fact | None:
    """The tags, else the plot words, of ``movie`` that the ask names: "tagged time travel"
    says more than a similarity score."""
    def stems(text: str) -> set[str]:   # "zombies" names a "zombie"
        return {_singular(w) for w in re.findall(r"[a-z][a-z']{2,}", text.lower())}

    moods = {MOOD_WORDS[w] for w in query.lower().split() if w in MOOD_WORDS}
    felt = [t for t in movie.tags if any(_MOOD_PATTERNS[k].search(t) for k in moods)]
    if felt:    # "a sad movie": "tagged emotional, touching by MovieLens users"
        return Fact("theme", f"tagged {', '.join(felt[:3])} by MovieLens users")
    words = {_singular(w) for w in _QUERY_WORD.findall(query.lower()) if w not in _PLAIN}
    if not words:
        return None
    tags = [t for t in movie.tags if not looks_like_instructions(t) and words & stems(t)
            and not _names_someone(t, firsts)]
    if tags:
        return Fact("theme", f"tagged {', '.join(tags[:3])} by MovieLens users")
    if movie.overview and not looks_like_instructions(movie.overview):
        plot = set(re.findall(r"[a-z][a-z']{2,}", movie.overview.lower()))   # "zombie-filled"
        named = sorted({w for w in plot if _singular(w) in words})
        if named:
            quoted = ", ".join(f'"{w}"' for w in named[:3])
            return Fact("theme", f"its plot summary mentions {quoted}")
    era = _era_asked(query)
    if era and era in _eras_of(movie) and movie.year and (era == "silentfilm" or not any(
            "black and white" in t.lower() for t in movie.tags)):
        if era == "silentfilm":
            return Fact("theme", f"a film of the silent era ({movie.year})")
        return Fact("theme", f"a black-and-white film: made in {movie.year}, before colour "
                             f"was common")
    if "superhero" in words and _is_superhero(movie):
        return Fact("theme", "a comic-book superhero film (by its title)")
    return None



_CHATTY = LEX.words("explain.chatty")
_GREETING = LEX.re("explain.greeting")
# A seeker line that wants the opposite of a word it shares with the user ("not animated")
_NEGATION = LEX.source("explain.negation")
_AVOID_WORDING = LEX.re("explain.avoid_wording")


def quote_line(context: str, talk: str, limit: int = 90) -> str:
    """The line of a real seeker's context that shares most words with what the user said
    (greetings and one-word lines left out), cut to ``limit`` characters; "" when no line
    shares a word of content with it (then the quote would be no reason)."""
    mine = set(_QUERY_WORD.findall(talk.lower())) - _PLAIN - _CHATTY
    best, best_n = "", 0
    for line in context.splitlines():
        line = " ".join(line.split())
        if len(line.split()) < 3 or _GREETING.match(line) or looks_like_instructions(line):
            continue
        shared = mine & set(_QUERY_WORD.findall(line.lower()))
        low = line.lower()
        if any(re.search(_NEGATION + r"\W+(?:[\w']+\W+){0,2}?" + re.escape(w) + r"\b", low)
               for w in shared):
            continue   # "something not animated like The Sandlot" is no reason for an animation
        n = len(shared)
        if n > best_n:
            best, best_n = line, n
    if len(best) > limit:
        best = best[: limit].rsplit(" ", 1)[0] + " …"
    return best.replace('"', "'")
