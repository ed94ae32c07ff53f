"""Benchmark: the sound and picture descriptors (retrieval/descriptors.py) on generated clips.

    python bench/bench_descriptors.py [--per-group 8] [--seed 0] [--long]

1. Errors. Clips of known properties (tests/media.py ``write_clip``, 320x180 at 12 fps,
   15-30 s) in six groups that differ in cut rate, brightness, colour, loudness and the kind
   of sound (tone, noise, speech, rhythm), every parameter jittered within its group. Each
   descriptor against the truth: the cuts ``write_clip`` makes, the mean luma of every
   decoded frame at full size, the level asked (and the gated level of the generated samples
   before AAC, whole and below 8 kHz), the tempo asked, speech or not, the kind of sound.
2. Weights chosen on half the clips. The scale (mean, spread of each feature, the transforms
   of ``Descriptors.features``) and the weights (coordinate ascent over {0, 0.5, 1, 2},
   leave-one-out nearest-neighbour same-group accuracy, ties broken by the margin) are chosen
   on the even clips of each group; on the odd clips, never used to choose anything, the
   nearest other clip by ``similarity()`` is of the same group in what share of cases (target
   >= 90%), with the shipped TOML's scale and weights for comparison. The chosen values are
   printed as TOML to paste into retrieval/data/descriptors.toml.
3. CPU per video minute: ``describe()`` on a 60 s 1280x720 25 fps H.264 clip with speech over
   quiet music (a fast generator of scrolled, textured shots), median of 3 (target <= 10
   CPU-seconds a minute), and on a 30 s one with film grain at a camera's bitrate; decoding
   alone (and with non-reference frames skipped) for the floor.
4. --long: the whole ``recbot ingest`` (the console script, a fresh data dir, the model cache
   of RECBOT_CACHE_DIR) of a 10-minute 720p video with English and with Spanish espeak-ng
   speech (bench/data/speech_es.txt), the same picture remuxed under both; wall, CPU and peak
   RSS of the process, and ``describe()`` alone on each file. A warm-up ingest of a tiny clip
   first, so the data dir's first-start costs are not counted. Takes ~10 minutes.

Writes bench/results/descriptors.md. The default run takes 3-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.media import CLIP_RATE, clip_sound, speak_wav, write_clip  # noqa: E402

from recbot.retrieval import sound_picture  # noqa: E402
from recbot.retrieval.descriptors import describe  # noqa: E402
from recbot.retrieval.sound_picture import Descriptors, similarity  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "descriptors.md"
SPANISH = HERE / "data" / "speech_es.txt"
RECBOT = Path(sys.executable).with_name("recbot")
RATE = 16_000                  # the speech tracks of the 720p videos
SIZE, FPS = (320, 180), 12     # the small clips
WEIGHT_STEPS = (0.0, 0.5, 1.0, 2.0)
KIND = {"tone": "music", "noise": "noise", "speech": "speech", "rhythm": "beat"}

# Narration written for this bench (the speech clips, and the English 720p videos).
ENGLISH = [
    "Every summer we drove to the lake in my uncle's old green van. The road climbed through "
    "pine forests and tiny villages, and we counted the cows until somebody fell asleep. At "
    "the lake there was a wooden pier, a boat with one broken oar, and a shop that sold the "
    "best strawberry ice cream in the whole valley.",
    "Today I want to show you how to bake bread at home without any special equipment. You "
    "need flour, water, salt and a little yeast. Mix everything in a large bowl, cover it "
    "with a towel and leave it overnight. In the morning, fold the dough a few times, shape "
    "it into a ball and bake it in a very hot oven.",
    "The match started badly for the home team. After ten minutes they were already losing "
    "by two goals, and the crowd was quiet. Then the young goalkeeper made three incredible "
    "saves in a row, the captain scored from a corner, and suddenly the whole stadium was "
    "singing again as the rain began to fall.",
    "This is our new apartment. The kitchen is small but it gets the morning sun, and from "
    "the balcony you can see the river and the old railway bridge. We still have boxes "
    "everywhere, the bookshelf is missing two screws, and the cat has decided that the "
    "laundry basket is now her favourite place to sleep.",
    "Welcome back to the channel. In this episode we are repairing a vintage radio that I "
    "found at a flea market for five dollars. The case is cracked, one of the knobs is "
    "missing, and it smells like an attic, but the valves look fine. Let's open it up and "
    "see whether it can still pick up a station.",
    "The train left the city just before midnight. Most passengers were already asleep, "
    "their coats folded under their heads, while the conductor walked slowly along the "
    "corridor checking tickets with a small torch. Outside, the lights of the suburbs "
    "thinned out until there was nothing but the dark shape of the hills.",
    "My grandmother kept bees behind her house for more than forty years. She never wore "
    "gloves, and she talked to the hives every morning as if they were old friends. When I "
    "was seven she let me hold a frame full of honey, and I remember how heavy and warm it "
    "was, and how calm the bees stayed while she hummed to them.",
    "Here is the plan for the weekend hike. We meet at the car park at seven, walk along the "
    "river to the waterfall, and then climb the steep path to the ridge. Bring two litres "
    "of water, a warm jacket and something to eat, because there is no shop on the way and "
    "the weather in the mountains can change very quickly.",
]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-gb-x-rp+f2"]


def _around(rng, x: float, lo: float = 0.8, hi: float = 1.25) -> float:
    """``x`` times a log-uniform factor in [lo, hi]."""
    return float(x * math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _pm(rng, x: float, d: float) -> float:
    return float(x + rng.uniform(-d, d))


# Each group: what its clips share, drawn per clip with that clip's generator.
GROUPS = {
    "fast bright loud beat": lambda r: dict(
        shot=_around(r, 1.0), brightness=_pm(r, 0.72, 0.07), colour=r.uniform(0.25, 0.5),
        motion=r.uniform(0.1, 0.3), sound="rhythm", level_db=_pm(r, -12, 3),
        bpm=r.uniform(90, 140)),
    "one-shot dark quiet tone": lambda r: dict(
        shot=None, brightness=_pm(r, 0.2, 0.07), colour=r.uniform(0.2, 0.45),
        motion=r.uniform(0.03, 0.12), sound="tone", level_db=_pm(r, -34, 3)),
    "medium-cut mid speech": lambda r: dict(
        shot=_around(r, 4.0), brightness=_pm(r, 0.45, 0.07), colour=r.uniform(0.25, 0.5),
        motion=r.uniform(0.05, 0.2), sound="speech", level_db=_pm(r, -20, 3)),
    "slow bright noise": lambda r: dict(
        shot=_around(r, 10.0), brightness=_pm(r, 0.68, 0.07), colour=r.uniform(0.2, 0.45),
        motion=r.uniform(0.02, 0.1), sound="noise", level_db=_pm(r, -22, 3)),
    "fast dark tone": lambda r: dict(
        shot=_around(r, 1.2), brightness=_pm(r, 0.25, 0.07), colour=r.uniform(0.25, 0.5),
        motion=r.uniform(0.1, 0.3), sound="tone", level_db=_pm(r, -22, 3)),
    "medium-cut colourful quiet beat": lambda r: dict(
        shot=_around(r, 4.0), brightness=_pm(r, 0.5, 0.07), colour=r.uniform(0.9, 1.2),
        motion=r.uniform(0.05, 0.2), sound="rhythm", level_db=_pm(r, -30, 3),
        bpm=r.uniform(90, 140)),
}


@dataclass
class Clip:
    name: str
    group: str
    half: str                  # "train" (chooses the scale and weights) or "test"
    seed: int
    params: dict               # write_clip's keyword arguments: the truth
    path: Path
    truth: dict = field(default_factory=dict)
    got: Descriptors | None = None
    cpu: float = 0.0


# ----- clips and their truth ------------------------------------------------------------------
def make_clips(tmp: Path, per_group: int, seed: int) -> list[Clip]:
    clips = []
    for g, (group, draw) in enumerate(GROUPS.items()):
        for i in range(per_group):
            clip_seed = seed * 1000 + g * 100 + i
            rng = np.random.default_rng(clip_seed)
            params = {"seconds": round(float(rng.uniform(15, 30)), 1), **draw(rng)}
            name = f"g{g + 1}-{i + 1:02d}"
            if params["sound"] == "speech":
                k = i + seed
                params["speech"] = speak_wav(tmp / f"{name}.speech.wav",
                                             ENGLISH[k % len(ENGLISH)],
                                             voice=VOICES[k % len(VOICES)],
                                             speed=int(rng.integers(130, 171)))
            clips.append(Clip(name, group, "train" if i % 2 == 0 else "test", clip_seed,
                              params, tmp / f"{name}.mp4"))
    return clips


def shot_starts(seconds: float, shot: float | None, fps: int) -> list[int]:
    """The frames where ``write_clip`` starts a new shot (after the first): its own rule."""
    if not shot:
        return []
    return [i for i in range(1, int(seconds * fps))
            if int(i / fps / shot) != int((i - 1) / fps / shot)]


def _hist(rgb: np.ndarray) -> np.ndarray:
    """An 8x8x8 colour histogram, as the cut detector takes it."""
    q = np.minimum((rgb.astype(np.float32) / 255 * 8).astype(np.int32), 7)
    codes = q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]
    return np.bincount(codes.ravel(), minlength=512) / codes.size


def decoded_picture(path: Path, cuts_at: list[int]) -> tuple[float, list[float]]:
    """(mean luma of every decoded frame at full size, Rec. 709 on the decoder's RGB; the
    colour-histogram change across each true cut, between the frames either side)."""
    luma, jumps, prev = [], [], None
    wanted = set(cuts_at)
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")
            f = rgb.astype(np.float32) / 255
            luma.append(float((0.2126 * f[..., 0] + 0.7152 * f[..., 1]
                               + 0.0722 * f[..., 2]).mean()))
            hist = _hist(rgb)
            if i in wanted and prev is not None:
                jumps.append(0.5 * float(np.abs(hist - prev).sum()))
            prev = hist
    return float(np.mean(luma)), jumps


def gated_db(x: np.ndarray, rate: int) -> float:
    """The gated level of samples, as the descriptor defines it: 400 ms blocks, those above
    -70 dBFS and within 20 dB of their mean."""
    n = int(0.4 * rate)
    blocks = (x[: len(x) // n * n].astype(np.float64) ** 2).reshape(-1, n).mean(axis=1)
    db = 10 * np.log10(blocks + 1e-12)
    voiced = blocks[db > -70]
    level = 10 * math.log10(voiced.mean())
    return 10 * math.log10(blocks[(db > -70) & (db > level - 20)].mean())


def measure(clip: Clip) -> None:
    p = clip.params
    from scipy.signal import resample_poly

    write_clip(clip.path, size=SIZE, fps=FPS, seed=clip.seed, **p)
    audio = clip_sound(p["sound"], p["seconds"], level_db=p["level_db"], bpm=p.get("bpm", 120.0),
                       speech=p.get("speech"), seed=clip.seed)
    starts = shot_starts(p["seconds"], p["shot"], FPS)
    luma, jumps = decoded_picture(clip.path, starts)
    frames = int(p["seconds"] * FPS)
    clip.truth = {"cuts": len(starts), "shot_s": frames / FPS / (len(starts) + 1),
                  "brightness": luma, "cut_jumps": jumps, "duration": frames / FPS,
                  "rms_db": 20 * math.log10(float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))),
                  "gated_db": gated_db(audio, CLIP_RATE),
                  "gated16_db": gated_db(resample_poly(audio, 320, 441), 16_000),
                  "kind": KIND[p["sound"]]}
    c0 = time.process_time()
    clip.got = describe(clip.path)
    clip.cpu = time.process_time() - c0


# ----- errors --------------------------------------------------------------------------------
def _mean(xs) -> float:
    xs = list(xs)
    return float(np.mean(xs)) if xs else float("nan")


def error_rows(clips: list[Clip], words: dict) -> list[tuple[str, str, str, str]]:
    """(descriptor, clips, error, note) rows; ``words``: descriptors.toml's [words]."""
    rows = []
    cut_err = [c.got.cuts - c.truth["cuts"] for c in clips]
    jumps = [j for c in clips for j in c.truth["cut_jumps"]]
    low, high = words.get("cut_min", words["cut_hist"]), words["cut_hist"]
    rows.append(("cuts", str(len(clips)),
                 f"exact {sum(e == 0 for e in cut_err)}/{len(clips)}; mean abs error "
                 f"{_mean(abs(e) for e in cut_err):.2f}; signed {_mean(cut_err):+.2f} "
                 f"({sum(min(e, 0) for e in cut_err)} missed, {sum(max(e, 0) for e in cut_err)} "
                 "extra, net per clip)",
                 f"{len(jumps)} true cuts; across them the colour histogram (frames either side, "
                 f"full size) changes < {low} on {sum(j < low for j in jumps)}, {low}–{high} "
                 f"on {sum(low <= j < high for j in jumps)} (successive shots of near hue; the "
                 "square's new place does not change a histogram)"))
    rel = [abs(c.got.shot_s - c.truth["shot_s"]) / c.truth["shot_s"] for c in clips]
    rows.append(("average shot length", str(len(clips)),
                 f"mean relative error {_mean(rel):.1%}; max {max(rel):.1%}",
                 "duration / (cuts + 1), against the same of the true cuts"))
    b = [c.got.brightness - c.truth["brightness"] for c in clips]
    asked = [c.truth["brightness"] - c.params["brightness"] for c in clips]
    rows.append(("brightness", str(len(clips)),
                 f"mean abs error {_mean(abs(x) for x in b):.4f}; max {max(map(abs, b)):.4f}",
                 "truth: the mean Rec. 709 luma of every decoded frame at full size; the "
                 "generator's own luma is off the brightness asked by "
                 f"{_mean(abs(x) for x in asked):.3f} on average (hue, clipping)"))
    for kind in ("tone", "noise", "speech", "rhythm"):
        these = [c for c in clips if c.params["sound"] == kind]
        vs_asked = [c.got.loudness_db - c.params["level_db"] for c in these]
        vs_gated = [c.got.loudness_db - c.truth["gated_db"] for c in these]
        vs_band = [c.got.loudness_db - c.truth["gated16_db"] for c in these]
        clipped = _mean(c.truth["rms_db"] - c.params["level_db"] for c in these)
        rows.append((f"loudness ({kind})", str(len(these)),
                     f"vs asked {_mean(vs_asked):+.2f} dB (abs {_mean(map(abs, vs_asked)):.2f}); "
                     f"vs gated source {_mean(vs_gated):+.2f} dB (abs "
                     f"{_mean(map(abs, vs_gated)):.2f}); vs gated source below 8 kHz "
                     f"{_mean(vs_band):+.2f} dB (abs {_mean(map(abs, vs_band)):.2f})",
                     "asked: RMS of the whole clip; gated source: the same gating on the "
                     "generated samples, before AAC; below 8 kHz: those resampled to 16 kHz, "
                     "as the descriptor hears them (what is left is AAC's)"
                     + (f"; the generator's clipping leaves the source {clipped:+.2f} dB off "
                        "the level asked" if abs(clipped) >= 0.05 else "")))
    beats = [c for c in clips if c.params["sound"] == "rhythm"]
    found = [c for c in beats if c.got.tempo_bpm is not None]
    err = [abs(c.got.tempo_bpm - c.params["bpm"]) for c in found]
    octave = sum(min(abs(c.got.tempo_bpm / c.params["bpm"] - r) for r in (0.5, 2.0)) < 0.04
                 for c in found)
    rows.append(("tempo (rhythm clips)", str(len(beats)),
                 f"reported on {len(found)}/{len(beats)}; mean abs error "
                 f"{_mean(err):.2f} BPM; within 2 BPM {sum(e <= 2 for e in err)}/{len(found)}",
                 f"{octave} half/double-tempo errors"))
    others = [c for c in clips if c.params["sound"] != "rhythm"]
    rows.append(("tempo (other clips)", str(len(others)),
                 f"no tempo reported on {sum(c.got.tempo_bpm is None for c in others)}/"
                 f"{len(others)}", "what should happen: tone, noise and speech have no beat"))
    speech = [c for c in clips if c.params["sound"] == "speech"]
    rest = [c for c in clips if c.params["sound"] != "speech"]
    said = [c.got.speech_share for c in speech]
    silent = [c.got.speech_share for c in rest]
    right = sum(s >= 0.5 for s in said) + sum(s < 0.5 for s in silent)
    rows.append(("speech share", str(len(clips)),
                 f"speech clips mean {_mean(said):.2f} (min {min(said):.2f}); others mean "
                 f"{_mean(silent):.3f} (max {max(silent):.2f}); >= 0.5 right on "
                 f"{right}/{len(clips)}", "speech clips: espeak-ng looped with 0.4 s gaps"))
    kinds = [c.got.sound_kind() == c.truth["kind"] for c in clips]
    wrong = {}
    for c in clips:
        if c.got.sound_kind() != c.truth["kind"]:
            key = f"{c.params['sound']} as {c.got.sound_kind()}"
            wrong[key] = wrong.get(key, 0) + 1
    rows.append(("sound kind", str(len(clips)), f"right on {sum(kinds)}/{len(clips)}",
                 "tone->music, noise->noise, speech->speech, rhythm->beat"
                 + ("; wrong: " + ", ".join(f"{k} ({n})" for k, n in wrong.items())
                    if wrong else "")))
    dur = [abs(c.got.duration - c.truth["duration"]) for c in clips]
    rows.append(("duration", str(len(clips)), f"mean abs error {_mean(dur):.3f} s",
                 "AAC priming and the last audio frame"))
    return rows


