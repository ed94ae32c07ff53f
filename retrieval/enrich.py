"""Match IMDb top-1000 rows to MovieLens movies and take their director, cast, runtime,
certificate and rating (and an overview, when a table has one).

The IMDb table has no ids in common with MovieLens, so rows are matched by
normalised title and year (see :func:`match_imdb`), and every row that does not
match is reported with the reason.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from .catalog_pandas import pd
from .errors import CatalogError
from .titles import ParsedTitle, normalise_title

IMDB_COLUMNS = ("Series_Title", "Released_Year", "Director")
"""Columns the IMDb CSV must have; the others (stars, runtime, rating...) are used when present.
The bundled table holds the factual columns only: its ``Overview`` (IMDb's text) and
``Poster_Link`` (IMDb's images) were not the uploader's to license, so recbot does not ship
them; a table that has an ``Overview`` still gives it (plot text of your own comes in
through ``recbot data enrich``)."""

YEAR_TOLERANCE = 1
"""Years may differ by this much (festival vs release year) when the title alone is unique."""

SIMILAR_TITLE_RATIO = 80
"""Minimum rapidfuzz ratio for a same-year title to count as a spelling variant.

Transliterations sit around 80-90 ("Yojinbo"/"Yojimbo" 86, "Leviafan"/"Leviathan" 82);
at 75 different films start to match ("Trois couleurs: Blanc" -> "... Rouge").
"""

BY_TITLE_AND_YEAR = "title and year"
BY_TITLE_NEAR_YEAR = f"title, year within {YEAR_TOLERANCE}"
BY_SIMILAR_TITLE = "similar title, same year"

NO_TITLE = "no MovieLens title"
YEAR_DIFFERS = "title found but year differs"
AMBIGUOUS = "ambiguous"
NOT_IN_CATALOG = "not in catalog (newer than the MovieLens data)"
DUPLICATE = "duplicate (another row matched the same movie)"

_STOP_WORDS = frozenset(["the", "of", "and", "a", "an", "in", "on", "to", "for", "at", "by", "with", "from"])
_STAR_COLUMNS = ("Star1", "Star2", "Star3", "Star4")
_RUNTIME = re.compile(r"(\d+)")

CODIRECTORS_CSV = Path(__file__).resolve().parent / "data" / "codirectors.csv"
"""Known co-directors the IMDb table lists among the stars: ``title,year,person,acts``.

The table has one Director column; a film's second (third...) director lands in Star1
(the Coens, the Wachowskis, Pixar's and Disney's co-directors). ``acts`` 1 keeps the person
a star as well (Gene Kelly in Singin' in the Rain, Terry Jones in the Holy Grail).
"""


@dataclass(frozen=True, slots=True)
class ImdbInfo:
    """The IMDb metadata attached to one MovieLens movie."""

    imdb_title: str
    overview: str | None
    director: str | None
    stars: tuple[str, ...]
    runtime_min: int | None
    certificate: str | None
    imdb_rating: float | None
    codirectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnrichmentReport:
    """How many IMDb rows found their MovieLens movie, and why the others did not."""

    total_rows: int = 0
    matched: int = 0
    unmatched: tuple[tuple[str, int | None, str], ...] = ()
    reasons_count: dict[str, int] = field(default_factory=dict)
    matched_by: dict[str, int] = field(default_factory=dict)

    def summary(self) -> list[str]:
        """Human-readable lines: the match rate, then one line per reason."""
        if not self.total_rows:
            return ["IMDb enrichment: no rows"]
        share = self.matched / self.total_rows
        lines = [f"IMDb enrichment: {self.matched}/{self.total_rows} rows matched ({share:.0%})"]
        for how, count in sorted(self.matched_by.items(), key=lambda hc: -hc[1]):
            lines.append(f"  {count:4d}  matched by {how}")
        for reason, count in sorted(self.reasons_count.items(), key=lambda rc: -rc[1]):
            lines.append(f"  {count:4d}  unmatched: {reason}")
        return lines


def read_imdb_csv(path: Path) -> pd.DataFrame:
    """Read the IMDb top-1000 CSV, raising :class:`CatalogError` if it is unusable."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(
            f"{path}: IMDb file not found; pass imdb_csv=None to load without it"
        ) from None
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CatalogError(
            f"{path}: cannot read the IMDb CSV ({detail}); restore the bundled file"
        ) from None
    missing = [c for c in IMDB_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(
            f"{path}: IMDb CSV is missing column(s) {', '.join(missing)}; "
            f"expected the Kaggle IMDb top-1000 layout"
        )
    return frame


def match_imdb(
    frame: pd.DataFrame, titles: Mapping[int, ParsedTitle]
) -> tuple[dict[int, ImdbInfo], EnrichmentReport]:
    """Attach IMDb rows to MovieLens movie ids by title and year.

    In order of trust, a row matches the movie whose display or alternate title
    normalises to the same key and

    1. has the same year;
    2. is the only movie with that title within :data:`YEAR_TOLERANCE` years (or
       either year is unknown);
    3. failing both, has the same year and a similar title: a spelling variant
       (ratio >= :data:`SIMILAR_TITLE_RATIO`, "Chugyeokja"/"Chugyeogja") or one title's
       words inside the other's ("Star Wars" in "Star Wars: Episode IV - A New Hope").

    Rows newer than every MovieLens movie are reported as not in the catalog.
    """
    lookup = _TitleLookup(titles)
    codirectors = codirector_credits(frame)
    matched: dict[int, ImdbInfo] = {}
    matched_by: Counter[str] = Counter()
    unmatched: list[tuple[str, int | None, str]] = []
    for row in frame.itertuples(index=False):
        imdb_title = str(row.Series_Title).strip()
        year = _to_int(row.Released_Year)
        movie_id, how = lookup.match(imdb_title, year)
        if movie_id is not None and movie_id in matched:
            movie_id, how = None, DUPLICATE
        if movie_id is None:
            unmatched.append((imdb_title, year, how))
        else:
            matched[movie_id] = _imdb_info(
                row, imdb_title, codirectors.get((imdb_title, _text(row.Released_Year)), {}))
            matched_by[how] += 1
    report = EnrichmentReport(
        total_rows=len(frame),
        matched=len(matched),
        unmatched=tuple(unmatched),
        reasons_count=dict(Counter(reason for _, _, reason in unmatched)),
        matched_by=dict(matched_by),
    )
    return matched, report


class _TitleLookup:
    """MovieLens titles by normalised key and by year, for matching IMDb rows."""

    def __init__(self, titles: Mapping[int, ParsedTitle]) -> None:
        self._years = {movie_id: parsed.year for movie_id, parsed in titles.items()}
        self._by_key: dict[str, list[int]] = {}
        self._by_year: dict[int, list[tuple[str, frozenset[str], int]]] = {}
        for movie_id, parsed in titles.items():
            for title in (parsed.title, *parsed.alt_titles):
                key = normalise_title(title)
                ids = self._by_key.setdefault(key, [])
                if movie_id not in ids:
                    ids.append(movie_id)
                if parsed.year is not None:
                    entry = (key, frozenset(key.split()), movie_id)
                    self._by_year.setdefault(parsed.year, []).append(entry)
        self._last_year = max(self._by_year, default=None)

    def match(self, imdb_title: str, year: int | None) -> tuple[int | None, str]:
        """``(movie_id, how it matched)`` or ``(None, why not)``."""
        key = normalise_title(imdb_title)
        if not key:
            return None, NO_TITLE
        ids = self._by_key.get(key, [])
        same_year = [i for i in ids if year is not None and self._years[i] == year]
        if len(same_year) == 1:
            return same_year[0], BY_TITLE_AND_YEAR
        if len(same_year) > 1:
            return None, AMBIGUOUS
        near = [i for i in ids if self._near(self._years[i], year)]
        if len(near) == 1:
            return near[0], BY_TITLE_NEAR_YEAR
        if year is not None and (similar := self._similar(key, year)) is not None:
            return similar, BY_SIMILAR_TITLE
        if year is not None and self._last_year is not None and year > self._last_year:
            return None, NOT_IN_CATALOG
        if len(near) > 1:
            return None, AMBIGUOUS
        return None, YEAR_DIFFERS if ids else NO_TITLE

    @staticmethod
    def _near(movie_year: int | None, year: int | None) -> bool:
        return movie_year is None or year is None or abs(movie_year - year) <= YEAR_TOLERANCE

    def _similar(self, key: str, year: int) -> int | None:
        """The one movie of ``year`` whose title is a variant of ``key`` or contains it."""
        candidates = self._by_year.get(year, [])
        if not candidates:
            return None
        ratios = process.cdist([key], [k for k, _, _ in candidates], scorer=fuzz.ratio)[0]
        words = frozenset(key.split())
        found = {
            movie_id
            for (_, other_words, movie_id), ratio in zip(candidates, ratios.tolist(), strict=True)
            if ratio >= SIMILAR_TITLE_RATIO or _words_contained(words, other_words)
        }
        return found.pop() if len(found) == 1 else None


def _words_contained(a: frozenset[str], b: frozenset[str]) -> bool:
    """One title's distinctive words all appear in the other (at least two of them)."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small - _STOP_WORDS) >= 2 and small <= large


def _surname(name: str) -> str:
    return name.split()[-1].casefold() if name.split() else ""


def codirector_credits(frame: pd.DataFrame,
                       curated: Path | None = CODIRECTORS_CSV) -> dict[tuple, dict[str, bool]]:
    """``(Series_Title, Released_Year) -> {person: also acts}`` for the co-directors that the
    star columns hold: the curated list, plus a rule for tables it does not cover — Star1
    shares the Director's surname and never stars in a film by anyone outside that family
    (Ethan Coen yes; Ingrid Bergman, in Ingmar Bergman's Autumn Sonata and in Casablanca, no).
    """
    credits: dict[tuple, dict[str, bool]] = {}
    if curated is not None and curated.is_file():
        for row in pd.read_csv(curated, dtype=str, keep_default_na=False).itertuples(index=False):
            credits.setdefault((row.title, row.year), {})[row.person] = row.acts.strip() == "1"
    columns = [c for c in _STAR_COLUMNS if c in frame.columns]
    if "Star1" not in columns:
        return credits
    outside: set[str] = set()      # people who star in a film by a director of another surname
    for row in frame.itertuples(index=False):
        director = _text(row.Director) or ""
        for c in columns:
            person = _text(getattr(row, c))
            if person and _surname(person) != _surname(director):
                outside.add(person)
    for row in frame.itertuples(index=False):
        director, first = _text(row.Director) or "", _text(row.Star1) or ""
        if (first and first != director and _surname(first) == _surname(director)
                and first not in outside):
            key = (str(row.Series_Title).strip(), _text(row.Released_Year))
            credits.setdefault(key, {}).setdefault(first, False)
    return credits


def _imdb_info(row, imdb_title: str, codirectors: Mapping[str, bool] | None = None) -> ImdbInfo:
    codirectors = codirectors or {}
    director = _text(row.Director)
    names = [s for c in _STAR_COLUMNS if (s := _text(getattr(row, c, None)))]
    co = tuple(dict.fromkeys(n for n in names if n in codirectors and n != director))
    # A co-director leaves the cast unless they also act; a name the table repeats (Gene
    # Kelly in Star1 and Star2) is one person, listed once.
    stars = tuple(dict.fromkeys(n for n in names if n not in codirectors or codirectors[n]))
    runtime = _RUNTIME.match(_text(getattr(row, "Runtime", None)) or "")
    return ImdbInfo(
        imdb_title=imdb_title,
        overview=_text(getattr(row, "Overview", None)),
        director=director,
        codirectors=co,
        stars=stars,
        runtime_min=int(runtime.group(1)) if runtime else None,
        certificate=_text(getattr(row, "Certificate", None)),
        imdb_rating=_to_float(getattr(row, "IMDB_Rating", None)),
    )


def _text(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _to_int(value: object) -> int | None:
    text = _text(value)
    return int(text) if text and text.isdigit() else None


def _to_float(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None
