"""The recommender's working set for one dataset: catalog, ratings and trained rankers.

Everything is loaded on first use and cached in memory; trained models are cached
in the data dir (``models/<dataset key>/``) and retrained when the data changes.

A scripted turn starts a new process each time, so what it reads is kept ready-made
beside the models (``models/<dataset key>/``): the built catalog (a pickle, keyed on the
size and mtime of every file it is built from, the code that builds it included), the
catalog index's vectors (retrieval/mirror.py), the fingerprint of
ratings.csv (so the trained model, which holds the ratings matrix, loads without parsing
the CSV), and a note of the last index check (so a turn that needs no search never opens
Chroma). Any change to those files, or a failed read, falls back to the full path.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import Settings

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from recbot.ranking.base import BaseRanker
    from recbot.ranking.evaluate import EvalResult
    from recbot.ranking.interactions import Interactions
    from recbot.retrieval.catalog import Catalog
    from recbot.retrieval.index import IndexReport
    from recbot.retrieval.ingest import Ingester, IngestReport
    from recbot.retrieval.ledger import Ledger
    from recbot.retrieval.search import Searcher
    from recbot.retrieval.store import VectorStore

EVAL_RANKERS = ("als", "ease", "itemknn", "pop")


# the code whose output the snapshots hold (found without importing it)
_SNAPSHOT_CODE = ("retrieval.catalog", "retrieval.enrich", "retrieval.titles",
                  "ranking.interactions", "ranking.models", "ranking.store", "agent.mentions")


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass   # an old snapshot that stays is only disk space


class _SplitStore:
    """The catalog collection from its mirror, everything else from Chroma (opened on the
    first query that needs it)."""

    def __init__(self, mirror, store: Callable) -> None:
        self.mirror, self._store = mirror, store

    def query(self, kind: str, embedding, n: int, where: dict | None = None):
        from recbot.retrieval.store import CATALOG

        if kind == CATALOG:
            return self.mirror.query(kind, embedding, n, where)
        return self._store().query(kind, embedding, n, where)


def _write_atomic(path: Path, write: Callable) -> None:
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


class BatchInputError(ValueError):
    """A users file for batch ranking is malformed; the message names file and line."""


class Workspace:
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
    def _snapshots(self) -> Path:
        return self.settings.models_dir / self.dataset_key

    def _source_key(self, *names: str) -> str:
        """Changes when any of the dataset's ``names`` (or a bundled table) changes."""
        import importlib.util

        from recbot.retrieval.catalog import BUNDLED_IMDB_CSV

        digest = hashlib.sha256(b"snapshot-1")
        paths = [self.dataset_dir / n for n in names]
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
        import pickle

        from recbot.retrieval.catalog import Catalog, load_catalog

        key = self._source_key("movies.csv", "ratings.csv", "tags.csv", "links.csv")
        path = self._snapshots / f"catalog-{key}.pickle"
        import gc

        try:
            with path.open("rb") as fh:
                gc.disable()   # the collector would walk the half-built graph: 2x slower
                try:
                    catalog = pickle.load(fh)   # our own file, written below
                finally:
                    gc.enable()
            if isinstance(catalog, Catalog):
                return catalog
        except Exception:  # noqa: BLE001 — missing, stale or torn: rebuild it
            pass
        catalog = load_catalog(self.dataset_dir)
        from .mentions import people_index

        _ = catalog.titles      # built now, so the snapshot holds the title index
        people_index(catalog)   # and the people index too
        catalog.id_digest()     # and the hash the index check compares
        _remove(self._snapshots.glob("catalog-*.pickle"))
        _write_atomic(path, lambda fh: pickle.dump(catalog, fh, protocol=5))
        return catalog

    @cached_property
    def catalog(self) -> Catalog:
        """The dataset's movies plus the user's own ingested items."""
        if not self.settings.ledger_path.exists():
            return self.base_catalog
        return self.base_catalog.with_user_items(self.ledger.user_items())

    # ----- retrieval ----------------------------------------------------------------------
    @cached_property
    def ledger(self) -> Ledger:
        from recbot.retrieval.ledger import Ledger

        return Ledger(self.settings.ledger_path, store_key=self._store_key)

    @property
    def _store_key(self) -> str:
        """Which store the ledger's records live in: "local", the server URL, and the
        tenant/database on it when they are not the default ones."""
        from .settings import CHROMA_DEFAULT_DATABASE, CHROMA_DEFAULT_TENANT

        s = self.settings
        if not s.chroma_url:
            return "local"
        if (s.chroma_tenant, s.chroma_database) == (CHROMA_DEFAULT_TENANT,
                                                    CHROMA_DEFAULT_DATABASE):
            return s.chroma_url
        return f"{s.chroma_url}#{s.chroma_tenant}/{s.chroma_database}"

    @cached_property
    def embedder(self):
        from recbot.retrieval.embed import MiniLMEmbedder

        return MiniLMEmbedder(self.settings.embed_model,
                              cache_dir=self.settings.models_dir / "embeddings")

    @cached_property
    def store(self) -> VectorStore:
        from recbot.retrieval.store import VectorStore, open_client

        s = self.settings
        client = open_client(path=s.chroma_dir, url=s.chroma_url, token=s.chroma_token,
                             auth_header=s.chroma_auth_header, tenant=s.chroma_tenant,
                             database=s.chroma_database)
        return VectorStore(client, self.embedder.name,
                           None if self.settings.chroma_url else self._generation_path)

    def transcriber(self, model: str | None = None):
        from recbot.retrieval.transcribe import WhisperTranscriber

        return WhisperTranscriber(model or self.settings.whisper_model)

    @property
    def _generation_path(self) -> Path:
        return self.settings.data_dir / "chroma-generation"

    def _index_note(self) -> dict | None:
        """What the last index check saw: the local store's generation and the catalog. A
        server store (chroma_url) is always asked."""
        from recbot.retrieval.store import read_generation

        if self.settings.chroma_url or not self.settings.chroma_dir.is_dir():
            return None
        generation = read_generation(self._generation_path)
        if generation is None:
            return None
        return {"embedder": self.embedder.name, "store": generation,
                "catalog": [len(self.catalog), self.catalog.id_digest()]}

    @property
    def _mirror_path(self) -> Path:
        return self._snapshots / "catalog-vectors.npz"

    @property
    def contexts_cache(self) -> Path:
        """Where the real seekers' contexts get their vectors for an embedder other than the
        bundled one (whose vectors ship with recbot)."""
        return self.settings.models_dir / "chat-contexts"

    @cached_property
    def chat_neighbours(self):
        """The real seekers' contexts (retrieval.prior.ChatNeighbours) with their vectors for
        this embedder attached, or None without contexts or vectors (an index build makes
        the vectors)."""
        from recbot.retrieval.prior import ChatNeighbours

        nb = ChatNeighbours.load()
        return nb if nb.attach(self.embedder.name, self.contexts_cache) else None

    def _contexts_ready(self) -> bool:
        from recbot.retrieval.prior import ChatNeighbours

        return self.chat_neighbours is not None or not ChatNeighbours.load().contexts

    def index_is_current(self) -> bool:
        import json

        from recbot.retrieval.index import index_needs_work
        from recbot.retrieval.store import bump_generation

        if not self._contexts_ready():
            return False
        note_path = self._snapshots / "index-check.json"
        note = self._index_note()
        try:
            if note is not None and json.loads(note_path.read_text()) == note:
                return True
        except (OSError, ValueError):
            pass
        current = not index_needs_work(self.store, self.catalog)
        if current and not self.settings.chroma_url:
            if self._index_note() is None:          # a store from before generation tokens
                bump_generation(self._generation_path)
            self._refresh_mirror()
        return current

    def _refresh_mirror(self) -> None:
        """Copy the catalog vectors out of the (current) local store and note the check."""
        import json

        from recbot.retrieval.mirror import CatalogMirror

        note = self._index_note()
        if note is None:
            return
        try:
            self.__dict__["_mirror"] = CatalogMirror.write(self.store, self._mirror_path,
                                                           note["store"])
        except Exception:  # noqa: BLE001 — no mirror: searches go to Chroma, nothing worse
            logger.info("could not write the catalog mirror", exc_info=True)
            return
        _write_atomic(self._snapshots / "index-check.json",
                      lambda fh: fh.write(json.dumps(note).encode()))

    def _catalog_mirror(self):
        """The catalog mirror of the current store generation, or None."""
        from recbot.retrieval.mirror import CatalogMirror
        from recbot.retrieval.store import read_generation

        if self.settings.chroma_url:
            return None
        generation = read_generation(self._generation_path)
        mirror = self.__dict__.get("_mirror")
        if mirror is None or mirror.stamp != generation:
            mirror = CatalogMirror.load(self._mirror_path, self.embedder.name, generation)
            self.__dict__["_mirror"] = mirror
        return mirror

    def build_index(self, progress: Callable[[int, int], None] | None = None) -> IndexReport:
        from recbot.retrieval.index import build_catalog_index
        from recbot.retrieval.prior import ChatNeighbours

        report = build_catalog_index(self.store, self.catalog, self.embedder, progress=progress)
        if self.chat_neighbours is None:
            nb = ChatNeighbours.load()
            nb.ensure_vectors(self.embedder, self.contexts_cache)
            self.__dict__["chat_neighbours"] = nb if nb.vectors is not None else None
        if not self.settings.chroma_url:
            self._refresh_mirror()
        return report

    @cached_property
    def searcher(self) -> Searcher:
        """Search over the store: the catalog through its exact mirror while that matches
        the store's generation (no chromadb import), transcripts in Chroma."""
        from recbot.retrieval.search import Searcher

        mirror = self._catalog_mirror()
        if mirror is None:
            return Searcher(self.store, self.embedder, self.catalog, self.ledger.current_sources)
        if not self.settings.ledger_path.exists():
            return Searcher(mirror, self.embedder, self.catalog, dict)
        return Searcher(_SplitStore(mirror, lambda: self.store), self.embedder, self.catalog,
                        self.ledger.current_sources)

    def ingester(self, transcriber=None) -> Ingester:
        from recbot.retrieval.ingest import Ingester

        return Ingester(self.store, self.ledger, transcriber or self.transcriber(),
                        self.embedder, self.catalog)

    def ingest(self, paths: Iterable[str], *, item_id: int | None = None,
               on_file=None) -> IngestReport:
        report = self.ingester().ingest(paths, item_id=item_id, on_file=on_file)
        if report.ingested:  # new items may have joined the catalog
            for name in ("catalog", "searcher"):
                self.__dict__.pop(name, None)
        return report

    @cached_property
    def interactions(self) -> Interactions:
        from recbot.ranking.interactions import Interactions, read_ratings

        return Interactions.from_frame(read_ratings(self.dataset_dir / "ratings.csv"))

    @cached_property
    def corate(self):
        """Who liked what (agent.evidence.CoRatings), from its snapshot next to the model
        when it matches the ratings, else built and snapshotted."""
        from .evidence import CoRatings

        inter = self.interactions
        path = self._snapshots / f"co-ratings-{inter.fingerprint()}.npz"
        try:
            return CoRatings.load(path, inter)
        except Exception:  # noqa: BLE001 — missing, stale or torn: rebuild it
            pass
        corate = CoRatings(inter)
        _remove(self._snapshots.glob("co-ratings-*.npz"))
        _write_atomic(path, corate.save)
        return corate

    def _ratings_note(self) -> Path:
        return self._snapshots / f"ratings-{self._source_key('ratings.csv')}.json"

    def ranker(self, name: str = "als", **params) -> BaseRanker:
        """A trained ranker, from the model cache when it matches the current data.
        With ``ranker_engine = "spark"`` the MF ranker ("als") is Spark's (spark-als)."""
        import json

        name, params = self._engine(name, params)
        cache = self.__dict__.setdefault("_rankers", {})
        key = (name, tuple(sorted(params.items())))
        if key not in cache:
            from recbot.ranking.models import make_ranker
            from recbot.ranking.store import ModelError, load, load_or_fit, model_path_for

            ranker = make_ranker(name, **params)
            if "interactions" not in self.__dict__:
                # ratings.csv unchanged since its fingerprint was noted: the model file holds
                # the same matrix, so load it without parsing the CSV
                try:
                    fingerprint = json.loads(self._ratings_note().read_text())["fingerprint"]
                    loaded = load(model_path_for(self._snapshots, ranker, fingerprint),
                                  expect_fingerprint=fingerprint, verify=False)
                    if loaded.params() == ranker.params():
                        self.__dict__["interactions"] = loaded.interactions
                        cache[key] = loaded
                        return loaded
                except (OSError, ValueError, KeyError, ModelError):
                    pass
            cache[key] = load_or_fit(ranker, self.interactions, self._snapshots)
            release = getattr(cache[key], "release", None)   # spark-als: done with Spark
            if release is not None:
                release()
            note = json.dumps({"fingerprint": self.interactions.fingerprint()}).encode()
            _remove(self._snapshots.glob("ratings-*.json"))
            _write_atomic(self._ratings_note(), lambda fh: fh.write(note))
        return cache[key]

    def _engine(self, name: str, params: dict) -> tuple[str, dict]:
        """The MF ranker of the configured engine: Spark trains it, the cached .npz serves it
        (fold-in for new users from Spark's item factors), and loading it needs no Spark."""
        if name == "als" and self.settings.ranker_engine == "spark":
            return "spark-als", {"master": self.settings.spark_master or None, **params}
        return name, params

    def ranker_is_trained(self, name: str = "als") -> bool:
        """Whether ``ranker(name)`` would load from the cache rather than train (cheap)."""
        from recbot.ranking.models import make_ranker
        from recbot.ranking.store import model_path

        name, params = self._engine(name, {})
        return model_path(self.settings.models_dir / self.dataset_key, make_ranker(name, **params),
                          self.interactions).is_file()

    def pending_steps(self) -> list[str]:
        """What a first run must still build before the first turn is quick."""
        steps = []
        if not self.index_is_current():
            steps.append("catalog index")
        if not self.ranker_is_trained():
            steps.append("MF model")
        return steps

    def prepare(self, progress: Callable[[str, int, int], None] | None = None) -> None:
        """Build the catalog index and train the MF model if needed, with
        ``progress(step, done, total)``."""
        progress = progress or (lambda *_: None)
        if not self.index_is_current():
            progress("catalog index", 0, len(self.catalog))
            self.build_index(progress=lambda done, total: progress("catalog index", done, total))
        progress("MF model", 0, 1)
        self.ranker("als")
        progress("MF model", 1, 1)

    def genre_names(self, values: Iterable[str]) -> tuple[str, ...]:
        """User-typed genres in the catalog's spelling; ``ValueError`` names the valid ones."""
        from recbot.retrieval.search import parse_genres

        return parse_genres(list(values), {g for m in self.catalog for g in m.genres})

    def search(self, query: str, *, k: int = 10, genres: Iterable[str] = (),
               year_min: int | None = None, year_max: int | None = None):
        """Semantic search over catalog and transcripts (``ValueError`` for an unknown
        genre). Builds nothing: call ``build_index`` first when it is not current."""
        from recbot.retrieval.search import SearchFilters

        wanted = self.genre_names(genres)
        return self.searcher.search(query, k=k, filters=SearchFilters(
            genres=wanted, year_min=year_min, year_max=year_max))

    def evaluate(self, *, k: int = 10, seed: int = 0, rankers: Iterable[str] = EVAL_RANKERS,
                 on_result: Callable[[EvalResult], None] | None = None) -> list[EvalResult]:
        """Holdout evaluation of each ranker on the same split (see ranking.evaluate)."""
        from recbot.ranking.evaluate import evaluate, holdout_split
        from recbot.ranking.models import make_ranker

        rankers = list(rankers)
        if "ease" in rankers:   # refuse before anything else trains for minutes
            from recbot.ranking.models import EASERanker

            EASERanker.check_size(self.interactions.n_items)
        split = holdout_split(self.interactions, seed=seed)
        results = []
        for name in rankers:
            result = evaluate(make_ranker(name), split, k=k)
            results.append(result)
            if on_result:
                on_result(result)
        return results


