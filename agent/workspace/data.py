"""The dataset and what is read from it: catalog (the dataset's movies plus the user's
ingested items and plot text), the ingest ledger and the ratings; and what `recbot data`
does (known, fetch, use, list datasets, enrich with plot text).

The built catalog is kept ready-made beside the models (``models/<dataset key>/``): a
JSON file (data only: retrieval/snapshot.py) keyed on the size and mtime of every file it is built from (the user's plot text and
the code that builds it included). Any change to those files, or a failed read, falls back
to the full build.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings

if TYPE_CHECKING:
    from recbot.ranking.interactions import Interactions
    from recbot.retrieval.catalog import Catalog
    from recbot.retrieval.ledger import Ledger
    from recbot.retrieval.plots import PlotReport


# the code whose output the snapshots hold (found without importing it)
_SNAPSHOT_CODE = ("retrieval.catalog", "retrieval.enrich", "retrieval.plots",
                  "retrieval.titles", "retrieval.snapshot", "retrieval.safe_text",
                  "ranking.interactions",
                  "ranking.models", "ranking.store", "agent.reader.mentions")


def remove_files(paths: Iterable[Path]) -> None:
    """Delete old snapshots; one that stays is only disk space, never an error."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def write_atomic(path: Path, write: Callable) -> None:
    """``write(binary file)`` into ``path`` atomically; a cache that cannot be written is
    only slower next time, never an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def set_aside_damaged_ledger(settings: Settings) -> tuple[Path, str] | None:
    """The ingest ledger renamed aside when it is damaged (retrieval/ledger.py): (where it
    went, what was wrong), or None when it is sound or absent."""
    from recbot.retrieval.ledger import set_aside_if_corrupt

    return set_aside_if_corrupt(settings.ledger_path)


def store_key(settings: Settings) -> str:
    """Which store the ledger's records live in: "local", the server URL, and the
    tenant/database on it when they are not the default ones."""
    from ..settings import CHROMA_DEFAULT_DATABASE, CHROMA_DEFAULT_TENANT

    s = settings
    if not s.chroma_url:
        return "local"
    if (s.chroma_tenant, s.chroma_database) == (CHROMA_DEFAULT_TENANT, CHROMA_DEFAULT_DATABASE):
        return s.chroma_url
    return f"{s.chroma_url}#{s.chroma_tenant}/{s.chroma_database}"


class Data:
    """Catalog and ratings of the configured dataset, loaded on first use and cached."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def dataset_dir(self) -> Path:
        from recbot.retrieval.datasets import open_dataset

        return open_dataset(self.settings.dataset, self.settings.datasets_dir)

    @cached_property
    def dataset_key(self) -> str:
        from recbot.retrieval.datasets import bundled_dataset_dir

        if self.dataset_dir == bundled_dataset_dir():
            return "builtin"
        digest = hashlib.sha256(str(self.dataset_dir.resolve()).encode()).hexdigest()[:8]
        return f"{self.dataset_dir.name}-{digest}"

    @property
    def snapshots(self) -> Path:
        """Where this dataset's models and ready-made snapshots live."""
        return self.settings.models_dir / self.dataset_key

    def source_key(self, *names: str, extra: Iterable[Path] = ()) -> str:
        """Changes when any of the dataset's ``names`` (or a bundled table, or an ``extra``
        file) changes."""
        import importlib.util

        from recbot.retrieval.catalog import BUNDLED_IMDB_CSV

        digest = hashlib.sha256(b"snapshot-1")
        paths = [self.dataset_dir / n for n in names] + list(extra)
        paths += [BUNDLED_IMDB_CSV, BUNDLED_IMDB_CSV.parent / "codirectors.csv"]
        # the code that builds the catalog: an upgrade or an edit rebuilds it
        paths += [Path(importlib.util.find_spec(f"recbot.{m}").origin) for m in _SNAPSHOT_CODE]
        for path in paths:
            try:
                st = path.stat()
                digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{path}:-\n".encode())
        return digest.hexdigest()[:16]

    @cached_property
    def base_catalog(self) -> Catalog:
        import gc

        from recbot.retrieval import snapshot
        from recbot.retrieval.catalog import load_catalog

        _ = self.plots_stamp     # taken before the plot text is read (see plots_stamp)
        key = self.source_key("movies.csv", "ratings.csv", "tags.csv", "links.csv",
                              extra=[self.settings.plots_path])
        path = self.snapshots / f"catalog-{key}.json"
        try:
            with path.open("rb") as fh:
                gc.disable()   # the collector would walk the half-built graph: 2x slower
                try:
                    return snapshot.load(fh)   # JSON: data only, never code
                finally:
                    gc.enable()
        except (OSError, snapshot.SnapshotError):   # missing, stale, torn or foreign: rebuild
            pass
        catalog = load_catalog(self.dataset_dir, plots=self.plots())
        from ..reader.mentions import people_index

        _ = catalog.titles      # built now, so the snapshot holds the title index
        people_index(catalog)   # and the people index too
        catalog.id_digest()     # and the hash the index check compares
        # and the pickles earlier versions kept: never read, a pickle can run code
        remove_files([*self.snapshots.glob("catalog-*.json"),
                      *self.snapshots.glob("catalog-*.pickle")])
        write_atomic(path, lambda fh: snapshot.dump(catalog, fh))
        return catalog

    @cached_property
    def plots_stamp(self) -> str:
        """Size and mtime of the user's plot text as the catalog holds it ("" when there is
        none), for the index check: taken once, before the catalog reads the file, so a file
        changed later never passes for the one the catalog (and an index built from it)
        holds."""
        try:
            st = self.settings.plots_path.stat()
        except OSError:
            return ""
        return f"{st.st_size}:{st.st_mtime_ns}"

    def plots(self) -> dict[int, str]:
        """The user's stored plot text per movieId ({} when there is none)."""
        from recbot.retrieval.plots import load_plots

        return load_plots(self.settings.plots_path)

    def user_plot_films(self) -> int:
        """How many of the dataset's films have plot text of the user's."""
        catalog = self.base_catalog
        return sum(1 for movie_id in self.plots() if movie_id in catalog)

    @cached_property
    def catalog(self) -> Catalog:
        """The dataset's movies plus the user's own ingested items."""
        if not self.settings.ledger_path.exists():
            return self.base_catalog
        from recbot.retrieval.ledger import LedgerError

        try:
            items = self.ledger.user_items()
        except LedgerError as exc:     # damaged after it opened: go on without the items
            import logging

            logging.getLogger(__name__).warning("%s", exc)
            items = []
        return self.base_catalog.with_user_items(items)

    def forget_catalog(self) -> None:
        """New items may have joined: the next ``catalog`` is built again."""
        self.__dict__.pop("catalog", None)
        self.__dict__.pop("videos", None)

    @cached_property
    def links(self) -> dict[int, tuple[int | None, int | None]]:
        """movieId -> (IMDb number, TMDB id) from the dataset's links.csv ({} without one;
        a row that is not two numbers where numbers belong is left out)."""
        import csv

        out: dict[int, tuple[int | None, int | None]] = {}
        try:
            with (self.dataset_dir / "links.csv").open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    try:
                        movie = int(row.get("movieId") or "")
                    except ValueError:
                        continue
                    out[movie] = (_whole(row.get("imdbId")), _whole(row.get("tmdbId")))
        except (OSError, UnicodeDecodeError, csv.Error):
            return out
        return out

    def external_ids(self, movie_id: int) -> dict:
        """{"imdb_id": "tt0113277", "tmdb_id": 949} for a catalog film, what is known."""
        imdb, tmdb = self.links.get(int(movie_id), (None, None))
        out: dict = {}
        if imdb is not None:
            out["imdb_id"] = f"tt{imdb:07d}"
        if tmdb is not None:
            out["tmdb_id"] = tmdb
        return out

    @cached_property
    def videos(self) -> dict:
        """The user's ingested files by item, with what their ingest read of their sound,
        picture and speech (``retrieval.sound_picture.OwnVideo``); {} without any."""
        if not self.settings.ledger_path.exists():
            return {}
        from recbot.retrieval.ledger import LedgerError
        from recbot.retrieval.sound_picture import own_videos

        try:
            return own_videos(self.ledger.records(), self.ledger.features())
        except LedgerError as exc:
            import logging

            logging.getLogger(__name__).warning("%s", exc)
            return {}

    @cached_property
    def ledger(self) -> Ledger:
        """The ingest ledger; one that cannot be opened (damaged, unreadable) is said once
        as a warning and stands in empty: reads find nothing, writes raise its error."""
        from recbot.retrieval.ledger import Ledger, LedgerError, UnusableLedger

        try:
            return Ledger(self.settings.ledger_path, store_key=store_key(self.settings))
        except LedgerError as exc:
            import logging

            logging.getLogger(__name__).warning("%s", exc)
            return UnusableLedger(exc)

    @cached_property
    def interactions(self) -> Interactions:
        from recbot.ranking.interactions import Interactions, read_ratings

        return Interactions.from_frame(read_ratings(self.dataset_dir / "ratings.csv"))

    @property
    def has_interactions(self) -> bool:
        """Whether the ratings are in memory already (read, or adopted from a model)."""
        return "interactions" in self.__dict__

    def adopt_interactions(self, interactions: Interactions) -> None:
        """The ratings as a trained model holds them, so ratings.csv need not be parsed."""
        self.__dict__["interactions"] = interactions

    def genre_names(self, values: Iterable[str]) -> tuple[str, ...]:
        """User-typed genres in the catalog's spelling; ``ValueError`` names the valid ones."""
        from recbot.retrieval.search import parse_genres

        return parse_genres(list(values), {g for m in self.catalog for g in m.genres})


