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
            np.savez(fh, **arrays)
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


def load(path: str | Path, *, expect_fingerprint: str | None = None) -> BaseRanker:
    """Load a saved ranker; ModelError if unreadable, from another format, or stale."""
    meta = read_meta(path)
    if meta.get("format") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {meta.get('format')} is not {FORMAT_VERSION}; "
                         "it will be retrained")
    if expect_fingerprint is not None and meta["fingerprint"] != expect_fingerprint:
        raise ModelError(f"{path}: trained on other data ({meta['fingerprint']}, now "
                         f"{expect_fingerprint}); it will be retrained")
    try:
        with np.load(path, allow_pickle=False) as z:
            shape = (len(z["user_ids"]), len(z["item_ids"]))
            R = sp.csr_matrix((z["r_data"], z["r_indices"], z["r_indptr"]), shape=shape)
            inter = Interactions(z["user_ids"], z["item_ids"], R)
            state = {k.removeprefix("state__"): z[k] for k in z.files if k.startswith("state__")}
        ranker = make_ranker(meta["ranker"], **meta["params"])
        ranker.interactions = inter
        ranker._user_index = inter.user_index()
        ranker._item_index = inter.item_index()
        ranker._X = ranker.weights(R)
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
