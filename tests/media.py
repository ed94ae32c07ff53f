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


# ----- generated clips: shots, light, colour, motion and sound of known properties -----------
CLIP_RATE = 22_050


def clip_sound(kind: str, seconds: float, *, level_db: float = -20.0, bpm: float = 120.0,
               speech: Path | None = None, seed: int = 0, rate: int = CLIP_RATE) -> np.ndarray:
    """``seconds`` of mono float audio at ``level_db`` dBFS RMS: "tone" (slowly changing
    chords of sines), "noise" (pink), "rhythm" (a drum pattern at ``bpm``), "speech" (the
    WAV ``speech`` looped, silence between), "silence"."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    if kind == "silence":
        return np.zeros(n, np.float32)
    if kind == "tone":
        out = np.zeros(n)
        chord = int(rate * rng.uniform(2.5, 4.0))
        for start in range(0, n, chord):
            root = 110 * 2 ** (rng.integers(0, 12) / 12)
            seg = slice(start, min(n, start + chord))
            for ratio in (1.0, 1.25, 1.5, 2.0):
                out[seg] += np.sin(2 * np.pi * root * ratio * t[seg] + rng.uniform(0, 6.3))
        fade = np.minimum(1.0, np.minimum(t, t[::-1] if n else t) * 20)
        out *= fade
    elif kind == "noise":
        spec = np.fft.rfft(rng.standard_normal(n))
        spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1))
        out = np.fft.irfft(spec, n)
    elif kind == "rhythm":
        out = np.zeros(n)
        beat = 60.0 / bpm
        hit = int(0.12 * rate)
        env = np.exp(-np.arange(hit) / (0.025 * rate))
        k = 0
        while (start := int(k * beat / 2 * rate)) < n:    # eighth notes: kick on the beat
            end = min(n, start + hit)
            if k % 2 == 0:
                out[start:end] += np.sin(2 * np.pi * 60 * np.arange(end - start) / rate) \
                    * env[:end - start] * 2.0
            out[start:end] += rng.standard_normal(end - start) * env[:end - start] * 0.6
            k += 1
    elif kind == "speech":
        assert speech is not None, "speech needs a WAV"
        import wave

        with wave.open(str(speech), "rb") as w:
            voice = np.frombuffer(w.readframes(w.getnframes()), np.int16) / 32768.0
            vrate = w.getframerate()
        voice = np.interp(np.arange(0, len(voice) / vrate, 1 / rate),
                          np.arange(len(voice)) / vrate, voice)
        gap = np.zeros(int(0.4 * rate))
        reps = int(n / (len(voice) + len(gap))) + 1
        out = np.tile(np.concatenate([voice, gap]), reps)[:n]
    else:
        raise ValueError(kind)
    rms = float(np.sqrt(np.mean(out ** 2))) or 1.0
    out = out / rms * 10 ** (level_db / 20)
    return np.clip(out, -1, 1).astype(np.float32)


def write_clip(path: Path, *, seconds: float = 8.0, shot: float | None = 2.0,
               brightness: float = 0.5, colour: float = 0.6, motion: float = 0.2,
               sound: str = "tone", level_db: float = -20.0, bpm: float = 120.0,
               speech: Path | None = None, narration: Path | None = None,
               size: tuple[int, int] = (160, 96), fps: int = 12,
               seed: int = 0, codec: str = "mpeg4", audio_codec: str = "aac") -> Path:
    """A video of known properties: a new shot every ``shot`` seconds (None: one shot), each
    a field of one colour (saturation ``colour``) with a textured square, at mean luma near
    ``brightness``, its square moving ``motion`` of the frame a second; and ``sound``
    (``clip_sound``) at ``level_db``, with the WAV ``narration`` spoken over it once (at
    -20 dBFS, from the first second)."""
    rng = np.random.default_rng(seed)
    w, h = size
    frames = int(seconds * fps)
    audio = clip_sound(sound, seconds, level_db=level_db, bpm=bpm, speech=speech, seed=seed)
    if narration is not None:
        voice = clip_sound("speech", seconds, speech=narration, level_db=-20.0)
        import wave

        with wave.open(str(narration), "rb") as wv:
            said = int(wv.getnframes() / wv.getframerate() * CLIP_RATE)
        voice[min(len(voice), said):] = 0.0               # once, not looped
        voice = np.roll(voice, CLIP_RATE)
        voice[:CLIP_RATE] = 0.0
        audio = np.clip(audio + voice, -1, 1).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.bit_rate = 2_000_000
        sound_stream = out.add_stream(audio_codec, rate=CLIP_RATE, layout="mono")
        look = None
        for i in range(frames):
            t = i / fps
            if look is None or (shot and int(t / shot) != int((i - 1) / fps / shot)):
                # a new shot looks different: its hue at least 0.15 from the last one's
                hue = (look["hue"] + rng.uniform(0.15, 0.85)) % 1.0 if look else rng.uniform(0, 1)
                base = np.array([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)])
                look = {"hue": hue, "rgb": brightness + colour * 0.35 * base,
                        "x": rng.uniform(0.2, 0.8) * w, "y": rng.uniform(0.2, 0.8) * h,
                        "dir": rng.uniform(0, 2 * np.pi), "tex": rng.uniform(0.1, 0.25)}
            dx = np.cos(look["dir"]) * motion * w * (t % (shot or seconds))
            dy = np.sin(look["dir"]) * motion * h * (t % (shot or seconds))
            cx, cy = (look["x"] + dx) % w, (look["y"] + dy) % h
            square = (np.abs(xx - cx) < w / 6) & (np.abs(yy - cy) < h / 5)
            pattern = np.where(((xx // 6 + yy // 6) % 2 == 0) & square, look["tex"],
                               -look["tex"] * square)
            img = np.clip(look["rgb"][None, None, :] + pattern[..., None], 0, 1)
            frame = av.VideoFrame.from_ndarray((img * 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        block = 1024
        for start in range(0, len(audio), block):
            chunk = audio[start:start + block]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = CLIP_RATE
            frame.pts = start
            out.mux(sound_stream.encode(frame))
        out.mux(sound_stream.encode(None))
    return path
