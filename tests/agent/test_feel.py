"""How an ask wants a video to look or sound (agent/reader/feel.py over rules/feel.toml): a
golden table of asks, in English, Spanish and Chinese, with what they want of the scaled
descriptors; words that hold a feel word and mean something else want nothing."""

from __future__ import annotations

import pytest

from recbot.agent.reader.feel import feel_of

FAST_LOUD = {"cut_rate": 1.0, "motion": 0.5, "loudness": 1.0}
CALM_DARK = {"cut_rate": -1.0, "motion": -0.5, "loudness": -1.0, "brightness": -1.0}

GOLDEN = [
    ("something fast-paced and loud", FAST_LOUD),
    ("a calm, dark one", CALM_DARK),
    ("algo tranquilo y oscuro", CALM_DARK),
    ("安静一点的、暗一点的", CALM_DARK),
    ("algo rápido y ruidoso", FAST_LOUD),
    ("节奏快、吵闹的", FAST_LOUD),
    ("a bright, colourful one", {"brightness": 1.0, "colourfulness": 1.0}),
    ("one with lots of talking", {"speech": 1.0}),
    # negations ask for the opposite
    ("not too loud please", {"loudness": -1.0}),
    ("nothing too loud", {"loudness": -1.0}),
    ("not very bright", {"brightness": -1.0}),
    ("nada ruidoso", {"loudness": -1.0}),
    ("不要太吵", {"loudness": -1.0}),
    # a feel word inside another word or a name is none
    ("一部关于暗杀的电影", {}),
    ("他们吵架的电影", {}),
    ("有没有好看的音乐剧", {}),
    ("a silent film from the 1920s", {}),
    ("un concierto en vivo", {}),
    ("something like The Dark Knight", {}),
    ("the fast and the furious", {}),
    ("a romantic comedy", {}),
    ("something like Heat", {}),
]


@pytest.mark.parametrize("text, want", GOLDEN)
def test_golden_asks(text, want):
    assert feel_of(text) == want
