"""The preference state: what each turn says of films, genres and people, weighted by how
sure the reading is and faded by age; the newest word on a thing replaces the older one."""

from __future__ import annotations

import re

import pytest

from recbot.agent import preferences as P
from recbot.agent.explain.evidence import MIN_SUPPORT
from recbot.agent.reader.mentions import Person
from recbot.agent.reader.reading import Intent, Mention
from recbot.agent.state import DialogueState


def intent(**kw) -> Intent:
    return Intent(text="", **kw)


def test_said_reads_films_genres_and_people_with_polarity():
    got = P.said(intent(seeds=[Mention("Heat", 6, "Heat", 1995)],
                        disliked=[Mention("Cats", 9, "Cats", 2019)],
                        genres=[("Horror", "Thriller")], exclude_genres=["Romance"],
                        people=[Person(0, 9, "Tom Hanks", (1,))],
                        fans_of=[Person(0, 12, "Meryl Streep", (2,))]))
    assert ("film", 6, 1, "seed") in got and ("film", 9, -1, "disliked") in got
    assert ("genre", "Horror", 1, "genre_either") in got
    assert ("genre", "Thriller", 1, "genre_either") in got
    assert ("genre", "Romance", -1, "avoid_genre") in got
    assert ("person", "Tom Hanks", 1, "person") in got
    assert ("person", "Meryl Streep", 1, "fan") in got


def test_the_newest_word_on_a_thing_replaces_the_older_one():
    prefs = P.update([], [("genre", "Horror", 1, "genre"), ("genre", "Comedy", 1, "genre")], 1)
    prefs = P.update(prefs, [("genre", "Horror", -1, "avoid_genre")], 3)
    lean = P.carried(prefs, 4, "genre")
    assert lean["Horror"] < 0 < lean["Comedy"]
    assert len([p for p in prefs if p.value == "Horror"]) == 1
    # one genre of an either-or word does not overturn an avoidance; the genre named does
    either = P.update(prefs, [("genre", "Horror", 1, "genre_either")], 5)
    assert P.carried(either, 6, "genre")["Horror"] < 0
    named = P.update(prefs, [("genre", "Horror", 1, "genre")], 5)
    assert P.carried(named, 6, "genre")["Horror"] > 0


def test_older_preferences_fade_and_the_current_turn_is_not_carried():
    prefs = P.update([], [("genre", "Horror", 1, "genre")], 1)
    prefs = P.update(prefs, [("genre", "Comedy", 1, "genre")], 4)
    lean = P.carried(prefs, 5, "genre")
    assert lean["Comedy"] == pytest.approx(P.DECAY)
    assert lean["Horror"] == pytest.approx(P.DECAY ** 4) and lean["Horror"] < lean["Comedy"]
    assert "Comedy" not in P.carried(prefs, 4, "genre")     # said this turn: the ask's own
    far = P.carried(prefs, 40, "genre")                       # faded under the floor: gone
    assert far == {}


def test_what_the_user_is_against_fades_slower():
    prefs = P.update([], [("genre", "Horror", -1, "avoid_genre"),
                          ("genre", "Comedy", 1, "genre")], 1)
    lean = P.carried(prefs, 6, "genre")
    assert -lean["Horror"] == pytest.approx(P.AGAINST_DECAY ** 5)
    assert -lean["Horror"] > lean["Comedy"] > 0


def test_a_fan_weighs_less_than_a_person_asked_for():
    prefs = P.update([], [("person", "A", 1, "fan"), ("person", "B", 1, "person")], 1)
    got = P.carried(prefs, 2, "person")
    assert 0 < got["A"] < got["B"]


def test_only_the_newest_prefs_are_kept():
    prefs = []
    for turn in range(1, P.MAX_PREFS + 10):
        prefs = P.update(prefs, [("film", turn, 1, "seed")], turn)
    assert len(prefs) == P.MAX_PREFS and prefs[-1].value == P.MAX_PREFS + 9


