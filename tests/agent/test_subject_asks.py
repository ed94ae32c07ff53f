"""Asks for films about a subject, on the real index (MiniLM over the bundled catalog, in
Chroma, built by `recbot index`), judged against the data: a pick is about the subject
when its title, MovieLens tags or IMDb overview say so."""

from __future__ import annotations

import re

import pytest

from recbot.agent.chat import Agent
from recbot.agent.memory import Memory
from recbot.agent.settings import Settings
from recbot.agent.workspace import Workspace

SUBJECTS = [
    ("a movie about a dog", r"\bdogs?\b|\bpupp(?:y|ies)\b|\bcanine"),
    ("any films about dogs?", r"\bdogs?\b|\bpupp(?:y|ies)\b|\bcanine"),
    ("a comedy about a wedding", r"\bwedding|\bmarriage|\bbrides?\b|\bmarry"),
    ("movies set in space", r"\bspace\b|\bastronauts?\b|\bspaceship|\bgalax|\bplanet"),
    ("something about boxing", r"\bbox(?:ing|er)\b|\bboxers?\b|\bprize ?fight"),
    ("a heist movie", r"\bheists?\b|\brobbery|\brob\b|\bthieves|\bthief"),
    ("a zombie movie", r"\bzombie|\bundead\b|\bliving dead"),
    ("a movie with great music", r"\bmusic|\bsongs?\b|\bsing(?:er|ing)?\b|\bmusical|\bband\b"
                                 r"|\bconcert|\bdanc(?:e|er|ing)\b|\bcomposer|\bopera\b"),
    ("a film with a dog", r"\bdogs?\b|\bpupp(?:y|ies)\b|\bcanine"),
    ("a christmas movie", r"christmas|\bsanta\b|\bxmas\b"),
    ("a space movie", r"\bspace\b|\bastronauts?\b|\bspaceship|\bgalax|\bplanet"),
    ("a superhero movie", r"superhero|super-hero|\bmarvel\b|\bdc comics|batman|superman|"
                          r"spider-man|iron man|avengers|x-men|black panther|wonder woman"),
]


@pytest.fixture(scope="module")
def agent(indexed_data_dir, tmp_path_factory):
    ws = Workspace(Settings.load(data_dir=indexed_data_dir, llm="none"))
    a = Agent(ws, None, Memory(tmp_path_factory.mktemp("subject") / "s.sqlite"), k=10)
    yield a
    a.memory.close()


def about(movie, subject: str) -> bool:
    text = " ".join([movie.title, *movie.tags, movie.overview or "", *movie.genres])
    return bool(re.search(subject, text, re.I))


@pytest.mark.parametrize("text,subject", SUBJECTS)
def test_a_subject_ask_is_answered_with_films_about_it(agent, text, subject):
    ans = agent.ask(text)
    recs = [(r.title, about(agent.catalog[r.movie_id], subject)) for r in ans.recommendations]
    on = [t for t, ok in recs if ok]
    # the five first picks: most of them about the subject (chats' favourites are not)
    first = [ok for _, ok in recs[:5]]
    assert ans.kind == "recommend" and len(recs) == 10 and sum(first) >= 3 and len(on) >= 5, \
        f"{text!r}: picks about the subject {on}; all {[t for t, _ in recs]}"


def test_a_subject_in_everyday_words_is_no_small_talk(agent):
    ans = agent.ask("a movie about a boy and his dog")
    assert ans.kind == "recommend" and ans.recommendations, (ans.kind, ans.reply)


def test_a_subject_is_not_a_title_word(agent):
    ans = agent.ask("films about dogs")
    titled = [r.title for r in ans.recommendations if re.search(r"\bdogs?\b", r.title, re.I)
              and not about(agent.catalog[r.movie_id], r"\bdogs?\b|\bcanine")]
    assert ans.recommendations and not titled, titled


PIXAR = {"Toy Story", "Toy Story 2", "Toy Story 3", "A Bug's Life", "Monsters, Inc.",
         "Monsters University", "Finding Nemo", "Finding Dory", "The Incredibles",
         "Incredibles 2", "Cars", "Cars 2", "Cars 3", "Ratatouille", "WALL·E", "Up", "Brave",
         "Inside Out", "The Good Dinosaur", "Coco"}


