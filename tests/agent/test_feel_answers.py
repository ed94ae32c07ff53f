"""'is the first one scary?': a yes-or-no question on how a pick feels is answered from the
data alone (its genres, its MovieLens tags, a certificate that rules it out for kids), and
says so when the data is silent."""

from __future__ import annotations

from recbot.agent.reader.lexicon import lexicon


def _rows():
    return lexicon().table("questions.feel_answers")


def _pick(agent, answer, n):
    return agent.catalog[answer.recommendations[n - 1].movie_id]


def test_a_horror_pick_is_scary_by_its_genre(make_agent):
    agent = make_agent()
    first = agent.ask("a horror movie", k=5)
    movie = _pick(agent, first, 1)
    assert "Horror" in movie.genres
    reply = agent.ask("is the first one scary?", first.session).reply
    assert reply.startswith(f"{movie.label()}: Scary? What the data says: listed as Horror"), reply


def test_the_data_says_nothing_is_said_and_tags_are_quoted(make_agent):
    agent = make_agent()
    first = agent.ask("a pixar movie", k=5)
    movie = _pick(agent, first, 2)
    row = _rows()["sad"]
    tags = {t for t in movie.tags if t.lower() in {x.lower() for x in row["tags"]}}
    reply = agent.ask("is the second one sad?", first.session).reply
    assert reply.startswith(movie.label())
    if tags:
        assert "MovieLens users tagged it" in reply and any(t in reply for t in tags), reply
    else:
        assert "Sad? Nothing in the data says so" in reply, reply


def test_a_certificate_rules_a_pick_out_for_kids(make_agent):
    agent = make_agent()
    ruled_out = set(_rows()["kids"]["not_certificates"])
    first = agent.ask("a 90s crime movie", k=5)
    n, movie = next((i, agent.catalog[r.movie_id]) for i, r in enumerate(first.recommendations, 1)
                    if agent.catalog[r.movie_id].certificate in ruled_out)
    place = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}[n]
    reply = agent.ask(f"is the {place} one ok for kids?", first.session).reply
    assert f"Probably not: its certificate is {movie.certificate}" in reply, reply


def test_a_title_word_is_no_feeling(make_agent):
    """'what is the dark knight about?' asks no 'dark?' question."""
    agent = make_agent()
    reply = agent.ask("what is the dark knight about?").reply
    assert "Dark?" not in reply and reply.startswith("The Dark Knight"), reply