def test_the_state_round_trips_and_damaged_rows_are_left_out():
    st = DialogueState(prefs=P.update([], [("film", 6, 1, "liked"),
                                                   ("genre", "Horror", -1, "avoid_genre")], 2))
    back = DialogueState.from_dict(st.as_dict())
    assert [p.as_list() for p in back.prefs] == [p.as_list() for p in st.prefs]
    d = st.as_dict()
    d["prefs"] += [["film", "six", 1, "liked", 1], ["genre", "X", 2, "genre", 1], "junk",
                   ["genre", "X", 1, "nope", 1], ["genre", "X", 1, "genre", "1"],
                   ["genre", "X", True, "genre", 1], ["film", 6, 1, "genre", 1],
                   ["genre", "X", 1, "genre", 0]]
    back = DialogueState.from_dict(d)
    assert len(back.prefs) == 2
    assert DialogueState.from_dict({"prefs": "junk"}).prefs == []


def _genre_count(ans, genre: str) -> int:
    return sum(genre in r.genres for r in ans.recommendations)


def test_a_genre_avoided_earlier_leans_a_later_ask_away_from_it(make_agent):
    """'I hate horror', then 'I loved Alien': films like Alien, but fewer horror films
    than the same words get in a fresh chat (a lean, not a filter)."""
    agent = make_agent()
    first = agent.ask("I hate horror")
    later = agent.ask("I loved Alien", first.session)
    fresh = make_agent().ask("I loved Alien")
    assert _genre_count(fresh, "Horror") >= 1, "the test needs horror in the fresh list"
    assert later.recommendations and \
        _genre_count(later, "Horror") < _genre_count(fresh, "Horror"), (later.reply, fresh.reply)


def _state(agent, sid) -> DialogueState:
    return DialogueState.from_dict(agent.memory.load(sid).state)


def _requests(agent) -> list:
    """Every request the agent's generator is asked for, in order."""
    seen = []
    gather = agent.generator.gather

    def spy(req, pool=20):
        seen.append(req)
        return gather(req, pool=pool)
    agent.generator.gather = spy
    return seen


def test_a_genre_asked_again_overturns_its_avoidance(make_agent):
    """'no horror', then 'a horror movie': the newest word wins, and a later ask leans to
    horror instead of away from it."""
    agent = make_agent()
    reqs = _requests(agent)
    first = agent.ask("a comedy, no horror")
    agent.ask("a horror movie", first.session)
    rows = {(p.kind, p.value): p for p in _state(agent, first.session).prefs}
    assert rows[("genre", "Horror")].polarity == 1 and rows[("genre", "Horror")].turn == 2
    agent.ask("a movie about a lighthouse", first.session)
    assert reqs[-1].prefer_genres.get("Horror", 0) > 0, reqs[-1].prefer_genres


def test_switching_or_clearing_genres_drops_the_old_ones(make_agent):
    """'make it a comedy' replaces the horror asked before; 'any genre is fine' forgets
    them all: neither comes back as a lean two turns later."""
    agent = make_agent()
    reqs = _requests(agent)
    a = agent.ask("a horror movie")
    agent.ask("make it a comedy", a.session)
    assert {p.value for p in _state(agent, a.session).prefs if p.kind == "genre"} == {"Comedy"}
    agent.ask("something with Tom Hanks", a.session)
    assert "Horror" not in reqs[-1].prefer_genres, reqs[-1].prefer_genres
    agent.ask("any genre is fine", a.session)
    assert not [p for p in _state(agent, a.session).prefs if p.kind == "genre"]


def test_films_liked_earlier_are_carried_into_a_later_ask(make_agent):
    """'I loved Alien and The Thing', then 'something funny': both pull their neighbours
    (the carried source), faded by one turn; an ask naming its own film carries none."""
    agent = make_agent()
    reqs = _requests(agent)
    a = agent.ask("I loved Alien and The Thing")
    liked = {m.movie_id for m in a.resolved}
    assert len(liked) == 2
    agent.ask("something funny", a.session)
    assert set(reqs[-1].carried) == liked, reqs[-1].carried
    assert all(0 < w < 1 for w in reqs[-1].carried.values())
    agent.ask("something like Toy Story", a.session)
    assert reqs[-1].carried == {}