# ----- datasets (what `recbot data` does) --------------------------------------------------

def known_datasets() -> tuple[str, ...]:
    from recbot.retrieval.datasets import KNOWN_DATASETS

    return tuple(KNOWN_DATASETS)


def fetch_dataset(settings: Settings, name: str, *, base_url: str | None = None,
                  checksum: str | None = None,
                  progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download a GroupLens set into the datasets dir (resumable, checksummed)."""
    from recbot.retrieval.datasets import fetch_dataset as fetch

    return fetch(name, settings.datasets_dir, base_url=base_url or settings.datasets_url,
                 checksum=checksum, progress=progress)


def use_dataset(settings: Settings, spec: str) -> tuple[str, Path]:
    """Validate a dataset (name, directory or zip) and make it the configured one.
    Returns the spec as stored and the dataset's directory."""
    from recbot.retrieval.datasets import KNOWN_DATASETS, open_dataset

    from ..settings import write_config

    path = open_dataset(spec, settings.datasets_dir)  # validates first
    if spec != "builtin" and not (settings.datasets_dir / spec).is_dir() \
            and spec not in KNOWN_DATASETS:
        spec = str(Path(spec).expanduser().resolve())
    write_config(settings.config_path, dataset=spec)
    return spec, path


def enrich_plots(settings: Settings, path: str | Path, *, replace: bool = False) -> PlotReport:
    """Store the plot text of a user's CSV (keyed by movieId or imdbId) for the configured
    dataset's films; ``replace`` drops the text stored before. The catalog and then the
    index take it in on their next build (both notice the stored file changed)."""
    from recbot.retrieval.datasets import open_dataset
    from recbot.retrieval.plots import enrich_plots as enrich

    dataset_dir = open_dataset(settings.dataset, settings.datasets_dir)
    return enrich(Path(path).expanduser(), dataset_dir, settings.plots_path, replace=replace)


def list_datasets(settings: Settings, *, count_rows: bool = False) -> list:
    from recbot.retrieval.datasets import list_datasets as listing

    return listing(settings.datasets_dir, count_rows=count_rows)


def _whole(text) -> int | None:
    """A positive whole number written in a CSV cell, or None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 10**10 else None
