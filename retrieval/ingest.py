"""Ingest video/audio files: link each to a catalog item, transcribe, window, embed, store.

Safe and incremental: an unchanged file is skipped; a changed file's new windows
become visible in one step (the ledger row) and its old ones are then deleted; a
run killed at any point leaves the store consistent, and the next run's sweep
removes whatever that run left half-done. One bad file never stops the others.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import RetrievalError
from .safe_text import path_text
from .ledger import Ledger, LedgerError, MediaRecord
from .store import TRANSCRIPTS, VectorStore
from .windows import OVERLAP_SECONDS, WINDOW_SECONDS, make_windows

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset({".mp4", ".mkv", ".webm", ".mov", ".m4v", ".avi", ".m4a", ".mp3",
                            ".wav", ".flac", ".ogg", ".opus", ".aac"})
MANIFEST = "manifest.csv"
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*[\(\[](?P<year>\d{4})[\)\]]\s*$")


class LinkError(RetrievalError):
    """A sidecar, manifest or --item-id names something that is not in the catalog."""


@dataclass(frozen=True, slots=True)
class Link:
    """Which catalog item a file belongs to; ``movie_id`` None means "make a new item"."""

    movie_id: int | None
    title: str
    year: int | None
    linked_by: str  # item-id | sidecar | manifest | filename | new-item


@dataclass(slots=True)
class IngestReport:
    ingested: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    swept: int = 0

    def as_dict(self) -> dict:
        return {"ingested": self.ingested, "unchanged": self.unchanged, "failed": self.failed}


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[dict]]:
    """Files to ingest: explicit files as given, directories walked for media files."""
    files: list[Path] = []
    failed: list[dict] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            files.extend(sorted(f for f in path.rglob("*")
                                if f.suffix.lower() in MEDIA_SUFFIXES and not f.is_dir()))
        elif path.exists():
            files.append(path)
        else:
            failed.append({"path": path_text(path), "error": "no such file or directory"})
    return list(dict.fromkeys(f.resolve() for f in files)), failed


def _name_text(name: str) -> str:
    """A file name as a title: one that is not UTF-8 is read as Windows-1252, what such
    names mostly are ("Am\\xe9lie (2001).avi" is "Amélie (2001)")."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return os.fsencode(name).decode("cp1252", "replace")
        except UnicodeEncodeError:
            return path_text(name)
    return name


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def title_from_filename(path: Path) -> tuple[str, int | None]:
    """"Blade Runner (1982).mkv" -> ("Blade Runner", 1982); dots/underscores read as spaces."""
    stem = _name_text(path.name)
    while Path(stem).suffix.lower() in MEDIA_SUFFIXES:
        stem = Path(stem).stem
    m = _TITLE_YEAR.match(stem)
    title, year = (m["title"], int(m["year"])) if m else (stem, None)
    if " " not in title:
        title = re.sub(r"[._]+", " ", title)
    return " ".join(title.split()) or _name_text(path.name), year


def _sidecar(path: Path) -> Path | None:
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file() and candidate != path:
            return candidate
    return None


def _manifest_id(path: Path) -> int | None:
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return None
    try:
        with manifest.open(newline="", encoding="utf-8") as fh:
            for lineno, row in enumerate(csv.DictReader(fh), 2):
                if not row.get("path"):
                    continue
                listed = Path(row["path"]).expanduser()
                listed = listed if listed.is_absolute() else manifest.parent / listed
                if listed.resolve() == path.resolve():
                    try:
                        return int(str(row.get("movieId", "")).strip())
                    except ValueError:
                        raise LinkError(f"{manifest}: line {lineno}: movieId "
                                        f"{row.get('movieId')!r} is not a number") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LinkError(f"{manifest}: cannot read it ({exc})") from None
    return None