def test_forgetting_a_film_takes_it_out_of_the_state(make_agent):
    agent = make_agent()
    a = agent.ask("I loved Alien")
    alien = a.resolved[0].movie_id
    assert any(p.value == alien for p in _state(agent, a.session).prefs)
    agent.memory.forget([alien], a.session)
    assert not any(p.value == alien for p in _state(agent, a.session).prefs)


def test_the_session_keeps_what_each_turn_said(make_agent, workspace):
    """The state records each film and genre with its polarity and turn; small talk counts
    as a turn (older words fade), and feedback on a pick becomes a liked film."""
    agent = make_agent()
    a = agent.ask("I like horror")
    agent.ask("cool", a.session)
    b = agent.ask("#1 loved it", a.session)
    state = DialogueState.from_dict(agent.memory.load(b.session).state)
    rows = {(p.kind, p.value): p for p in state.prefs}
    assert rows[("genre", "Horror")].polarity == 1 and rows[("genre", "Horror")].turn == 1
    first_pick = a.recommendations[0].movie_id
    assert rows[("film", first_pick)].role == "liked" and rows[("film", first_pick)].turn == 3


def test_the_carried_source_pulls_films_like_those_named_before(make_agent):
    """The ``carried`` source lists the MF neighbours of films named earlier, at a weight
    scaled by how strong they still are; a film named in the ask itself is not carried."""
    from recbot.agent.candidates import Request

    agent = make_agent()
    gen = agent.generator
    toy = next(m.movie_id for m in agent.catalog if m.title == "Toy Story" and m.year == 1995)
    lists, _ = gen._sources(Request(carried={toy: 0.7}))
    assert lists.get("carried") and lists["carried"][:50] == gen._mf([toy])[:50]
    assert gen._weights(Request(carried={toy: 0.7}), lists)["carried"] == pytest.approx(0.5 * 0.7)
    lists, _ = gen._sources(Request(seeds=[toy], carried={toy: 0.7}))
    assert "carried" not in lists


SCI_FI_LIKES = [("Alien", 1979), ("The Thing", 1982), ("Terminator 2: Judgment Day", 1991),
                ("Aliens", 1986), ("Predator", 1987), ("The Fly", 1986)]


def _profile(agent) -> list[int]:
    ids = [m.movie_id for m in agent.catalog if (m.title, m.year) in SCI_FI_LIKES]
    assert len(ids) == len(SCI_FI_LIKES)
    agent.memory.add_feedback(None, {i: "like" for i in ids})
    return ids


def test_the_profile_moves_up_only_films_the_ask_itself_finds(make_agent):
    """Issue #30's newcomer: likes of Alien, The Thing, Terminator 2..., then "a cozy
    feel-good movie for a rainy Sunday". The likes personalise among the films the ask's own
    sources rank in their first ASK_DEPTH; they pull nothing else in."""
    from recbot.agent.candidates import Request
    from recbot.agent.candidates import generator as G
    from recbot.agent.candidates import sources as S

    agent = make_agent()
    likes = _profile(agent)
    gen = agent.generator
    req = Request(query="cozy rainy sunday", likes=likes,
                  talk="a cozy feel-good movie for a rainy Sunday")
    lists, _ = gen._sources(req)
    assert lists.get("profile") and lists.get("chat_similar"), "the likes feed these sources"
    own = {i for name, items in lists.items()
           if name not in {s.name for s in S.SOURCES if s.within_ask or s.generic}
           and name not in G.LIKES_DRIVEN for i in items[:G.ASK_DEPTH]}
    picks = gen.gather(req, pool=10)
    assert picks and all(c.movie_id in own for c in picks), \
        [(c.title, c.sources) for c in picks if c.movie_id not in own]
    ans = agent.ask("a cozy feel-good movie for a rainy Sunday")
    assert ans.recommendations


