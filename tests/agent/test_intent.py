"""The deterministic parser on the bundled title index."""

from __future__ import annotations

import pytest

from recbot.agent.intent import InputError, parse
from recbot.agent.mentions import MentionFinder
from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_DATASET_DIR)


@pytest.fixture(scope="module")
def p(catalog):
    finder = MentionFinder(catalog)
    return lambda text: parse(text, finder, max_year=2018)


def test_like_a_title(p):
    it = p("something like Forrest Gump")
    assert [m.movie_id for m in it.seeds] == [356]
    assert it.has_ask and not it.genres and it.describe == ""


def test_several_liked_titles_and_popularity_breaks_a_tie(p):
    it = p("I loved Heat and Ronin")
    assert [m.title for m in it.liked] == ["Heat", "Ronin"]
    assert it.liked[0].year == 1995          # not The Heat (2013)


def test_genres_moods_and_years(p):
    it = p("a funny animated film, nothing before 2000")
    assert ("Comedy",) in it.genres and ("Animation",) in it.genres
    assert (it.year_min, it.year_max) == (2000, None)
    it = p("something scary from the 90s for kids")
    assert ("Horror",) in it.genres and ("Children", "Animation") in it.genres
    assert (it.year_min, it.year_max) == (1990, 1999)
    assert p("a thriller after 2005").year_min == 2006
    assert p("westerns before 1970").year_max == 1969
    assert p("no horror please, a comedy").exclude_genres == ["Horror"]


def test_references_feedback_and_questions(p):
    it = p("why did you recommend the second one?")
    assert it.question == "why" and it.refs == [2]
    it = p("why #3")
    assert it.question == "why" and it.refs == [3]
    it = p("why not Titanic?")
    assert it.question == "why_not" and it.why_not.movie_id == 1721
    it = p("loved it, more like that")
    assert it.feedback == "like" and it.more
    assert p("seen it").feedback == "seen"
    assert p("not for me").feedback == "dislike"
    it = p("#2 seen it")
    assert it.refs == [2] and it.feedback == "seen"
    assert p("loved the first one").refs == [1]
    assert p("the last one").refs == [-1]


def test_critiques_and_counts(p):
    assert p("less violent").critiques == ["less_violent"]
    assert p("something more recent").critiques == ["more_recent"]
    assert p("shorter please").critiques == ["shorter"]
    assert p("give me 3 movies like Alien").k == 3


def test_descriptive_text_is_kept_for_search(p):
    it = p("something about a lighthouse and a crow")
    assert "lighthouse" in it.describe and not it.seeds


def test_unknown_title_offers_the_closest(p):
    it = p("something like Forest Gumpp")          # a typo still resolves
    assert it.seeds[0].movie_id == 356
    it = p("something like Zxqwv Blorp")
    assert not it.seeds and it.unresolved and it.unresolved[0].movie_id is None


def test_absurd_input_is_refused_with_a_reason(p):
    with pytest.raises(InputError, match="characters long"):
        p("x" * 100_000)
    with pytest.raises(InputError, match="control characters"):
        p("hello\x1b[31m")
    with pytest.raises(InputError, match="empty"):
        p("   ")


def test_titles_with_ordinals_are_titles_not_references(p):
    it = p("something like The Sixth Sense")
    assert [m.title for m in it.seeds] == ["The Sixth Sense"] and it.refs == []
    it = p("why not The Fifth Element?")
    assert it.why_not.title == "The Fifth Element" and it.refs == []
    assert p("why did you recommend the second one?").refs == [2]


def test_a_hash_number_points_at_a_pick_and_names_no_film(p):
    # The catalog has "10" (1979) and "9" (2009); "#10" is the tenth pick of a list of ten
    it = p("more like #10")
    assert it.refs == [10] and it.more and not it.mentions and not it.content
    it = p("loved # 9, not #2")
    assert it.refs == [9, 2] and not it.mentions
    assert [m.title for m in p("something like 9 (2009)").seeds] == ["9"]


def test_third_person_likes_name_films_and_each_verb_keeps_its_film(p):
    it = p("my wife loves Titanic")
    assert [m.title for m in it.seeds] == ["Titanic"] and it.describe == ""
    it = p("she likes Heat and hates Up")
    assert [m.title for m in it.liked] == ["Heat"] and [m.title for m in it.disliked] == ["Up"]
    it = p("I saw Heat and loved it")
    assert [m.title for m in it.liked] == ["Heat"] and not it.seen


