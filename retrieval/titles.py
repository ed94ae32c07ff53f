"""MovieLens title parsing, title normalisation, and fuzzy title resolution.

MovieLens stores titles as ``"Shawshank Redemption, The (1994)"``, with alternate
titles in brackets (``"Seven (a.k.a. Se7en) (1995)"``). :func:`parse_movielens_title`
turns that into a display title, a year and alternate titles; :class:`TitleIndex`
resolves what a user typed ("forest gump", "Se7en", "halloween 1978") to movie ids.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

MIN_SCORE = 0.65
"""Matches scoring below this are dropped; a resolution with no match has ``best=None``.

Scores are rapidfuzz similarities over normalised titles, 0..1. Typos score about
0.9 ("forest gump" 0.96, "shawshenk redemtion" 0.92), a title's words inside a
longer title 0.9 ("empire strikes back"), while keyboard noise stays at or below
0.6 ("asdfgh", "hjkl"); 0.65 leaves a margin between the two.
"""

CONFIDENT_SCORE = 0.85
"""A resolution at least this sure, and not ambiguous, can be used without asking the user.

Between :data:`MIN_SCORE` and this, the best match is a guess ("lotr" -> "The Loft"
at 0.75) worth confirming.
"""

TIE_MARGIN = 0.015
"""Matches within this of the best score count as the same name; more than one makes
the resolution ambiguous and the most popular of them becomes ``best``."""

YEAR_OFF_BY_ONE_PENALTY = 0.1
"""Subtracted when the query names a year and the movie is one year off (release vs premiere)."""

YEAR_MISMATCH_PENALTY = 0.3
"""Subtracted when the query names a year and the movie is from another year."""

YEAR_UNKNOWN_PENALTY = 0.15
"""Subtracted when the query names a year and the movie has none."""

# Articles MovieLens moves behind a comma: "Matrix, The", "Atalante, L'", "Vitelloni, I".
_TRAILING_ARTICLES = frozenset(
    ["the", "a", "an", "la", "le", "les", "l'", "il", "i", "gli", "lo", "el", "los", "las", "un", "une", "una", "der", "die", "das", "det", "den", "de", "en", "da"]
)
# Articles dropped from the start of a normalised title (after "l'" elision is removed).
_LEADING_ARTICLES = frozenset(["the", "a", "an", "le", "la", "les", "der", "die", "das", "el", "il", "los", "las"])
# Roman numerals that are almost always sequel numbers; i, v and x are words or letters too.
_ROMAN_NUMERALS = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
# Sequel numbers spelt out after a sequel word: "John Wick: Chapter Two" ~ "Chapter 2".
_SEQUEL_WORDS = frozenset(["part", "chapter", "episode", "vol", "volume"])
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}

# Words too common to find candidates by ("lord of the rings" is found by "lord" and "rings").
_STOP_WORDS = frozenset(
    ["the", "of", "and", "in", "a", "an", "to", "on", "for", "i", "my", "no", "from", "you", "me", "with", "at", "is", "it", "de", "la", "le", "el", "il", "des", "du"]
)
_WORD_CUTOFF = 75  # one typo in a five-letter word
_SIMILAR_WORDS = 25  # most similar vocabulary words followed per query word
_WHOLE_POOL = 50  # keys closest to the whole query, always scored
_PARTIAL_MIN_LEN = 5  # shorter queries match inside too many words ("et" in "Prometheus")
_MISSING_NUMBER_FACTOR = 0.9

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*\d{4})?\)$")
_BRACKET_SUFFIX = re.compile(r"\s+\(([^()]*)\)$")
_AKA_PREFIX = re.compile(r"^a\.?k\.?a\.?\s+", re.IGNORECASE)
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+?),\s*(?P<article>[^\s,]+)$")
_APOSTROPHES = re.compile(r"[’‘`´ʼ]")
_LEADING_ELISION = re.compile(r"^l'\s*")
_DELETED_PUNCTUATION = re.compile(r"['.]")
_OTHER_PUNCTUATION = re.compile(r"[^\w\s]|_")
_QUERY_YEAR_PAREN = re.compile(r"^(?P<title>.*?)[\s,]*\((?P<year>\d{4})\)$")
_QUERY_YEAR_BARE = re.compile(r"^(?P<title>.*\S)[\s,]+(?P<year>\d{4})$")


@dataclass(frozen=True, slots=True)
class ParsedTitle:
    """A MovieLens title split into its parts, articles moved back to the front."""

    title: str
    year: int | None
    alt_titles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TitleMatch:
    """One candidate movie for a piece of text; ``score`` is 0..1."""

    movie_id: int
    title: str
    year: int | None
    score: float

    def label(self) -> str:
        """``"Title (year)"``, or just the title when the year is unknown."""
        return self.title if self.year is None else f"{self.title} ({self.year})"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a piece of text most likely refers to.

    ``confidence`` is the best match's score (how well the text fits its title and
    year). ``ambiguous`` says several movies fit equally well (a remake, a shared
    name); ``best`` is then the most popular of them and the rest lead ``alternatives``.
    """

    best: TitleMatch | None
    confidence: float
    alternatives: tuple[TitleMatch, ...] = ()
    ambiguous: bool = False

    @property
    def confident(self) -> bool:
        """True when ``best`` can be taken without asking: one clear, close match."""
        return self.best is not None and not self.ambiguous and self.confidence >= CONFIDENT_SCORE

    @property
    def matches(self) -> tuple[TitleMatch, ...]:
        """``best`` followed by the alternatives, or ``()`` when nothing matched."""
        return () if self.best is None else (self.best, *self.alternatives)