# ----- the scale and the weights, chosen on half ---------------------------------------------
_RULES = sound_picture.rules


@contextmanager
def using(scale: dict | None = None, weights: dict | None = None):
    """``sound_picture.rules()`` with another [scale] and [weights] (what ``features()`` and
    ``similarity()`` read), in this process only; descriptors.toml is not touched."""
    base = _RULES()
    patched = {**base, "scale": scale or base["scale"], "weights": weights or base["weights"]}
    sound_picture.rules = lambda: patched
    try:
        yield
    finally:
        sound_picture.rules = _RULES


def raw_features(d: Descriptors) -> dict[str, float]:
    """``features()`` before the scale: the same code with every scale (0, 1)."""
    with using(scale={k: [0.0, 1.0] for k in _RULES()["scale"]}):
        return d.features()


def fit_scale(clips: list[Clip]) -> dict[str, list[float]]:
    raws = [raw_features(c.got) for c in clips]
    scale = {}
    for k in _RULES()["scale"]:
        xs = [r[k] for r in raws if k in r]
        scale[k] = [_sig(statistics.fmean(xs)), _sig(max(statistics.pstdev(xs), 1e-3))]
    return scale


def _sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def neighbours(clips: list[Clip], scale: dict | None, weights: dict | None) -> np.ndarray:
    """The similarity of every two clips (the diagonal -inf)."""
    n = len(clips)
    sims = np.full((n, n), -np.inf)
    with using(scale, weights):
        for i in range(n):
            for j in range(i + 1, n):
                s = similarity(clips[i].got, clips[j].got)
                sims[i, j] = sims[j, i] = -np.inf if s is None else s
    return sims


