"""Saving and loading trained rankers: one .npz, versioned, tied to the data it learned from.

A file records the format version, the ranker name and hyperparameters, and the
fingerprint of the interactions it was trained on. ``load_or_fit`` retrains when any
of those differ, so a stale model is never silently used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .base import BaseRanker
from .errors import ModelError
from .interactions import Interactions
from .models import make_ranker

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def _meta(ranker: BaseRanker, inter: Interactions) -> dict:
    return {"format": FORMAT_VERSION, "ranker": ranker.name, "params": ranker.params(),
            "fingerprint": inter.fingerprint()}


def save(ranker: BaseRanker, path: str | Path) -> Path:
    """Write atomically: a crash mid-save leaves the previous file intact."""
    inter = ranker._require_fit()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    R = inter.ratings
    arrays = {f"state__{k}": v for k, v in ranker.state().items()}
    arrays.update(user_ids=inter.user_ids, item_ids=inter.item_ids, r_data=R.data,
                  r_indices=R.indices, r_indptr=R.indptr,
                  meta=np.frombuffer(json.dumps(_meta(ranker, inter)).encode(), dtype=np.uint8))
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_arrays(fh, arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_meta(path: str | Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(z["meta"].tobytes().decode())
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a recbot model file ({exc}); delete it to retrain") from None


ALIGN = 64   # bytes: where every array's data starts in the file (as .npy files do)


def write_arrays(fh, arrays: dict[str, np.ndarray]) -> None:
    """An ``np.savez``-compatible file (``np.load`` reads it) whose array payloads start
    at ALIGN-byte file offsets, so ``open_arrays`` can map them in place: the padding goes
    into each member's zip "extra" field (id 0xD935, as Android's zipalign does)."""
    import io
    import struct

    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.asanyarray(arr), allow_pickle=False)
            data = buf.getbuffer()
            npy_header = len(data) - np.asanyarray(arr).nbytes   # numpy pads it to 64
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            zip64 = 20 if len(data) * 1.05 > zipfile.ZIP64_LIMIT else 0   # zipfile adds it
            start = zf.fp.tell() + 30 + len(info.filename.encode()) + 4 + zip64 + npy_header
            pad = -start % ALIGN
            info.extra = struct.pack("<HH", 0xD935, pad) + b"\0" * pad
            zf.writestr(info, data)


def open_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an ``np.savez`` file, memory-mapped (copy-on-write) instead of read:
    np.savez stores members uncompressed, so each .npy payload sits at a fixed offset. A
    compressed member is read the ordinary way. Loading 32 M ratings this way takes
    milliseconds instead of 1.5 s; pages are read when used."""
    from numpy.lib import format as npformat

    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED:
                with zf.open(info) as member:
                    out[name] = npformat.read_array(member, allow_pickle=False)
                continue
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                raise ValueError(f"bad zip member header for {info.filename}")
            start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") \
                + int.from_bytes(local[28:30], "little")
            fh.seek(start)
            version = npformat.read_magic(fh)
            header = (npformat.read_array_header_1_0 if version == (1, 0)
                      else npformat.read_array_header_2_0)
            shape, fortran, dtype = header(fh)
            if dtype.hasobject:
                raise ValueError(f"{info.filename} holds Python objects")
            offset = fh.tell()
            if offset - start + dtype.itemsize * int(np.prod(shape)) > info.file_size:
                raise ValueError(f"{info.filename} is shorter than its header says")
            if not shape or 0 in shape:
                out[name] = np.zeros(shape, dtype=dtype)
            elif offset % dtype.alignment or offset % ALIGN:
                # a file np.savez wrote (unaligned payloads): read it, don't map it
                fh.seek(offset)
                out[name] = np.fromfile(fh, dtype=dtype, count=int(np.prod(shape))).reshape(
                    shape, order="F" if fortran else "C")
            else:
                out[name] = np.memmap(fh.name, dtype=dtype, mode="c", offset=offset,
                                      shape=shape, order="F" if fortran else "C")
    return out


def load(path: str | Path, *, expect_fingerprint: str | None = None,
         verify: bool = True) -> BaseRanker:
    """Load a saved ranker; ModelError if unreadable, from another format, or stale.

    ``verify=False`` trusts the fingerprint the file records instead of hashing its
    ratings again (0.3 s for 32 M ratings): for the chat's own cache, which is written
    atomically and checked against the data's fingerprint when it is written."""
    meta = read_meta(path)
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {meta.get('format')} is not {FORMAT_VERSION}; "
                         "it will be retrained")
    if expect_fingerprint is not None and meta["fingerprint"] != expect_fingerprint:
        raise ModelError(f"{path}: trained on other data ({meta['fingerprint']}, now "
                         f"{expect_fingerprint}); it will be retrained")
    try:
        z = open_arrays(path)
        for ids in ("user_ids", "item_ids"):   # small, and read one by one: plain arrays
            z[ids] = np.array(z[ids])
        shape = (len(z["user_ids"]), len(z["item_ids"]))
        R = sp.csr_matrix((z["r_data"], z["r_indices"], z["r_indptr"]), shape=shape)
        inter = Interactions(z["user_ids"], z["item_ids"], R,
                             known_fingerprint=None if verify else meta["fingerprint"])
        state = {k.removeprefix("state__"): v for k, v in z.items() if k.startswith("state__")}
        ranker = make_ranker(meta["ranker"], **meta["params"])
        ranker.interactions = inter
        ranker._user_index = None      # built on first use
        ranker._item_index = inter.item_index()
        ranker._X = None               # training weights: computed on first use
        ranker.restore(state)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path}: not a recbot model file ({exc}); delete it to retrain") from None
    if inter.fingerprint() != meta["fingerprint"]:
        raise ModelError(f"{path}: contents do not match their fingerprint; delete it to retrain")
    return ranker


def model_path(cache_dir: str | Path, ranker: BaseRanker, inter: Interactions) -> Path:
    """Where the model for this ranker, these params and this data lives in the cache."""
    return model_path_for(cache_dir, ranker, inter.fingerprint())


def model_path_for(cache_dir: str | Path, ranker: BaseRanker, fingerprint: str) -> Path:
    """``model_path`` from the data's fingerprint alone (no Interactions needed)."""
    import hashlib

    key = hashlib.sha256(json.dumps(ranker.params(), sort_keys=True).encode()).hexdigest()[:8]
    return Path(cache_dir) / f"{ranker.name}-{key}-{fingerprint}.npz"


def load_or_fit(ranker: BaseRanker, inter: Interactions, cache_dir: str | Path) -> BaseRanker:
    """The cached model for (ranker params, data) if valid, else fit and cache a new one."""
    path = model_path(cache_dir, ranker, inter)
    if path.exists():
        try:
            cached = load(path, expect_fingerprint=inter.fingerprint())
            if cached.params() == ranker.params():
                return cached
        except ModelError as exc:
            log.info("%s", exc)
    ranker.fit(inter)
    try:
        save(ranker, path)
        for old in Path(cache_dir).glob(f"{ranker.name}-*.npz"):
            if old != path:  # superseded: other params or older data
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only data dir should not stop recommendations
        log.warning("could not cache the model at %s: %s", path, exc)
    return ranker
