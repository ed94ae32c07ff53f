"""Plot text of the user's own: ``recbot data enrich FILE`` reads it, cleans it and keeps it.

The bundled IMDb table ships no plot text (IMDb's text was not its uploader's to license),
so a film's overview, which search embeds and explanations quote, comes from a CSV the user
may use: one row per film, keyed by MovieLens ``movieId`` or by ``imdbId`` (mapped to
movieIds through the dataset's links.csv), with a ``plot`` / ``overview`` / ``description``
/ ``summary`` column. The cleaned text is kept in the user's data dir as a CSV of
``movieId,plot``, which :func:`load_plots` gives to the catalog.

Text from a file ends up on the terminal (explanations, ``recbot search``), so cleaning
removes every control character and escape sequence, not only the visible oddities.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CatalogError
from .safe_text import one_line

MAX_PLOT_CHARS = 1500
"""Longest plot text kept; longer text is cut at a word boundary (the embedder reads ~256
tokens, explanations quote a sentence or two)."""

TEXT_COLUMNS = ("plot", "overview", "description", "summary")
"""Accepted names of the text column, in order of preference (case and ``_``/space ignored)."""

SHOWN_LINES = 5
"""Line numbers kept per skip reason: enough to find the pattern in the file."""

UNKNOWN_ID = "unknown id"
BAD_ID = "no usable id"
EMPTY_TEXT = "empty plot"

_STORED_HEADER = ["movieId", "plot"]
_MOVIE_ID = re.compile(r"([0-9]{1,18})(?:\.0*)?")   # "12.0": a spreadsheet's export
_IMDB_ID = re.compile(r"(?:tt)?([0-9]{1,18})", re.IGNORECASE)
_FILE_HINT = "expected a UTF-8 CSV with a header row, e.g. movieId,plot or imdbId,overview"

@dataclass(frozen=True, slots=True)
class Skipped:
    """Rows left out for one reason: how many, and the first few line numbers."""

    reason: str
    count: int
    lines: tuple[int, ...]

    def as_dict(self) -> dict:
        return {"reason": self.reason, "count": self.count, "lines": list(self.lines)}


@dataclass(frozen=True, slots=True)
class PlotReport:
    """What one ``enrich`` did: films given text by this file, films with stored text in
    all, the rows skipped, and where the text is kept."""

    stored: int
    total_stored: int
    path: Path
    skipped: tuple[Skipped, ...] = ()

    @property
    def skipped_rows(self) -> int:
        return sum(s.count for s in self.skipped)

    def skipped_text(self) -> str:
        """``"3 rows skipped: unknown id on lines 5, 9, 12"``; "" when none was."""
        if not self.skipped:
            return ""
        parts = []
        for s in self.skipped:
            more = ", …" if s.count > len(s.lines) else ""
            where = "line" if s.count == 1 else "lines"
            parts.append(f"{s.reason} on {where} {', '.join(map(str, s.lines))}{more}")
        n = self.skipped_rows
        return f"{n} row{'s' if n != 1 else ''} skipped: " + "; ".join(parts)

    def as_dict(self) -> dict:
        return {"stored": self.stored, "total_stored": self.total_stored,
                "skipped": [s.as_dict() for s in self.skipped], "path": str(self.path)}


# ----- cleaning -----------------------------------------------------------------------------

def clean_plot(text: str) -> str:
    """Plain one-line text: escape sequences and control characters gone, whitespace
    collapsed, at most :data:`MAX_PLOT_CHARS` characters (cut at a word boundary)."""
    text = " ".join(one_line(text).split())
    if len(text) <= MAX_PLOT_CHARS:
        return text
    cut = text[:MAX_PLOT_CHARS + 1]        # one more: is the cut itself at a space?
    head, space, _ = cut.rpartition(" ")
    return (head if space and head else cut[:MAX_PLOT_CHARS]).rstrip()


# ----- the user's file ----------------------------------------------------------------------

def read_plot_file(path: Path, dataset_dir: Path) -> tuple[dict[int, str], tuple[Skipped, ...]]:
    """The cleaned text per movieId of the dataset in ``dataset_dir``, and the rows skipped.

    A later row for the same film replaces an earlier one. Raises :class:`CatalogError`
    (one line naming the file) when the file as a whole cannot be used."""
    path = Path(path)
    rows, header = _open_csv(path)
    key, text_col = _columns(path, header)
    known = _movie_ids(Path(dataset_dir) / "movies.csv")
    to_movie: dict[int, int] | None = None
    if key[0] == "imdbId":
        to_movie = _imdb_links(path, Path(dataset_dir) / "links.csv")
    plots: dict[int, str] = {}
    skipped: dict[str, list[int]] = {}
    for line, row in rows:
        movie_id = _row_movie_id(row, key, to_movie)
        text = clean_plot(row[text_col]) if text_col < len(row) else ""
        if movie_id is None or movie_id not in known:
            reason = BAD_ID if movie_id is None else UNKNOWN_ID
        elif not text:
            reason = EMPTY_TEXT
        else:
            plots[movie_id] = text
            continue
        skipped.setdefault(reason, []).append(line)
    return plots, tuple(Skipped(r, len(lines), tuple(lines[:SHOWN_LINES]))
                        for r, lines in skipped.items())


def _open_csv(path: Path) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """``(first line number, cells)`` per data row, and the header, of a UTF-8 CSV
    (comma, tab or semicolon separated: the header decides)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found; give the path of a CSV of plot text "
                           f"({_FILE_HINT})") from None
    except IsADirectoryError:
        raise CatalogError(f"{path}: is a directory; give the path of a CSV file") from None
    except OSError as err:
        raise CatalogError(f"{path}: cannot read ({err.strerror or err}); check the file and "
                           f"its permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogError(f"{path}: UTF-16 text (as some spreadsheets save it); save it as a "
                           f"UTF-8 CSV and run enrich again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CatalogError(f"{path}: not UTF-8 text (byte {err.start}); save it as a UTF-8 "
                           f"CSV and run enrich again") from None
    if "\x00" in text:
        raise CatalogError(f"{path}: holds NUL bytes, so it is not a CSV ({_FILE_HINT})")
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count)     # the first of them on a tie
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1          # start: the line the record being read begins on
    try:
        header = next(reader, None)
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as err:
        raise CatalogError(f"{path}: not a readable CSV (line {start}: {err}); "
                           f"{_FILE_HINT}") from None
    if not header or not any(c.strip() for c in header):
        raise CatalogError(f"{path}: empty, no header row; {_FILE_HINT}")
    return rows, header


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).casefold()