@pytest.mark.parametrize("text, topic", [
    ("a movie about a dog", "dog"),
    ("a comedy about a wedding from the 90s", "wedding"),
    ("a movie about boxing with Robert De Niro", "boxing"),
    ("a film about loneliness in space", "loneliness in space"),
    ("anything involving time travel?", "time travel"),
    ("a movie with great music", "music"),
    ("a film with a dog", "dog"),
    ("a comedy with a cat", "cat"),
    ("a christmas movie", "christmas"),
    ("Chess films?", "chess"),
    ("a space movie", "space"),
    ("space adventure, not star wars", "space"),
    ("a courtroom drama", "courtroom"),
])
def test_what_a_film_should_be_about_is_its_topic(p, text, topic):
    it = p(text)
    assert it.topic == topic and topic in it.describe and it.acts == ["request"] and it.has_ask


@pytest.mark.parametrize("text", ["a feel-good movie", "an emotional film", "a date movie",
                                  "a marvel movie", "Nicholas Sparks movies", "a good movie"])
def test_how_when_or_who_before_movie_is_no_subject(p, text):
    assert not p(text).topic, p(text).topic


def test_a_mood_of_three_letters_is_still_an_ask(p):
    it = p("a sad movie")
    assert it.acts == ["request"] and it.describe == "sad"


@pytest.mark.parametrize("text", ["I read the book", "the book was better than the movie",
                                  "thanks, I watched it at my house", "my cat loves that one"])
def test_everyday_nouns_in_chat_ask_for_no_films(p, text):
    it = p(text)
    assert not it.topic and not it.describe, (it.topic, it.describe)


@pytest.mark.parametrize("text, title", [
    ("anything similar to the matrix?", "The Matrix"),
    ("similar to the silence of the lambs", "The Silence of the Lambs"),
    ("similar to heat", "Heat"),
    ("something like the dark night", "The Dark Knight"),
    ("like the dark night", "The Dark Knight"),
    ("something like the matrx", "The Matrix"),
    ("something like up", "Up"),
    ("something like the dark night but funnier", "The Dark Knight"),
])
def test_a_lowercase_or_misspelt_title_after_a_similarity_cue_is_the_seed(p, text, title):
    it = p(text)
    assert [m.title for m in it.seeds] == [title] and it.describe == ""


@pytest.mark.parametrize("text", ["something like the last one", "sounds like fun",
                                  "something like fun and exciting", "something like a good comedy",
                                  "something like a horror", "something like the ones before"])
def test_words_after_a_similarity_cue_are_not_forced_into_titles(p, text):
    assert not p(text).seeds


@pytest.mark.parametrize("text, name", [
    ("directed by nolan", "Christopher Nolan"),
    ("films by spielberg", "Steven Spielberg"),
    ("something with hanks", "Tom Hanks"),
    ("tarantino", "Quentin Tarantino"),
    ("anything with adam sandler", "Adam Sandler"),     # known from MovieLens tags only
])
def test_people_in_lowercase_after_a_cue_or_alone(p, catalog, text, name):
    it = p(text)
    assert [x.name for x in it.people] == [name] and it.describe == ""
    assert len(it.people[0].films) >= 3


@pytest.mark.parametrize("text, lo, hi", [
    ("a thriller from 1995", 1995, 1995),          # "from 1995" is that year ...
    ("movies from the year 1997", 1997, 1997),
    ("comedies from 1995 on", 1995, None),         # ... "from 1995 on" a start
    ("from 2000 onwards", 2000, None),
    ("anything since 2010", 2010, None),
    ("a drama from 1990 to 1995", 1990, 1995),
    ("best films of the last 10 years", 2009, None),   # the catalog's newest year is 2018
    ("something from the last decade", 2009, None),
])
def test_year_phrases(p, text, lo, hi):
    it = p(text)
    assert (it.year_min, it.year_max) == (lo, hi) and it.describe == "" and it.has_ask


@pytest.mark.parametrize("text, refs, more, question, feedback", [
    ("more like number 3", [3], True, None, None),
    ("more like 2", [2], True, None, None),
    ("tell me more about number 1", [1], False, "about", None),
    ("#3 looks good", [3], False, None, "like"),
    ("the 9th one looks good", [9], False, None, "like"),
])
def test_picks_pointed_at_in_words(p, text, refs, more, question, feedback):
    it = p(text)
    assert (it.refs, it.more, it.question, it.feedback) == (refs, more, question, feedback)
    assert it.describe == "" and not it.seeds


@pytest.mark.parametrize("text, title", [("why not Kill Bill: Vol. 1?", "Kill Bill: Vol. 1"),
                                         ("why not L.A. Confidential?", "L.A. Confidential")])
def test_a_full_stop_inside_a_title_ends_no_sentence(p, text, title):
    it = p(text)
    assert it.question == "why_not" and it.why_not.title == title and not it.seeds


@pytest.mark.parametrize("text, word", [("a sad romance, something to cry to", "sad"),
                                        ("a tearjerker", "tearjerker"),
                                        ("a gritty crime thriller from the 90s", "gritty")])
