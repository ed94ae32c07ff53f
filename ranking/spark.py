"""Spark MLlib's ALS behind the Ranker interface, and the SparkSession it trains on.

Spark trains (and, for ``recbot rank --engine spark``, ranks); the factors it learns are
then collected into numpy, aligned with our rows and columns, and installed in an
``implicit`` model the way ``ALSRanker.restore`` installs saved ones. Recommending,
fold-in for new users, similar items, explanations and ranking/store.py's .npz file
therefore work as for the implicit-trained model, and a loaded model needs no JVM.

pyspark is imported only when a session is needed (``pip install 'recbot[spark]'``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np
import scipy.sparse as sp

from .errors import RankingError
from .models import ALSRanker

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[*]"
CONNECT_PORT = 15002      # Spark Connect's default
STANDALONE_PORT = 7077    # a standalone cluster master's default
MIN_JAVA = 17             # pyspark 4 runs on Java 17 or newer
INSTALL_PYSPARK = "pip install 'recbot[spark]'"
INSTALL_JAVA = "apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"

# The log4j2 config the driver starts with: warnings only, without the ones every local
# run prints (native Hadoop missing, "large task binary" for each ALS iteration).
LOG4J2_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

# For a session on this machine: no UI, on loopback only, few shuffle partitions (the
# default 200 is for clusters; ALS's own blocks set its parallelism), and the log4j config.
# A cluster's driver keeps what its spark-defaults.conf says.
LOCAL_CONF = {
    "spark.driver.memory": "4g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J2_CONFIG.as_uri()}",
}
COMMON_CONF = {
    "spark.app.name": "recbot",
    "spark.ui.showConsoleProgress": "false",
}


def local_cores(master: str) -> int | None:
    """The cores of a ``local[N]`` master (``local[*]``: this machine's), None otherwise."""
    m = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if not m:
        return None
    n = m.group(1)
    return (os.cpu_count() or 1) if n in (None, "*") else max(int(n), 1)


def spark_session(master: str | None = None, *, jvm_log: Path | None = None) -> SparkSession:
    """The session to train on: ``master`` is ``local[*]``-style, a cluster URL
    (``spark://host:7077``, ``yarn``, ``k8s://…``) or Spark Connect (``sc://host:15002``).
    None means the session already running in this process, else ``local[*]``. A session
    already running on another master is an error, not silently reused. The driver JVM's
    own output goes to ``jvm_log`` (default: ``jvm_log_path()``).

    RankingError, one line, when pyspark or Java is missing or the master does not answer.
    """
    SparkSession = _session_class()
    active = SparkSession.getActiveSession()
    if master is None:
        if active is not None:
            return active
        master = DEFAULT_MASTER
    master = master.strip()
    if master.startswith("sc://"):
        _check_reachable(master, CONNECT_PORT)
    else:
        _check_java()
        if master.startswith("spark://"):
            _check_reachable(master, STANDALONE_PORT)
    if active is not None:
        running = _master_of(active)
        if running is not None and running != master:
            raise RankingError(f"a Spark session on {running} is already running in this "
                               f"process; cannot start one on {master}")
        return active
    if master.startswith("sc://"):
        start = SparkSession.builder.remote(master).getOrCreate
        local = False
    else:
        local = local_cores(master) is not None
        conf = {**COMMON_CONF, **(LOCAL_CONF if local else {})}
        if local:
            conf["spark.sql.shuffle.partitions"] = str(max(4, 2 * local_cores(master)))
        start = lambda: _start_classic(SparkSession, master, conf,   # noqa: E731
                                       jvm_log or jvm_log_path())
    try:
        with _jvm_environment(local):
            session = start()
    except Exception as exc:  # noqa: BLE001 — pyspark's own errors: Py4J, PySpark*, gRPC
        raise RankingError(f"could not start Spark on {master}: {_first_line(exc)}") from None
    with contextlib.suppress(Exception):     # a Connect session has no SparkContext
        session.sparkContext.setLogLevel("WARN")
    return session


def _master_of(session) -> str | None:
    try:
        return session.sparkContext.master
    except Exception:  # noqa: BLE001 — Spark Connect: no SparkContext to ask
        return None


def _start_classic(SparkSession, master: str, conf: dict, log: Path):
    """A classic session whose driver JVM writes its own output (the incubator-module
    notice, netlib's "dlopen(libblas.so.3) failed" probe when no system BLAS is installed,
    log4j's warnings) to ``log`` instead of the terminal: the JVM is launched by us with
    that file as its stdout and stderr (pyspark's ``launch_gateway(popen_kwargs=...)``),
    then the SparkContext runs on it. Python's own stderr is left alone (the chat draws on
    it). If pyspark already has a JVM in this process, or SPARK_REMOTE & co. ask for Spark
    Connect, the builder starts the session as usual."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql.utils import is_remote

    builder = SparkSession.builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    if is_remote() or getattr(SparkContext, "_gateway", None) is not None:
        return builder.getOrCreate()
    spark_conf = SparkConf().setMaster(master)
    for key, value in conf.items():
        spark_conf.set(key, value)
    fh = None
    with contextlib.suppress(OSError):
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = open(log, "ab")   # noqa: SIM115 — Popen duplicates it; closed right after
    try:
        gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": fh, "stderr": fh}
                                 if fh is not None else None)
    finally:
        if fh is not None:
            fh.close()
    SparkContext(conf=spark_conf, gateway=gateway)
    return builder.getOrCreate()


def _session_class():
    import warnings

    # pyspark warns, on import and on each arrow conversion, that it "does not yet fully
    # support pandas >= 3"; recbot hands it arrow tables, never pandas frames
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                            category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RankingError(f"the Spark engine needs pyspark: {INSTALL_PYSPARK}") from None
    return SparkSession


def java_version(java: str) -> int | None:
    """The major version of a ``java`` executable (17 for "17.0.15"), None if unknown."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major   # "1.8.0" is Java 8


def _check_java() -> None:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).is_file():
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        raise RankingError(f"Spark needs Java {MIN_JAVA} or newer ({where}): {INSTALL_JAVA}")
    version = java_version(java)
    if version is not None and version < MIN_JAVA:
        raise RankingError(f"Spark needs Java {MIN_JAVA} or newer, {java} is Java {version}: "
                           f"{INSTALL_JAVA}")