def test_a_reason_cites_a_liked_film_only_when_it_relates_to_the_pick(make_agent):
    """No "You liked Terminator 2 ... which pushed it up most" on The Lion King: a liked film
    is cited only when it shares a genre (not just "Drama") or a person with the pick, or a
    strong lift."""
    from recbot.agent.candidates.sources.profile import related

    agent = make_agent()
    _profile(agent)
    gen = agent.generator
    by_title = {m.title: m for m in agent.catalog if (m.title, m.year) in SCI_FI_LIKES}
    lion = next(m for m in agent.catalog if m.title == "The Lion King" and m.year == 1994)
    assert not related(gen, by_title["Terminator 2: Judgment Day"], lion)
    assert related(gen, by_title["Aliens"], by_title["Alien"])        # shared genres
    # a drama shares only "Drama" with half the catalog: Rocky is no reason for The Notebook
    rocky = next(m for m in agent.catalog if m.title == "Rocky" and m.year == 1976)
    notebook = next(m for m in agent.catalog if m.title == "The Notebook")
    assert not related(gen, rocky, notebook)
    for ask in ("an animated movie for kids", "something like The Lion King"):
        ans = agent.ask(ask)
        for r in ans.recommendations:
            m = agent.catalog[r.movie_id]
            cited = re.search(r"You liked (.+?), which pushed it up most", r.explanation)
            for title in (cited.group(1).split(" and ") if cited else []):
                assert related(gen, by_title[title], m), (r.title, r.explanation)


def test_a_description_is_carried_faded_and_searched_with_a_later_ask(indexed_data_dir, tmp_path):
    """'a film about a heist that goes wrong', then 'any comedies?': the comedies are
    searched with the heist, faded (the real MiniLM index); asked alone, 'any comedies?'
    searches nothing."""
    from recbot.agent.chat import Agent
    from recbot.agent.memory import Memory
    from recbot.agent.settings import Settings
    from recbot.agent.workspace import Workspace

    intent = Intent(text="a film about a heist that goes wrong", describe="heist goes wrong")
    assert ("about", "heist goes wrong", 1, "about") in P.said(intent)
    prefs = P.update([], P.said(intent), 1)
    assert P.carried(prefs, 2, "about") == {"heist goes wrong": pytest.approx(P.DECAY)}
    ws = Workspace(Settings.load(data_dir=indexed_data_dir, llm="none"))
    agent = Agent(ws, None, Memory(tmp_path / "s.sqlite"))
    reqs = _requests(agent)
    first = agent.ask("a film about a heist that goes wrong")
    agent.ask("any comedies?", first.session)
    then = reqs[-1]
    assert then.about == {"heist that goes wrong": pytest.approx(P.DECAY)} and not then.query
    agent.ask("any comedies?")
    alone = reqs[-1]
    assert alone.about == {} and not alone.query
    # the carried description is searched among comedies (a source at weight 0.7: a nudge
    # for the films the other sources find too, not a list of its own)
    lists, _ = agent.generator._sources(then)
    top = [agent.catalog[i] for i in lists["search"][:5]]
    assert top and all("Comedy" in m.genres for m in top)
    assert any(re.search(r"heist|robbery|caper|bank|thie|crime", " ".join(m.tags), re.I)
               or "Crime" in m.genres for m in top[:3]), [m.title for m in top]
    assert agent.generator._weights(then, lists)["search"] == pytest.approx(P.DECAY)
    assert "search" not in agent.generator._sources(alone)[0]


def test_the_chat_crowds_vote_counts_as_much_as_it_is_specific():
    from recbot.agent.candidates.generator import CandidateGenerator as G

    crowd = list(range(100))
    assert G._specific(list(range(20)), crowd) == 0.0          # the favourites again
    assert G._specific(list(range(500, 520)), crowd) == 1.0    # films of their own
    assert G._specific([*range(10), *range(500, 510)], crowd) == 0.5
    assert G._specific([1, 2], None) == 1.0


