"""The recommender's working set for one dataset: catalog, ratings, trained rankers, search
and the user's media.

``Workspace`` composes four parts, one per job, each loading on first use and caching in
memory (trained models and ready-made snapshots are cached in the data dir, under
``models/<dataset key>/``, and rebuilt when their sources change):

- ``data`` (data.Data): the dataset, the catalog (with the user's ingested items), the
  ingest ledger and the ratings;
- ``models`` (models.Models): trained rankers, co-ratings, holdout evaluation;
- ``index`` (index.Index): embedder, Chroma store, catalog mirror, index build and check,
  the searcher, the real seekers' contexts;
- ``media`` (media.Media): Whisper transcription and ingesting files.

Each part takes the settings and the parts it needs; pass your own to replace one, e.g. a
test's searcher over its own store::

    data = Data(settings)
    ws = Workspace(settings, data=data, index=Index(settings, data, searcher=my_searcher))

The workspace keeps the attributes callers use (``ws.catalog``, ``ws.ranker()``,
``ws.searcher``, ``ws.build_index()``...) by handing them to the part that owns them.
Nothing heavy (chromadb, faster_whisper, pyspark, pandas) is imported until a call needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..settings import Settings
from .data import Data, enrich_plots, fetch_dataset, known_datasets, list_datasets, use_dataset
from .index import Index
from .media import Media
from .models import EVAL_RANKERS, RANK_ENGINES, Models, default_eval_rankers, rank_users
from .readers import (
    PARQUET_SUFFIXES,
    BatchInputError,
    read_ratings_parquet,
    read_train_ratings,
    read_user_ids,
)

if TYPE_CHECKING:
    from recbot.ranking.base import BaseRanker
    from recbot.ranking.evaluate import EvalResult
    from recbot.retrieval.index import IndexReport
    from recbot.retrieval.ingest import Ingester, IngestReport

__all__ = [
    "EVAL_RANKERS", "PARQUET_SUFFIXES", "RANK_ENGINES", "BatchInputError", "Data", "Index",
    "Media", "Models", "Workspace", "default_eval_rankers", "enrich_plots", "fetch_dataset",
    "known_datasets",
    "list_datasets", "rank_users", "read_ratings_parquet", "read_train_ratings",
    "read_user_ids", "use_dataset",
]


def _forward(part: str, name: str) -> property:
    """``ws.<name>`` is ``ws.<part>.<name>``."""
    return property(lambda self: getattr(getattr(self, part), name),
                    doc=f"``{part}.{name}``")


class Workspace:
    """The parts composed over one ``settings``; any part may be passed in (built over the
    same ``Data``: a part passed without ``data`` lends the workspace its own)."""

    def __init__(self, settings: Settings, *, data: Data | None = None,
                 models: Models | None = None, index: Index | None = None,
                 media: Media | None = None) -> None:
        if index is None and media is not None:
            index = getattr(media, "index", None)
        given = [p for p in (models, index, media) if p is not None]
        if data is None:
            data = next((p.data for p in given if getattr(p, "data", None) is not None), None)
        self.settings = settings
        self.data = data if data is not None else Data(settings)
        if any(getattr(p, "data", self.data) is not self.data for p in given):
            raise ValueError("the workspace's parts must share one Data")
        self.models = models if models is not None else Models(settings, self.data)
        self.index = index if index is not None else Index(settings, self.data)
        if media is not None and getattr(media, "index", self.index) is not self.index:
            raise ValueError("the media part must use the workspace's index")
        self.media = media if media is not None else Media(settings, self.data, self.index)

    # ----- data ---------------------------------------------------------------------------
    dataset_dir = _forward("data", "dataset_dir")
    dataset_key = _forward("data", "dataset_key")
    base_catalog = _forward("data", "base_catalog")
    catalog = _forward("data", "catalog")
    ledger = _forward("data", "ledger")
    interactions = _forward("data", "interactions")
    _snapshots = _forward("data", "snapshots")

    def genre_names(self, values: Iterable[str]) -> tuple[str, ...]:
        return self.data.genre_names(values)

    # ----- models ---------------------------------------------------------------------------
    corate = _forward("models", "corate")

    def ranker(self, name: str = "als", **params) -> BaseRanker:
        return self.models.ranker(name, **params)

    def ranker_is_trained(self, name: str = "als") -> bool:
        return self.models.ranker_is_trained(name)

    def evaluate(self, *, k: int = 10, seed: int = 0, rankers: Iterable[str] = EVAL_RANKERS,
                 on_result: Callable[[EvalResult], None] | None = None) -> list[EvalResult]:
        return self.models.evaluate(k=k, seed=seed, rankers=rankers, on_result=on_result)

    # ----- search and index -----------------------------------------------------------------
    embedder = _forward("index", "embedder")
    store = _forward("index", "store")
    searcher = _forward("index", "searcher")
    chat_neighbours = _forward("index", "chat_neighbours")
    contexts_cache = _forward("index", "contexts_cache")
    _generation_path = _forward("index", "generation_path")
    _mirror_path = _forward("index", "mirror_path")

    def index_is_current(self) -> bool:
        return self.index.index_is_current()

    def build_index(self, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        return self.index.build_index(progress)

    def search(self, query: str, *, k: int = 10, genres: Iterable[str] = (),
               year_min: int | None = None, year_max: int | None = None, lang: str = "en"):
        return self.index.search(query, k=k, genres=genres, year_min=year_min,
                                 year_max=year_max, lang=lang)

    # ----- media ----------------------------------------------------------------------------
    def transcriber(self, model: str | None = None, language: str | None = None):
        return self.media.transcriber(model, language)

    def ingester(self, transcriber=None) -> Ingester:
        return self.media.ingester(transcriber)

    def ingest(self, paths: Iterable[str], *, item_id: int | None = None,
               on_file=None) -> IngestReport:
        return self.media.ingest(paths, item_id=item_id, on_file=on_file)

    # ----- first run ------------------------------------------------------------------------
    def pending_steps(self) -> list[str]:
        """What a first run must still build before the first turn is quick."""
        steps = []
        if not self.index.index_is_current():
            steps.append("catalog index")
        if not self.models.ranker_is_trained():
            steps.append("MF model")
        return steps

    def prepare(self, progress: Callable[[str, int, int], None] | None = None) -> None:
        """Build the catalog index and train the MF model if needed, with
        ``progress(step, done, total)``."""
        progress = progress or (lambda *_: None)
        if not self.index.index_is_current():
            progress("catalog index", 0, len(self.data.catalog))
            self.index.build_index(
                progress=lambda done, total: progress("catalog index", done, total))
        progress("MF model", 0, 1)
        self.models.ranker("als")
        progress("MF model", 1, 1)