def score(clips: list[Clip], sims: np.ndarray) -> tuple[float, float]:
    """(share whose nearest other clip is of its group, mean gap between the nearest of its
    group and the nearest of another)."""
    groups = np.array([c.group for c in clips])
    right, gaps = 0, []
    for i in range(len(clips)):
        same = groups == groups[i]
        other = ~same
        same[i] = False
        near_same, near_other = sims[i][same].max(), sims[i][other].max()
        right += bool(near_same > near_other)
        gaps.append(near_same - near_other)
    return right / len(clips), float(np.mean(gaps))


def choose_weights(clips: list[Clip], scale: dict) -> tuple[dict, list[str]]:
    """Coordinate ascent over WEIGHT_STEPS from all 1, on (accuracy, margin)."""
    weights = {k: 1.0 for k in scale}
    best = score(clips, neighbours(clips, scale, weights))
    log = [f"start (all 1): accuracy {best[0]:.3f}, margin {best[1]:.4f}"]
    for rnd in range(1, 5):
        changed = False
        for k in scale:
            for v in WEIGHT_STEPS:
                trial = {**weights, k: v}
                if v == weights[k] or not any(trial.values()):
                    continue
                got = score(clips, neighbours(clips, scale, trial))
                if got > best:
                    best, weights, changed = got, trial, True
        log.append(f"round {rnd}: accuracy {best[0]:.3f}, margin {best[1]:.4f}")
        if not changed:
            break
    return weights, log