def _columns(path: Path, header: list[str]) -> tuple[tuple[str, int], int]:
    """``((id kind, its column), text column)``; movieId is preferred over imdbId."""
    names = [_norm(h) for h in header]
    shown = ", ".join(clean_plot(h)[:40] for h in header[:8])   # goes to the terminal
    key = next(((kind, names.index(_norm(kind))) for kind in ("movieId", "imdbId")
                if _norm(kind) in names), None)
    if key is None:
        raise CatalogError(f"{path}: no movieId or imdbId column (header: {shown}); name the "
                           f"id column movieId (MovieLens ids) or imdbId (tt0114709)")
    text_col = next((names.index(t) for t in TEXT_COLUMNS if t in names), None)
    if text_col is None:
        raise CatalogError(f"{path}: no plot text column (header: {shown}); name it one of "
                           f"{', '.join(TEXT_COLUMNS)}")
    return key, text_col


def _row_movie_id(row: list[str], key: tuple[str, int], to_movie: dict[int, int] | None
                  ) -> int | None:
    """The row's movieId; -1 (never a movie) when an IMDb id has no MovieLens film."""
    kind, col = key
    cell = row[col].strip() if col < len(row) else ""
    if kind == "movieId":
        match = _MOVIE_ID.fullmatch(cell)
        return int(match.group(1)) if match else None
    match = _IMDB_ID.fullmatch(cell)
    if not match:
        return None
    return to_movie.get(int(match.group(1)), -1)


