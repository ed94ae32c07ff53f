"""What a video sounds and looks like: weight-free descriptors from one decode pass.

One pass over the file with PyAV decodes its audio (to 16 kHz mono) and its picture (a
small RGB frame ``PICTURE_FPS`` times a second) together, so a feature film is read once
and never held in memory: the audio is reduced to per-frame spectra as it arrives, the
picture to a few numbers per sampled frame.

Sound: the level (gated RMS, dBFS: like EBU R 128's gating, without its K-weighting),
spectral centroid and flatness, onsets a second (peaks of the spectral flux), tempo with a
pulse-clarity check (the autocorrelation of the onset envelope: tempo is reported only when
the pulse is clear; on noise and speech every estimator finds some "tempo"), and the share of
speech (the Silero VAD that faster-whisper ships).

Picture: shot cuts (a colour-histogram jump between sampled frames) and the average shot
length, brightness (mean luma), contrast (luma spread), colourfulness (Hasler and
Süsstrunk, 2003) and motion (mean luma change between sampled frames of one shot).

The thresholds are data (``data/descriptors.toml``); what the numbers mean and how they
compare is in ``retrieval.sound_picture``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import RetrievalError
from .sound_picture import RATE, SILENT_DB, Descriptors, rules

__all__ = ["VERSION", "DescriptorError", "Descriptors", "describe"]

VERSION = 1          # a change of what is measured: stored descriptors are stale
N_FFT = 512          # 32 ms frames ...
HOP = 256            # ... every 16 ms: the onset envelope at 62.5 frames a second
CHUNK = 30 * RATE    # audio is reduced (spectra, VAD) this much at a time
BANDS = 24
BLOCK = 25           # frames to a 400 ms loudness block
PICTURE_FPS = 4.0
THUMB = (96, 54)     # sampled frames are scaled to this (16:9; a 4:3 frame is stretched)
RELATIVE_GATE = 20.0  # blocks this far below the gated level do not count (pauses)



class DescriptorError(RetrievalError):
    """The file's sound and picture cannot be read."""


