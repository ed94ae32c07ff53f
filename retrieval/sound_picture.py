"""A video's sound and picture descriptors as data: what they are (``Descriptors``, checked
when read back), how two compare (``similarity``), how they match what an ask wants
(``match``) and what stands out (``Descriptors.words``). No heavy imports: cards and the
chat read these; ``retrieval.descriptors`` measures them.

The thresholds, scales and weights are data (``data/descriptors.toml``), chosen on
generated clips (``bench/bench_descriptors.py``).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

RATE = 16_000
SILENT_DB = -70.0    # below this a block is silence (absolute gate)

RULES = Path(__file__).with_name("data") / "descriptors.toml"


@functools.cache
def rules() -> dict:
    """The thresholds, scales, weights and words of ``data/descriptors.toml``."""
    return tomllib.loads(RULES.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Descriptors:
    """A file's sound and picture; None where the file has no such stream (or nothing to
    measure: the tempo of a sound without a clear pulse)."""

    duration: float
    loudness_db: float | None = None
    centroid_hz: float | None = None
    flatness: float | None = None
    onset_rate: float | None = None
    pulse: float | None = None
    tempo_bpm: float | None = None
    speech_share: float | None = None
    cuts: int | None = None
    shot_s: float | None = None
    brightness: float | None = None
    contrast: float | None = None
    colourfulness: float | None = None
    motion: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d) -> Descriptors | None:
        """Descriptors from stored JSON, or None when it is not theirs (a field of the wrong
        type, out of its range, not finite): stored data is checked, never trusted."""
        if not isinstance(d, dict):
            return None
        limits = _LIMITS
        out = {}
        for f in fields(cls):
            v = d.get(f.name)
            if v is None:
                if f.name == "duration":
                    return None
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return None
            try:
                if not math.isfinite(v):
                    return None
            except OverflowError:       # an integer too big for a float
                return None
            lo, hi = limits[f.name]
            if not lo <= v <= hi:
                return None
            out[f.name] = int(v) if f.name == "cuts" else float(v)
        return cls(**out)

    @property
    def has_picture(self) -> bool:
        return self.brightness is not None

    @property
    def has_sound(self) -> bool:
        return self.loudness_db is not None

    def features(self) -> dict[str, float]:
        """The descriptors on comparable scales (``descriptors.toml`` [scale]: each feature
        as (value - mean) / spread, after a log where the value spans decades)."""
        scale = rules()["scale"]
        raw = {
            "cut_rate": None if self.cuts is None else
            math.log1p(60.0 * self.cuts / max(self.duration, 1.0)),
            "brightness": self.brightness, "contrast": self.contrast,
            "colourfulness": self.colourfulness,
            "motion": None if self.motion is None else math.log(self.motion + 0.002),
            "loudness": self.loudness_db,
            "centroid": None if self.centroid_hz is None else math.log(max(self.centroid_hz, 20)),
            "flatness": self.flatness,
            "onset_rate": None if self.onset_rate is None else math.log1p(self.onset_rate),
            "pulse": self.pulse, "speech": self.speech_share,
        }
        return {k: (v - scale[k][0]) / scale[k][1] for k, v in raw.items() if v is not None}

    def sound_kind(self) -> str | None:
        """"speech", "music", "beat", "noise" or "silence": what the sound mostly is."""
        if self.loudness_db is None:
            return None
        w = rules()["words"]
        if self.loudness_db <= SILENT_DB + 1:
            return "silence"
        if (self.speech_share or 0.0) >= w["speech_share"]:
            return "speech"
        if self.tempo_bpm is not None:
            return "beat"
        if (self.flatness or 0.0) >= w["noisy_flatness"]:
            return "noise"
        return "music"

    def words(self) -> dict[str, str]:
        """What stands out, by aspect: {"pace": "fast", "light": "bright", "loudness":
        "loud", "colour": "colourful", "motion": "still", "sound": "music"}; an aspect
        in the middle of its range says nothing and is left out."""
        w = rules()["words"]
        out: dict[str, str] = {}
        if self.cuts is not None:
            every = self.duration / self.cuts if self.cuts else None
            if every is None or every >= w["slow_shot_s"]:
                out["pace"] = "slow"
            elif every <= w["fast_shot_s"]:
                out["pace"] = "fast"
        if self.brightness is not None:
            if self.brightness >= w["bright"]:
                out["light"] = "bright"
            elif self.brightness <= w["dark"]:
                out["light"] = "dark"
        if self.colourfulness is not None:
            if self.colourfulness >= w["colourful"]:
                out["colour"] = "colourful"
            elif self.colourfulness <= w["muted"]:
                out["colour"] = "muted"
        if self.motion is not None:
            if self.motion >= w["moving"]:
                out["motion"] = "moving"
            elif self.motion <= w["still"]:
                out["motion"] = "still"
        kind = self.sound_kind()
        if self.loudness_db is not None and kind != "silence":
            if self.loudness_db >= w["loud_db"]:
                out["loudness"] = "loud"
            elif self.loudness_db <= w["quiet_db"]:
                out["loudness"] = "quiet"
        if kind:
            out["sound"] = kind
        return out


_LIMITS = {"duration": (0.0, 1e7), "loudness_db": (-200.0, 20.0), "centroid_hz": (0.0, RATE),
           "flatness": (0.0, 1.0), "onset_rate": (0.0, 100.0), "pulse": (-1.0, 1.0),
           "tempo_bpm": (1.0, 1000.0), "speech_share": (0.0, 1.0), "cuts": (0, 1e7),
           "shot_s": (0.0, 1e7), "brightness": (0.0, 1.0), "contrast": (0.0, 1.0),
           "colourfulness": (0.0, 2.0), "motion": (0.0, 1.0)}


def similarity(a: Descriptors, b: Descriptors) -> float | None:
    """How alike two files' sound and picture are, 0..1: exp(-d²/2), d² the weighted mean
    squared difference of their scaled features (``descriptors.toml`` [weights]); None when
    they share no feature."""
    fa, fb = a.features(), b.features()
    weights = rules()["weights"]
    common = [k for k in fa if k in fb and weights.get(k, 0) > 0]
    if not common:
        return None
    total = sum(weights[k] for k in common)
    d2 = sum(weights[k] * (fa[k] - fb[k]) ** 2 for k in common) / total
    return math.exp(-d2 / 2)


def match(d: Descriptors, want: dict[str, float]) -> float | None:
    """How well ``d`` fits what an ask wants (``want``: scaled feature -> how much more of
    it, -1..1), 0..1: the mean, weighted by how much each is wanted, of a logistic of each
    feature's signed distance from the middle; None when ``d`` has none of them."""
    got = d.features()
    common = [k for k in want if k in got and want[k]]
    if not common:
        return None
    total = sum(abs(want[k]) for k in common)
    return sum(abs(want[k]) / (1.0 + math.exp(-2.0 * math.copysign(1.0, want[k]) * got[k]))
               for k in common) / total