def test_a_studio_ask_gets_only_that_studios_films(agent):
    pixar = agent.ask("Pixar films")
    others = [r.title for r in pixar.recommendations if r.title not in PIXAR]
    assert len(pixar.recommendations) == 10 and not others, others
    ghibli = agent.ask("studio ghibli movies")
    others = [r.title for r in ghibli.recommendations
              if not {"Hayao Miyazaki", "Isao Takahata"} & set(agent.catalog[r.movie_id].directors)
              and not any("ghibli" in t.lower() for t in agent.catalog[r.movie_id].tags)]
    assert len(ghibli.recommendations) >= 5 and not others, others


def test_a_subject_word_finds_its_plural_and_no_longer_word(agent):
    gen = agent.generator
    dogs = [agent.catalog[i] for i in gen._keyword("dog")]
    assert dogs and all(re.search(r"\bdogs?\b", " ".join([*m.tags, m.overview or ""]), re.I)
                        for m in dogs), [m.title for m in dogs]
    chess = [agent.catalog[i] for i in gen._keyword("chess")]
    assert all(re.search(r"\bchess", " ".join([*m.tags, m.overview or ""]), re.I)
               for m in chess), [m.title for m in chess if "chess" not in " ".join(m.tags).lower()]


SAD = r"\bsad\b|tear ?-?jerker|made me cry|depressing|heartbreaking|tragic|tragedy|melanchol|" \
      r"bittersweet|emotional|touching"


@pytest.mark.parametrize("text", ["a sad movie", "a tearjerker", "something sad that will make me cry"])
def test_a_mood_ask_gets_films_tagged_with_that_mood(agent, text):
    ans = agent.ask(text)
    tagged = [r.title for r in ans.recommendations
              if re.search(SAD, " ".join(agent.catalog[r.movie_id].tags), re.I)]
    assert len(ans.recommendations) == 10 and len(tagged) >= 8, \
        (tagged, [r.title for r in ans.recommendations])
    assert all(re.search(SAD, r.explanation, re.I) for r in ans.recommendations
               if r.title in tagged[:5]), [r.explanation for r in ans.recommendations[:5]]


def test_silent_and_black_and_white_films_by_their_years_and_tags(agent):
    silent = agent.ask("a silent film")
    late = [r.title for r in silent.recommendations if (agent.catalog[r.movie_id].year or 9999) > 1928]
    assert len(silent.recommendations) == 10 and not late, late
    bw = agent.ask("black and white movies")
    odd = [r.title for r in bw.recommendations
           if (agent.catalog[r.movie_id].year or 9999) > 1934
           and not any("black and white" in t.lower() for t in agent.catalog[r.movie_id].tags)]
    assert len(bw.recommendations) == 10 and not odd, odd


def test_a_subject_no_film_names_is_said_so(agent):
    ans = agent.ask("a movie about a lighthouse")
    assert "No film in the data has \"lighthouse\"" in ans.reply, ans.reply
    ans = agent.ask("a movie about dogs")
    assert "No film in the data" not in ans.reply, ans.reply


def test_what_was_kept_out_is_no_reason(agent):
    ans = agent.ask("space adventure, not star wars")
    pages = [ans, agent.ask("more", ans.session), agent.ask("more", ans.session)]
    quoting = [r.explanation for a in pages for r in a.recommendations
               if "star wars" in r.explanation.lower()]
    assert all(a.recommendations for a in pages) and not quoting, quoting


def test_a_mood_with_a_subject_keeps_the_subject(agent):
    ans = agent.ask("a depressing movie about addiction")
    about = [r.title for r in ans.recommendations
             if re.search(r"addict|drug|heroin|alcohol", " ".join([*agent.catalog[r.movie_id].tags,
                          agent.catalog[r.movie_id].overview or ""]), re.I)]
    # 5 while the IMDb plot text shipped (21 Grams was about drugs by its overview); the
    # MovieLens tags and the search name 4 of the 10
    assert len(about) >= 4, [r.title for r in ans.recommendations]


def test_silent_in_a_subject_is_no_era(agent):
    ans = agent.ask("a thriller about a silent assassin")
    old = [r.title for r in ans.recommendations if (agent.catalog[r.movie_id].year or 9999) < 1935]
    assert ans.recommendations and not old, old


def test_the_no_subject_note_only_when_it_is_true(agent):
    assert "No film in the data" not in agent.ask("a movie about a boy").reply