_NO_MATCH = Resolution(best=None, confidence=0.0)


def move_trailing_article(title: str) -> str:
    """``"Matrix, The"`` -> ``"The Matrix"``; ``"Atalante, L'"`` -> ``"L'Atalante"``."""
    m = _TRAILING_ARTICLE.match(title)
    if m is None or m["article"].lower() not in _TRAILING_ARTICLES:
        return title
    article = m["article"]
    sep = "" if article.endswith("'") else " "
    return f"{article}{sep}{m['body']}"


def parse_movielens_title(raw: str) -> ParsedTitle:
    """Split a MovieLens title into display title, year and alternate titles.

    ``"City of Lost Children, The (Cité des enfants perdus, La) (1995)"`` gives
    ``ParsedTitle("The City of Lost Children", 1995, ("La Cité des enfants perdus",))``.
    """
    rest = raw.strip()
    year = None
    if m := _YEAR_SUFFIX.search(rest):
        year = int(m.group(1))
        rest = rest[: m.start()]
    # Peel bracketed alternates from the right; a leading "(500) Days of Summer" stays.
    brackets: list[str] = []
    while (m := _BRACKET_SUFFIX.search(rest)) and m.start() > 0:
        brackets.append(m.group(1))
        rest = rest[: m.start()]
    title = move_trailing_article(rest.strip())
    alts: list[str] = []
    for bracket in reversed(brackets):
        alt = move_trailing_article(_AKA_PREFIX.sub("", bracket).strip())
        if alt and alt != title and alt not in alts:
            alts.append(alt)
    return ParsedTitle(title=title or raw.strip(), year=year, alt_titles=tuple(alts))


_NUMBERED_HEAD = re.compile(r"^(\S.*?\s(?:\d{1,2}|[IVX]{1,4}))\s*:\s*\S")


def _numbered_head(title: str) -> tuple[str, ...]:
    """"Terminator 2: Judgment Day" is also "Terminator 2"; "Star Trek II: The Wrath of
    Khan" is also "Star Trek II" (a sequel's number before its subtitle)."""
    m = _NUMBERED_HEAD.match(title)
    return (m.group(1),) if m else ()


# Cached: the catalog, the IMDb matcher and the title index normalise the same titles.
@functools.lru_cache(maxsize=1 << 16)
def normalise_title(s: str) -> str:
    """Lowercase, strip accents and punctuation, drop a leading article: the matching key.

    ``"The Lord of the Rings: The Two Towers"`` -> ``"lord of the rings the two towers"``,
    ``"Amélie"`` -> ``"amelie"``, ``"Godfather: Part II"`` -> ``"godfather part 2"``,
    ``"John Wick: Chapter Two"`` -> ``"john wick chapter 2"``, ``"Kill Bill: Vol. 2"`` ->
    ``"kill bill 2"``.
    """
    s = s.lower()
    if not s.isascii():
        s = unicodedata.normalize("NFKD", s)
        s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("&", " and ")
    s = _APOSTROPHES.sub("'", s)
    s = _LEADING_ELISION.sub("", s.lstrip())
    # Deleting (not spacing) dots and apostrophes: "L.A." ~ "LA", "Schindler's" ~ "Schindlers".
    s = _DELETED_PUNCTUATION.sub("", s)
    words = _OTHER_PUNCTUATION.sub(" ", s).split()
    if len(words) > 1 and words[0] in _LEADING_ARTICLES:
        words = words[1:]
    words = [_ROMAN_NUMERALS.get(w, w) for w in words]
    for i in range(1, len(words)):
        if words[i - 1] in _SEQUEL_WORDS:
            words[i] = _NUMBER_WORDS.get(words[i], words[i])
    # "Kill Bill: Vol. 2" ~ "Volume 2" ~ "Kill Bill 2"; "Guardians of the Galaxy Vol. 2" ~ "… 2"
    return " ".join(w for i, w in enumerate(words)
                    if w not in ("vol", "volume") or not (i + 1 < len(words) and words[i + 1].isdigit()))


