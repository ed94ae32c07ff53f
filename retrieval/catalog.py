"""The movie catalog: MovieLens movies with tags, popularity and IMDb metadata.

``load_catalog(BUNDLED_DATASET_DIR)`` reads the bundled ml-latest-small; any
MovieLens directory in the same format (ml-latest, ml-25m, ml-32m) works too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from .catalog_pandas import pd

from .enrich import EnrichmentReport, ImdbInfo, match_imdb, read_imdb_csv
from .errors import CatalogError
from .safe_text import CONTROLS, one_line
from .titles import ParsedTitle, TitleIndex, parse_movielens_title

BUNDLED_DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_DATASET_DIR = BUNDLED_DATA_DIR / "ml-latest-small"
BUNDLED_IMDB_CSV = BUNDLED_DATA_DIR / "imdb_top_1000.csv"

MAX_TAGS = 10
"""Tags kept per movie, most used first."""

NO_GENRES = "(no genres listed)"

_MOVIE_COLUMNS = ("movieId", "title", "genres")
_RATING_COLUMNS = ("movieId",)
_TAG_COLUMNS = ("movieId", "tag")


@dataclass(frozen=True, slots=True)
class Movie:
    """One catalog movie. IMDb fields are None / empty when no IMDb row matched it;
    ``overview`` is the user's plot text (``recbot data enrich``) when there is some."""

    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    tags: tuple[str, ...]
    overview: str | None
    director: str | None
    stars: tuple[str, ...]
    runtime_min: int | None
    certificate: str | None
    imdb_rating: float | None
    raw_title: str
    alt_titles: tuple[str, ...]
    codirectors: tuple[str, ...] = ()

    @property
    def directors(self) -> tuple[str, ...]:
        """The credited director, then co-directors (the IMDb table lists those as stars)."""
        named = tuple(n.strip() for n in (self.director or "").split(",") if n.strip())
        return named + tuple(n for n in self.codirectors if n not in named)

    def directed_by(self) -> str | None:
        """``"Joel Coen and Ethan Coen"``; None when no director is known."""
        names = self.directors
        if not names:
            return None
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def label(self) -> str:
        """``"Title (year)"``, or just the title when the year is unknown."""
        return self.title if self.year is None else f"{self.title} ({self.year})"


_MOVIE_FIELDS = tuple(f.name for f in fields(Movie))


class Catalog:
    """Read-only movies by MovieLens id. Iterating yields :class:`Movie` objects.

    ``popularity`` maps every movie id to its number of ratings (0 when unrated or
    when the dataset has no ratings.csv); ``enrichment`` reports the IMDb matching.
    """

    def __init__(
        self,
        movies: dict[int, Movie],
        popularity: dict[int, int],
        enrichment: EnrichmentReport,
        dataset_dir: Path,
    ) -> None:
        self._movies = movies
        self.popularity = popularity
        self.enrichment = enrichment
        self.dataset_dir = dataset_dir

    def __getitem__(self, movie_id: int) -> Movie:
        try:
            return self._movies[movie_id]
        except KeyError:
            raise KeyError(f"no movie with id {movie_id} in {self.dataset_dir}") from None

    def get(self, movie_id: int, default: Movie | None = None) -> Movie | None:
        return self._movies.get(movie_id, default)

    def id_digest(self) -> str:
        """A short hash of the set of movie ids (kept with the object, so the catalog snapshot
        carries it)."""
        digest = self.__dict__.get("_id_digest")
        if digest is None:
            import hashlib

            import numpy as np

            ids = np.sort(np.fromiter(self._movies, dtype=np.int64, count=len(self._movies)))
            digest = self._id_digest = hashlib.sha256(ids.tobytes()).hexdigest()[:16]
        return digest

    def __contains__(self, movie_id: object) -> bool:
        return movie_id in self._movies

    def __len__(self) -> int:
        return len(self._movies)

    def __iter__(self) -> Iterator[Movie]:
        return iter(self._movies.values())

    def __repr__(self) -> str:
        return f"Catalog({len(self)} movies from {self.dataset_dir})"

    def with_user_items(self, items) -> Catalog:
        """A catalog that also holds the user's own items (objects with movie_id, title,
        year), e.g. ingested videos that matched no movie."""
        items = list(items)
        if not items:
            return self   # keeps the built title index
        movies = dict(self._movies)
        popularity = dict(self.popularity)
        for item in items:
            title = one_line(item.title)     # a file name can hold escapes
            raw = f"{title} ({item.year})" if item.year else title
            movies[item.movie_id] = Movie(
                movie_id=item.movie_id, title=title, year=item.year, genres=(), tags=(),
                overview=None, director=None, stars=(), runtime_min=None, certificate=None,
                imdb_rating=None, raw_title=raw, alt_titles=())
            popularity.setdefault(item.movie_id, 0)
        return Catalog(movies, popularity, self.enrichment, self.dataset_dir)

    @functools.cached_property
    def titles(self) -> TitleIndex:
        """Title index over every movie, ties broken by popularity; built on first use."""
        return TitleIndex(((m.movie_id, m.raw_title) for m in self), self.popularity)


