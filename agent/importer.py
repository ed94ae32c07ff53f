"""Ratings you already have elsewhere: Letterboxd, IMDb and MovieLens-format CSV files.

    recbot import ratings ratings.csv        (and /import FILE in the chat)

``read_ratings`` reads a whole file before anything is stored: a file that is not one of
the three formats, not UTF-8, or holds no rating at all raises :class:`ImportFileError`
(one line saying what is wrong and what to do). Lines that cannot be read (a missing title,
a rating out of range) are skipped and counted, films the catalog does not know are
reported by name (each once, with the number of lines that named it), and the rest goes
into the profile in one transaction
(``Memory.import_ratings``), the rating kept beside the like / dislike / seen it implies.

- Letterboxd ``ratings.csv``: ``Date, Name, Year, Letterboxd URI, Rating`` (0.5-5 stars).
- IMDb ratings export: ``Const, Your Rating, Date Rated, Title, ..., Year, ...`` (1-10);
  ``Const`` (tt0114709) is matched through MovieLens' ``links.csv`` when the dataset has it.
- MovieLens: ``userId, movieId, rating[, timestamp]`` (0.5-5), one user (or ``--user``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024
PROGRESS_EVERY = 1000   # lines between two progress calls

LIKE_AT = 4.0       # a rating from here up is a like (on MovieLens' 0.5-5 scale)
DISLIKE_BELOW = 2.5  # below this a dislike; in between the film counts as seen


class ImportFileError(Exception):
    """The file cannot be imported; the message is one line for the user."""


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _IdTooLarge(ValueError):
    """A whole-number id outside int64: the file is refused, never the id rounded or cut."""

    def __init__(self, column: str, text: str) -> None:
        super().__init__(column, text)
        self.column, self.text = column, text


@dataclass(slots=True)
class ImportReport:
    path: str
    format: str
    ratings: dict[int, float] = field(default_factory=dict)   # movie_id -> 0.5..5
    unmatched: list[str] = field(default_factory=list)        # "Title (year)" not found, once
    ambiguous: list[str] = field(default_factory=list)        # no year, several films; once
    malformed: list[int] = field(default_factory=list)        # line numbers skipped
    rows: int = 0
    # how many lines named each unmatched / ambiguous title (a title rated on many lines)
    lines_of: Counter = field(default_factory=Counter)

    def kinds(self) -> dict[int, str]:
        return {m: kind_of(r) for m, r in self.ratings.items()}

    def as_dict(self) -> dict:
        kinds = list(self.kinds().values())
        return {"path": self.path, "format": self.format, "rows": self.rows,
                "imported": len(self.ratings), "likes": kinds.count("like"),
                "dislikes": kinds.count("dislike"), "seen": kinds.count("seen"),
                "unmatched": self.unmatched, "ambiguous": self.ambiguous,
                "unmatched_lines": {t: self.lines_of[t] for t in self.unmatched},
                "ambiguous_lines": {t: self.lines_of[t] for t in self.ambiguous},
                "malformed_lines": self.malformed}

    def summary(self) -> str:
        d = self.as_dict()
        text = (f"Imported {d['imported']} of {d['rows']} ratings from {self.format} "
                f"({d['likes']} liked, {d['dislikes']} disliked, {d['seen']} seen).")
        if self.unmatched:
            shown = ", ".join(self._counted(t) for t in self.unmatched[:8])
            more = f" and {len(self.unmatched) - 8} more" if len(self.unmatched) > 8 else ""
            text += f" Not in the catalog: {shown}{more}."
        if self.ambiguous:
            shown = "; ".join(self._counted(t) for t in self.ambiguous[:8])
            more = f" and {len(self.ambiguous) - 8} more" if len(self.ambiguous) > 8 else ""
            text += (f" No year, and more than one film has the title: {shown}{more} "
                     f"(add the year to import {'them' if len(self.ambiguous) > 1 else 'it'}).")
        if self.malformed:
            lines = ", ".join(map(str, self.malformed[:8]))
            text += (f" Skipped {len(self.malformed)} unreadable line"
                     f"{'s' if len(self.malformed) != 1 else ''} ({lines}"
                     f"{', …' if len(self.malformed) > 8 else ''}).")
        return text

    def _counted(self, title: str) -> str:
        n = self.lines_of[title]
        return f"{title} ×{n}" if n > 1 else title


def kind_of(rating: float) -> str:
    if rating >= LIKE_AT:
        return "like"
    return "dislike" if rating < DISLIKE_BELOW else "seen"


def read_ratings(path: Path, catalog, *, user: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Read and match a whole ratings file; raises :class:`ImportFileError`.
    ``progress(lines done, lines in all)`` is called every few thousand lines."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ImportFileError(f"{path}: larger than {MAX_BYTES // 2**20} MB; "
                                  "is this a ratings export?")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"{path}: file not found; give the path of your ratings "
                              "export (Letterboxd ratings.csv, IMDb ratings.csv or MovieLens "
                              "ratings.csv)") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory; give the ratings CSV inside it") from None
    except OSError as err:
        raise ImportFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text; export the ratings as CSV again "
                              "(Letterboxd, IMDb and MovieLens all write UTF-8)") from None
    if "\x00" in text:
        raise ImportFileError(f"{path}: binary data, not a CSV file")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise ImportFileError(f"{path}: not a readable CSV ({err})") from None
    if not header or not any(h.strip() for h in header):
        raise ImportFileError(f"{path}: empty; export your ratings first")
    cols = {h.strip().casefold(): i for i, h in enumerate(header)}
    fmt = _format(cols)
    if fmt is None:
        found = ", ".join(h.strip() for h in header[:6])
        raise ImportFileError(
            f"{path}: not a Letterboxd, IMDb or MovieLens ratings CSV (its columns: {found}); "
            "expected Name/Year/Rating, Const/Your Rating/Title/Year or userId/movieId/rating")
    from recbot.retrieval.safe_text import path_text

    report = ImportReport(path_text(path), fmt)
    links = _imdb_links(catalog) if fmt == "IMDb" else {}
    users: set[int] = set()
    # A big export names each film on many lines: each distinct (title, year) is matched
    # once (a fuzzy match of a title the catalog lacks costs milliseconds).
    matched: dict[tuple, int | None] = {}
    missed: dict[tuple[str, int | None], tuple[list[str], str]] = {}
    total = text.count("\n") + 1
    try:
        for line_no, row in enumerate(reader, start=2):
            if progress is not None and line_no % PROGRESS_EVERY == 0:
                progress(reader.line_num, total)
            if not row or not any(cell.strip() for cell in row):
                continue
            report.rows += 1
            try:
                got = _parse_row(fmt, cols, row)
            except _IdTooLarge as err:
                raise ImportFileError(
                    f"{path}: line {line_no}: {err.column} {err.text[:40]} does not fit a 64-bit "
                    f"integer; ids must be whole numbers between {INT64_MIN} and {INT64_MAX}; "
                    "nothing was imported") from None
            if got is None:
                report.malformed.append(line_no)
                continue
            key, title, year, rating = got
            if fmt == "MovieLens":
                if user is not None and key[0] != user:
                    report.rows -= 1
                    continue
                users.add(key[0])
            known = (key[0] if fmt == "IMDb" else None, title, year)   # what _match reads
            if known not in matched:
                matched[known] = _match(catalog, fmt, key, title, year, links)
            movie_id = matched[known]
            if movie_id is None:
                if (title, year) not in missed:
                    missed[title, year] = _missed(catalog, title, year, report)
                listed, name = missed[title, year]
                if not report.lines_of[name]:
                    listed.append(name)
                report.lines_of[name] += 1
                continue
            report.ratings[movie_id] = rating     # a later line for the same film wins
    except csv.Error as err:
        raise ImportFileError(f"{path}: not a readable CSV near line {reader.line_num} "
                              f"({err}); nothing was imported") from None
    if progress is not None:
        progress(total, total)
    if fmt == "MovieLens" and len(users) > 1:
        raise ImportFileError(f"{path}: holds the ratings of {len(users)} users; pick yours "
                              "with --user ID (recbot import ratings FILE --user ID, or "
                              "/import FILE --user ID in the chat); nothing was imported")
    if not report.rows and user is not None and fmt == "MovieLens":
        raise ImportFileError(f"{path}: has no ratings of user {user}; check the userId "
                              "column for yours")
    if not report.rows:
        raise ImportFileError(f"{path}: has a header but no ratings; nothing to import")
    if not report.ratings and not report.unmatched and not report.ambiguous:
        raise ImportFileError(f"{path}: none of its {report.rows} lines could be read "
                              f"(a rating on each line?); nothing was imported")
    return report


def _missed(catalog, title: str, year: int | None, report: ImportReport):
    """(the report's list a film not found goes to, the name it is listed by)."""
    same = catalog.titles.exact(title) if year is None and title else []
    if len(same) > 1:   # "Get Carter" with no year: the 1971 film or the 2000 one
        years = " or ".join(str(m.year) for m in sorted(same, key=lambda m: m.year or 0))
        return report.ambiguous, f"{title} ({years})"
    return report.unmatched, title if year is None else f"{title} ({year})"


def _format(cols: dict[str, int]) -> str | None:
    if {"name", "year", "rating"} <= cols.keys():
        return "Letterboxd"
    if {"const", "your rating"} <= cols.keys() and "title" in cols:
        return "IMDb"
    if {"userid", "movieid", "rating"} <= cols.keys():
        return "MovieLens"
    return None


def _cell(row: list[str], cols: dict[str, int], name: str) -> str:
    i = cols.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None    # NaN


def _year(text: str) -> int | None:
    text = text.strip()[:4]
    return int(text) if len(text) == 4 and _digits(text) else None


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also passes "²" (which int() refuses) and other
    scripts' digits (which int() reads)."""
    return text.isascii() and text.isdigit()


def _whole(text: str, column: str) -> int | None:
    """An id cell as an exact int; None when it is not a whole number (a malformed line).
    Raises _IdTooLarge for a whole number outside int64."""
    if not _digits(text[1:] if text[:1] in ("-", "+") else text):
        return None
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _IdTooLarge(column, text)
    return value


def _parse_row(fmt, cols, row):
    """(key, title, year, rating 0.5..5) or None for a line that cannot be read."""
    if fmt == "Letterboxd":
        title, rating = _cell(row, cols, "name"), _number(_cell(row, cols, "rating"))
        if not title or rating is None or not 0.5 <= rating <= 5:
            return None
        return (title,), title, _year(_cell(row, cols, "year")), rating
    if fmt == "IMDb":
        title, rating = _cell(row, cols, "title"), _number(_cell(row, cols, "your rating"))
        if not title or rating is None or not 1 <= rating <= 10:
            return None
        const = _cell(row, cols, "const")
        return (const,), title, _year(_cell(row, cols, "year")), rating / 2
    user = _whole(_cell(row, cols, "userid"), "userId")
    movie = _whole(_cell(row, cols, "movieid"), "movieId")
    rating = _number(_cell(row, cols, "rating"))
    if user is None or movie is None or rating is None or not 0.5 <= rating <= 5:
        return None
    return (user, movie), f"movieId {movie}", None, rating


def _imdb_links(catalog) -> dict[int, int]:
    """IMDb number -> MovieLens id, from the dataset's links.csv (empty without one)."""
    path = Path(getattr(catalog, "dataset_dir", "")) / "links.csv"
    out: dict[int, int] = {}
    if not path.is_file():
        return out
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            imdb, movie = (row.get("imdbId") or "").strip(), (row.get("movieId") or "").strip()
            if _digits(imdb) and _digits(movie):
                out[int(imdb)] = int(movie)
    return out


def _match(catalog, fmt, key, title, year, links) -> int | None:
    if fmt == "MovieLens":
        return key[1] if key[1] in catalog else None
    if fmt == "IMDb":
        const = key[0].lower().removeprefix("tt")
        if _digits(const) and links.get(int(const)) in catalog:
            return links[int(const)]
    return match_title(catalog, title, year)


def match_title(catalog, title: str, year: int | None) -> int | None:
    """The catalog film of this title and year (+-1): an exact title first, else a close
    match that is not ambiguous. A title without a year must be unambiguous."""
    exact = catalog.titles.exact(title)
    if year is not None:
        near = [m for m in exact if m.year is not None and abs(m.year - year) <= 1]
        if near:
            same = [m for m in near if m.year == year]
            return (same or near)[0].movie_id
    elif len(exact) == 1:
        return exact[0].movie_id
    res = catalog.titles.resolve(title if year is None else f"{title} ({year})")
    if res.confident and (year is None or (res.best.year is not None
                                           and abs(res.best.year - year) <= 1)):
        return res.best.movie_id
    return None
