"""The rankers of the dataset: trained once and cached in the data dir
(``models/<dataset key>/``), retrained when the ratings change; holdout evaluation; the
co-ratings evidence; and `recbot rank` (batch top-k, in process or on Spark).

The fingerprint of ratings.csv is noted beside the models, so the trained model (which
holds the ratings matrix) loads without parsing the CSV while the file is unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from .data import Data, remove_files, write_atomic
from .readers import BatchInputError, read_train_ratings, read_user_ids

if TYPE_CHECKING:
    from recbot.ranking.base import BaseRanker
    from recbot.ranking.evaluate import EvalResult

EVAL_RANKERS = ("als", "ease", "itemknn", "pop")


class Models:
    """Trained rankers, co-ratings and evaluation over ``data``'s ratings."""

    def __init__(self, settings: Settings, data: Data) -> None:
        self.settings = settings
        self.data = data
        self._rankers: dict[tuple, BaseRanker] = {}

    @cached_property
    def corate(self):
        """Who liked what (agent.explain.evidence.CoRatings), from its snapshot next to the model
        when it matches the ratings, else built and snapshotted."""
        from ..explain.evidence import CoRatings

        inter = self.data.interactions
        snapshots = self.data.snapshots
        path = snapshots / f"co-ratings-{inter.fingerprint()}.npz"
        try:
            return CoRatings.load(path, inter)
        except Exception:  # noqa: BLE001 — missing, stale or torn: rebuild it
            pass
        corate = CoRatings(inter)
        remove_files(snapshots.glob("co-ratings-*.npz"))
        write_atomic(path, corate.save)
        return corate

    def _ratings_note(self) -> Path:
        return self.data.snapshots / f"ratings-{self.data.source_key('ratings.csv')}.json"

    def ranker(self, name: str = "als", **params) -> BaseRanker:
        """A trained ranker, from the model cache when it matches the current data.
        With ``ranker_engine = "spark"`` the MF ranker ("als") is Spark's (spark-als)."""
        import json

        name, params = self._engine(name, params)
        cache, data = self._rankers, self.data
        key = (name, tuple(sorted(params.items())))
        if key not in cache:
            from recbot.ranking.models import make_ranker
            from recbot.ranking.store import ModelError, load, load_or_fit, model_path_for

            ranker = make_ranker(name, **params)
            if not data.has_interactions:
                # ratings.csv unchanged since its fingerprint was noted: the model file holds
                # the same matrix, so load it without parsing the CSV
                try:
                    fingerprint = json.loads(self._ratings_note().read_text())["fingerprint"]
                    loaded = load(model_path_for(data.snapshots, ranker, fingerprint),
                                  expect_fingerprint=fingerprint, verify=False)
                    if loaded.params() == ranker.params():
                        data.adopt_interactions(loaded.interactions)
                        cache[key] = loaded
                        return loaded
                except (OSError, ValueError, KeyError, ModelError):
                    pass
            cache[key] = load_or_fit(ranker, data.interactions, data.snapshots)
            release = getattr(cache[key], "release", None)   # spark-als: done with Spark
            if release is not None:
                release()
            note = json.dumps({"fingerprint": data.interactions.fingerprint()}).encode()
            remove_files(data.snapshots.glob("ratings-*.json"))
            write_atomic(self._ratings_note(), lambda fh: fh.write(note))
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
        return model_path(self.settings.models_dir / self.data.dataset_key,
                          make_ranker(name, **params), self.data.interactions).is_file()

    def evaluate(self, *, k: int = 10, seed: int = 0, rankers: Iterable[str] = EVAL_RANKERS,
                 on_result: Callable[[EvalResult], None] | None = None) -> list[EvalResult]:
        """Holdout evaluation of each ranker on the same split (see ranking.evaluate)."""
        from recbot.ranking.evaluate import evaluate, holdout_split
        from recbot.ranking.models import make_ranker

        interactions = self.data.interactions
        rankers = list(rankers)
        if "ease" in rankers:   # refuse before anything else trains for minutes
            from recbot.ranking.models import EASERanker

            EASERanker.check_size(interactions.n_items)
        split = holdout_split(interactions, seed=seed)
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


RANK_ENGINES = ("implicit", "spark")


def rank_users(train_csv: str | Path, users_txt: str | Path | None, out_csv: str | Path, *,
               k: int = 10, ranker: str = "als", engine: str = "implicit",
               spark_master: str | None = None,
               links: dict[int, tuple[int | None, int | None]] | None = None) -> int:
    """Train on ``train_csv`` (CSV or Parquet) and write the top-k unseen items of each user
    listed in ``users_txt`` (every user when None) to ``out_csv``.

    ``engine="spark"`` trains Spark MLlib's ALS on ``spark_master`` (default local[*]) and
    ranks there too (``SparkALSRanker.recommend_in_spark``). The output appears atomically;
    nothing is written when any input is bad. Returns the number of rows written.
    ``links`` (movieId -> (IMDb number, TMDB id), ``Data.links``) adds the columns imdbId and
    tmdbId after the four (empty where a film has none).
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
            return _write_ranked(out_csv, inter, ranked_in_spark(model), links)
        finally:
            model.release()
    model = make_ranker(ranker).fit(inter)
    return _write_ranked(out_csv, inter, ranked_in_process(model), links)


def _write_ranked(out_csv: str | Path, inter, ranked, links=None) -> int:
    """(row, column, rank, score) tuples as userId,movieId,rank,score (then imdbId,tmdbId
    with ``links``): atomically into a file, written into a FIFO or device
    (agent/outfile.py)."""
    from ..outfile import OutputError, write_output
    from ..tempfiles import sweep_beside

    out_csv = Path(out_csv)
    sweep_beside(out_csv)        # what a killed run left beside it
    if not out_csv.exists():
        out_csv.parent.mkdir(parents=True, exist_ok=True)
    written = 0

    def write(fh) -> None:
        nonlocal written
        w = csv.writer(fh)
        w.writerow(["userId", "movieId", "rank", "score",
                    *(("imdbId", "tmdbId") if links is not None else ())])
        for row, col, rank, score in ranked:
            movie = int(inter.item_ids[col])
            ids = ()
            if links is not None:
                imdb, tmdb = links.get(movie, (None, None))
                ids = (f"tt{imdb:07d}" if imdb is not None else "",
                       tmdb if tmdb is not None else "")
            w.writerow([int(inter.user_ids[row]), movie, rank, f"{score:.6f}", *ids])
            written += 1

    try:
        write_output(out_csv, write)
    except OutputError as err:
        from recbot.ranking.errors import RankingError

        raise RankingError(str(err)) from None
    return written