def _split_query_year(text: str, exact_keys: Mapping[str, object]) -> tuple[str, int | None]:
    """``"Halloween (2007)"`` / ``"halloween 1978"`` -> title and year.

    A bare trailing number counts as a year only if the whole text is not already a
    title ("Death Race 2000") and it is a plausible release year ("Blade Runner 2049").
    """
    if (m := _QUERY_YEAR_PAREN.match(text)) and m["title"]:
        return m["title"], int(m["year"])
    if m := _QUERY_YEAR_BARE.match(text):
        year = int(m["year"])
        if (
            1870 <= year <= datetime.date.today().year + 5
            and normalise_title(text) not in exact_keys
        ):
            return m["title"], year
    return text, None


class TitleIndex:
    """Resolves free text to movies by display and alternate titles.

    Built from ``(movie_id, raw MovieLens title)`` pairs; ``popularity`` (number of
    ratings per movie) breaks ties between movies that share a name.
    """

    def __init__(
        self,
        titles: Iterable[tuple[int, str]],
        popularity: Mapping[int, int] | None = None,
    ) -> None:
        popularity = {} if popularity is None else popularity
        self._ids: list[int] = []
        self._titles: list[str] = []
        self._years: list[int | None] = []
        self._exact: dict[str, list[int]] = {}
        self._compact: dict[str, list[int]] = {}   # key without spaces: "old boy" ~ "oldboy"
        self._keys: list[str] = []
        key_movie: list[int] = []
        postings: dict[str, list[int]] = {}
        titles = list(titles)
        own = {normalise_title(t) for _, raw in titles
               for t in (lambda p: (p.title, *p.alt_titles))(parse_movielens_title(raw))}
        for movie_id, raw in titles:
            parsed = parse_movielens_title(raw)
            pos = len(self._ids)
            self._ids.append(int(movie_id))
            self._titles.append(parsed.title)
            self._years.append(parsed.year)
            for key in dict.fromkeys(
                normalise_title(t) for t in (parsed.title, *parsed.alt_titles, *(
                    h for h in _numbered_head(parsed.title) if normalise_title(h) not in own))
            ):
                if not key:
                    continue
                self._exact.setdefault(key, []).append(pos)
                compact = self._compact.setdefault(key.replace(" ", ""), [])
                if pos not in compact:
                    compact.append(pos)
                for word in set(key.split()):
                    postings.setdefault(word, []).append(len(self._keys))
                self._keys.append(key)
                key_movie.append(pos)
        self._key_movie = np.array(key_movie, dtype=np.int64)
        self._key_lens = np.array([len(k) for k in self._keys], dtype=np.int64)
        self._words = list(postings)
        self._postings = {w: np.array(ks, dtype=np.int64) for w, ks in postings.items()}
        self._popularity = np.array([popularity.get(i, 0) for i in self._ids], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def to_data(self) -> dict:
        """The built index as JSON-ready data (the catalog snapshot, retrieval/snapshot.py)."""
        lengths = [len(self._postings[w]) for w in self._words]
        flat = np.concatenate([self._postings[w] for w in self._words]) if self._words \
            else np.zeros(0, dtype=np.int64)
        return {"ids": self._ids, "titles": self._titles, "years": self._years,
                "exact": self._exact, "compact": self._compact, "keys": self._keys,
                "key_movie": self._key_movie.tolist(), "popularity": self._popularity.tolist(),
                "words": self._words, "posting_lengths": lengths, "postings": flat.tolist()}

    @classmethod
    def from_data(cls, data: dict) -> TitleIndex:
        """The index :meth:`to_data` gave, checked: types, lengths, every position in range.
        Raises ValueError for anything else."""
        from itertools import chain

        def only(values, *types) -> list:
            if not isinstance(values, list) or not set(map(type, values)) <= set(types):
                raise ValueError("title index entries of the wrong type")
            return values

        index = cls.__new__(cls)
        ids, titles, keys = only(data["ids"], int), only(data["titles"], str), \
            only(data["keys"], str)
        years = only(data["years"], int, type(None))
        n = len(ids)
        key_movie = np.array(only(data["key_movie"], int), dtype=np.int64)
        popularity = np.array(only(data["popularity"], int), dtype=np.int64)
        if not (len(titles) == len(years) == len(popularity) == n
                and len(key_movie) == len(keys)):
            raise ValueError("title index lists of different lengths")
        for name in ("exact", "compact"):
            table = data[name]
            if not isinstance(table, dict):
                raise ValueError(f"title index {name} is not a mapping")
            only(list(table.values()), list)
            positions = only(list(chain.from_iterable(table.values())), int)
            if positions and not 0 <= min(positions) <= max(positions) < n:
                raise ValueError(f"title index {name} holds a position out of range")
            setattr(index, f"_{name}", table)
        words, lengths = only(data["words"], str), only(data["posting_lengths"], int)
        flat = np.array(only(data["postings"], int), dtype=np.int64)
        if len(words) != len(lengths) or sum(lengths) != len(flat) or \
                (len(flat) and not 0 <= flat.min() <= flat.max() < len(keys)) or \
                (len(key_movie) and not 0 <= key_movie.min() <= key_movie.max() < n) or \
                (lengths and min(lengths) < 0):
            raise ValueError("title index postings out of range")
        ends = np.cumsum(lengths).tolist()
        index._ids, index._titles, index._years, index._keys = ids, titles, years, keys
        index._key_movie, index._popularity = key_movie, popularity
        index._key_lens = np.array(list(map(len, keys)), dtype=np.int64)
        index._words = words
        index._postings = {w: flat[e - k:e] for w, k, e in zip(words, lengths, ends)}
        return index

    def exact(self, text: str) -> list[TitleMatch]:
        """Movies one of whose titles normalises exactly to ``text``'s key, most rated first,
        with those whose title differs from it only in spaces ("Oldboy" finds "Old Boy" too).
        No fuzzy matching: for spotting titles inside longer messages."""
        key = normalise_title(move_trailing_article(" ".join(text.split())))
        if not key or key not in self._exact:
            return []
        positions = self._compact.get(key.replace(" ", ""), ())
        ranked = sorted(positions, key=lambda pos: (-self._popularity[pos], self._ids[pos]))
        return [self._match(pos, 1.0) for pos in ranked]

    def with_word(self, word: str) -> list[TitleMatch]:
        """Movies a title of which holds the normalised ``word``, most rated first."""
        keys = self._postings.get(word, ())
        positions = dict.fromkeys(int(self._key_movie[k]) for k in keys)
        ranked = sorted(positions, key=lambda pos: (-self._popularity[pos], self._ids[pos]))
        return [self._match(pos, 1.0) for pos in ranked]

    def is_key(self, key: str) -> bool:
        """Whether ``key`` (already normalised) is some movie's title key."""
        return key in self._exact

    def resolve(self, text: str, limit: int = 5) -> Resolution:
        """Best movie for ``text`` plus up to ``limit - 1`` ranked alternatives."""
        text = " ".join(text.split())
        title, year = _split_query_year(text, self._exact)
        query = normalise_title(move_trailing_article(title))  # "Matrix, The" as MovieLens has it
        if not query or limit < 1:
            return _NO_MATCH
        scores = self._name_scores(query)
        if year is not None:
            scores = {pos: s - self._year_penalty(pos, year) for pos, s in scores.items()}
        ranked = sorted(
            ((s, pos) for pos, s in scores.items() if s >= MIN_SCORE),
            key=lambda sp: (-sp[0], -self._popularity[sp[1]], self._ids[sp[1]]),
        )
        if not ranked:
            return _NO_MATCH
        top = ranked[0][0]
        n_tied = sum(1 for s, _ in ranked if s >= top - TIE_MARGIN)
        tied = sorted(ranked[:n_tied], key=lambda sp: (-self._popularity[sp[1]], -sp[0]))
        matches = [self._match(pos, s) for s, pos in (tied + ranked[n_tied:])[:limit]]
        return Resolution(
            best=matches[0],
            confidence=matches[0].score,
            alternatives=tuple(matches[1:]),
            ambiguous=n_tied > 1,
        )

    def _candidate_keys(self, query: str) -> np.ndarray:
        """Indices of keys worth scoring: sharing a (fuzzily) equal word, or close as a whole."""
        words = set(query.split())
        content = sorted(words - _STOP_WORDS or words)
        found = [self._postings[w] for w in content if w in self._postings]
        # Short words must match exactly; longer ones may carry a typo.
        fuzzy = [w for w in content if len(w) > 3]
        if fuzzy:
            similarity = process.cdist(
                fuzzy,
                self._words,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=_WORD_CUTOFF,
                dtype=np.uint8,
                workers=1,
            )
            for row in similarity:
                hits = np.flatnonzero(row)
                if len(hits) > _SIMILAR_WORDS:
                    hits = hits[np.argpartition(-row[hits], _SIMILAR_WORDS)[:_SIMILAR_WORDS]]
                found.extend(self._postings[self._words[h]] for h in hits)
        # Whole-string similarity catches merged or split words ("spiderman", "jungle 2 jungle").
        whole = process.cdist(
            [query], self._keys, scorer=fuzz.ratio, processor=None, dtype=np.uint8, workers=1
        )[0]
        if len(whole) > _WHOLE_POOL:
            found.append(np.argpartition(-whole, _WHOLE_POOL)[:_WHOLE_POOL])
        else:
            found.append(np.arange(len(whole)))
        return np.unique(np.concatenate(found))

    def _name_scores(self, query: str) -> dict[int, float]:
        """Score (0..1) per movie position: the best over its titles."""
        if not self._keys:
            return {}
        cand = self._candidate_keys(query)
        keys = [self._keys[k] for k in cand]
        lens = self._key_lens[cand]
        n = len(query)

        def score(scorer) -> np.ndarray:
            return process.cdist([query], keys, scorer=scorer, processor=None, workers=1)[0]

        # A query inside a longer title ("empire strikes back") scores 0.9 when its words are
        # all there; a longer query only gets credit for the share of it the title covers, so
        # a one-letter title ("W.") does not match keyboard noise.
        # A query of only stop words ("the") is inside nearly every title: no credit for that.
        longer = lens > n
        has_content = bool(set(query.split()) - _STOP_WORDS)
        words_scale = np.where(longer, 0.9 if has_content else 0.0, 0.5 + 0.5 * lens / n)
        scores = np.maximum(score(fuzz.ratio), 0.95 * score(fuzz.token_sort_ratio))
        scores = np.maximum(scores, words_scale * score(fuzz.token_set_ratio))
        if n >= _PARTIAL_MIN_LEN and has_content:
            scores = np.maximum(scores, np.where(longer, 0.85 * score(fuzz.partial_ratio), 0))
        # Sequel numbers matter: "terminator 2" is not "The Terminator".
        for word in query.split():
            if word.isdigit():
                has = np.isin(cand, self._postings.get(word, ()))
                scores = np.where(has, scores, scores * _MISSING_NUMBER_FACTOR)
        best: dict[int, float] = {}
        for k, s in zip(cand.tolist(), (scores / 100).tolist(), strict=True):
            pos = int(self._key_movie[k])
            if s > best.get(pos, 0.0):
                best[pos] = s
        for pos in self._exact.get(query, ()):
            best[pos] = 1.0
        return best

    def _year_penalty(self, pos: int, year: int) -> float:
        movie_year = self._years[pos]
        if movie_year is None:
            return YEAR_UNKNOWN_PENALTY
        if movie_year == year:
            return 0.0
        return YEAR_OFF_BY_ONE_PENALTY if abs(movie_year - year) == 1 else YEAR_MISMATCH_PENALTY

    def _match(self, pos: int, score: float) -> TitleMatch:
        return TitleMatch(
            movie_id=self._ids[pos],
            title=self._titles[pos],
            year=self._years[pos],
            score=round(min(max(score, 0.0), 1.0), 4),
        )


@functools.cache
def _bundled_index() -> TitleIndex:
    from .catalog import BUNDLED_DATASET_DIR, load_catalog  # catalog imports this module

    return load_catalog(BUNDLED_DATASET_DIR, imdb_csv=None).titles


def resolve_title(text: str, index: TitleIndex | None = None, limit: int = 5) -> Resolution:
    """Resolve ``text`` against ``index``, or against the bundled MovieLens catalog (built once)."""
    if index is None:
        index = _bundled_index()
    return index.resolve(text, limit=limit)