def nearest_table(clips: list[Clip], sims: np.ndarray) -> list[tuple[Clip, Clip, float]]:
    return [(c, clips[int(np.argmax(sims[i]))], float(np.max(sims[i])))
            for i, c in enumerate(clips)]


def toml_lines(scale: dict, weights: dict) -> list[str]:
    """[scale] and [weights] as TOML; a feature the clips hardly vary (a spread under a
    third of the shipped one) is marked."""
    shipped = _RULES()["scale"]
    out = ["[scale]"]
    for k in scale:
        line = f"{k} = [{scale[k][0]!r}, {scale[k][1]!r}]"
        if k in shipped and scale[k][1] < shipped[k][1] / 3:
            line += (f"   # the clips hardly vary it (shipped spread {shipped[k][1]!r}): "
                     "keep the shipped scale")
        out.append(line)
    out += ["", "[weights]"]
    out += [f"{k} = {float(weights[k])!r}" for k in weights]
    return out


# ----- 720p videos ---------------------------------------------------------------------------
class _AudioTrack:
    """Mono float audio encoded as AAC into ``out``, muxed as far as the picture has got."""

    def __init__(self, out, audio: np.ndarray, rate: int) -> None:
        self.stream = out.add_stream("aac", rate=rate, layout="mono")
        self.out, self.audio, self.rate, self.pos = out, audio, rate, 0

    def until(self, seconds: float) -> None:
        while self.pos < len(self.audio) and self.pos < seconds * self.rate:
            chunk = self.audio[self.pos:self.pos + 1024]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.pts = self.rate, self.pos
            self.out.mux(self.stream.encode(frame))
            self.pos += len(chunk)

    def close(self) -> None:
        self.until(math.inf)
        self.out.mux(self.stream.encode(None))