def test_the_search_embeds_the_message_without_its_titles_and_names():
    from recbot.agent.chat import _searchable

    intent = Intent(text="Like Heat, but where they make an air filter from spare parts",
                    describe="make air filter spare parts",
                    seeds=[Mention("Heat", 6, "Heat", 1995)])
    assert _searchable(intent) == "Like , but where they make an air filter from spare parts"
    fan = Intent(text="something with Tom Hanks about a lonely man on an island",
                 describe="lonely man island", people=[Person(15, 24, "Tom Hanks", (1,))])
    assert "Tom Hanks" not in _searchable(fan) and "lonely man on an island" in _searchable(fan)
    assert _searchable(Intent(text="I have seen Titanic a hundred times")) == ""
    clown = Intent(text="like It, kids fight a monster in the city with a clown",
                   describe="kids fight monster city clown", seeds=[Mention("It", 1, "It")])
    assert _searchable(clown) == "like , kids fight a monster in the city with a clown"


def test_a_carried_description_survives_the_full_vector_cache():
    """A long chat fills the cache of description vectors (64); the next turn's new
    description must not evict the carried one it is searched with (INSPIRED, turn by
    turn, raised KeyError here)."""
    from types import SimpleNamespace

    import numpy as np

    from recbot.agent.candidates.generator import CandidateGenerator

    class Embedder:
        calls = 0

        def embed(self, texts):
            Embedder.calls += 1
            return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts],
                            dtype=np.float32)

    gen = SimpleNamespace(_text_vectors={})
    emb = Embedder()
    for i in range(64):
        CandidateGenerator._vectors(gen, emb, [f"description {i}"])
    got = CandidateGenerator._vectors(gen, emb, ["description 3", "usually interested"])
    np.testing.assert_array_equal(got, emb.embed(["description 3", "usually interested"]))
    assert len(gen._text_vectors) <= 64


def test_what_was_kept_out_stays_out_when_a_persons_films_run_out(make_agent):
    """'anything with Matt Damon', 'not the Bourne ones', 'none of these', 'none of these':
    when only the kept-out films are left, recbot says the person's films are done instead of
    bringing the Bourne films back (the newest wish outweighs the older ask)."""
    agent = make_agent()
    first = agent.ask("anything with matt damon")
    assert first.recommendations, first.reply
    for text in ("not the bourne ones", "none of these", "none of these", "none of these"):
        answer = agent.ask(text, first.session)
        titles = [r.title for r in answer.recommendations]
        assert not [t for t in titles if "Bourne" in t], (text, titles, answer.reply)
    assert "Matt Damon" in answer.reply


@pytest.mark.parametrize("ask,word,n", [("the bourne movies", "Bourne", 6),
                                         ("harry potter movies", "Harry Potter", 8),
                                         ("the mission impossible series", "Mission: Impossible", 5)])
def test_a_series_asked_for_lists_its_films_then_says_they_ran_out(make_agent, ask, word, n):
    """'the bourne movies' lists the Bourne films (not films tagged or described 'bourne'),
    all of them (up to 10) in the order they came out; 'none of these' stays in the series,
    and when its films run out the reply says so."""
    agent = make_agent()
    first = agent.ask(ask)
    titles = [r.title for r in first.recommendations]
    years = [r.year for r in first.recommendations]
    assert len(titles) == n and all(word in t for t in titles), (titles, first.reply)
    assert years == sorted(years) and "series" in first.reply
    answer = agent.ask("none of these", first.session)
    for _ in range(3):
        if not answer.recommendations:
            break
        assert all(word in r.title for r in answer.recommendations), answer.reply
        answer = agent.ask("none of these", first.session)
    assert not answer.recommendations and word in answer.reply, answer.reply