def describe(path: str | Path) -> Descriptors:
    """The file's descriptors, from one decode pass; DescriptorError when it cannot be read."""
    import av

    path = Path(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise DescriptorError(f"cannot read the sound and picture of {path}: not a file "
                              "FFmpeg can read") from None
    except (OSError, av.error.FFmpegError) as exc:
        raise DescriptorError(f"cannot read the sound and picture of {path}: "
                              f"{_first_line(exc)}") from None
    with container:
        audio = container.streams.best("audio")
        video = container.streams.best("video")
        if video is not None and _attached_picture(video):
            video = None      # cover art in an .mp3 or .m4a: a still, not a picture track
        if audio is None and video is None:
            raise DescriptorError(f"cannot read the sound and picture of {path}: it has "
                                  "neither")
        if video is not None:
            video.thread_type = "AUTO"
            rate = _rate(video)
            if rate and rate >= 3 * PICTURE_FPS:
                # frames nothing else refers to (B-frames) are never sampled at 4 a second
                # from 12+: not decoding them saves ~40% of the decoding (bench_descriptors:
                # 12.3 -> 7.9 CPU-s a minute of camera-bitrate 720p)
                try:
                    video.codec_context.skip_frame = "NONREF"
                except (AttributeError, ValueError, TypeError):
                    pass
        sound = _Sound() if audio is not None else None
        picture = _Picture(_rate(video)) if video is not None else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        streams = [s for s in (audio, video) if s is not None]
        try:
            for packet in container.demux(*streams):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue       # a damaged packet is skipped, as the transcription does
                for frame in frames:
                    if packet.stream is audio:
                        frame.pts = None
                        for out in resampler.resample(frame):
                            sound.feed(out.to_ndarray().reshape(-1))
                    else:
                        picture.feed(frame)
            if sound is not None:
                for out in resampler.resample(None):
                    sound.feed(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise DescriptorError(f"cannot read the sound and picture of {path}: decoding "
                                  f"failed: {_first_line(exc)}") from None
    got: dict = {}
    if sound is not None:
        got.update(sound.finish())
    if picture is not None:
        got.update(picture.finish())
    duration = max(got.pop("sound_seconds", 0.0), got.pop("picture_seconds", 0.0))
    if duration <= 0:
        raise DescriptorError(f"cannot read the sound and picture of {path}: it holds no "
                              "decodable audio or video")
    if got.get("cuts") is not None:
        got["shot_s"] = round(duration / (got["cuts"] + 1), 3)
    # a measure that came out not finite (an infinite sample in a float WAV) is left out:
    # nothing stored or printed is NaN
    got = {k: v for k, v in got.items() if v is None or math.isfinite(v)}
    if not math.isfinite(duration):
        raise DescriptorError(f"cannot read the sound and picture of {path}: its timestamps "
                              "make no sense")
    return Descriptors(duration=round(duration, 3), **got)


class _Sound:
    """Reduces 16 kHz mono audio, as it arrives, to per-frame energy, centroid, flatness and
    spectral flux, and counts the speech the VAD finds."""

    def __init__(self) -> None:
        self.pending: list[np.ndarray] = []
        self.held = 0
        self.tail = np.zeros(0, np.float32)       # the last frame's overlap
        self.samples = 0
        self.window = np.hanning(N_FFT).astype(np.float32)
        self.freqs = np.fft.rfftfreq(N_FFT, 1 / RATE).astype(np.float32)
        # the flux is taken over BANDS log-spaced bands (as a mel spectrum would): a kick
        # drum's few low bins count as much as a hi-hat's many high ones
        edges = np.geomspace(40.0, RATE / 2, BANDS + 1)
        self.band = np.clip(np.searchsorted(edges, self.freqs) - 1, 0, BANDS - 1)
        self.band_size = np.bincount(self.band, minlength=BANDS).clip(min=1)
        self.prev = None
        self.energy: list[np.ndarray] = []
        self.centroid: list[np.ndarray] = []
        self.flat: list[np.ndarray] = []
        self.flux: list[np.ndarray] = []
        self.speech = 0

    def feed(self, block: np.ndarray) -> None:
        # a float file may hold an infinite or NaN sample: full scale, or silence
        block = np.nan_to_num(block.astype(np.float32, copy=False), nan=0.0, posinf=1.0,
                              neginf=-1.0)
        self.pending.append(block)
        self.held += len(block)
        if self.held >= CHUNK:
            self._reduce(np.concatenate(self.pending))
            self.pending, self.held = [], 0

    def _reduce(self, audio: np.ndarray) -> None:
        from faster_whisper.vad import get_speech_timestamps

        self.samples += len(audio)
        if len(audio) >= RATE // 2:
            self.speech += sum(s["end"] - s["start"] for s in get_speech_timestamps(audio))
        x = np.concatenate([self.tail, audio])
        n = (len(x) - N_FFT) // HOP + 1 if len(x) >= N_FFT else 0
        if n <= 0:
            self.tail = x
            return
        idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
        frames = x[idx] * self.window
        self.tail = x[n * HOP:]
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-12
        self.energy.append(np.mean(frames ** 2, axis=1) / np.mean(self.window ** 2))
        total = power.sum(axis=1)
        self.centroid.append((power * self.freqs).sum(axis=1) / total)
        self.flat.append(np.exp(np.mean(np.log(power[:, 1:]), axis=1))
                         / np.mean(power[:, 1:], axis=1))
        bands = np.zeros((n, BANDS), np.float64)
        np.add.at(bands.T, self.band, power.T)
        mag = np.log1p(1000 * np.sqrt(bands / self.band_size))
        prev = self.prev if self.prev is not None else mag[:1]
        diff = np.diff(np.concatenate([prev, mag]), axis=0)
        self.flux.append(np.maximum(diff, 0).mean(axis=1))
        self.prev = mag[-1:]

    def finish(self) -> dict:
        if self.pending:
            self._reduce(np.concatenate(self.pending))
            self.pending = []
        seconds = self.samples / RATE
        if not self.energy:
            return {"sound_seconds": seconds, "loudness_db": -120.0} if seconds else {}
        energy = np.concatenate(self.energy)
        n = len(energy) // BLOCK * BLOCK or len(energy)
        blocks = energy[:n].reshape(-1, min(BLOCK, n)).mean(axis=1)
        db = 10 * np.log10(blocks + 1e-12)
        voiced = db > SILENT_DB
        out: dict = {"sound_seconds": seconds}
        if not voiced.any():
            out["loudness_db"] = round(float(np.max(db, initial=-120.0)), 2)
            out["speech_share"] = 0.0
            return out
        level = 10 * math.log10(float(blocks[voiced].mean()))
        kept = voiced & (db > level - RELATIVE_GATE)
        out["loudness_db"] = round(10 * math.log10(float(blocks[kept].mean())), 2)
        frame_db = 10 * np.log10(energy + 1e-12)
        sounding = frame_db > out["loudness_db"] - 30
        out["centroid_hz"] = round(float(np.concatenate(self.centroid)[sounding].mean()), 1)
        out["flatness"] = round(float(np.concatenate(self.flat)[sounding].mean()), 4)
        flux = np.concatenate(self.flux)
        flux = np.where(sounding, flux, 0.0)
        onsets = _peaks(flux)
        out["onset_rate"] = round(len(onsets) / max(seconds, 1e-3), 3)
        pulse, tempo = _pulse(flux)
        out["pulse"] = round(pulse, 4)
        if pulse >= rules()["words"]["pulse"] and out["onset_rate"] > 0.5:
            out["tempo_bpm"] = round(tempo, 1)
        out["speech_share"] = round(min(1.0, self.speech / max(self.samples, 1)), 4)
        return out


def _peaks(env: np.ndarray) -> np.ndarray:
    """Onsets: local maxima of the flux above its running median plus a margin, at least
    50 ms apart (the flux: the mean rise of the log magnitudes of the bands)."""
    if len(env) < 3:
        return np.zeros(0, int)
    fps = RATE / HOP
    half = int(fps)        # a one-second running median
    from scipy.ndimage import median_filter

    base = median_filter(env, size=2 * half + 1, mode="nearest")
    # and above an absolute margin: a steady sound's flux only flickers (pink noise 0.16 to
    # 0.41, a held chord 0.07 to 0.3), an onset jumps (a chord change 2-3, a drum 4-7)
    margin = max(0.5 * float(np.std(env)), rules()["words"]["onset_margin"])
    is_peak = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > base[1:-1] + margin)
    idx = np.flatnonzero(is_peak) + 1
    keep, last = [], -10**9
    gap = int(0.05 * fps)
    for i in idx:
        if i - last >= gap:
            keep.append(i)
            last = i
    return np.array(keep, int)


def _pulse(env: np.ndarray) -> tuple[float, float]:
    """(pulse clarity, tempo in BPM): the normalised autocorrelation of the onset envelope
    at the beat's lag (40 to 180 beats a minute: faster pulses read as half), and that lag as a tempo."""
    fps = RATE / HOP
    # each onset a bump of a few frames: a beat whose period is not a whole number of
    # frames (100 BPM: 37.5) otherwise splits its correlation over two lags
    from scipy.ndimage import gaussian_filter1d

    x = gaussian_filter1d(env.astype(np.float64), 2.0)
    x -= x.mean()
    if len(x) < 4 * fps or not np.any(x):
        return 0.0, 0.0
    n = 1 << int(math.ceil(math.log2(2 * len(x))))
    spec = np.fft.rfft(x, n)
    acf = np.fft.irfft(spec * np.conj(spec), n)[: len(x)]
    acf /= acf[0]       # biased: a multiple of the beat's lag does not outscore the beat
    lo, hi = int(math.ceil(fps * 60 / 180)), int(fps * 60 / 40)
    hi = min(hi, len(x) // 2)
    if hi <= lo + 2:
        return 0.0, 0.0
    # the beat, not a multiple of it: the shortest lag whose peak nearly matches the best
    seg = acf[lo:hi]
    best = float(seg.max())
    peaks = [i for i in range(1, len(seg) - 1)
             if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1] and seg[i] >= 0.85 * best]
    lag = lo + (peaks[0] if peaks else int(np.argmax(seg)))
    clarity = float(acf[lag])
    a, b, c = acf[lag - 1], acf[lag], acf[lag + 1] if lag + 1 < len(acf) else acf[lag]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) else 0.0
    return clarity, 60 * fps / (lag + float(np.clip(shift, -0.5, 0.5)))