@dataclass(frozen=True, slots=True)
class OwnVideo:
    """An ingested file as the chat compares it: its item, its sound and picture (None when
    they could not be read) and the mean vector of its speech (None without speech)."""

    movie_id: int
    path: str
    descriptors: Descriptors | None
    speech: tuple[float, ...] | None
    embed_model: str


def own_videos(records, bodies: dict[str, str]) -> dict[int, OwnVideo]:
    """The live ingests (``records``: the ledger's) with what their ingest stored
    (``bodies``: path -> JSON), by item; a body that is not what recbot writes is read as
    nothing (stored data is checked, never trusted). An item with several files keeps the
    longest."""

    out: dict[int, OwnVideo] = {}
    for rec in records:
        try:
            video = _video(rec, bodies.get(rec.path))
        except (ValueError, TypeError, RecursionError, OverflowError):
            video = None      # not what recbot writes: read as nothing
        if video is None:
            continue
        held = out.get(video.movie_id)
        if held is None or _length(video) > _length(held):
            out[video.movie_id] = video
    return out


def _video(rec, body) -> OwnVideo | None:
    import json

    if not isinstance(body, str) or not body or len(body) > 1_000_000:
        return None
    got = json.loads(body)
    if not isinstance(got, dict):
        return None
    desc = Descriptors.from_dict(got.get("descriptors"))
    speech = got.get("speech")
    if not (isinstance(speech, list) and 0 < len(speech) <= 4096
            and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                    and math.isfinite(x) for x in speech)):
        speech = None
    if desc is None and speech is None:
        return None
    return OwnVideo(int(rec.movie_id), str(rec.path), desc,
                    tuple(float(x) for x in speech) if speech else None,
                    str(got.get("embed_model", "")))


def _length(v: OwnVideo) -> float:
    return v.descriptors.duration if v.descriptors else 0.0


def speech_similarity(a: OwnVideo, b: OwnVideo) -> float | None:
    """The cosine of the two files' mean speech vectors (same embedder), or None."""
    if a.speech is None or b.speech is None or a.embed_model != b.embed_model \
            or len(a.speech) != len(b.speech):
        return None
    dot = sum(x * y for x, y in zip(a.speech, b.speech))
    na = math.sqrt(sum(x * x for x in a.speech))
    nb = math.sqrt(sum(y * y for y in b.speech))
    return dot / (na * nb) if na and nb else None


def fused_similarity(a: OwnVideo, b: OwnVideo) -> float | None:
    """How alike two of the user's videos are, 0..1: their sound-and-picture similarity and
    their speech's cosine, weighted by ``descriptors.toml`` [fusion]; what one of them lacks
    is left out; None when nothing compares."""
    w = rules()["fusion"]
    parts = []
    if a.descriptors is not None and b.descriptors is not None:
        s = similarity(a.descriptors, b.descriptors)
        if s is not None:
            parts.append((w["sound_picture"], s))
    s = speech_similarity(a, b)
    if s is not None:
        parts.append((w["speech"], max(0.0, s)))
    if not parts:
        return None
    return sum(wt * s for wt, s in parts) / sum(wt for wt, _ in parts)