def test_follow_ups_turn_by_turn_answer_what_people_type(make_agent):
    """Turns from the ReDial learn part and a newcomer round: each gets the answer it asks
    for, and the ask made before still counts."""
    agent = make_agent()
    first = agent.ask("looking for a good sci fi movie from the 80s", k=5)
    shown = first.recommendations
    assert len(shown) == 5 and all(1980 <= r.year <= 1989 for r in shown)
    director = agent.ask("what about the 4th, have u got the director?", first.session)
    assert director.kind == "about" and director.reply.startswith(shown[3].title)
    assert "Directed by" in director.reply
    rated = agent.ask("whats the 4th one rated?", first.session)
    assert rated.kind == "about" and rated.reply.startswith(shown[3].title)
    assert re.search(r"Rated \d\.\d of 5 by \d+ people on MovieLens", rated.reply)
    best = agent.ask("which of those is the best?", first.session)
    assert best.kind == "about" and best.reply.startswith("Of the last list, the best rated is")
    picked = [r for r in shown if best.reply.startswith(
        f"Of the last list, the best rated is {r.title} (")]
    assert len(picked) == 1
    c = agent.generator.corate
    cols = {r.movie_id: c.item_index[r.movie_id] for r in shown if r.movie_id in c.item_index}
    means = {m: c.means[col] for m, col in cols.items() if c.rating_counts[col] >= MIN_SUPPORT}
    assert means[picked[0].movie_id] == max(means.values())   # rated by enough people
    named = agent.ask("haven't seen ronin, what's it about?", first.session)
    assert named.kind == "about" and named.reply.startswith("Ronin (1998)")
    one = agent.ask("Okay, I will do that. Do you have one more?", first.session)
    assert len(one.recommendations) == 1
    assert one.recommendations[0].movie_id not in {r.movie_id for r in shown}
    assert 1980 <= one.recommendations[0].year <= 1989
    thanks = agent.ask("perfect, thx!", first.session)
    assert thanks.kind == "chitchat" and not thanks.recommendations
    anyyear = agent.ask("actually forget the 80s, anything is fine", first.session)
    assert anyyear.recommendations and any(r.year >= 1990 for r in anyyear.recommendations)


def test_an_ask_for_more_before_any_list_is_a_new_ask(make_agent):
    agent = make_agent()
    for text in ("any others?", "Do you have one more?"):
        answer = agent.ask(text)
        assert answer.recommendations, text


def test_a_genre_kept_out_leaves_a_later_either_or_ask(make_agent):
    """'family night' (children or animation), 'no animation', then 'classic 80s family
    stuff': the new ask's either-or word does not bring animation back; naming it does."""
    agent = make_agent()
    first = agent.ask("family night, kids are 6 and 9", k=5)
    no_anim = agent.ask("no animation", first.session)
    assert "Children or Animation" not in no_anim.reply
    assert not [r for r in no_anim.recommendations if "Animation" in r.genres]
    later = agent.ask("classic 80s family stuff", first.session)
    assert later.recommendations
    assert not [r.title for r in later.recommendations if "Animation" in r.genres]
    named = agent.ask("an animated family movie", first.session)
    assert all("Animation" in r.genres for r in named.recommendations)


def test_similar_but_not_by_the_person_asked_for_lists_films_like_theirs(make_agent):
    agent = make_agent()
    first = agent.ask("christopher nolan movies", k=5)
    nolan = set(agent.mentions_person("Christopher Nolan"))
    assert first.recommendations and all(r.movie_id in nolan for r in first.recommendations)
    other = agent.ask("ok what about something similar but not by nolan", first.session)
    assert len(other.recommendations) == 5
    assert not nolan & {r.movie_id for r in other.recommendations}
    assert first.recommendations[0].title in other.reply     # films like those shown


def test_said_records_the_kinds_and_moods_kept_out():
    got = P.said(intent(avoid_kinds=["superhero"], avoid_moods=["sad"],
                        avoid_people=[Person(0, 9, "Adam Sandler", (1,))]))
    assert ("kind", "superhero", -1, "avoid_kind") in got
    assert ("mood", "sad", -1, "avoid_mood") in got
    assert ("person", "Adam Sandler", -1, "avoid_person") in got
    prefs = P.update([], got, 1)
    st = DialogueState(prefs=prefs)
    assert len(DialogueState.from_dict(st.as_dict()).prefs) == 3    # stored and read back
    assert P.carried(prefs, 3, "kind")["superhero"] == pytest.approx(-P.AGAINST_DECAY ** 2)


