"""The learned piece of the sentiment reader (agent/reader/polarity.py): the shipped model,
read with the real bundled MiniLM, decides only the films the rules leave without a verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recbot.agent.reader import polarity
from recbot.agent.reader.intent import parse
from recbot.agent.reader.mentions import MentionFinder
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog


@pytest.fixture(scope="module")
def finder():
    return MentionFinder(load_catalog(BUNDLED_DATASET_DIR))


@pytest.fixture(scope="module")
def minilm():
    from recbot.retrieval.embed import MiniLMEmbedder

    return MiniLMEmbedder()


def read(text, finder, minilm):
    intent = parse(text, finder, max_year=2018)
    changed = polarity.refine(intent, minilm)
    return intent, changed


def test_the_shipped_model_fits_the_bundled_embedder(minilm):
    m = polarity.model()
    assert m is not None and m.embedder == minilm.name
    assert len(m.weights) == minilm.dim + 1 and 0 < m.threshold < 1


def test_names_are_masked_with_their_year():
    assert polarity.masked("I loved Heat (1995), and Heat 2 less", ["Heat 2", "Heat"]) == \
        "I loved X, and X less"
    assert polarity.masked("no names", []) == "no names"


def test_a_bare_mention_said_warmly_reads_liked(finder, minilm):
    """No rule reads "Forrest Gump, what a film" (no verb of liking): the model does."""
    intent = parse("Forrest Gump, what a film", finder, max_year=2018)
    assert [m.sentiment for m in intent.seeds] == ["neutral"], "the rules now decide this one"
    assert polarity.refine(intent, minilm) == 1
    assert intent.seeds[0].sentiment == "like" and intent.seeds[0].learned


def test_a_film_only_said_seen_can_read_liked_and_stays_seen(finder, minilm):
    intent, changed = read("I watched Forrest Gump last week", finder, minilm)
    assert changed == 1 and intent.seen and intent.seen[0].learned
    assert intent.seen[0].sentiment == "seen" and not intent.liked


def test_a_lukewarm_mention_stays_neutral(finder, minilm):
    intent, changed = read("My brother keeps talking about Forrest Gump, I have no idea "
                           "what it is", finder, minilm)
    assert changed == 0
    assert not any(m.learned for m in [*intent.seeds, *intent.seen])


def test_a_rule_verdict_is_never_overruled(finder, minilm):
    """Even with a model that reads every message as warm (p = 0.5 over a threshold of
    0.1), a film the rules read as disliked stays disliked; only the bare mention beside it
    turns liked."""
    warm = polarity.PolarityModel(np.zeros(minilm.dim + 1), 0.1, minilm.name)
    intent = parse("I hated Titanic. Forrest Gump, what a film", finder, max_year=2018)
    assert polarity.refine(intent, minilm, warm) == 1
    assert [m.title for m in intent.disliked] == ["Titanic"] and not intent.disliked[0].learned
    assert [(m.title, m.sentiment) for m in intent.seeds] == [("Forrest Gump", "like")]


def test_a_title_with_a_curly_apostrophe_is_masked(finder):
    intent = parse("Schindler’s List (1993), what a film", finder, max_year=2018)
    from recbot.agent.reader.intent import _TYPOGRAPHIC

    text = polarity.masked(intent.text.translate(_TYPOGRAPHIC),
                           [m.text for m in intent.mentions])
    assert text.startswith("X,") and "List" not in text
    assert polarity.masked("Upside down, Up", ["Up"]) == "Upside down, X"


def test_another_embedder_or_no_model_leaves_the_rules_alone(finder, minilm, tmp_path):
    class Other:
        name = "hash-64"

        def embed(self, texts):
            return np.ones((len(texts), minilm.dim))

    intent = parse("Forrest Gump, what a film", finder, max_year=2018)
    assert polarity.refine(intent, Other()) == 0
    assert all(m.sentiment == "neutral" for m in intent.seeds)
    for bad in ("{", json.dumps({"weights": [1.0], "threshold": 0.5, "embedder": "x"}),
                json.dumps({"weights": [0.1, 0.2], "threshold": 2, "embedder": "x"}),
                json.dumps({"weights": [float("nan"), 0.2], "threshold": 0.5, "embedder": "x"}),
                json.dumps({"threshold": 0.5})):
        path = tmp_path / "polarity.json"
        path.write_text(bad, encoding="utf-8")
        assert polarity.PolarityModel.load(path) is None, bad
    assert polarity.PolarityModel.load(tmp_path / "missing.json") is None


def test_a_learned_like_joins_the_preference_state_and_not_the_stored_feedback(make_agent):
    agent = make_agent()
    ans = agent.ask("Forrest Gump, what a film")
    from recbot.agent.state import DialogueState

    state = DialogueState.from_dict(agent.memory.load(ans.session).state)
    rows = {(p.kind, p.value): p for p in state.prefs}
    gump = next(m.movie_id for m in ans.resolved if m.title == "Forrest Gump")
    assert rows[("film", gump)].role == "liked_guess" and rows[("film", gump)].polarity == 1
    assert gump not in agent.memory.load(ans.session).feedback
    assert ans.roles[gump] == "seed"      # ask --json: the user did not say it
