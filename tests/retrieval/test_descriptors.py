"""Sound and picture descriptors (issue 34, item 2): measured in one decode pass of real
media files generated here (PyAV), checked against what each clip was made of; stored
data read back is checked, never trusted."""

from __future__ import annotations

import json
import math

import pytest

from recbot.retrieval.descriptors import DescriptorError, describe
from recbot.retrieval.ledger import Ledger, MediaRecord
from recbot.retrieval.sound_picture import (
    Descriptors,
    OwnVideo,
    fused_similarity,
    match,
    own_videos,
    similarity,
)
from tests.media import speak_wav, write_clip, write_wav

pytestmark = pytest.mark.smoke

CLIPS = {
    # name: write_clip arguments
    "fast": dict(shot=1.0, brightness=0.75, sound="rhythm", level_db=-12, bpm=120, seed=1),
    "fast2": dict(shot=1.0, brightness=0.7, sound="rhythm", level_db=-13, bpm=100, seed=2),
    "calm": dict(shot=None, brightness=0.15, colour=0.2, motion=0.01, sound="tone",
                 level_db=-35, seed=3),
    "noise": dict(shot=3.0, brightness=0.5, sound="noise", level_db=-20, seed=4),
    "tone": dict(shot=6.0, brightness=0.45, sound="tone", level_db=-20, seed=5),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    voice = speak_wav(root / "voice.wav", "Good evening. This is a film about a fisherman who "
                      "sails out every morning before dawn and comes home at night.")
    out = {name: write_clip(root / f"{name}.mp4", seconds=12, **kw) for name, kw in CLIPS.items()}
    out["speech"] = write_clip(root / "speech.mp4", seconds=12, shot=4.0, sound="speech",
                               speech=voice, level_db=-22, seed=6)
    return {name: (path, describe(path)) for name, path in out.items()} | {"voice": voice}


@pytest.mark.parametrize("name, cuts", [("fast", 11), ("fast2", 11), ("calm", 0), ("noise", 3),
                                        ("tone", 1), ("speech", 2)])
def test_cuts_are_the_shot_changes_the_clip_was_made_with(clips, name, cuts):
    _, d = clips[name]
    assert d.cuts == cuts
    assert d.shot_s == pytest.approx(d.duration / (cuts + 1), rel=1e-3)
    assert d.duration == pytest.approx(12.0, abs=0.2)


def test_light_and_loudness_follow_what_the_clip_was_made_with(clips):
    for name in ("fast", "calm", "noise", "tone"):
        _, d = clips[name]
        assert d.brightness == pytest.approx(CLIPS[name]["brightness"], abs=0.06), name
        assert d.loudness_db == pytest.approx(CLIPS[name]["level_db"], abs=2.5), name
    assert clips["calm"][1].motion < clips["fast"][1].motion
    assert clips["calm"][1].colourfulness < clips["fast"][1].colourfulness


def test_tempo_only_where_there_is_a_beat_and_what_the_sound_mostly_is(clips):
    assert clips["fast"][1].tempo_bpm == pytest.approx(120, abs=3)
    assert clips["fast2"][1].tempo_bpm == pytest.approx(100, abs=3)
    for name in ("calm", "noise", "tone", "speech"):   # every estimator finds "a tempo" in
        assert clips[name][1].tempo_bpm is None, name  # noise: the pulse check says none
    kinds = {name: clips[name][1].sound_kind() for name in ("fast", "calm", "noise", "speech")}
    assert kinds == {"fast": "beat", "calm": "music", "noise": "noise", "speech": "speech"}
    # (faster-whisper 1.1's VAD hears 9% of these held chords as speech, 1.2's none: far
    # below the 0.5 of "mostly speech" either way)
    assert clips["speech"][1].speech_share > 0.7 > 0.2 > clips["tone"][1].speech_share


def test_words_say_what_stands_out(clips):
    assert clips["fast"][1].words() | {"sound": "beat"} == clips["fast"][1].words()
    fast, calm = clips["fast"][1].words(), clips["calm"][1].words()
    assert (fast["pace"], fast["light"], fast["loudness"]) == ("fast", "bright", "loud")
    assert (calm["pace"], calm["light"], calm["loudness"]) == ("slow", "dark", "quiet")
    assert "light" not in clips["noise"][1].words()      # mid brightness says nothing


def test_alike_clips_are_nearer_than_unlike_ones_and_asks_rank_them(clips):
    fast, fast2, calm = clips["fast"][1], clips["fast2"][1], clips["calm"][1]
    assert similarity(fast, fast2) > 0.5 > 0.1 > similarity(fast, calm)
    assert similarity(fast, fast) == pytest.approx(1.0)
    calm_dark = {"cut_rate": -1.0, "motion": -0.5, "loudness": -1.0, "brightness": -1.0}
    loud_fast = {"cut_rate": 1.0, "motion": 0.5, "loudness": 1.0}
    assert match(calm, calm_dark) > 0.8 and match(fast, calm_dark) < 0.3
    assert match(fast, loud_fast) > 0.7 > 0.3 > match(calm, loud_fast)
    assert match(Descriptors(duration=5.0, loudness_db=-20.0), {"brightness": 1.0}) is None


def test_an_audio_file_has_sound_only_and_a_file_of_neither_is_one_clear_error(clips, tmp_path):
    d = describe(clips["voice"])
    assert d.has_sound and not d.has_picture and d.cuts is None
    assert d.sound_kind() == "speech"
    silent = describe(write_wav(tmp_path / "silent.wav", __import__("numpy").zeros(32000)))
    assert silent.sound_kind() == "silence" and "loudness" not in silent.words()
    for name, data in (("text.mp4", b"this is not a video at all"), ("empty.mp4", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DescriptorError) as exc:
            describe(tmp_path / name)
        assert str(tmp_path / name) in str(exc.value) and "\n" not in str(exc.value)


def test_stored_descriptors_are_checked_when_read_back(clips):
    d = clips["fast"][1]
    assert Descriptors.from_dict(json.loads(json.dumps(d.as_dict()))) == d
    good = d.as_dict()
    for bad in ({**good, "brightness": float("nan")}, {**good, "brightness": 7.0},
                {**good, "cuts": "11"}, {**good, "loudness_db": True},
                {k: v for k, v in good.items() if k != "duration"}, ["not", "a", "dict"], None):
        assert Descriptors.from_dict(bad) is None, bad


def _rec(path: str, content_hash: str, movie_id: int) -> MediaRecord:
    return MediaRecord(path, content_hash, movie_id, 1, "hash-64", "t", "new-item", 12.0)


def test_the_ledger_keeps_features_with_the_live_version_only(clips, tmp_path):
    led = Ledger(tmp_path / "ledger.sqlite")
    body = json.dumps({"version": 1, "descriptors": clips["fast"][1].as_dict(),
                       "speech": [0.6, 0.8], "embed_model": "hash-64"})
    led.record(_rec("/v/a.mp4", "h1", 1_000_000_001), body)
    assert led.features() == {"/v/a.mp4": body}
    videos = own_videos(led.records(), led.features())
    assert videos[1_000_000_001].descriptors == clips["fast"][1]
    assert videos[1_000_000_001].speech == (0.6, 0.8)
    led.record(_rec("/v/a.mp4", "h2", 1_000_000_001))     # a new version without features
    assert led.features() == {} and own_videos(led.records(), led.features()) == {}
    # hostile bodies are read as nothing; a body of a version no longer live is not read
    for body in ("{not json", json.dumps({"descriptors": {"duration": "x"}, "speech": ["a"]}),
                 json.dumps({"descriptors": None, "speech": [float("inf")] * 3})):
        led.record(_rec("/v/a.mp4", "h3", 1_000_000_001), body)
        assert own_videos(led.records(), led.features()) == {}
    led.close()


def test_a_ledger_of_an_older_recbot_without_the_table_reads_as_no_features(tmp_path):
    """A read-only data dir keeps an older ledger as it is (no table is made): no features."""
    led = Ledger(tmp_path / "ledger.sqlite")
    led.record(_rec("/v/a.mp4", "h1", 1_000_000_001), "{}")
    led._db.execute("DROP TABLE features")        # as an older recbot left it
    assert led.features() == {}
    assert [r.path for r in led.records()] == ["/v/a.mp4"]
    led.close()


def test_fused_similarity_weighs_sound_picture_and_speech(clips):
    fast, fast2, calm = clips["fast"][1], clips["fast2"][1], clips["calm"][1]
    same_words = (0.6, 0.8)
    a = OwnVideo(1, "a", fast, same_words, "m")
    b = OwnVideo(2, "b", fast2, same_words, "m")
    c = OwnVideo(3, "c", calm, same_words, "m")
    assert fused_similarity(a, b) > fused_similarity(a, c)    # the same narration in all three
    mute = OwnVideo(4, "d", fast2, None, "m")
    assert fused_similarity(a, mute) == pytest.approx(similarity(fast, fast2))
    other_model = OwnVideo(5, "e", None, same_words, "other")
    assert fused_similarity(a, other_model) is None
    assert math.isclose(fused_similarity(OwnVideo(6, "f", None, (1.0, 0.0), "m"),
                                         OwnVideo(7, "g", None, (1.0, 0.0), "m")), 1.0)


def test_timestamps_that_start_late_give_the_length_not_the_last_timestamp(tmp_path):
    """An MPEG-TS broadcast or a cut keeps its timestamps: a 2 s clip starting at 600 s is
    2 s long, with its one cut."""
    import av
    import numpy as np

    path = tmp_path / "late.ts"
    fps, start = 25, 600
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg2video", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(2 * fps):
            colour = (200, 30, 30) if i < fps else (30, 30, 200)   # one cut at 1 s
            img = np.zeros((48, 64, 3), np.uint8) + np.array(colour, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = start * fps + i
            frame.time_base = __import__("fractions").Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    d = describe(path)
    assert d.duration == pytest.approx(2.0, abs=0.2)
    assert d.cuts == 1 and d.shot_s == pytest.approx(1.0, abs=0.15)


def test_an_infinite_sample_gives_no_nan(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "inf.wav"
    samples = (np.sin(np.arange(32000) / 5) * 0.3).astype(np.float32)
    samples[1000] = np.inf
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_f32le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = 16000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    d = describe(path)
    assert all(math.isfinite(v) for v in d.as_dict().values())
    json.dumps(d.as_dict(), allow_nan=False)        # stored and printed as valid JSON


@pytest.mark.parametrize("body", [
    json.dumps({"descriptors": {"duration": 10 ** 400}, "speech": [10 ** 400]}),
    "[" * 100_000,
    5,
    json.dumps({"descriptors": {"duration": 1.0}, "speech": None}) + " trailing",
])
def test_hostile_feature_bodies_read_as_nothing(body):
    class Rec:
        path, movie_id = "/v/a.mp4", 1_000_000_001
    assert own_videos([Rec()], {"/v/a.mp4": body}) == {}


def test_a_text_movie_id_or_a_good_body_beside_a_bad_one():
    class Bad:
        path, movie_id = "/v/a.mp4", "not a number"

    class Good:
        path, movie_id = "/v/b.mp4", 1_000_000_002
    body = json.dumps({"descriptors": {"duration": 3.0, "brightness": 0.5}, "speech": None})
    got = own_videos([Bad(), Good()], {"/v/a.mp4": body, "/v/b.mp4": body})
    assert list(got) == [1_000_000_002] and got[1_000_000_002].descriptors.brightness == 0.5