def default_eval_rankers(n_items: int) -> tuple[list[str], str | None]:
    """The rankers `recbot eval` compares when none are named, and a note on any left out
    (EASE above its size limit: the MF ranker and item-kNN still run)."""
    from recbot.ranking.models import EASE_MAX_ITEMS

    if n_items > EASE_MAX_ITEMS:
        return ([r for r in EVAL_RANKERS if r != "ease"],
                f"EASE left out: {n_items:,} rated films, it runs only up to {EASE_MAX_ITEMS:,} "
                f"(a dense films x films model)")
    return list(EVAL_RANKERS), None


def read_user_ids(path: str | Path) -> list[int]:
    """One userId per line; blank lines and a ``userId`` header are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file; pass a text file with one userId per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"{path}: cannot read it ({exc})") from None
    import re

    users: list[int] = []
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        if not text or (lineno == 1 and text.lower() == "userid"):
            continue
        # ASCII digits only: int() would also take "1_000" and other scripts' digits.
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise BatchInputError(f"{path}: line {lineno}: {text[:40]!r} is not a userId "
                                  "(one integer per line)")
        user = int(text)
        if not -(2**63) <= user < 2**63:
            raise BatchInputError(
                f"{path}: line {lineno}: userId {text[:40]} does not fit a 64-bit integer; "
                f"ids must be whole numbers between {-(2**63)} and {2**63 - 1}")
        users.append(user)
    if not users:
        raise BatchInputError(f"{path}: no userIds in the file (one integer per line)")
    return users


PARQUET_SUFFIXES = (".parquet", ".pq")


def read_train_ratings(path: str | Path):
    """A ratings table (userId, movieId, rating) from a CSV, or from Parquet when the name
    ends in .parquet (a file, or a directory of part files as Spark writes them)."""
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return read_ratings_parquet(path)
    from recbot.ranking.interactions import read_ratings

    return read_ratings(path)


def read_ratings_parquet(path: Path):
    """Parquet ratings, checked like ``read_ratings`` checks a CSV (integer ids, finite
    ratings, one per user and movie); InteractionsError names the file, the row and the fix."""
    import numpy as np
    import pandas as pd

    from recbot.ranking.errors import InteractionsError
    from recbot.ranking.interactions import RATING_COLUMNS

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InteractionsError(f"{path}: reading Parquet needs pyarrow: "
                                "pip install 'recbot[spark]'") from None
    if not path.exists():
        raise InteractionsError(f"{path}: no such file; pass a ratings CSV or Parquet file "
                                "with columns userId,movieId,rating")
    try:
        import pyarrow.dataset as ds

        names = ds.dataset(path, format="parquet").schema.names   # a file or a directory
        missing = [c for c in RATING_COLUMNS if c not in names]
        if missing:
            raise InteractionsError(
                f"{path}: missing column(s) {', '.join(missing)}; found "
                f"{', '.join(names) or 'none'} (expected userId,movieId,rating)")
        table = pq.read_table(path, columns=list(RATING_COLUMNS))   # only what is used
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InteractionsError(f"{path}: not a readable Parquet file ({first})") from None
    if table.num_rows == 0:
        raise InteractionsError(f"{path}: has columns but no ratings")
    out = {}
    for col in RATING_COLUMNS:
        arr = table.column(col)
        numeric = pa.types.is_integer(arr.type) or (col == "rating"
                                                    and pa.types.is_floating(arr.type))
        if not numeric:
            kind = "a number" if col == "rating" else "an integer"
            raise InteractionsError(f"{path}: column {col} is {arr.type}; it must be {kind} "
                                    "column")
        if arr.null_count:
            row = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0]) + 1
            raise InteractionsError(f"{path}: row {row}: {col} is empty")
        values = arr.to_numpy()
        if col == "rating":
            with np.errstate(over="ignore"):
                values = values.astype(np.float32)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0]) + 1
                raise InteractionsError(f"{path}: row {row}: rating must be a finite number "
                                        "that fits a float32")
        else:
            if values.dtype == np.uint64 and (values > np.iinfo(np.int64).max).any():
                row = int(np.flatnonzero(values > np.iinfo(np.int64).max)[0]) + 1
                raise InteractionsError(f"{path}: row {row}: {col} does not fit a 64-bit "
                                        "integer")
            values = values.astype(np.int64)
        out[col] = values
    df = pd.DataFrame(out)
    dup = df.duplicated(["userId", "movieId"], keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InteractionsError(
            f"{path}: row {row + 1}: duplicate rating for userId {df['userId'].iloc[row]}, "
            f"movieId {df['movieId'].iloc[row]}; keep one row per (user, movie)")
    return df


RANK_ENGINES = ("implicit", "spark")


def rank_users(train_csv: str | Path, users_txt: str | Path | None, out_csv: str | Path, *,
               k: int = 10, ranker: str = "als", engine: str = "implicit",
               spark_master: str | None = None) -> int:
    """Train on ``train_csv`` (CSV or Parquet) and write the top-k unseen items of each user
    listed in ``users_txt`` (every user when None) to ``out_csv``.

    ``engine="spark"`` trains Spark MLlib's ALS on ``spark_master`` (default local[*]) and
    ranks there too (``SparkALSRanker.recommend_in_spark``). The output appears atomically;
    nothing is written when any input is bad. Returns the number of rows written.
    """
    import numpy as np

    from recbot.ranking.evaluate import top_k_unseen
    from recbot.ranking.interactions import Interactions
    from recbot.ranking.models import make_ranker

    if engine not in RANK_ENGINES:
        raise BatchInputError(f"--engine must be one of {', '.join(RANK_ENGINES)}, not {engine!r}")
    if k < 1:
        raise BatchInputError(f"--k must be at least 1, not {k}")
    users = read_user_ids(users_txt) if users_txt is not None else None
    inter = Interactions.from_frame(read_train_ratings(train_csv))
    index = inter.user_index()
    if users is None:
        rows = np.arange(inter.n_users, dtype=np.int64)
    else:
        unknown = [u for u in users if u not in index]
        if unknown:
            shown = ", ".join(map(str, unknown[:5])) + (" …" if len(unknown) > 5 else "")
            raise BatchInputError(f"{users_txt}: {len(unknown)} userId(s) have no ratings in "
                                  f"{train_csv}: {shown}; remove them or add their ratings")
        rows = np.array([index[u] for u in dict.fromkeys(users)], dtype=np.int64)

    def ranked_in_process(model):
        for start in range(0, len(rows), 512):
            batch = rows[start:start + 512]
            scores = model.score_users(batch)
            top = top_k_unseen(scores, inter.ratings[batch], k)
            for j, cols in enumerate(top):
                for rank, c in enumerate(cols[cols >= 0], 1):
                    yield batch[j], c, rank, float(scores[j, c])

    def ranked_in_spark(model):
        table = model.recommend_in_spark(rows, k)
        yield from zip(rows[table.column("pos").to_numpy()], table.column("item").to_numpy(),
                       table.column("rank").to_numpy().tolist(),
                       table.column("score").to_numpy().tolist())

    if engine == "spark":
        model = make_ranker("spark-als", master=spark_master)
        try:
            model.fit(inter)
            return _write_ranked(out_csv, inter, ranked_in_spark(model))
        finally:
            model.release()
    model = make_ranker(ranker).fit(inter)
    return _write_ranked(out_csv, inter, ranked_in_process(model))


def _write_ranked(out_csv: str | Path, inter, ranked) -> int:
    """(row, column, rank, score) tuples as userId,movieId,rank,score, atomically."""
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out_csv.name, suffix=".tmp", dir=out_csv.parent)
    written = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["userId", "movieId", "rank", "score"])
            for row, col, rank, score in ranked:
                w.writerow([int(inter.user_ids[row]), int(inter.item_ids[col]), rank,
                            f"{score:.6f}"])
                written += 1
        os.replace(tmp, out_csv)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written


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

    from .settings import write_config

    path = open_dataset(spec, settings.datasets_dir)  # validates first
    if spec != "builtin" and not (settings.datasets_dir / spec).is_dir() \
            and spec not in KNOWN_DATASETS:
        spec = str(Path(spec).expanduser().resolve())
    write_config(settings.config_path, dataset=spec)
    return spec, path


def list_datasets(settings: Settings, *, count_rows: bool = False) -> list:
    from recbot.retrieval.datasets import list_datasets as listing

    return listing(settings.datasets_dir, count_rows=count_rows)
