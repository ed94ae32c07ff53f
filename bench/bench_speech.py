"""Benchmark: speech in other languages (issue 34). Spanish clips spoken by espeak-ng from
texts written for this bench (bench/data/speech_es.txt: one clip per paragraph), each
transcribed by what `recbot transcribe` uses (``AutoTranscriber``: the language detected
on the first 30 s, tiny.en for English, Whisper base for the rest), against the English
clips of bench_transcribe.py for the English side.

    python bench/bench_speech.py [--speed 140]

Reports per clip: seconds of audio, the language detected and its probability, the word
error rate against the text, wall time and real-time factor (wall / audio; models loaded
before timing). Targets: WER <= 0.15 over the Spanish clips, the language detected as
Spanish on every clip, English WER and speed no worse than tiny.en alone. Writes
bench/results/speech.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import unicodedata
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "data" / "speech_es.txt"
OUT = HERE / "results" / "speech.md"


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower())
    return re.findall(r"[\w']+", text)


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein over words."""
    r, h = words(ref), words(hyp)
    prev = list(range(len(h) + 1))
    for i, a in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, b in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1], len(r)


def speak(text: str, path: Path, voice: str, speed: int) -> float:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                   check=True, capture_output=True)
    import wave

    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", type=int, default=140, help="espeak-ng words per minute")
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("bench_speech: espeak-ng is needed (apt-get install espeak-ng)")
    from recbot.retrieval.transcribe import AutoTranscriber, WhisperTranscriber

    from bench_transcribe import SENTENCES

    paragraphs = [p.strip() for p in TEXTS.read_text(encoding="utf-8").split("\n\n")
                  if p.strip() and not p.startswith("#")]
    auto = AutoTranscriber()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # load both models before timing
        warm = tmp / "warm.wav"
        speak("hola, buenos días", warm, "es", args.speed)
        auto.transcribe(warm)
        speak("hello there", warm, "en", args.speed)
        auto.transcribe(warm)
        tiny = WhisperTranscriber(None, language="en")
        tiny.transcribe(warm)
        clips = [("es", f"es-{i:02d}", p) for i, p in enumerate(paragraphs, 1)]
        clips.append(("en", "en-all", " ".join(SENTENCES)))
        for lang, name, text in clips:
            path = tmp / f"{name}.wav"
            seconds = speak(text, path, "es" if lang == "es" else "en-us", args.speed)
            t0 = time.perf_counter()
            got = auto.transcribe(path)
            wall = time.perf_counter() - t0
            edits, n = wer(text, got.text)
            rows.append({"clip": name, "lang": lang, "seconds": seconds,
                         "detected": got.language, "p": got.language_probability,
                         "edits": edits, "words": n, "wall": wall, "model": got.model})
            print(f"{name}: {seconds:.1f} s, {got.language} ({got.language_probability:.2f}), "
                  f"WER {edits / n:.3f}, RTF {wall / seconds:.3f}", flush=True)
            if lang == "en":      # English through tiny.en alone, as before
                t0 = time.perf_counter()
                alone = tiny.transcribe(path)
                wall = time.perf_counter() - t0
                edits, n = wer(text, alone.text)
                rows.append({"clip": name + " (tiny.en alone, before)", "lang": "en",
                             "seconds": seconds, "detected": "-", "p": None, "edits": edits,
                             "words": n, "wall": wall, "model": alone.model})
    es = [r for r in rows if r["lang"] == "es"]
    es_wer = sum(r["edits"] for r in es) / sum(r["words"] for r in es)
    detected = sum(r["detected"] == "es" for r in es)
    minutes = sum(r["seconds"] for r in es) / 60
    lines = [
        "# Speech in other languages: espeak-ng Spanish through `recbot transcribe`'s path",
        "",
        f"`python bench/bench_speech.py --speed {args.speed}` on {platform.machine()}, "
        f"{date.today()}. {len(es)} Spanish clips ({minutes:.1f} min) from "
        "bench/data/speech_es.txt, and the English clip of bench_transcribe.py's sentences; "
        "models loaded before timing.",
        "",
        f"**Spanish: WER {es_wer:.3f} (target ≤ 0.15), language detected as Spanish on "
        f"{detected}/{len(es)} clips; median RTF "
        f"{statistics.median(r['wall'] / r['seconds'] for r in es):.3f}.**",
        "",
        "| clip | audio s | detected (p) | WER | wall s | RTF | model |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = "" if r["p"] is None else f" ({r['p']:.2f})"
        lines.append(f"| {r['clip']} | {r['seconds']:.1f} | {r['detected']}{p} | "
                     f"{r['edits'] / r['words']:.3f} | {r['wall']:.2f} | "
                     f"{r['wall'] / r['seconds']:.3f} | {r['model']} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Spanish WER {es_wer:.3f}, detected {detected}/{len(es)}, {minutes:.1f} min; "
          f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