@pytest.mark.parametrize("first,later,films", [
    ("an action movie, no superhero stuff", "something with a great car chase",
     lambda a: a.generator.films_naming("superhero")),
    ("a drama, nothing with Tom Hanks", "something that will make me cry",
     lambda a: set(a.mentions_person("Tom Hanks"))),
])
def test_what_was_kept_out_earlier_leans_a_later_ask_away(make_agent, first, later, films):
    """'no superhero stuff', then a new ask: the avoidance is carried as a lean away (the
    headline says so), where the same new ask in a fresh chat lists such films; naming
    them again lifts it."""
    agent = make_agent()
    kept_out = films(agent)
    fresh = make_agent().ask(later, k=10)
    assert kept_out & {r.movie_id for r in fresh.recommendations}, "the test needs such films"
    one = agent.ask(first, k=10)
    two = agent.ask(later, one.session, k=10)
    assert two.recommendations and not kept_out & {r.movie_id for r in two.recommendations}, \
        two.reply
    assert "still no" in two.reply.split("\n")[0], two.reply


def test_naming_a_kind_again_or_forgetting_the_person_lifts_the_lean(make_agent):
    agent = make_agent()
    reqs = _requests(agent)
    one = agent.ask("an action movie, no superhero stuff")
    agent.ask("ok fine, superhero movies then", one.session)
    assert not reqs[-1].away, reqs[-1].away_said
    two = make_agent()
    reqs = _requests(two)
    one = two.ask("a drama, nothing with Tom Hanks")
    two.ask("forget the actor, something that will make me cry", one.session)
    assert not reqs[-1].away, reqs[-1].away_said


def test_forgetting_what_was_kept_out_lets_it_back(make_agent):
    """'a crime movie, no mob stuff', then 'forget the no mob thing': the filter and the
    headline's words go, and a later ask no longer leans away from mob films."""
    agent = make_agent()
    reqs = _requests(agent)
    mob = agent.generator.films_naming("mob")
    one = agent.ask("a crime movie, no mob stuff", k=10)
    assert "no mob" in one.reply.split("\n")[0] and not mob & {r.movie_id for r in one.recommendations}
    two = agent.ask("actually forget the no mob thing", one.session, k=10)
    assert "mob" not in two.reply.split("\n")[0], two.reply
    assert not mob & set(reqs[-1].constraints.exclude_ids)
    agent.ask("a heist", one.session)
    assert not reqs[-1].away and not reqs[-1].away_said


def test_a_genre_asked_after_a_family_ask_is_for_the_children_still(make_agent):
    """'family movie night, kids are 6 and 9', then 'something funny': funny films for
    children (a fresh 'something funny' lists others); 'no animation' keeps the children's
    films that are not animated (a parent's "real actors, not cartoons")."""
    family = {"Children", "Animation"}
    fresh = make_agent().ask("something funny", k=10)
    assert any(not family & set(r.genres) for r in fresh.recommendations)
    agent = make_agent()
    one = agent.ask("family movie night, kids are 6 and 9, nothing too scary", k=10)
    two = agent.ask("something funny", one.session, k=10)
    assert len(two.recommendations) == 10
    assert all(family & set(r.genres) and "Comedy" in r.genres for r in two.recommendations), \
        [(r.title, r.genres) for r in two.recommendations]
    reqs = _requests(agent)
    three = agent.ask("no animation", one.session, k=10)
    assert ["Children"] in reqs[-1].constraints.genres and three.recommendations and all(
        "Animation" not in r.genres and "Children" in r.genres for r in three.recommendations)


def test_a_kids_follow_up_with_no_genre_is_for_the_children_still(make_agent):
    """The newcomer's parent: 'kids are 6 and 9', then 'something newer maybe, and with real
    actors not cartoons' gave The Avengers; then 'more like paddington' gave The Pianist."""
    agent = make_agent()
    one = agent.ask("need something for my kids tonight, they're 6 and 9. nothing scary pls")
    two = agent.ask("they've seen all the pixar ones a million times lol. something newer "
                    "maybe, and with real actors not cartoons", one.session, k=10)
    assert two.recommendations and all(
        "Children" in r.genres and "Animation" not in r.genres for r in two.recommendations), \
        [(r.title, r.genres) for r in two.recommendations]
    fresh = make_agent().ask("more like paddington or home alone type stuff", k=10)
    assert fresh.recommendations and all("Children" in r.genres for r in fresh.recommendations), \
        [(r.title, r.genres) for r in fresh.recommendations]