def fast_video(path: Path, seconds: float, *, audio: np.ndarray | None = None,
               size: tuple[int, int] = (1280, 720), fps: int = 25, preset: str = "veryfast",
               grain: float = 0.0, seed: int = 0) -> tuple[Path, int]:
    """(an H.264 video, its number of cuts): shots of 2-5 s, each a coloured field with a
    gradient, texture and a checkered square, scrolled a few pixels a frame (``np.roll`` of
    one image a shot: fast enough for minutes of 720p); ``grain``: film grain of that
    standard deviation changing every frame (8 patterns in turn), which an encoder cannot
    predict: the bitrate, and the decoding, of a camera's video; ``audio`` (16 kHz) as AAC."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = ((xx / w - 0.5) * 0.2)[..., None]
    checker = np.where((xx // 16 + yy // 16) % 2 == 0, 0.2, -0.2).astype(np.float32)
    frames, cuts, left = int(seconds * fps), -1, 0
    noise = [rng.normal(0, grain * 255, (h, w, 1)).astype(np.int16) for _ in range(8)] \
        if grain else None
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": preset, "crf": "23"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        track = _AudioTrack(out, audio, RATE) if audio is not None else None
        for i in range(frames):
            if left == 0:
                cuts, left, k = cuts + 1, int(rng.uniform(2, 5) * fps), 0
                hue, light = rng.uniform(), rng.uniform(0.25, 0.7)
                rgb = light + 0.2 * np.cos(2 * np.pi * (hue + np.arange(3) / 3))
                sq = ((np.abs(xx - rng.uniform(0.3, 0.7) * w) < w / 6)
                      & (np.abs(yy - rng.uniform(0.3, 0.7) * h) < h / 5))
                img = (rgb.astype(np.float32)[None, None, :] + grad
                       + rng.normal(0, 0.04, (h, w, 1)).astype(np.float32)
                       + (sq * checker)[..., None])
                base = (np.clip(img, 0, 1) * 255).astype(np.uint8)
                angle = rng.uniform(0, 2 * np.pi)
                step = rng.uniform(2, 8) * np.array([np.sin(angle), np.cos(angle)])
            img = np.roll(base, (int(k * step[0]), int(k * step[1])), axis=(0, 1))
            if noise:
                img = np.clip(img + noise[i % 8], 0, 255).astype(np.uint8)
            k, left = k + 1, left - 1
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            if track:
                track.until((i + 1) / fps)
        out.mux(video.encode(None))
        if track:
            track.close()
    return path, cuts


def remux(picture: Path, audio: np.ndarray, path: Path) -> Path:
    """``picture``'s video packets as they are (no re-encoding) with ``audio`` as AAC."""
    with av.open(str(picture)) as src, av.open(str(path), "w") as out:
        vin = src.streams.video[0]
        vout = out.add_stream_from_template(vin)
        track = _AudioTrack(out, audio, RATE)
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            track.until(float(packet.dts * packet.time_base))
            packet.stream = vout
            out.mux(packet)
        track.close()
    return path


def speech_track(texts: list[str], voice: str, seconds: float, tmp: Path,
                 speed: int = 150) -> np.ndarray:
    """espeak-ng reading ``texts`` in turn (0.7 s apart), looped to ``seconds`` at 16 kHz, at
    -20 dBFS over a quiet tone (-38 dBFS)."""
    parts = []
    for i, text in enumerate(texts):
        wav = speak_wav(tmp / f"{voice}-{i}.wav", text, voice=voice, speed=speed)
        with wave.open(str(wav), "rb") as w:
            parts.append(np.frombuffer(w.readframes(w.getnframes()), np.int16) / 32768.0)
        parts.append(np.zeros(int(0.7 * RATE)))
    once = np.concatenate(parts)
    n = int(seconds * RATE)
    voice_audio = np.tile(once, n // len(once) + 1)[:n]
    voice_audio *= 10 ** (-20 / 20) / np.sqrt(np.mean(voice_audio ** 2))
    music = clip_sound("tone", seconds, level_db=-38, seed=7, rate=RATE)
    return np.clip(voice_audio + music, -1, 1).astype(np.float32)


def decode_only(path: Path, skip_nonref: bool = False) -> float:
    """CPU seconds to decode every packet of the file and nothing else (``skip_nonref``: the
    video's non-reference frames skipped, FFmpeg's ``skip_frame=NONREF``)."""
    c0 = time.process_time()
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        video.thread_type = "AUTO"
        if skip_nonref:
            video.codec_context.skip_frame = "NONREF"
        for packet in c.demux():
            packet.decode()
    return time.process_time() - c0


def timed_describe(path: Path) -> tuple[float, float, Descriptors]:
    c0, t0 = time.process_time(), time.perf_counter()
    d = describe(path)
    return time.process_time() - c0, time.perf_counter() - t0, d


# (label, seconds, grain): the 60 s clip the target is for, and a shorter one with film grain
# at a camera's bitrate
HD_CLIPS = [("clean picture", 60, 0.0), ("film grain (a camera's bitrate)", 30, 0.03)]


def cpu_per_minute(tmp: Path, preset: str) -> list[dict]:
    """``describe()`` three times on each of HD_CLIPS, and decoding alone once."""
    audio = speech_track(ENGLISH[:4], "en-us", 60, tmp)
    out = []
    for i, (label, seconds, grain) in enumerate(HD_CLIPS):
        t0 = time.perf_counter()
        path, cuts = fast_video(tmp / f"hd-{i}.mp4", seconds, audio=audio[:seconds * RATE],
                                preset=preset, grain=grain, seed=11)
        made = time.perf_counter() - t0
        runs = [timed_describe(path) for _ in range(3)]
        minutes = runs[0][2].duration / 60
        out.append({"label": label, "seconds": seconds, "cuts": cuts, "made_s": made,
                    "mbps": path.stat().st_size * 8 / seconds / 1e6, "got": runs[0][2],
                    "cpu": [r[0] for r in runs], "wall": [r[1] for r in runs],
                    "per_min": statistics.median(r[0] for r in runs) / minutes,
                    "decode_min": decode_only(path) / minutes,
                    "nonref_min": decode_only(path, skip_nonref=True) / minutes})
        print(f"720p {label}: {out[-1]['per_min']:.2f} CPU-s a minute "
              f"({out[-1]['mbps']:.1f} Mb/s)", flush=True)
    return out


# ----- the whole ingest of 10-minute videos ---------------------------------------------------
def run_ingest(path: Path, env: dict, logs: Path) -> dict:
    """``recbot ingest --json path`` as a child process: wall, CPU and peak RSS (wait4)."""
    out, err = logs / f"{path.stem}.json", logs / f"{path.stem}.err"
    t0 = time.perf_counter()
    with open(out, "wb") as so, open(err, "wb") as se:
        proc = subprocess.Popen([str(RECBOT), "ingest", "--json", str(path)], env=env,
                                stdout=so, stderr=se)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_descriptors: recbot ingest {path.name} failed "
                         f"({proc.returncode}): {err.read_text()[-2000:]}")
    report = json.loads(out.read_text())
    entry = (report["ingested"] or report["unchanged"])[0]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
            "rss_mb": usage.ru_maxrss / 1024, "entry": entry}