class _Picture:
    """Reduces the picture to a few numbers per sampled frame."""

    def __init__(self, rate: float | None = None) -> None:
        self.frame_s = 1.0 / rate if rate else 1.0 / PICTURE_FPS
        self.next_t = 0.0
        self.first_t: float | None = None   # timestamps may start anywhere (MPEG-TS, cuts)
        self.last_t = 0.0
        self.count = 0
        self.prev_hist = None
        self.prev_luma = None
        self.luma: list[float] = []
        self.spread: list[float] = []
        self.colour: list[float] = []
        self.moves: list[float] = []    # mean luma change to the sample before
        self.jumps: list[float] = []    # colour-histogram change to the sample before

    def feed(self, frame) -> None:
        t = frame.time
        if t is None:
            t = self.count * self.frame_s     # no timestamps: one frame after another
        if self.first_t is None:
            self.first_t = float(t)
        t = float(t) - self.first_t
        self.count += 1
        self.last_t = max(self.last_t, t)
        if t + 1e-6 < self.next_t:
            return
        self.next_t = t + 1.0 / PICTURE_FPS
        rgb = frame.reformat(width=THUMB[0], height=THUMB[1],
                             format="rgb24").to_ndarray().astype(np.float32) / 255.0
        self._sample(rgb)

    def _sample(self, rgb: np.ndarray) -> None:
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = 0.2126 * r + 0.7152 * g + 0.0722 * b
        self.luma.append(float(y.mean()))
        self.spread.append(float(y.std()))
        rg, yb = r - g, 0.5 * (r + g) - b
        self.colour.append(float(np.hypot(rg.std(), yb.std())
                                 + 0.3 * np.hypot(rg.mean(), yb.mean())))
        q = np.minimum((rgb * 8).astype(np.int32), 7)
        codes = q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]
        hist = np.bincount(codes.ravel(), minlength=512) / codes.size
        if self.prev_hist is not None:
            self.jumps.append(0.5 * float(np.abs(hist - self.prev_hist).sum()))
            self.moves.append(float(np.abs(y - self.prev_luma).mean()))
        self.prev_hist, self.prev_luma = hist, y

    def _cuts(self) -> np.ndarray:
        """Which changes between samples are cuts: a histogram change of at least
        ``cut_hist``, or one of at least ``cut_min`` that is ``cut_spike`` times those
        around it (two shots of much the same colours; motion changes every sample alike).
        Not the luma change: an object leaving the frame on one side and coming back on the
        other spikes it as much as a cut of two like shots does."""
        w = rules()["words"]
        jumps = np.array(self.jumps)
        cut = jumps >= w["cut_hist"]
        for i in np.flatnonzero((jumps >= w["cut_min"]) & ~cut):
            around = [jumps[j] for j in (i - 2, i - 1, i + 1, i + 2)
                      if 0 <= j < len(jumps) and not cut[j]]
            if not around or jumps[i] >= w["cut_spike"] * max(around):
                cut[i] = True
        return cut

    def finish(self) -> dict:
        if not self.luma:
            return {}
        cut = self._cuts()
        moves = np.array(self.moves)[~cut] if len(self.moves) else np.zeros(0)
        return {"picture_seconds": self.last_t + self.frame_s,
                "cuts": int(cut.sum()),
                "brightness": round(float(np.mean(self.luma)), 4),
                "contrast": round(float(np.mean(self.spread)), 4),
                "colourfulness": round(float(np.mean(self.colour)), 4),
                "motion": round(float(moves.mean()) if len(moves) else 0.0, 5)}


def _attached_picture(stream) -> bool:
    """Cover art: the stream's disposition says so (PyAV 14+); before that, a still image
    codec with one frame."""
    try:
        from av.stream import Disposition

        return bool(stream.disposition & Disposition.attached_pic)
    except (ImportError, AttributeError, TypeError):
        return stream.codec_context.name in ("mjpeg", "png", "bmp") and stream.frames == 1


def _rate(stream) -> float | None:
    try:
        rate = float(stream.average_rate or stream.guessed_rate or 0)
    except (TypeError, ZeroDivisionError):
        return None
    return rate if 0 < rate < 1000 else None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).lower()
