"""Card lines, bars and the taste chart: plain functions over catalog data."""

from __future__ import annotations

from types import SimpleNamespace

from recbot.agent.explain.cards import bar, card_line, first_sentence, taste, taste_lines


def test_card_line_shows_what_is_known_and_nothing_else():
    full = {"year": 1995, "runtime_min": 170, "ml_mean": 3.94, "ml_count": 102,
            "imdb_rating": 8.3}
    assert card_line(full) == "1995 · 170 min · MovieLens 3.9/5 (102 ratings) · IMDb 8.3"
    assert card_line({"year": 2017, "ml_mean": 4.0, "ml_count": 1}) == \
        "2017 · MovieLens 4.0/5 (1 rating)"
    assert card_line({}) == ""


def test_first_sentence_keeps_titles_and_initials_and_trims_long_lines():
    assert first_sentence("Mr. Smith goes to Washington. Then more.") == \
        "Mr. Smith goes to Washington."
    assert first_sentence("A young F.B.I. cadet hunts a killer. Later...") == \
        "A young F.B.I. cadet hunts a killer."
    long = "word " * 60
    assert len(first_sentence(long)) <= 161 and first_sentence(long).endswith("…")


def test_bar_is_proportional_and_bounded():
    assert bar(0, 10) == "·" * 10 and bar(1, 10) == "█" * 10 and bar(2, 10) == "█" * 10
    assert bar(0.5, 10).startswith("█████") and len(bar(0.37, 20)) == 20
    assert bar(0.1, 20).count("█") < bar(0.3, 20).count("█")


def test_taste_counts_the_liked_films_genres_decades_and_people():
    films = {
        1: SimpleNamespace(genres=("Horror",), year=1980, directors=("A Director",),
                           stars=("Star One",)),
        2: SimpleNamespace(genres=("Horror", "Thriller"), year=1984,
                           directors=("A Director",), stars=()),
        3: SimpleNamespace(genres=("Comedy",), year=2001, directors=(), stars=()),
    }
    t = taste({1: "like", 2: "like", 3: "dislike"}, films, {2: 5.0})
    assert t["liked"] == 2
    assert t["genres"] == [["Horror", 2], ["Thriller", 1]]   # films, not weights
    assert t["decades"] == [["1980s", 2]]
    assert t["people"] == [["A Director", 2]]         # Star One appears once: left out
    lines = taste_lines(t)
    assert lines[0].startswith("Your taste, from 2 liked films")
    assert any("Horror" in ln and "█" in ln for ln in lines)
    assert taste_lines(taste({}, films)) == []