def long_ingest(tmp: Path, cache_dir: Path, preset: str) -> dict:
    spanish = [p.strip() for p in SPANISH.read_text(encoding="utf-8").split("\n\n")
               if p.strip() and not p.startswith("#")]
    t0 = time.perf_counter()
    picture, cuts = fast_video(tmp / "long-picture.mp4", 600, preset=preset, seed=21)
    made = time.perf_counter() - t0
    print(f"10-minute 720p picture made in {made:.0f} s", flush=True)
    files = {}
    for lang, texts, voice in (("English", ENGLISH, "en-us"), ("Spanish", spanish, "es")):
        audio = speech_track(texts, voice, 600, tmp, speed=150 if voice == "en-us" else 140)
        files[lang] = remux(picture, audio, tmp / f"bench-long-{lang.lower()}.mp4")
    data = tmp / "recbot-data"
    logs = tmp / "logs"
    logs.mkdir()
    env = {**os.environ, "RECBOT_DATA_DIR": str(data), "RECBOT_CONFIG_DIR": str(data / "config"),
           "RECBOT_LOG_DIR": str(data / "log"), "RECBOT_CACHE_DIR": str(cache_dir)}
    warm = write_clip(tmp / "warm-up.mp4", seconds=6, sound="speech", size=(160, 96),
                      speech=speak_wav(tmp / "warm.wav", "A short warm-up clip."))
    warm_run = run_ingest(warm, env, logs)
    print(f"warm-up ingest: {warm_run['wall']:.1f} s", flush=True)
    runs = {}
    for lang, path in files.items():
        r = run_ingest(path, env, logs)
        r["describe_cpu"], r["describe_wall"], _ = timed_describe(path)
        r["size_mb"] = path.stat().st_size / 1e6
        runs[lang] = r
        print(f"{lang}: ingest {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
              f"{r['rss_mb']:.0f} MB; describe {r['describe_cpu']:.1f} s CPU", flush=True)
    return {"runs": runs, "warm": warm_run, "cuts": cuts, "made_s": made}


# ----- the report ----------------------------------------------------------------------------
def _table(head: list[str], rows: list) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows])