def load_catalog(dataset_dir: Path, imdb_csv: Path | None = BUNDLED_IMDB_CSV,
                 plots: Mapping[int, str] | None = None) -> Catalog:
    """Load a MovieLens directory (movies.csv; ratings.csv and tags.csv if present).

    ``imdb_csv`` adds directors, cast (and overviews, when the table has them) from the
    IMDb top-1000 table; pass None to skip it. ``plots`` (movieId -> text, see
    retrieval/plots.py) is the user's plot text: a film's overview when given, ahead of the
    table's; ids not in the catalog are ignored. Raises :class:`CatalogError` naming the
    file at fault.
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise CatalogError(
            f"{dataset_dir}: dataset directory not found; "
            f"point to a MovieLens directory containing movies.csv"
        )
    frame = _read_movies(dataset_dir / "movies.csv")
    ids = frame["movieId"].tolist()
    raw_titles = _plain(frame["title"]).tolist()
    parsed = {
        movie_id: parse_movielens_title(raw) for movie_id, raw in zip(ids, raw_titles, strict=True)
    }
    popularity = dict.fromkeys(ids, 0)
    popularity.update(_rating_counts(dataset_dir / "ratings.csv", popularity))
    tags = _top_tags(dataset_dir / "tags.csv")
    imdb: dict[int, ImdbInfo] = {}
    report = EnrichmentReport()
    if imdb_csv is not None:
        imdb, report = match_imdb(read_imdb_csv(Path(imdb_csv)), parsed)
    plots = plots or {}
    movies = {
        movie_id: _movie(
            movie_id, raw, genres, parsed[movie_id], tags.get(movie_id, ()), imdb.get(movie_id),
            plots.get(movie_id),
        )
        for movie_id, raw, genres in zip(ids, raw_titles, frame["genres"].tolist(), strict=True)
    }
    return Catalog(movies, popularity, report, dataset_dir)


def _movie(
    movie_id: int,
    raw_title: str,
    genres: str,
    parsed: ParsedTitle,
    tags: tuple[str, ...],
    imdb: ImdbInfo | None,
    plot: str | None = None,
) -> Movie:
    return Movie(
        movie_id=movie_id,
        title=parsed.title,
        year=parsed.year,
        genres=() if genres.strip() in ("", NO_GENRES) else tuple(genres.split("|")),
        tags=tags,
        overview=plot or (imdb.overview if imdb else None),
        director=imdb.director if imdb else None,
        codirectors=imdb.codirectors if imdb else (),
        stars=imdb.stars if imdb else (),
        runtime_min=imdb.runtime_min if imdb else None,
        certificate=imdb.certificate if imdb else None,
        imdb_rating=imdb.imdb_rating if imdb else None,
        raw_title=raw_title,
        alt_titles=parsed.alt_titles,
    )


def _read_csv(path: Path, columns: tuple[str, ...], **kwargs) -> pd.DataFrame:
    """Read ``columns`` of a MovieLens CSV; every failure becomes a one-line CatalogError."""
    try:
        frame = pd.read_csv(
            path,
            usecols=lambda c: c in columns,
            encoding="utf-8-sig",
            keep_default_na=False,
            **kwargs,
        )
    except FileNotFoundError:
        raise CatalogError(
            f"{path}: file not found; point to a MovieLens directory containing it"
        ) from None
    except pd.errors.EmptyDataError:
        raise CatalogError(f"{path}: file is empty; re-download the dataset") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CatalogError(f"{path}: cannot read ({detail}); re-download the dataset") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CatalogError(
            f"{path}: missing column(s) {', '.join(missing)}; expected a MovieLens CSV with "
            f"columns {', '.join(columns)}"
        )
    return frame


def _read_movies(path: Path) -> pd.DataFrame:
    frame = _read_csv(path, _MOVIE_COLUMNS, dtype=str)
    if frame.empty:
        raise CatalogError(f"{path}: no movies in the file; re-download the dataset")
    ids = _exact_ids(path, frame["movieId"])
    bad = (frame["title"].str.strip() == "").to_numpy()
    if bad.any():
        line = int(bad.argmax()) + 2  # 1-based, after the header
        raise CatalogError(f"{path}: line {line} has an empty title; re-download the dataset")
    frame["movieId"] = ids
    if frame["movieId"].duplicated().any():
        dup = int(frame.loc[frame["movieId"].duplicated(), "movieId"].iloc[0])
        raise CatalogError(f"{path}: movieId {dup} appears twice; re-download the dataset")
    return frame


def _rating_counts(path: Path, known: dict[int, int]) -> dict[int, int]:
    """Ratings per known movie id; {} when the dataset has no ratings.csv."""
    if not path.exists():
        return {}
    frame = _read_csv(path, _RATING_COLUMNS)
    if frame["movieId"].dtype != "int64":
        # Not all whole numbers within int64 (so parsed as float or text): count only the
        # ids written exactly, never a rounded one. ranking's reader reports the bad line.
        text = _read_csv(path, _RATING_COLUMNS, dtype=str)["movieId"].str.strip()
        text = text[_whole_int64(text)]
        frame = pd.DataFrame({"movieId": text.astype("int64")})
    counts = frame["movieId"].value_counts()
    return {int(i): int(n) for i, n in counts.items() if i in known}


def _top_tags(path: Path) -> dict[int, tuple[str, ...]]:
    """Up to :data:`MAX_TAGS` tags per movie, most used first, ties alphabetical.

    Tags that differ only in case count together and show in their most used spelling.
    """
    if not path.exists():
        return {}
    frame = _read_csv(path, _TAG_COLUMNS, dtype=str)
    frame["movieId"] = _exact_ids(path, frame["movieId"])
    frame["tag"] = _plain(frame["tag"]).str.strip()
    frame = frame[frame["tag"] != ""]
    if frame.empty:
        return {}
    frame = frame.assign(folded=frame["tag"].str.casefold())
    spellings = frame.groupby(["movieId", "folded", "tag"]).size().rename("n").reset_index()
    # Most used spelling first, so "first" below picks the one to show.
    spellings = spellings.sort_values(["n", "tag"], ascending=[False, True])
    per_tag = (
        spellings.groupby(["movieId", "folded"], sort=False)
        .agg(shown=("tag", "first"), n=("n", "sum"))
        .reset_index()
        .sort_values(["movieId", "n", "folded"], ascending=[True, False, True])
    )
    top = per_tag.groupby("movieId").head(MAX_TAGS)
    return {int(i): tuple(tags) for i, tags in top.groupby("movieId")["shown"]}


def _plain(text: pd.Series) -> pd.Series:
    """Cells without escape sequences or control characters (see safe_text): a dataset's
    titles and tags are printed."""
    unsafe = text.str.contains(CONTROLS, regex=True).to_numpy(dtype=bool)
    if not unsafe.any():
        return text
    text = text.copy()
    text[unsafe] = [" ".join(one_line(t).split()) for t in text[unsafe]]
    return text


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _whole_int64(text: pd.Series) -> pd.Series:
    """Which cells are whole numbers (ASCII digits, optional sign) that fit int64."""
    whole = text.str.fullmatch(r"[+-]?[0-9]+").fillna(False).to_numpy(dtype=bool)
    fits = whole.copy()
    # Fewer than 19 characters always fit; the rest are compared as Python ints (exact).
    for i in (whole & (text.str.len().to_numpy() >= 19)).nonzero()[0]:
        fits[i] = _INT64_MIN <= int(text.iloc[i]) <= _INT64_MAX
    return pd.Series(fits, index=text.index)


def _exact_ids(path: Path, cells: pd.Series) -> pd.Series:
    """movieId cells (text) as exact int64, never through float; a cell that is not a whole
    number within int64 raises a CatalogError naming its line."""
    text = cells.fillna("").astype(str).str.strip()
    ok = _whole_int64(text).to_numpy()
    if not ok.all():
        row = int((~ok).argmax())
        cell = text.iloc[row]
        line = row + 2  # 1-based, after the header
        if text.iloc[row:row + 1].str.fullmatch(r"[+-]?[0-9]+").iloc[0]:
            what = f"movieId {cell[:40]} does not fit a 64-bit integer"
        else:
            what = f"movieId must be a whole number, got {cell[:40]!r}"
        raise CatalogError(
            f"{path}: line {line}: {what}; ids must be whole numbers between {_INT64_MIN} and "
            f"{_INT64_MAX}; re-download the dataset"
        )
    return text.astype("int64")
