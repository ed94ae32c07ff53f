"""WhisperTranscriber with the real bundled tiny.en on speech synthesized by espeak-ng."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from recbot.retrieval.errors import RetrievalError, TranscriptionError
from recbot.retrieval.transcribe import (
    Segment,
    Transcriber,
    Transcript,
    WhisperTranscriber,
    _pieces,
    _quiet_cut,
)
from tests.conftest import REPO
from tests.fakes import FakeTranscriber
from tests.media import write_media, write_wav

FIRST = "The detective followed the stolen painting across the frozen city."
SECOND = "Tonight I want to watch a funny movie about pirates and dragons."
FIRST_WORDS = {"detective", "followed", "stolen", "painting", "across", "frozen", "city"}
SECOND_WORDS = {"tonight", "watch", "funny", "movie", "pirates", "dragons"}
GAP_SECONDS = 3.0


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def recall(expected: set[str], text: str) -> float:
    return len(expected & words(text)) / len(expected)


def speak(text: str, out: Path) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not on PATH; these tests need it (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-w", str(out), text], check=True, capture_output=True)
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict:
    """Two sentences with GAP_SECONDS of silence between, as WAV and MP4, and a silent clip."""
    d = tmp_path_factory.mktemp("media")
    first, rate = speak(FIRST, d / "first.wav")
    second, _ = speak(SECOND, d / "second.wav")
    gap = np.zeros(int(GAP_SECONDS * rate), np.int16)
    speech = write_wav(d / "speech.wav", np.concatenate([first, gap, second]), rate)
    hiss = np.random.default_rng(0).normal(0, 30, 5 * rate)  # about -60 dBFS
    silence = write_wav(d / "silence.wav", hiss, rate)
    return {"wav": speech, "mp4": write_media(d / "speech.mp4", speech), "silence": silence,
            "first_end": len(first) / rate,
            "duration": (len(first) + len(gap) + len(second)) / rate, "dir": d}


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    return WhisperTranscriber()


@pytest.fixture(scope="module")
def transcripts(media, whisper) -> dict[str, Transcript]:
    return {kind: whisper.transcribe(media[kind]) for kind in ("wav", "mp4")}


@pytest.mark.smoke
@pytest.mark.parametrize("kind", ["wav", "mp4"])
def test_transcribes_both_sentences(transcripts, media, kind):
    t = transcripts[kind]
    assert recall(FIRST_WORDS, t.text) >= 0.8, t.text
    assert recall(SECOND_WORDS, t.text) >= 0.8, t.text
    assert t.language == "en"
    assert t.model == "whisper-tiny.en-int8"
    assert t.duration == pytest.approx(media["duration"], abs=0.1)  # AAC adds a few ms


@pytest.mark.parametrize("kind", ["wav", "mp4"])
def test_segments_are_ordered_and_inside_the_audio(transcripts, kind):
    t = transcripts[kind]
    assert t.segments
    previous_end = 0.0
    for seg in t.segments:
        assert previous_end <= seg.start < seg.end <= t.duration
        assert seg.text == seg.text.strip() != ""
        previous_end = seg.end
    assert t.text == " ".join(s.text for s in t.segments)


@pytest.mark.parametrize("kind", ["wav", "mp4"])
def test_speech_after_a_pause_is_timed_after_the_pause(transcripts, media, kind):
    segments = transcripts[kind].segments
    second = [s for s in segments if recall(SECOND_WORDS, s.text) >= 0.5]
    assert second, segments
    assert second[0].start > media["first_end"]
    assert all(s.end <= second[0].start for s in segments if recall(FIRST_WORDS, s.text) >= 0.5)


@pytest.mark.parametrize("name, audio_codec, video_codec", [
    ("film.mkv", "aac", "mpeg4"),
    ("clip.webm", "libopus", "libvpx"),
    ("clip.mov", "aac", "mpeg4"),
    ("voice.m4a", "aac", None),
    ("voice.mp3", "libmp3lame", None),
    ("voice.flac", "flac", None),
])
def test_reads_common_containers(whisper, media, tmp_path, name, audio_codec, video_codec):
    path = write_media(tmp_path / name, media["wav"], audio_codec=audio_codec,
                       video_codec=video_codec)
    t = whisper.transcribe(path)
    assert recall(FIRST_WORDS | SECOND_WORDS, t.text) >= 0.8, t.text
    assert t.duration == pytest.approx(media["duration"], abs=0.1)


def test_as_dict_is_the_json_shape(transcripts):
    t = transcripts["wav"]
    d = json.loads(json.dumps(t.as_dict()))
    assert list(d) == ["text", "language", "duration", "segments", "model"]
    assert d["model"] == t.model
    assert d["text"] == t.text and d["duration"] == t.duration
    assert d["segments"][0] == {"start": t.segments[0].start, "end": t.segments[0].end,
                                "text": t.segments[0].text}


def test_silence_gives_an_empty_transcript(whisper, media):
    t = whisper.transcribe(media["silence"])
    assert (t.text, t.segments) == ("", ())
    assert t.duration == pytest.approx(5.0, abs=0.01)


def test_pieces_keep_words_and_times(media, transcripts):
    # 7 s pieces: the first is cut in the pause, the second piece's times are offset
    t = WhisperTranscriber(piece_seconds=7).transcribe(media["wav"])
    assert recall(FIRST_WORDS, t.text) >= 0.8 and recall(SECOND_WORDS, t.text) >= 0.8, t.text
    assert t.duration == transcripts["wav"].duration
    second = [s for s in t.segments if recall(SECOND_WORDS, s.text) >= 0.5]
    assert second and second[0].start > media["first_end"]


def test_pieces_are_cut_in_the_quiet_and_lose_nothing():
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.3, 16_000 * 25).astype(np.float32)
    audio[16_000 * 8: 16_000 * 8 + 8_000] *= 0.01  # half a second of near silence at 8 s
    blocks = np.array_split(audio, 300)
    pieces = list(_pieces(blocks, size=16_000 * 10, search=16_000 * 5))
    assert np.array_equal(np.concatenate(pieces), audio)
    assert all(len(p) <= 16_000 * 10 for p in pieces)
    assert 16_000 * 8 < len(pieces[0]) < 16_000 * 8 + 8_000
    assert _quiet_cut(np.ones(1000, np.float32), 100) == 1000  # too short to search: no cut


def test_satisfies_the_protocol(whisper):
    assert isinstance(whisper, Transcriber)
    assert isinstance(FakeTranscriber(), Transcriber)
    assert whisper.name == "whisper-tiny.en-int8"
    assert WhisperTranscriber("tiny.en").name == whisper.name  # the bundled copy, not the Hub
    assert Segment(0.0, 1.0, "hi").as_dict() == {"start": 0.0, "end": 1.0, "text": "hi"}


def bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    (d / "notes.mp4").write_text("these are not the frames you are looking for\n" * 50)
    (d / "empty.mp4").write_bytes(b"")
    return {
        "missing": (d / "missing.mkv", "no such file"),
        "empty": (d / "empty.mp4", "empty"),
        "text": (d / "notes.mp4", "not an audio or video file"),
        "video only": (write_media(d / "mute.mp4", None, seconds=2), "no audio stream"),
        "directory": (d, "directory"),
    }


@pytest.mark.parametrize("case", ["missing", "empty", "text", "video only", "directory"])
def test_unusable_files_raise_one_line_naming_the_path(whisper, tmp_path, case):
    path, reason = bad_files(tmp_path)[case]
    with pytest.raises(TranscriptionError) as err:
        whisper.transcribe(path)
    message = str(err.value)
    assert isinstance(err.value, RetrievalError)
    assert str(path) in message and reason in message and "\n" not in message
    assert err.value.__cause__ is None  # no PyAV traceback chained on
    assert err.value.__context__ is None or err.value.__suppress_context__


_CHILD = """
import sys
from recbot.retrieval.transcribe import WhisperTranscriber
WhisperTranscriber().transcribe(sys.argv[1])
"""


def test_unreadable_file_raises_one_line(whisper, media, tmp_path):
    path = tmp_path / "locked.wav"
    shutil.copy(media["wav"], path)
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(TranscriptionError) as err:
            whisper.transcribe(path)
        message = str(err.value)
    else:  # root reads anything: check in a child without the capabilities that allow it
        if shutil.which("setpriv") is None:
            pytest.fail("running as root needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
        child = subprocess.run(
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable,
             "-c", _CHILD, str(path)],
            check=False, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert child.returncode == 1
        message = child.stderr.strip().splitlines()[-1]
        assert message.startswith("recbot.retrieval.errors.TranscriptionError: ")
        message = message.removeprefix("recbot.retrieval.errors.TranscriptionError: ")
    assert message == f"cannot transcribe {path}: permission denied"


@pytest.mark.parametrize("model, reason", [
    ("base.en", "not in the local Hugging Face cache"),
    ("no-such-size", "unknown Whisper model"),
])
def test_uncached_or_unknown_model_names_fail_without_downloading(media, model, reason,
                                                                  tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # empty
    with pytest.raises(TranscriptionError, match=reason) as err:
        WhisperTranscriber(model).transcribe(media["wav"])
    assert "\n" not in str(err.value)


def test_model_directory_must_hold_a_ctranslate2_model(tmp_path):
    with pytest.raises(TranscriptionError, match="not a CTranslate2 Whisper model directory"):
        WhisperTranscriber(tmp_path)
    with pytest.raises(TranscriptionError, match="no Whisper model directory"):
        WhisperTranscriber(tmp_path / "missing")


def test_importing_the_module_loads_no_speech_libraries():
    code = ("import sys, recbot.retrieval.transcribe; "
            "print(sorted(m for m in ('faster_whisper', 'ctranslate2', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
