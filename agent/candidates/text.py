"""How an ask's words meet a film's tags, plot, year and studio: the keyword source's
word list, era and mood asks, stems, studios, superheroes, the theme fact ("tagged time
travel"), and the quoted line of a real seeker's chat. Rules as data: the words and
patterns come from ``agent/reader/rules`` through the lexicon."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ..explain.evidence import Fact, Words, fact, looks_like_instructions
from ..i18n import N_
from ..reader.intent import MOOD_TAGS, MOOD_WORDS
from ..kinds import FactKind
from ..reader.lexicon import lexicon

LEX = lexicon()
COMMON_WORDS = LEX.words("words.common")


def seeker_stop_words() -> frozenset[str]:
    """The words a seeker's line holds that say nothing of the film they want: the reader's
    meta, function and common words."""
    return frozenset(LEX.words("words.meta") | LEX.words("words.function") | COMMON_WORDS)


@functools.cache
def _seeker_words() -> dict[int, tuple[str, ...]]:
    """retrieval.prior.seeker_words of the shipped contexts: the table shipped beside them
    when it was made from these contexts and these stop words, else computed."""
    import os

    from recbot.retrieval import prior

    if "seekers=0" in os.environ.get("RECBOT_TUNE", ""):    # benchmark sweeps only
        return {}
    stop = seeker_stop_words()
    path = Path(os.environ.get("RECBOT_CONTEXTS") or prior.CONTEXTS_JSONL)
    try:
        stamp = prior.seeker_words_stamp(path, stop)
    except OSError:
        return {}
    kept = None if path != prior.CONTEXTS_JSONL else \
        prior.read_seeker_words(prior.SEEKER_WORDS_JSON, stamp)
    return kept if kept is not None else prior.seeker_words(prior.ChatNeighbours.load().contexts,
                                                            stop)


@functools.cache
def _movielens_titles() -> dict[int, str]:
    """The bundled MovieLens titles by id: the ids the shipped ReDial data speaks of."""
    import csv

    from recbot.retrieval.catalog import BUNDLED_DATASET_DIR

    with (BUNDLED_DATASET_DIR / "movies.csv").open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        head = next(rows)
        at_id, at_title = head.index("movieId"), head.index("title")
        # raw titles: _is_movielens plains only the one it is asked about
        return {int(r[at_id]): r[at_title] for r in rows}


def _plain(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", title.lower())


def seeker_words(catalog=None) -> dict[int, tuple[str, ...]]:
    """Per film, what real seekers had asked for before it was suggested to them (the
    shipped ReDial contexts; retrieval.prior.seeker_words), chat words (the reader's meta,
    function and common words) left out: part of each film's catalog document, and a
    reason when the ask names them. With ``catalog``, only for its films whose title is
    the MovieLens one of that id: a dataset of other ids (a CSV of one's own) gets none."""
    words = _seeker_words()
    if catalog is None:
        return words
    return {m: w for m, w in words.items() if m in catalog and _is_movielens(catalog[m])}


def _is_movielens(movie) -> bool:
    """Whether ``movie`` is the MovieLens film of its id (the ids the ReDial data uses)."""
    title = _movielens_titles().get(movie.movie_id)
    return title is not None and (title == movie.raw_title
                                  or _plain(title) == _plain(movie.raw_title))


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
    if year < 2005 and _NOT_SUPERHERO.search(title):    # the 1998 spy film, kung fu
        return False
    # the cheap tests first: this runs for every film of the catalog once a process
    if (year >= 1970 and not _HERO_GENRES.isdisjoint(movie.genres)
            and "mockumentary" not in title.lower() and _SUPERHERO_TITLE.search(title)):
        return True
    return bool(movie.tags) and bool(_SUPERHERO_TAG.search("\n".join(movie.tags)))


_MOOD_PATTERNS = {k: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in v) + r")\b", re.I)
                  for k, v in MOOD_TAGS.items()}
_SHORT_STOP = LEX.words("explain.short_stop")
_QUERY_STOP = LEX.words("explain.query_stop")
_SEQUEL = LEX.re("titles.sequel_tail")


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
        return fact(FactKind.THEME, N_("tagged {tags} by MovieLens users"),
                    tags=Words(tuple(felt[:3])))
    words = {_singular(w) for w in _QUERY_WORD.findall(query.lower()) if w not in _PLAIN}
    if not words:
        return None
    tags = [t for t in movie.tags if not looks_like_instructions(t) and words & stems(t)
            and not _names_someone(t, firsts)]
    if tags:
        return fact(FactKind.THEME, N_("tagged {tags} by MovieLens users"),
                    tags=Words(tuple(tags[:3])))
    if movie.overview and not looks_like_instructions(movie.overview):
        plot = set(re.findall(r"[a-z][a-z']{2,}", movie.overview.lower()))   # "zombie-filled"
        named = sorted({w for w in plot if _singular(w) in words})
        if named:
            return fact(FactKind.THEME, N_("its plot summary mentions {words}"),
                        words=Words(tuple(f'"{w}"' for w in named[:3])))
    asked = [w for w in _seeker_words().get(movie.movie_id, ()) if _singular(w) in words]
    if asked and _is_movielens(movie):   # "karate": what the seekers it was suggested to had asked for
        return fact(FactKind.THEME, N_("in real recommendation chats it was suggested to "
                                       "people who asked for {words}"),
                    words=Words(tuple(f'"{w}"' for w in asked[:3])))
    era = _era_asked(query)
    if era and era in _eras_of(movie) and movie.year and (era == "silentfilm" or not any(
            "black and white" in t.lower() for t in movie.tags)):
        if era == "silentfilm":
            return fact(FactKind.THEME, N_("a film of the silent era ({year})"),
                        year=movie.year)
        return fact(FactKind.THEME, N_("a black-and-white film: made in {year}, before colour "
                                       "was common"), year=movie.year)
    if "superhero" in words and _is_superhero(movie):
        return fact(FactKind.THEME, N_("a comic-book superhero film (by its title)"))
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
    low = talk.lower()
    mine = set(_QUERY_WORD.findall(low)) - _PLAIN - _CHATTY
    # a word the user said against ("but no horror") is no common ground with a seeker who
    # was "looking for a movie in the horror area"
    against = {w for w in mine if re.search(
        _NEGATION + r"\W+(?:[\w']+\W+){0,2}?" + re.escape(w) + r"\b", low)}
    mine -= against
    best, best_n = "", 0
    for line in context.splitlines():
        line = " ".join(line.split())
        if len(line.split()) < 3 or _GREETING.match(line) or looks_like_instructions(line):
            continue
        words = set(_QUERY_WORD.findall(line.lower()))
        if words & against:
            continue   # "not too stupid": a seeker "looking for a truly STUPID comedy" is none
        shared = mine & words
        low = line.lower()   # the seeker's line from here on
        if any(re.search(_NEGATION + r"\W+(?:[\w']+\W+){0,2}?" + re.escape(w) + r"\b", low)
               for w in shared):
            continue   # "something not animated like The Sandlot" is no reason for an animation
        n = len(shared)
        if n > best_n:
            best, best_n = line, n
    if len(best) > limit:
        best = best[: limit].rsplit(" ", 1)[0] + " …"
    return best.replace('"', "'")
