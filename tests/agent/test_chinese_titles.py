"""Chinese titles of Chinese-language films through pinyin (issue 33): the six titles the
issue names, everyday words that are not titles, a title no film matches, and the ask."""

from __future__ import annotations

import pytest

from recbot.agent.reader.chinese_titles import find


@pytest.fixture(scope="module")
def catalog():
    from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog

    return load_catalog(BUNDLED_DATASET_DIR)


@pytest.mark.parametrize("text,movie_id", [
    ("有没有像卧虎藏龙那样的电影？", 3996),        # Crouching Tiger, Hidden Dragon
    ("我喜欢霸王别姬", 446),                      # Farewell My Concubine
    ("推荐几部像英雄一样的电影", 7090),            # Hero (2002)
    ("十面埋伏好看吗", 8983),                     # House of Flying Daggers
    ("《活着》这样的电影", 326),                   # To Live (Huozhe)
    ("像功夫那样搞笑的", 31878),                  # Kung Fu Hustle
    ("像《卧虎藏龙》一样的武侠片", 3996),
])
def test_the_chinese_title_finds_its_film(catalog, text, movie_id):
    found, missing = find(text, catalog)
    assert [f.movie_id for f in found] == [movie_id], [catalog[f.movie_id].label()
                                                       for f in found]
    assert not missing


@pytest.mark.parametrize("text", [
    "我想看超级英雄电影",          # superhero: 英雄 without a cue is a word
    "我想看一部关于太空探险的科幻电影",
    "像恐怖片那样的",              # a kind of film, not a title
    "他活着回来了",
    "两个堕落天使想回到天堂的喜剧",          # a phrase inside a description (Fallen Angels)
    "他和录像店的老板聊天的电影",            # "和…的" is no title cue
    "我喜欢科幻",                          # a genre after a cue
    "我看过很多",                          # a filler after a cue
])
def test_everyday_words_are_not_titles(catalog, text):
    assert find(text, catalog) == ([], [])


def test_a_title_no_film_matches_is_reported(catalog):
    found, missing = find("有没有像阿甘正传那样的电影", catalog)   # Forrest Gump, in Chinese
    assert found == [] and [m.text for m in missing] == ["阿甘正传"]


def test_the_ask_reads_a_chinese_title_as_that_film(make_agent):
    answer = make_agent().ask("有没有像卧虎藏龙那样的电影？", k=5)
    assert [m.movie_id for m in answer.resolved] == [3996]
    assert len(answer.recommendations) == 5
    assert 3996 not in [r.movie_id for r in answer.recommendations]


def test_an_unmatched_chinese_title_asks_for_the_original(make_agent):
    answer = make_agent().ask("有没有像阿甘正传那样的电影", k=5)
    assert answer.kind == "clarify" and not answer.recommendations
    assert "阿甘正传" in answer.reply and "原名" in answer.reply     # asked in Chinese


def test_a_chinese_title_keeps_the_eras_and_genres_kept_out(make_agent):
    answer = make_agent().ask("有没有像卧虎藏龙那样的90年代电影，不要恐怖片", k=5)
    assert [m.movie_id for m in answer.resolved] == [3996]
    recs = answer.recommendations
    assert len(recs) == 5
    assert all(r.year is not None and 1990 <= r.year <= 1999 for r in recs), \
        [(r.title, r.year) for r in recs]
    assert not any("Horror" in r.genres for r in recs)


def test_with_an_llm_an_unmatched_title_is_translated_and_checked(make_agent):
    """A real OpenAI client against a loopback server that answers as a model would."""
    from recbot.agent.llm.openai_chat import OpenAIChat
    from tests.llm_servers import FakeOpenAI

    with FakeOpenAI(default_reply='{"ids": []}') as fake:
        fake.reply('{"title": "Forrest Gump", "year": 1994}')
        agent = make_agent(OpenAIChat(fake.base_url, "m", timeout=30))
        answer = agent.ask("有没有像阿甘正传那样的电影", k=5)
        assert "阿甘正传" in fake.requests[0]["messages"][0]["content"]
    assert [m.movie_id for m in answer.resolved] == [356]
    assert len(answer.recommendations) == 5 and 356 not in [r.movie_id for r in
                                                            answer.recommendations]
    assert "我把《阿甘正传》理解为 Forrest Gump (1994)" in answer.reply


@pytest.mark.parametrize("reply", [
    '{"title": "Forrest Gump", "year": 1975}',        # the year does not fit the film
    '{"title": "Totally Made Up Film Name Xyz", "year": 2001}',   # not in the catalog
    '{"title": null, "year": null}',                  # does not know
    'not json at all',
])
def test_an_llm_translation_that_does_not_check_out_is_not_taken(make_agent, reply):
    from recbot.agent.llm.openai_chat import OpenAIChat
    from tests.llm_servers import FakeOpenAI

    with FakeOpenAI(default_reply='{"ids": []}') as fake:
        fake.reply(reply)
        answer = make_agent(OpenAIChat(fake.base_url, "m", timeout=30)).ask(
            "有没有像阿甘正传那样的电影", k=5)
    assert answer.kind == "clarify" and not answer.recommendations
    assert "原名" in answer.reply
