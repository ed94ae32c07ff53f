"""Test media: speech from espeak-ng, silence, and PyAV muxing into .mp4."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import av
import numpy as np

RATE = 16000


def speak_wav(path: Path, text: str, *, lead_silence: float = 0.0, speed: int = 150,
              voice: str | None = None) -> Path:
    """Speak ``text`` into a 16 kHz mono WAV, after ``lead_silence`` seconds of silence
    (``voice``: an espeak-ng voice, "es" for Spanish)."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required for the speech fixtures (apt-get install espeak-ng)"
    raw = path.with_suffix(".raw.wav")
    subprocess.run([espeak, *(["-v", voice] if voice else []), "-s", str(speed), "-w", str(raw),
                    text], check=True,
                   capture_output=True)
    with wave.open(str(raw), "rb") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    raw.unlink()
    audio = np.frombuffer(frames, dtype=np.int16).astype(np.float32)
    if rate != RATE:  # espeak-ng speaks at 22050 Hz; resample linearly
        t = np.arange(0, len(audio) / rate, 1 / RATE)
        audio = np.interp(t, np.arange(len(audio)) / rate, audio)
    audio = np.concatenate([np.zeros(int(lead_silence * RATE)), audio])
    write_wav(path, audio.astype(np.int16))
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype(np.int16).tobytes())
    return path


def write_media(path: Path, wav: Path | None, *, audio_codec: str = "aac",
                video_codec: str | None = "mpeg4", seconds: float = 0.0) -> Path:
    """Re-encode the WAV (if any) into ``path``'s container, with a tiny black video stream."""
    with av.open(str(path), "w") as out:
        if video_codec:
            video = out.add_stream(video_codec, rate=5)
            video.width = video.height = 32
            video.pix_fmt = "yuv420p"
        if wav is not None:
            with av.open(str(wav)) as src:
                rate = 48_000 if audio_codec == "libopus" else src.streams.audio[0].rate
                audio = out.add_stream(audio_codec, rate=rate, layout="mono")
                for frame in src.decode(audio=0):
                    seconds += frame.samples / frame.sample_rate
                    frame.pts = None
                    out.mux(audio.encode(frame))  # PyAV resamples to what the codec needs
                out.mux(audio.encode(None))
        if video_codec:
            black = np.zeros((32, 32, 3), np.uint8)
            for i in range(int(seconds * 5) + 1):
                frame = av.VideoFrame.from_ndarray(black, format="rgb24")
                frame.pts = i
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
    return path


def mp4_from_wav(wav: Path, out: Path) -> Path:
    """The WAV as AAC in an .mp4 with a tiny black video stream."""
    return write_media(out, wav)