def test_mood_words_are_a_description(p, text, word):
    it = p(text)
    assert word in it.describe.split() and not it.nonsense and it.has_ask


@pytest.mark.parametrize("text", ["no I have not seen it", "not I think", "no Netflix stuff"])
def test_a_capital_after_no_is_not_always_a_thing_to_avoid(p, text):
    assert p(text).avoid_kinds == []


def test_both_comparatives_and_recent(p):
    assert [m.title for m in p("something like both Heat and The Notebook").seeds] == \
        ["Heat", "The Notebook"]
    assert [x.name for x in p("movies starring both Al Pacino and Robert De Niro").people] == \
        ["Al Pacino", "Robert De Niro"]
    it = p("like Alien but funnier")
    assert [m.title for m in it.seeds] == ["Alien"] and it.genres == [("Comedy",)]
    it = p("like Up but for adults")
    assert [m.title for m in it.seeds] == ["Up"] and it.exclude_genres == ["Children"]
    assert p("a recent horror movie").year_min == 2013      # the catalog ends in 2018
    assert p("anime movies").topic == "anime"


@pytest.mark.parametrize("text, name", [("films with tom hnaks", "Tom Hanks"),
                                        ("a comdey by wes andersen", "Wes Anderson"),
                                        ("a thriler with denzel washingon", "Denzel Washington")])
def test_a_misspelt_person_after_a_cue_is_forgiven(p, text, name):
    assert [x.name for x in p(text).people] == [name]


@pytest.mark.parametrize("text", ["something with my wife", "movies with talking animals",
                                  "a film with lots of explosions"])
def test_everyday_words_after_with_are_nobody(p, text):
    assert p(text).people == []


@pytest.mark.parametrize("text, series", [("space adventure, not star wars", "star wars"),
                                          ("no harry potter please", "harry potter"),
                                          ("no lord of the rings", "lord of the rings")])
def test_a_series_to_keep_out_in_lowercase(p, text, series):
    it = p(text)
    assert it.avoid_kinds == [series] and not set(series.split()) & set(it.describe.split())


@pytest.mark.parametrize("text", ["not the best", "no more comedies", "not too long"])
def test_everyday_words_after_not_are_no_series(p, text):
    assert not p(text).avoid_kinds


def test_the_person_to_avoid_and_their_negator_are_no_description(p):
    it = p("nothing with Adam Sandler, just a silly comedy")
    assert [x.name for x in it.avoid_people] == ["Adam Sandler"] and it.describe == "silly"


@pytest.mark.parametrize("text, title", [
    ("I loved Mr. & Mrs. Smith", "Mr. & Mrs. Smith"),
    ("I loved Mr. Smith Goes to Washington", "Mr. Smith Goes to Washington"),
    ("my kids love The Lion King (1994)", "The Lion King"),
    ("I also enjoyed Rush Hour 2 (2001)", "Rush Hour 2"),
    ("I liked the movie Lady Bird (2017)", "Lady Bird"),
])
def test_a_surname_inside_a_title_is_the_film_not_a_person(p, text, title):
    it = p(text)
    assert title in [m.title for m in it.mentions] and not (it.people or it.fans_of), \
        ([x.name for x in it.people + it.fans_of], [m.title for m in it.mentions])


def test_a_surname_alone_is_still_the_person(p):
    assert [x.name for x in p("something with Smith").people] == ["Will Smith"]


@pytest.mark.parametrize("text, title", [("why not Terminator 2?", "Terminator 2: Judgment Day"),
                                         ("something like terminator 2", "Terminator 2: Judgment Day"),
                                         ("I loved Star Trek II", "Star Trek II: The Wrath of Khan")])
def test_a_sequel_named_by_its_number_without_its_subtitle(p, text, title):
    assert [m.title for m in p(text).mentions][:1] == [title]


@pytest.mark.parametrize("text, unknown", [("anything with Zendaya", ["Zendaya"]),
                                           ("something with Angie Jolie", ["Angie Jolie"]),
                                           ("something with Christmas vibes", []),
                                           ("movies with Tom Hanks", []),
                                           ("I liked Mr. & Mrs. Smith", [])])
def test_names_the_data_does_not_know(p, text, unknown):
    assert p(text).unknown_people == unknown


@pytest.mark.parametrize("text, title", [("what about alien?", "Alien"),
                                         ("how about the matrix?", "The Matrix")])
def test_what_about_a_lowercase_title(p, text, title):
    assert [m.title for m in p(text).seeds] == [title]


@pytest.mark.parametrize("text", ["what about comedies?", "how about something funny",
                                  "what about you?", "what about the 80s?"])
def test_what_about_an_everyday_phrase_is_no_title(p, text):
    assert not p(text).mentions


