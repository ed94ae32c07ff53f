"""The message reader: what its golden table (test_golden.py) cannot say: refusals of
absurd input, and the rules files it reads (agent/reader/rules/, agent/reader/lexicon.py)."""

from __future__ import annotations

import shutil

import pytest

from recbot.agent.reader.intent import InputError, parse
from recbot.agent.reader.lexicon import RULES_DIR, LexiconError, lexicon
from recbot.agent.reader.mentions import MentionFinder
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from tests.agent.test_golden import parse_expected


@pytest.fixture(scope="module")
def p():
    finder = MentionFinder(load_catalog(BUNDLED_DATASET_DIR))
    return lambda text: parse(text, finder, max_year=2018)


def test_absurd_input_is_refused_with_a_reason(p):
    with pytest.raises(InputError, match="characters long"):
        p("x" * 100_000)
    with pytest.raises(InputError, match="control characters"):
        p("hello\x1b[31m")
    with pytest.raises(InputError, match="empty"):
        p("   ")


def test_the_golden_notation_rejects_unknown_kinds():
    assert parse_expected("ask: genres=Comedy // more: k=3") == [
        ("ask", {"genres": "Comedy"}), ("more", {"k": "3"})]
    with pytest.raises(AssertionError, match="unknown frame kind"):
        parse_expected("request: genres=Comedy")


def test_every_rules_file_loads_and_its_patterns_compile():
    lex = lexicon()
    assert {"Comedy", "Romance"} <= {g for row in lex.genres for g in row.genres}
    assert lex.genre_together["rom com"] == ("Romance", "Comedy")
    assert lex.studio_words["ghibli"] == "studio ghibli"
    assert lex.mood_words["bittersweet"] == "sad"
    assert lex.re("small_talk.reject").match("none of these")
    # the negators pattern is built from the dislike verbs by reference
    assert lex.re("feedback.negators").fullmatch("can't stand")


def test_one_genre_list_for_the_parser_and_the_title_spotter():
    from recbot.agent.reader import mentions, reading

    words = set(lexicon().genre_words) | set(lexicon().genre_together)
    assert words <= set(reading.GENRE_WORDS) and words <= mentions._GENREISH


@pytest.mark.parametrize("text, error", [
    ('[[genre]]\nwords = "x"\n', r"genres\.toml: \[\[genre\]\] row 1 lacks genres"),
    ("[patterns]\nbad = '''(unclosed'''\n", r"pattern 'genres\.bad' does not compile"),
    ("[patterns]\nloop = '''<<nowhere>>'''\n", r"uses <<nowhere>>, which no rules file defines"),
    ("[words\n", r"genres\.toml: "),
])
def test_a_broken_rules_file_is_named(tmp_path, text, error):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    (rules / "genres.toml").write_text(text)
    with pytest.raises(LexiconError, match=error):
        lexicon(rules)


@pytest.mark.parametrize("text, expected", [
    ("the charade one sounds cute", "#2 sounds cute"),
    ("that matrix movie was great", "#3 was great"),
    ("the dark knight one", "#5"),
    ("the first one", "the first one"),          # an ordinal is the reader's
    ("the funny one", "the funny one"),          # a word of no title
    ("the knight one", "the knight one"),        # two titles hold it: not said which
    ("why charade? that's not romantic at all", "why #2? that's not romantic at all"),
    ("why did you pick the matrix lol", "why did you pick #3 lol"),
    ("why knight?", "why knight?"),              # two titles: not said which
    ("why not something funnier?", "why not something funnier?"),
])
def test_a_word_of_a_title_points_at_its_pick(text, expected):
    from recbot.agent.reader.intent import name_picks

    shown = ["A Simple Plan", "Charade", "The Matrix", "A Knight's Tale", "The Dark Knight"]
    assert name_picks(text, shown) == expected