def test_a_kind_seen_all_of_stays_out_and_live_action_is_not_animated(make_agent):
    """'movie night w my kids', 'none of these, we've done all the pixar ones', 'something
    live action maybe?': no Pixar film, then children's films that are not animated."""
    agent = make_agent()
    pixar = agent.generator.films_naming("pixar")
    one = agent.ask("movie night w my kids (6 and 9), something fun", k=10)
    two = agent.ask("none of these, we've done all the pixar ones", one.session, k=10)
    assert two.recommendations and not pixar & {r.movie_id for r in two.recommendations}
    three = agent.ask("something live action maybe?", one.session, k=10)
    assert three.recommendations and all(
        "Animation" not in r.genres and "Children" in r.genres for r in three.recommendations), \
        [(r.title, r.genres) for r in three.recommendations]


def test_what_the_review_found_in_carrying_avoidances(make_agent):
    """A question naming a feeling keeps its avoidance; 'forget the actor' lasts; a plural
    lifts the header's words; 'the kids are asleep' ends the children's films."""
    agent = make_agent()
    reqs = _requests(agent)
    one = agent.ask("a drama, nothing sad")
    agent.ask("is the first one sad?", one.session)
    agent.ask("something with a heist", one.session)
    assert "sad" in reqs[-1].away_said
    two = make_agent()
    reqs = _requests(two)
    s = two.ask("a drama, nothing with Tom Hanks").session
    two.ask("forget the actor, something that will make me cry", s)
    two.ask("something funny", s)
    assert not reqs[-1].away
    three = make_agent()
    s = three.ask("an action movie, no superhero stuff").session
    lifted = three.ask("forget the no superheroes thing", s)
    assert "superhero" not in lifted.reply.split("\n")[0], lifted.reply
    four = make_agent()
    s = four.ask("family movie night, kids are 6 and 9").session
    late = four.ask("ok the kids are asleep now, something scary for us", s, k=10)
    assert late.recommendations and "Children or Animation" not in late.reply.split("\n")[0]


def test_with_her_names_the_person_the_chat_was_about(make_agent):
    """'my wife and I love meryl streep', then 'something lighter, a comedy with her maybe?':
    Meryl Streep's comedies (the newcomer got Superbad); 'something to watch with her
    tonight' is who watches, not who is in it."""
    agent = make_agent()
    streep = set(agent.mentions_person("Meryl Streep"))
    assert streep
    one = agent.ask("my wife and I love meryl streep, whats a good one we might of missed")
    assert one.recommendations and {r.movie_id for r in one.recommendations} <= streep
    two = agent.ask("something lighter, a comedy with her maybe?", one.session)
    assert two.recommendations and all(
        r.movie_id in streep and "Comedy" in r.genres for r in two.recommendations), \
        [(r.title, r.genres) for r in two.recommendations]
    three = agent.ask("an action movie to watch with her tonight", one.session, k=10)
    assert three.recommendations and not {r.movie_id for r in three.recommendations} <= streep
    for text in ("I want to watch a comedy with her", "a horror movie for a night in with her"):
        ans = agent.ask(text, one.session, k=10)
        assert ans.recommendations and not {r.movie_id for r in ans.recommendations} <= streep, text


def test_an_ask_for_the_grown_ups_after_a_kids_ask_is_not_for_children(make_agent):
    agent = make_agent()
    one = agent.ask("family movie night, kids are 6 and 9")
    reqs = _requests(agent)
    agent.ask("now a movie for my wife and me after they sleep", one.session)
    assert not any(set(g) & {"Children", "Animation"} for g in reqs[-1].constraints.genres)
    agent.ask("something newer", one.session)
    assert [g for g in reqs[-1].constraints.genres if set(g) & {"Children", "Animation"}] == [
        ["Children", "Animation"]], "the kids' group once, not twice"