@pytest.mark.parametrize("text, foreign", [("je voudrais un film romantique", True),
                                           ("quiero una pelicula de accion", True),
                                           ("ich möchte einen lustigen Film", True),
                                           ("a film like Amélie", False),
                                           ("something like Una Mujer Fantástica", False),
                                           ("une comedie please", False)])
def test_an_ask_in_another_language_is_told_so(p, text, foreign):
    assert p(text).foreign is foreign


@pytest.mark.parametrize("text, genres", [
    ("scary but not gory horror from the 80s", [("Horror",)]),
    ("a scary movie, not gory", [("Horror",)]),
    ("scary movies but nothing with gore", [("Horror",)]),
    ("an action movie without too much violence", [("Action",)]),
])
def test_not_gory_asks_for_less_violence_not_for_no_horror(p, text, genres):
    it = p(text)
    assert it.critiques == ["less_violent"] and it.genres == genres and not it.exclude_genres


@pytest.mark.parametrize("text, low, high", [("a comedy between 90 and 100 minutes", 90, 100),
                                             ("90-120 min drama", 90, 120),
                                             ("a 2 hour thriller", 102, 138)])
def test_runtime_ranges(p, text, low, high):
    it = p(text)
    assert (it.runtime_min, it.runtime_max) == (low, high) and it.genres


def test_a_year_range_is_no_runtime(p):
    it = p("films from 1990 to 1995")
    assert (it.year_min, it.year_max) == (1990, 1995) and it.runtime_min is it.runtime_max is None


@pytest.mark.parametrize("text", ["who starred in Heat?", "who acted in Heat", "who's the cast of Heat"])
def test_who_was_in_a_film_in_other_words(p, text):
    it = p(text)
    assert it.question == "cast" and it.about is not None and it.about.title == "Heat"


@pytest.mark.parametrize("text", ["I hated Titanic, what else?", "thanks, what else?"])
def test_what_else_asks_for_a_list(p, text):
    assert p(text).asks_for_list


@pytest.mark.parametrize("text, topic", [("a sad movie", "sad"), ("a tearjerker", "tearjerker"),
                                         ("something mind-bending", "mind-bending")])
def test_a_mood_ask_is_a_topic(p, text, topic):
    assert p(text).topic == topic


@pytest.mark.parametrize("text", ["I am sad", "sad", "that is sad"])
def test_feeling_sad_is_no_ask(p, text):
    assert not p(text).topic and "request" not in p(text).acts


@pytest.mark.parametrize("text, name", [("leonardo dicapprio films", "Leonardo DiCaprio"),
                                        ("steven spielburg movies", "Steven Spielberg"),
                                        ("meryl strep", "Meryl Streep"),
                                        ("christopher nolen films", "Christopher Nolan")])
def test_a_misspelt_name_without_a_cue(p, text, name):
    assert [x.name for x in p(text).people] == [name]


@pytest.mark.parametrize("text", ["good action movies", "some horror films", "the big lebowski"])
def test_everyday_words_before_movies_are_no_misspelt_name(p, text):
    assert not p(text).people


def test_sci_fi_with_a_space(p):
    assert p("90s sci fi movies").genres == [("Sci-Fi",)]


@pytest.mark.parametrize("text", ["a comedy, nothing sad", "something uplifting, I had a sad day",
                                  "I am sad, recommend something funny"])
def test_a_mood_negated_or_of_the_user_is_no_topic(p, text):
    assert p(text).topic == ""


@pytest.mark.parametrize("text", ["a quick movie", "a summer movie", "a random movie",
                                  "a popcorn movie"])
def test_how_a_film_is_watched_is_no_subject(p, text):
    assert p(text).topic == ""


@pytest.mark.parametrize("text", ["films by Studio Ghibli", "a film with New York vibes",
                                  "ok I will see it with Aisha"])
def test_no_unknown_name_where_there_is_none(p, text):
    assert p(text).unknown_people == []


def test_a_series_phrase_does_not_end_in_and(p):
    assert p("no blood and gore").avoid_kinds == []


@pytest.mark.parametrize("text", ["why is this better than Rocky?",
                                  "why would I like it if I hated Titanic?"])
def test_why_with_another_title_in_passing_is_about_the_list(p, text):
    assert p(text).question == "why" and p(text).why_of is None


def test_any_others_asks_for_more(p):
    assert p("any others?").asks_for_list


def test_a_sequel_alias_never_hides_a_film_of_that_exact_title(p):
    assert [m.title for m in p("something like District 13").seeds] == ["District 13"]


@pytest.mark.parametrize("text", ["Nosferatu, eine Symphonie des Grauens", "um um"])
def test_a_foreign_title_or_an_um_is_not_a_foreign_ask(p, text):
    assert not p(text).foreign