def _f(x, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def report(args, clips, errors, tuning, cpu, long) -> list[str]:
    n_groups = len({c.group for c in clips})
    test_acc = tuning["test"]["chosen"][0]
    cpu_min = cpu[0]["per_min"]
    lines = [
        "# Sound and picture descriptors on generated clips",
        "",
        f"`{args.command}` on {platform.platform()}, {os.cpu_count()} CPUs, {date.today()}. "
        f"{len(clips)} clips ({SIZE[0]}x{SIZE[1]}, {FPS} fps, mpeg4 + AAC, 15-30 s) in "
        f"{n_groups} groups, made by tests/media.py `write_clip`; seed {args.seed}.",
        "",
        "## Targets",
        "",
        *_table(["target", "result", "met"], [
            ("≥ 24 clips in ≥ 6 property groups", f"{len(clips)} clips in {n_groups} groups",
             "yes" if len(clips) >= 24 and n_groups >= 6 else "no"),
            ("nearest own video of the same group ≥ 90% (weights chosen on the other half)",
             f"{test_acc:.1%} of {tuning['n_test']} held-out clips (shipped TOML: "
             f"{tuning['test']['toml'][0]:.1%})", "yes" if test_acc >= 0.9 else "no"),
            ("descriptor pass ≤ 10 CPU-s per video minute (720p H.264)",
             f"{cpu_min:.2f} CPU-s a minute ({cpu[0]['mbps']:.1f} Mb/s); with film grain at "
             f"{cpu[1]['mbps']:.1f} Mb/s {cpu[1]['per_min']:.2f}",
             ("yes" if cpu_min <= 10 else "no")
             + ("" if cpu[1]["per_min"] <= 10 else " (not with grain)")),
            ("whole ingest of a 10-minute 720p video, English and Spanish",
             "below" if long else "not run (--long)", "reported" if long else "–"),
        ]),
        "",
        "## The groups",
        "",
        "Each clip draws its parameters within its group: shot length ×0.8–1.25 around the "
        "group's, brightness ±0.07, level ±3 dB, colour (saturation) and motion (share of the "
        "frame a second) in a range, bpm 90–140, duration 15–30 s. Clips alternate between the "
        "training half (even) and the held-out half (odd).",
        "",
    ]
    rows = []
    for group in GROUPS:
        cs = [c for c in clips if c.group == group]
        shots = [c.params["shot"] for c in cs if c.params["shot"]]
        rows.append((group, len(cs),
                     f"{min(shots):.1f}–{max(shots):.1f}" if shots else "one shot",
                     f"{min(c.params['brightness'] for c in cs):.2f}–"
                     f"{max(c.params['brightness'] for c in cs):.2f}",
                     f"{min(c.params['colour'] for c in cs):.2f}–"
                     f"{max(c.params['colour'] for c in cs):.2f}",
                     f"{min(c.params['level_db'] for c in cs):.0f}…"
                     f"{max(c.params['level_db'] for c in cs):.0f}",
                     cs[0].params["sound"]))
    lines += _table(["group", "clips", "shot s", "brightness", "colour", "level dB", "sound"],
                    rows)
    lines += ["", "## Each descriptor's error", "",
              *_table(["descriptor", "clips", "error", "note"], errors)]
    lines += ["", "Measured, mean per group:", ""]
    keys = ["cuts", "shot_s", "brightness", "contrast", "colourfulness", "motion", "loudness_db",
            "centroid_hz", "flatness", "onset_rate", "pulse", "speech_share"]
    rows = []
    for group in GROUPS:
        cs = [c.got for c in clips if c.group == group]
        rows.append([group] + [_f(_mean(getattr(d, k) for d in cs if getattr(d, k) is not None),
                                  ".3g") for k in keys])
    lines += _table(["group"] + keys, rows)
    t = tuning
    lines += [
        "",
        "## Weights chosen on half, nearest own video on the other half",
        "",
        f"Training half: {t['n_train']} clips; held-out half: {t['n_test']} clips, never used "
        "to choose anything. The scale is the training half's mean and standard deviation of "
        "each feature (the transforms of `Descriptors.features()`); the weights a coordinate "
        f"ascent over {{{', '.join(str(v) for v in WEIGHT_STEPS)}}} from all 1 on the training "
        "half's leave-one-out nearest-neighbour accuracy (ties: the mean gap between the "
        "nearest clip of the group and the nearest of another). Nearest: the other clip of "
        "the same half with the highest `similarity()`.",
        "",
        *_table(["scale, weights", "training half (leave-one-out)", "held-out half",
                 "held-out margin"], [
            ("shipped descriptors.toml", f"{t['train']['toml'][0]:.1%}",
             f"{t['test']['toml'][0]:.1%}", f"{t['test']['toml'][1]:.3f}"),
            ("training scale, all weights 1", f"{t['train']['ones'][0]:.1%}",
             f"{t['test']['ones'][0]:.1%}", f"{t['test']['ones'][1]:.3f}"),
            ("training scale, chosen weights", f"{t['train']['chosen'][0]:.1%}",
             f"{t['test']['chosen'][0]:.1%}", f"{t['test']['chosen'][1]:.3f}"),
        ]),
        "",
        "Search: " + "; ".join(t["log"]) + ".",
        "",
        "Held-out clips whose nearest is of another group (chosen weights): "
        + (", ".join(f"{a.name} ({a.group}) → {b.name} ({b.group}, {s:.2f})"
                     for a, b, s in t["misses"]) or "none") + ".",
        "",
        "Held-out misses with the shipped TOML: "
        + (", ".join(f"{a.name} ({a.group}) → {b.name} ({b.group}, {s:.2f})"
                     for a, b, s in t["misses_toml"]) or "none") + ".",
        "",
        "Held-out accuracy with one feature alone (training scale, weight 1), and with the "
        "chosen weights less that feature:",
        "",
        *_table(["feature", "alone", "chosen weights without it"],
                [(k, f"{t['alone'][k]:.1%}", f"{t['without'][k]:.1%}") for k in t["scale"]]),
        "",
        "To paste into retrieval/data/descriptors.toml (chosen on the training half):",
        "",
        "```toml",
        *toml_lines(t["scale"], t["weights"]),
        "```",
        "",
        "## CPU per video minute",
        "",
        f"`describe()` on 1280x720 25 fps H.264 clips (libx264 {args.preset}, crf 23; AAC "
        "16 kHz mono, English espeak-ng over a quiet tone), 3 runs each in one warm process "
        "(the VAD loaded before); CPU is `time.process_time()` (every thread of the process). "
        "The clean picture compresses to what a web video has; film grain changing every "
        "frame makes the bitrate of a camera's own file. Decoding alone: every packet decoded, "
        "nothing else (once); and with the non-reference frames skipped (FFmpeg's "
        "`skip_frame=NONREF`), what describe() does not do today.",
        "",
        *_table(["720p clip", "s", "Mb/s", "describe CPU s (3 runs)", "wall s (median)",
                 "CPU-s per video minute", "decoding alone, CPU-s/min",
                 "skipping non-reference frames, CPU-s/min", "cuts found / made"],
                [(c["label"], c["seconds"], f"{c['mbps']:.1f}",
                  ", ".join(f"{x:.2f}" for x in c["cpu"]), f"{statistics.median(c['wall']):.2f}",
                  f"**{c['per_min']:.2f}**", f"{c['decode_min']:.2f}", f"{c['nonref_min']:.2f}",
                  f"{c['got'].cuts} / {c['cuts']}") for c in cpu]),
        "",
        f"The clean clip's descriptors: {cpu[0]['got'].as_dict()}; words "
        f"{cpu[0]['got'].words()}.",
    ]
    if long:
        lines += [
            "",
            "## Whole ingest of a 10-minute 720p video",
            "",
            f"One 10-minute 1280x720 25 fps picture (libx264 {args.preset}, {long['cuts']} "
            f"cuts, made in {long['made_s']:.0f} s), remuxed without re-encoding under two "
            "sound tracks: English espeak-ng (the 8 narration texts of this bench, looped) and "
            "Spanish (bench/data/speech_es.txt, looped), each at -20 dBFS over a quiet tone. "
            f"`recbot ingest --json FILE` with a fresh RECBOT_DATA_DIR, RECBOT_CACHE_DIR="
            f"{args.cache_dir}; a warm-up ingest of a 6 s clip first "
            f"({long['warm']['wall']:.1f} s). CPU and peak RSS of the child process (wait4); "
            "`describe()` alone timed in this process.",
            "",
        ]
        rows = []
        for lang, r in long["runs"].items():
            e = r["entry"]
            sp = e.get("sound_picture") or {}
            rows.append((lang, f"{r['size_mb']:.0f}", f"{r['wall']:.1f}", f"{r['cpu']:.1f}",
                         f"{r['rss_mb']:.0f}", e["windows"], f"{r['describe_cpu']:.1f}",
                         f"{r['describe_wall']:.1f}", f"{r['describe_cpu'] / r['cpu']:.0%}",
                         f"{sp.get('speech_share', '–')}", f"{sp.get('cuts', '–')}"))
        lines += _table(["speech", "MB", "ingest wall s", "ingest CPU s", "peak RSS MB",
                         "windows", "describe CPU s", "describe wall s",
                         "describe share of ingest CPU", "speech share", "cuts"], rows)
    lines += ["", "## Per clip", ""]
    rows = []
    for c in clips:
        g, p, tr = c.got, c.params, c.truth
        rows.append((c.name, c.half, p["seconds"], f"{tr['cuts']}/{g.cuts}",
                     f"{tr['shot_s']:.2f}/{g.shot_s:.2f}",
                     f"{p['brightness']:.2f}/{tr['brightness']:.3f}/{g.brightness:.3f}",
                     f"{p['level_db']:.1f}/{tr['gated_db']:.1f}/{g.loudness_db:.1f}",
                     f"{_f(p.get('bpm'), '.1f') if p['sound'] == 'rhythm' else '–'}/"
                     f"{_f(g.tempo_bpm, '.1f')}", f"{g.pulse:.2f}", f"{g.speech_share:.2f}",
                     f"{p['sound']}→{g.sound_kind()}", f"{c.cpu:.2f}"))
    lines += _table(["clip", "half", "s", "cuts true/got", "shot s true/got",
                     "brightness asked/decoded/got", "level asked/gated/got dB",
                     "bpm true/got", "pulse", "speech", "sound→kind", "CPU s"], rows)
    return lines


def tune(clips: list[Clip]) -> dict:
    train = [c for c in clips if c.half == "train"]
    test = [c for c in clips if c.half == "test"]
    shipped = _RULES()
    # features() with the identity scale, scaled again, must be what features() gives
    d = train[0].got
    again = {k: (v - shipped["scale"][k][0]) / shipped["scale"][k][1]
             for k, v in raw_features(d).items()}
    assert all(abs(again[k] - v) < 1e-9 for k, v in d.features().items()), "features() changed"
    scale = fit_scale(train)
    weights, log = choose_weights(train, scale)
    ones = {k: 1.0 for k in scale}
    out = {"scale": scale, "weights": weights, "log": log, "n_train": len(train),
           "n_test": len(test), "train": {}, "test": {}}
    out["alone"], out["without"] = {}, {}
    for k in scale:
        out["alone"][k] = score(test, neighbours(test, scale, {**{j: 0.0 for j in scale},
                                                                k: 1.0}))[0]
        out["without"][k] = score(test, neighbours(test, scale, {**weights, k: 0.0}))[0] \
            if any(v for j, v in weights.items() if j != k) else float("nan")
    for label, (sc, wt) in {"toml": (None, None), "ones": (scale, ones),
                            "chosen": (scale, weights)}.items():
        for half, cs in (("train", train), ("test", test)):
            sims = neighbours(cs, sc, wt)
            out[half][label] = score(cs, sims)
            if half == "test" and label in ("toml", "chosen"):
                out["misses" if label == "chosen" else "misses_toml"] = [
                    (a, b, s) for a, b, s in nearest_table(cs, sims) if a.group != b.group]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-group", type=int, default=8, help="clips a group (half of them "
                    "choose the weights, half check them)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="veryfast", help="libx264 preset of the 720p videos")
    ap.add_argument("--long", action="store_true", help="also time the whole `recbot ingest` "
                    "of a 10-minute 720p video with English and with Spanish speech (~10 min)")
    ap.add_argument("--cache-dir", type=Path, default=Path(os.environ.get(
        "RECBOT_CACHE_DIR", "/work/bench-env-31/cache")), help="RECBOT_CACHE_DIR for --long "
                    "(the models' caches)")
    args = ap.parse_args()
    if args.per_group < 4:
        ap.error("--per-group must be at least 4 (two clips of a group in each half)")
    args.command = "python bench/bench_descriptors.py " + " ".join(sys.argv[1:])
    args.command = args.command.strip()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("bench_descriptors: espeak-ng is needed (apt-get install espeak-ng)")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = make_clips(tmp, args.per_group, args.seed)
        for c in clips:
            measure(c)
            g = c.got
            print(f"{c.name} {c.group}: cuts {c.truth['cuts']}/{g.cuts}, brightness "
                  f"{c.truth['brightness']:.3f}/{g.brightness:.3f}, level "
                  f"{c.params['level_db']:.1f}/{g.loudness_db:.1f}, "
                  f"tempo {_f(g.tempo_bpm, '.1f')}, speech {g.speech_share:.2f}, "
                  f"{g.sound_kind()}", flush=True)
        errors = error_rows(clips, _RULES()["words"])
        tuning = tune(clips)
        print(f"held-out nearest same group: {tuning['test']['chosen'][0]:.1%} (shipped TOML "
              f"{tuning['test']['toml'][0]:.1%})", flush=True)
        cpu = cpu_per_minute(tmp, args.preset)
        long = long_ingest(tmp, args.cache_dir, args.preset) if args.long else None
    lines = report(args, clips, errors, tuning, cpu, long)
    lines += ["", f"Whole run: {time.perf_counter() - started:.0f} s; load average (1 min) "
              f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (other "
              "work on the machine shows in the wall times, less in the CPU times)."]
    text = "\n".join(lines) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