def _check_reachable(master: str, default_port: int, timeout: float = 5.0) -> None:
    """A TCP connect to the master first: pyspark would otherwise retry for minutes."""
    hosts = urlsplit(master).netloc.split("@")[-1]
    errors = []
    for hostport in hosts.split(","):         # spark://h1:7077,h2:7077 (standby masters)
        try:
            parsed = urlsplit(f"//{hostport}")
            host, port = parsed.hostname, parsed.port or default_port
        except ValueError:
            raise RankingError(f"{master}: not a Spark master URL") from None
        if not host:
            raise RankingError(f"{master}: not a Spark master URL (no host)")
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as exc:
            errors.append(f"{host}:{port} ({exc.strerror or exc})")
    raise RankingError(f"cannot reach the Spark master {master}: {', '.join(errors)}; is it "
                       f"running? (--spark-master / RECBOT_SPARK_MASTER)")


@contextlib.contextmanager
def _jvm_environment(local: bool):
    """Environment for the driver JVM pyspark starts: BLAS on one thread (Spark runs one
    task per core already; a threaded OpenBLAS under each made ALS fits 2x slower here),
    and a local driver on loopback without the "hostname resolves to a loopback address"
    warning."""
    wanted = {"OPENBLAS_NUM_THREADS": "1", **({"SPARK_LOCAL_IP": "127.0.0.1"} if local else {})}
    added = {k: v for k, v in wanted.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def jvm_log_path() -> Path:
    """Where the driver JVM's own stderr goes: ``spark-jvm.log`` in recbot's log dir
    ($RECBOT_LOG_DIR, else the platform's user log dir), beside recbot.log."""
    env = os.environ.get("RECBOT_LOG_DIR")
    if env:
        return Path(env).expanduser() / "spark-jvm.log"
    from platformdirs import user_log_dir

    return Path(user_log_dir("recbot", appauthor=False)) / "spark-jvm.log"


def _first_line(exc: BaseException) -> str:
    java = getattr(exc, "java_exception", None)      # Py4JJavaError: the Java side's own
    if java is not None:
        with contextlib.suppress(Exception):
            return str(java.toString()).splitlines()[0][:300]
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _spark_errors() -> tuple[type[BaseException], ...]:
    """What a failing Spark job raises: Py4J's errors, pyspark's own, gRPC's (Connect)."""
    kinds: list[type[BaseException]] = []
    with contextlib.suppress(ImportError):
        from py4j.protocol import Py4JError

        kinds.append(Py4JError)
    with contextlib.suppress(ImportError):
        from pyspark.errors import PySparkException

        kinds.append(PySparkException)
    with contextlib.suppress(ImportError):
        from grpc import RpcError

        kinds.append(RpcError)
    return tuple(kinds)


@contextlib.contextmanager
def _spark_job(what: str):
    """A Spark job's failure (a lost executor, the driver out of memory, a Connect server
    that refuses the session) as one line, not a Java stack trace."""
    try:
        yield
    except _spark_errors() as exc:
        raise RankingError(f"Spark failed while {what}: {_first_line(exc)} (the driver's "
                           f"own log: {jvm_log_path()})") from None


def _arrow():
    try:
        import pyarrow as pa
    except ImportError:
        raise RankingError(f"the Spark engine needs pyarrow: {INSTALL_PYSPARK}") from None
    return pa


def _pairs_table(X: sp.csr_matrix) -> pa.Table:
    """(user row, item column, value) triples of a sparse matrix, as int32/float32 columns."""
    pa = _arrow()
    coo = X.tocoo()
    return pa.table({"user": coo.row.astype(np.int32), "item": coo.col.astype(np.int32),
                     "weight": coo.data.astype(np.float32)})


def _collect_factors(frame: DataFrame, n: int, rank: int) -> np.ndarray:
    """Spark's (id, features) factors as an (n, rank) array; ids it never saw stay zero."""
    table = frame.toArrow()
    out = np.zeros((n, rank), dtype=np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        out[ids] = np.asarray(table.column("features").combine_chunks().flatten()
                              .to_numpy(), dtype=np.float32).reshape(-1, rank)
    return out


class SparkALSRanker(ALSRanker):
    """Implicit-feedback ALS trained by Spark MLlib, served like ``ALSRanker``.

    Spark's objective differs from ``implicit``'s: the confidence of a weight ``w`` is
    ``1 + spark_alpha * w`` (``implicit``: ``alpha * w``) and ``reg_param`` is scaled per
    row by its number of positive entries (ALS-WR), not a constant. So its parameters
    were chosen afresh, not copied: bench/tune_spark.py on a validation split carved out
    of the training part of `recbot eval`'s split (outer seed 0, inner seed 1000), a small
    grid (2 cores). ``regularization`` and ``alpha`` are those of the fold-in that serves
    new users from Spark's item factors (``implicit``'s formula, as ``ALSRanker`` does),
    chosen on the same validation split by the NDCG of folded-in validation users.
    See the README's "Scale out with Spark" for the numbers.

    ``blocks`` (Spark's numUserBlocks = numItemBlocks): None means the session's default
    parallelism (its cores: 2 on local[2], the executors' on a cluster; 10 on Spark
    Connect, where the client cannot ask).

    ``master`` (or an explicit ``spark`` session) only says where to train; it is not a
    model parameter and is not saved. ``release()`` lets go of Spark once the factors are
    collected, stopping the session if this ranker started it.
    """

    name = "spark-als"

    def __init__(self, *, factors: int = 64, reg_param: float = 0.2, spark_alpha: float = 2.0,
                 iterations: int = 10, blocks: int | None = None,
                 regularization: float = 100.0,
                 alpha: float = 5.0, random_state: int = 42, confidence: str = "stars",
                 master: str | None = None, spark: SparkSession | None = None,
                 **kwargs) -> None:
        super().__init__(factors=factors, regularization=regularization, alpha=alpha,
                         iterations=iterations, random_state=random_state,
                         confidence=confidence, **kwargs)
        self.reg_param = reg_param
        self.spark_alpha = spark_alpha
        self.blocks = blocks
        self.master = master
        self.spark = spark
        self.spark_model = None          # the fitted ALSModel, while its session lives
        self._train_frame: DataFrame | None = None
        self._own_session = False

    def params(self) -> dict:
        return {**super().params(), "reg_param": self.reg_param,
                "spark_alpha": self.spark_alpha, "blocks": self.blocks}

    def session(self) -> SparkSession:
        if self.spark is None:
            before = _session_class().getActiveSession()
            self.spark = spark_session(self.master)
            self._own_session = self.spark is not before
        return self.spark

    def release(self) -> None:
        """Drop the Spark model and training frame (the factors stay, in numpy), and stop
        the session if this ranker started it; a session handed in is left running."""
        self.spark_model = self._train_frame = None
        if self._own_session and self.spark is not None:
            with contextlib.suppress(Exception):
                self.spark.stop()
        if self._own_session:
            self.spark, self._own_session = None, False

    def _blocks(self, spark: SparkSession) -> int:
        if self.blocks:
            return int(self.blocks)
        try:
            return max(int(spark.sparkContext.defaultParallelism), 1)
        except Exception:  # noqa: BLE001 — Spark Connect: no SparkContext to ask
            return 10

    def _fit(self, X: sp.csr_matrix) -> None:
        spark = self.session()
        from pyspark.ml.recommendation import ALS

        with _spark_job("training ALS"):
            frame = spark.createDataFrame(_pairs_table(X))
            blocks = self._blocks(spark)
            als = ALS(rank=self.factors, maxIter=self.iterations, regParam=self.reg_param,
                      alpha=self.spark_alpha, implicitPrefs=True, userCol="user",
                      itemCol="item", ratingCol="weight", seed=self.random_state,
                      numUserBlocks=blocks, numItemBlocks=blocks)
            model = als.fit(frame)
            rank = model.rank
            users = _collect_factors(model.userFactors, X.shape[0], rank)
            items = _collect_factors(model.itemFactors, X.shape[1], rank)
        self.restore({"user_factors": users, "item_factors": items})
        self.spark_model, self._train_frame = model, frame

    def recommend_in_spark(self, rows: np.ndarray, k: int) -> pa.Table:
        """Top-k unseen items for training user ``rows``, computed by Spark: columns
        ``pos`` (index into ``rows``), ``item`` (column), ``rank`` (1..k), ``score``;
        sorted by pos then rank. ``rows`` must be distinct.

        Why in Spark: scoring is users x items x factors, the part of a batch run that
        grows fastest, and Spark spreads it over the cluster (recommendForUserSubset
        scores blocks of users against blocks of items without materialising the pairs).
        Seen items must be removed and Spark's top-n takes one n for all users, so users
        go in groups by how many items they rated: a group asks for n = 4^j >= k + rated,
        enough to still have k after the anti-join with the rated pairs. The candidates
        are then at most 4 x (k x users + ratings), linear in the data, in a handful of
        groups (4 on ml-latest-small). The same scores as ``score_users`` (Spark's own
        factors); a user or item Spark never saw (no non-zero weight) gets no row.
        """
        inter = self._require_fit()
        if self.spark_model is None:
            raise RankingError("this spark-als model was loaded from a file: Spark can only "
                               "rank with a model it trained in this process; call fit()")
        if k < 1:
            raise RankingError(f"k must be at least 1, not {k}")
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        pa = _arrow()
        spark = self.session()
        rows = np.asarray(rows, dtype=np.int64)
        if len(np.unique(rows)) != len(rows):
            raise ValueError("recommend_in_spark: rows must be distinct")
        rated = np.diff(inter.ratings.indptr)[rows]
        groups = np.minimum(4 ** np.ceil(np.log(k + rated) / np.log(4)), inter.n_items)
        with _spark_job("ranking"):
            users = spark.createDataFrame(pa.table({
                "user": rows.astype(np.int32), "pos": np.arange(len(rows), dtype=np.int64),
                "n": groups.astype(np.int32)}))
            cands = None
            for n in np.unique(groups).astype(int).tolist():
                part = self.spark_model.recommendForUserSubset(users.filter(F.col("n") == n), n)
                cands = part if cands is None else cands.unionByName(part)
            seen = self._train_frame
            if inter.ratings.nnz != self._X.nnz:    # some ratings weigh 0: not trained on, seen
                seen = spark.createDataFrame(_pairs_table(inter.ratings))
            by_score = Window.partitionBy("user").orderBy(F.desc("score"), F.asc("item"))
            top = (cands.select("user", F.explode("recommendations").alias("r"))
                   .select("user", F.col("r.item").alias("item"), F.col("r.rating").alias("score"))
                   .join(seen.select("user", "item"), ["user", "item"], "left_anti")
                   .withColumn("rank", F.row_number().over(by_score))
                   .filter(F.col("rank") <= k)
                   .join(users.select("user", "pos"), "user")
                   .select("pos", "item", "rank", "score")
                   .orderBy("pos", "rank"))
            return top.toArrow()
