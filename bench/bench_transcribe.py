"""Benchmark: Whisper tiny.en int8 on 2 CPU threads, speed and word error rate by decode option.

    python bench/bench_transcribe.py [--seconds 60] [--repeat 2]

Speaks a paragraph with espeak-ng until the audio is about --seconds long, then
transcribes it with each configuration (model loaded and warmed up first, so
wall time is decode + VAD + Whisper) and prints audio seconds, wall seconds,
real-time factor (wall / audio; the target is <= 0.10) and WER against the
source text. A second clip puts 3 s of silence between sentences, the shape of
film audio, where the VAD earns its keep.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from recbot.retrieval.transcribe import WhisperTranscriber

SENTENCES = [
    "The old lighthouse keeper watched the storm roll across the harbor every night.",
    "She ordered a cup of black coffee and opened a worn paperback about deep sea divers.",
    "Our team needs a fast recommendation engine that runs on a small laptop.",
    "A detective in a rainy city follows a trail of forged paintings to a quiet museum.",
    "Children laughed as the circus elephant balanced carefully on a bright red ball.",
    "Please remind me to buy fresh bread, green apples and a bottle of olive oil.",
    "The spaceship drifted silently past the frozen moons of a distant giant planet.",
    "Critics praised the film for its sharp dialogue and its haunting orchestral score.",
    "He walked along the mountain ridge until the village lights disappeared behind him.",
    "After the concert, the musicians packed their instruments and caught the last train.",
]

CONFIGS = [  # (label, keyword arguments to WhisperTranscriber)
    ("beam 1, VAD (default)", {"beam_size": 1, "vad_filter": True}),
    ("beam 1, no VAD", {"beam_size": 1, "vad_filter": False}),
    ("beam 5, VAD", {"beam_size": 5, "vad_filter": True}),
    ("beam 5, no VAD", {"beam_size": 5, "vad_filter": False}),
    ("beam 1, VAD, condition on previous", {"beam_size": 1, "condition_on_previous_text": True}),
]


def speak(text: str, out: Path) -> tuple[np.ndarray, int]:
    """``text`` spoken by espeak-ng: int16 samples and their rate (22050 Hz)."""
    subprocess.run(["espeak-ng", "-w", str(out), text], check=True)
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.astype(np.int16).tobytes())


def build_clip(spoken: list[np.ndarray], rate: int, seconds: float,
               gap: float) -> tuple[np.ndarray, str]:
    """Sentences in order (cycling) until the clip is ``seconds`` long; returns audio and text."""
    parts, words, total, i = [], [], 0, 0
    silence = np.zeros(int(gap * rate), dtype=np.int16)
    while total < seconds * rate:
        parts += [spoken[i % len(spoken)], silence]
        words.append(SENTENCES[i % len(SENTENCES)])
        total += len(spoken[i % len(spoken)]) + len(silence)
        i += 1
    return np.concatenate(parts), " ".join(words)


def normalize(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).replace("'", "").split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the number of reference words."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=2, help="runs per config; the best is shown")
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not on PATH (apt-get install espeak-ng)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spoken, rates = zip(*(speak(s, tmp / f"s{i}.wav") for i, s in enumerate(SENTENCES)))
        rate = rates[0]
        clips = []
        for label, gap in (("dense speech", 0.3), ("speech + 3 s pauses", 3.0)):
            audio, text = build_clip(list(spoken), rate, args.seconds, gap)
            write_wav(tmp / f"{gap}.wav", audio, rate)
            clips.append((label, tmp / f"{gap}.wav", text))
        write_wav(tmp / "warm.wav", spoken[0], rate)

        print("Whisper tiny.en, int8, cpu_threads=2")
        print("| clip | config | audio s | wall s | RTF | WER |")
        print("|---|---|---|---|---|---|")
        for label, kwargs in CONFIGS:
            tr = WhisperTranscriber(compute_type="int8", cpu_threads=2, **kwargs)
            started = time.perf_counter()
            tr.transcribe(tmp / "warm.wav")
            load = time.perf_counter() - started
            for clip, path, text in clips:
                walls = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    result = tr.transcribe(path)
                    walls.append(time.perf_counter() - started)
                wall = min(walls)
                print(f"| {clip} | {label} | {result.duration:.1f} | {wall:.2f} | "
                      f"{wall / result.duration:.3f} | {wer(text, result.text):.3f} |", flush=True)
        print(f"\nmodel load + first 4 s clip: {load:.2f} s")


if __name__ == "__main__":
    main()