def link_file(path: Path, catalog, item_id: int | None = None) -> Link:
    """Link by, in order: ``item_id``; a sidecar ``<file>.json``; ``manifest.csv`` beside it;
    "Title (Year).ext" through the title index; else a new item titled after the file."""

    def known(movie_id: int, how: str, where: str) -> Link:
        movie = catalog.get(movie_id)
        if movie is None:
            raise LinkError(f"{where}: movieId {movie_id} is not in the catalog")
        return Link(movie_id, movie.title, movie.year, how)

    if item_id is not None:
        return known(int(item_id), "item-id", "--item-id")
    sidecar = _sidecar(path)
    if sidecar is not None:
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise LinkError(f"{sidecar}: not a readable JSON sidecar ({exc})") from None
        if not isinstance(data, dict):
            raise LinkError(f"{sidecar}: expected an object with movieId or title/year")
        if data.get("movieId") is not None:
            try:
                return known(int(data["movieId"]), "sidecar", str(sidecar))
            except (TypeError, ValueError):
                raise LinkError(f"{sidecar}: movieId {data['movieId']!r} is not a number") from None
        if data.get("title"):
            year = data.get("year")
            year = int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None
            return _by_title(catalog, str(data["title"]), year, "sidecar")
    manifest_id = _manifest_id(path)
    if manifest_id is not None:
        return known(manifest_id, "manifest", str(path.parent / MANIFEST))
    title, year = title_from_filename(path)
    return _by_title(catalog, title, year, "filename")


def _by_title(catalog, title: str, year: int | None, how: str) -> Link:
    res = catalog.titles.resolve(f"{title} ({year})" if year else title)
    best = res.best
    if best is not None and res.confident and (year is None or best.year == year) \
            and (year is not None or not res.ambiguous):
        return Link(best.movie_id, best.title, best.year, how)
    return Link(None, title, year, "new-item")


def window_id(source: str, content_hash: str, i: int) -> str:
    return f"{hashlib.sha1(source.encode()).hexdigest()[:12]}-{content_hash[:16]}-{i:05d}"


def features_body(descriptors, speech, embed_model: str) -> str:
    """What the ledger keeps of a file's sound, picture and speech (JSON): its descriptors
    (``retrieval.descriptors``), or null when they could not be read, and the mean of its
    transcript windows' vectors (null without speech)."""
    from .descriptors import VERSION

    return json.dumps({"version": VERSION,
                       "descriptors": descriptors.as_dict() if descriptors else None,
                       "speech": None if speech is None else [round(float(x), 5) for x in speech],
                       "embed_model": embed_model}, separators=(",", ":"), allow_nan=False)


def features_version(body) -> int | None:
    """The version of a stored features body; None for one that is not recbot's."""
    try:
        got = json.loads(body) if isinstance(body, str) and body else None
    except (ValueError, RecursionError):
        return None
    return got.get("version") if isinstance(got, dict) else None


def _describe(path: Path):
    from .descriptors import describe

    return describe(path)