def _movie_ids(path: Path) -> set[int]:
    """Every movieId of a movies.csv (which the catalog has already checked)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            col = next(reader).index("movieId")
            return {int(row[col]) for row in reader if row and row[col].strip().isdigit()}
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration, ValueError, IndexError):
        raise CatalogError(f"{path}: cannot read the dataset's movies; check the dataset with "
                           f"`recbot data info`") from None


def _imdb_links(source: Path, path: Path) -> dict[int, int]:
    """IMDb id (as a number) -> movieId, from a MovieLens links.csv."""
    if not path.exists():
        raise CatalogError(f"{source}: rows are keyed by imdbId, but the dataset has no "
                           f"links.csv ({path}) to map them; key the rows by movieId")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            movie, imdb = header.index("movieId"), header.index("imdbId")
            links = {}
            for row in reader:
                if len(row) > max(movie, imdb) and row[imdb].strip().isdigit() \
                        and row[movie].strip().isdigit():
                    links[int(row[imdb])] = int(row[movie])
            return links
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration, ValueError):
        raise CatalogError(f"{path}: cannot read the dataset's links (movieId,imdbId); key the "
                           f"rows of {source.name} by movieId instead") from None


# ----- the stored copy ----------------------------------------------------------------------

def load_plots(path: Path) -> dict[int, str]:
    """The stored plot text per movieId ({} when there is none). The file is recbot's own,
    but a hand edit may have put anything in it: the text is cleaned again, and a file that
    cannot be read raises :class:`CatalogError` saying what to do."""
    path = Path(path)

    def corrupt(why: str) -> CatalogError:
        return CatalogError(f"{path}: stored plot text is unreadable ({why}); move the file "
                            f"aside, or run `recbot data enrich FILE --replace` to write it anew")

    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:   # (a hand edit may add a BOM)
            reader = csv.reader(fh, strict=True)
            if next(reader, None) != _STORED_HEADER:
                raise corrupt("its header is not movieId,plot")
            plots = {}
            for row in reader:
                if not row or row == [""]:     # a blank line (a hand edit's last line)
                    continue
                match = _MOVIE_ID.fullmatch(row[0]) if len(row) == 2 else None
                if match is None:
                    raise corrupt(f"line {reader.line_num} is not movieId,plot")
                text = clean_plot(row[1])
                if text:
                    plots[int(match.group(1))] = text
            return plots
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise corrupt("not UTF-8") from None
    except csv.Error as err:
        raise corrupt(str(err)) from None
    except OSError as err:
        raise corrupt(err.strerror or str(err)) from None


def store_plots(path: Path, plots: dict[int, str]) -> None:
    """Write ``movieId,plot`` rows to ``path`` atomically (a temp file in the same dir, then
    ``os.replace``): a failed write leaves the old file whole and raises CatalogError."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(_STORED_HEADER)
            writer.writerows(sorted(plots.items()))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise CatalogError(f"{path}: cannot write the plot text ({err.strerror or err}); check "
                           f"that the data dir is writable and has space") from None
    finally:        # (also on Ctrl-C: no temp file is left beside the stored one)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def enrich_plots(source: Path, dataset_dir: Path, stored: Path, *, replace: bool = False
                 ) -> PlotReport:
    """Add the plot text of ``source`` to the stored file ``stored``: a film's new text
    replaces its old; ``replace`` drops every stored text first. The stored file is read
    (and a corrupt one reported) before anything is written."""
    plots, skipped = read_plot_file(source, dataset_dir)
    merged = {} if replace else load_plots(stored)
    merged.update(plots)
    store_plots(stored, merged)
    return PlotReport(stored=len(plots), total_stored=len(merged), path=Path(stored),
                      skipped=skipped)