class Ingester:
    def __init__(self, store: VectorStore, ledger: Ledger, transcriber, embedder, catalog, *,
                 window: float = WINDOW_SECONDS, overlap: float = OVERLAP_SECONDS,
                 describer: Callable | None = _describe) -> None:
        """``describer``: path -> ``Descriptors`` of its sound and picture (None: not read)."""
        self.describer = describer
        self.store = store
        self.ledger = ledger
        self.transcriber = transcriber
        self.embedder = embedder
        self.catalog = catalog
        self.window = window
        self.overlap = overlap

    def sweep(self) -> int:
        """Delete windows that are not the live version of their file (left by a crash)."""
        live = self.ledger.current_sources()
        stale = [i for i, m in self.store.get_metadata(TRANSCRIPTS).items()
                 if live.get(m.get("source")) != m.get("content_hash")]
        return self.store.delete(TRANSCRIPTS, stale)

    def ingest(self, paths: Iterable[str | Path], *, item_id: int | None = None,
               on_file: Callable[[Path, str], None] | None = None) -> IngestReport:
        """Raises LedgerError when the ledger cannot be used (before anything is written:
        the sweep would take every window for stale)."""
        if getattr(self.ledger, "error", None) is not None:    # an UnusableLedger
            raise self.ledger.error
        files, failed = discover(paths)
        report = IngestReport(failed=failed)
        report.swept = self.sweep()
        for path in files:
            if on_file:
                on_file(path, "start")
            try:
                entry, changed = self.ingest_file(path, item_id=item_id)
            except LedgerError:
                raise       # the same for every file: one error, not one per file
            except (RetrievalError, OSError, UnicodeError) as exc:
                report.failed.append({"path": path_text(path), "error": _one_line(exc)})
                status = "failed"
            else:
                (report.ingested if changed else report.unchanged).append(entry)
                status = "ingested" if changed else "unchanged"
            if on_file:
                on_file(path, status)
        return report

    def ingest_file(self, path: Path, *, item_id: int | None = None) -> tuple[dict, bool]:
        """Returns (report entry, whether anything changed)."""
        source = path_text(path.resolve())
        content_hash = file_hash(path)
        link = link_file(path, self.catalog, item_id)
        rec = self.ledger.get(source)
        if link.movie_id is None:
            mine = self.ledger.user_item_for(source)
            if mine is not None:
                link = Link(mine.movie_id, mine.title, mine.year, "new-item")
        if (rec is not None and rec.content_hash == content_hash
                and rec.movie_id == link.movie_id and rec.embed_model == self.embedder.name
                and rec.transcriber == self.transcriber.name and self._described(source)):
            return self._entry(source, rec.movie_id, link, rec.windows, rec.duration), False

        transcript = self.transcriber.transcribe(path)
        windows = make_windows(transcript.segments, window=self.window, overlap=self.overlap)
        vectors = self.embedder.embed([w.text for w in windows]) if windows else None
        descriptors, warning = None, None
        if self.describer is not None:
            from .descriptors import DescriptorError

            try:
                descriptors = self.describer(path)
            except DescriptorError as exc:     # the speech is still worth keeping
                warning = _one_line(exc)
            except Exception as exc:  # noqa: BLE001 — a decoder's or the VAD's own error
                log.warning("sound and picture of %s not read", path, exc_info=True)
                warning = f"sound and picture not read ({_one_line(exc)})"
        speech = None
        if vectors is not None and len(vectors):
            mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
            speech = mean / max(float(np.linalg.norm(mean)), 1e-12)
        movie_id = link.movie_id
        if movie_id is None:
            movie_id = self.ledger.add_user_item(link.title, link.year, source).movie_id
        movie = self.catalog.get(movie_id)
        base = {"kind": "transcript", "movie_id": movie_id, "source": source,
                "content_hash": content_hash, "embed_model": self.embedder.name,
                "transcriber": self.transcriber.name, "title": link.title,
                "year": link.year, "genres": list(movie.genres) if movie else []}
        # 1. new windows (invisible to search until the ledger names this hash)
        ids = [window_id(source, content_hash, i) for i in range(len(windows))]
        self.store.upsert(TRANSCRIPTS, ids, vectors, [w.text for w in windows],
                          [{**base, "start": w.start, "end": w.end, "window": i}
                           for i, w in enumerate(windows)])
        # 2. the switch
        self.ledger.record(MediaRecord(source, content_hash, movie_id, len(windows),
                                       self.embedder.name, self.transcriber.name, link.linked_by,
                                       transcript.duration),
                           features_body(descriptors, speech, self.embedder.name)
                           if self.describer is not None else None)
        # 3. old windows of this file
        keep = set(ids)
        old = [i for i in self.store.get_metadata(TRANSCRIPTS, where={"source": source})
               if i not in keep]
        self.store.delete(TRANSCRIPTS, old)
        entry = self._entry(source, movie_id, link, len(windows), transcript.duration)
        if descriptors is not None:
            entry["sound_picture"] = descriptors.as_dict()
        if warning:
            entry["warning"] = warning
        return entry, True

    def _described(self, source: str) -> bool:
        """Whether the live version of ``source`` has its features of this recbot (or none
        are asked for): one ingested by an older recbot is read again."""
        if self.describer is None:
            return True
        from .descriptors import VERSION

        return features_version(self.ledger.features(source).get(source)) == VERSION

    @staticmethod
    def _entry(source: str, movie_id: int, link: Link, windows: int,
               duration: float | None) -> dict:
        return {"path": source, "movie_id": movie_id, "title": link.title, "year": link.year,
                "linked_by": link.linked_by, "windows": windows, "duration": duration}


def _one_line(exc: BaseException) -> str:
    text = path_text(" ".join(str(exc).split()))
    return text or type(exc).__name__
