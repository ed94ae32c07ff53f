"""Follow-ups, questions and small talk in Chinese and Spanish (issue 33): the [[pivot]]
rows of rules/languages.toml read them as the English reader reads their English, and a
refinement of a Chinese or Spanish ask searches as the ask did."""

from __future__ import annotations

import pytest

from recbot.agent.reader.language import pivot


@pytest.mark.parametrize("text,lang,english", [
    ("ninguna de estas", "es", "none of these"),
    ("No, ninguna de esas.", "es", "none of these"),
    # a newcomer's follow-ups (round of 2026-12-07)
    ("还有吗", "zh", "more"),
    ("还有没有", "zh", "more"),
    ("¿por qué me recomiendas la segunda?", "es", "why the second one?"),
    ("gracias! por que recomiendas la primera?", "es", "thanks. why the first one?"),
    ("y la tercera quien la dirige?", "es", "who directed the third one?"),
    ("la segunda de quien es?", "es", "who directed the second one?"),
    ("de que año es la primera?", "es", "what year is the first one from?"),
    ("第一部是谁主演的", "zh", "who's in the first one?"),
    ("mas cortas porfa", "es", "shorter"),
    ("menos violenta todavia", "es", "less violent"),
    ("algo mas nuevo", "es", "newer"),
    ("太老了，有新一点的吗", "zh", "newer"),
    ("有没有老一点的", "zh", "older"),
    ("不要太暴力的", "zh", "less violent"),
    ("别太血腥", "zh", "less violent"),
    ("¿por qué la segunda?", "es", "why the second one?"),
    ("nos quedamos con la segunda, gracias", "es", "we'll watch the second one. thanks"),
    ("perfecto, la primera. ¡gracias!", "es", "ok. the first one. thanks"),
    ("谢谢，就看第一部了", "zh", "thanks. we'll watch the first one"),
    ("Por que la primera pelicula", "es", "why the first one?"),
    ("más como la tercera", "es", "more like the third one"),
    ("algo más reciente", "es", "newer"),
    ("más cortas", "es", "shorter"),
    ("gracias!", "es", "thanks"),
    ("这些都不喜欢", "zh", "none of these"),
    ("为什么推荐第二部？", "zh", "why the second one?"),
    ("为什么是第3个", "zh", "why the third one?"),
    ("再来几部", "zh", "more"),
    ("新一点的", "zh", "newer"),
    ("谢谢", "zh", "thanks"),
    # particles and courtesies at the end
    ("为什么推荐第二部呢", "zh", "why the second one?"),
    ("再来几部吧", "zh", "more"),
    ("谢谢你的推荐", "zh", "thanks"),
    ("ninguna de estas me gusta", "es", "none of these"),
    ("más, por favor", "es", "more"),
    # an ask, not a follow-up: the rows leave it alone
    ("una película de terror", "es", None),
    ("有没有什么好看的恐怖片？", "zh", None),
    ("¿por qué la sexta?", "es", None),       # no sixth: not read as another
    ("algo más ligero", "es", "something lighter"),
    ("más oscuras", "es", "darker"),
    ("轻松一点的", "zh", "something lighter"),
    ("更", "zh", None),
    ("来点轻松的喜剧", "zh", None),            # an ask of its own
    # follow-ups a newcomer typed turn by turn
    ("otra más?", "es", "another one"),
    ("¿tienes otra?", "es", "another one"),
    ("ya vi la primera y la tercera", "es", "I've seen the first one and the third one"),
    ("la segunda se ve buena, ¿de qué trata?", "es", "what's the second one about?"),
    ("¿quién dirigió la cuarta?", "es", "who directed the fourth one?"),
    ("¿cuánto dura la tercera?", "es", "how long is the third one?"),
    ("gracias, ¿tienes otra?", "es", "thanks. another one"),
    ("再来一部", "zh", "one more"),
    ("看过了，换一个", "zh", "seen it. none of these"),
    ("第三部多长", "zh", "how long is the third one?"),
    ("第一部讲什么的", "zh", "what's the first one about?"),
    ("第二部是谁导演的", "zh", "who directed the second one?"),
    ("看过了，来点轻松的喜剧", "zh", None),     # one clause is an ask: not a follow-up
    ("la quinta, ¿es buena?", "es", "is the fifth one any good?"),
    ("¿quién sale en la segunda?", "es", "who's in the second one?"),
    ("第二部评分多少", "zh", "is the second one any good?"),
    ("gracias, chao", "es", "thanks. bye"),
    ("vale, muchas gracias!", "es", "ok. thanks"),
    ("ya vimos todas esas jaja", "es", "seen them all"),
    ("谢谢，再见", "zh", "thanks. bye"),
    ("好的，拜拜", "zh", "ok. bye"),
    ("这些都看过了", "zh", "seen them all"),
    ("太长了，有短一点的吗", "zh", "shorter"),
    ("有没有不那么长的", "zh", "shorter"),
    ("y de qué se trata la segunda?", "es", "what's the second one about?"),
    ("¿cuál me recomiendas más?", "es", "which of those is the best?"),
    ("哪部最好看", "zh", "which of those is the best?"),
    ("不要90年代了，最近几年的吧", "zh", "forget the decade. something recent"),
    ("olvida los 80, algo reciente", "es", "forget the decade. something recent"),
    ("la segunda suena bien, algo parecido?", "es", "more like the second one"),
    ("algo como la segunda", "es", "more like the second one"),
    ("mas como la 2", "es", "more like the second one"),
    ("第二部不错，还有类似的吗", "zh", "more like the second one"),
    ("喜欢第二部，还有类似的吗", "zh", "more like the second one"),
    ("像第三部那样的", "zh", "more like the third one"),
    ("¿quién sale?", "es", "who's in it?"),
    ("谁演的", "zh", "who's in it?"),
    ("jaja gracias, eres un crack", "es", "thanks. ok"),
])
def test_pivot_rows(text, lang, english):
    assert pivot(text, lang) == english


@pytest.fixture(scope="module")
def ready(workspace):
    if not workspace.index.multilingual_is_current():
        workspace.index.build_multilingual()
    return workspace


def test_a_spanish_conversation(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror sobre una casa embrujada", k=5)
    shown = [r.movie_id for r in first.recommendations]
    assert len(shown) == 5
    why = agent.ask("¿por qué la segunda?", first.session)
    assert first.recommendations[1].title in why.reply
    other = agent.ask("ninguna de estas", first.session)
    again = [r.movie_id for r in other.recommendations]
    assert len(again) == 5 and not set(again) & set(shown)
    assert sum("Horror" in r.genres for r in other.recommendations) >= 4   # still the ask
    thanks = agent.ask("gracias", first.session)
    assert not thanks.recommendations and thanks.kind == "chitchat"


def test_an_english_word_after_a_spanish_ask_is_read_in_english(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror sobre una casa embrujada", k=5)
    more = agent.ask("more", first.session)     # not searched as a Spanish description
    shown = {r.movie_id for r in first.recommendations}
    assert len(more.recommendations) == 5 and not {r.movie_id for r in more.recommendations} \
        & shown
    assert sum("Horror" in r.genres for r in more.recommendations) >= 4
    otras = agent.ask("otras", first.session)   # and Spanish again after that
    assert len(otras.recommendations) == 5
    assert sum("Horror" in r.genres for r in otras.recommendations) >= 4


def test_a_refinement_rebuilds_a_torn_multilingual_file(ready, make_agent):
    index = ready.index
    agent = make_agent()
    first = agent.ask("una comedia romántica en París", k=5)
    good = index.multilingual_path.read_bytes()
    index.multilingual_path.write_bytes(good[: len(good) // 2])
    index.__dict__.pop("_multilingual_checked", None)
    index.__dict__.pop("multilingual_searcher", None)
    other = agent.ask("ninguna de estas", first.session)
    assert len(other.recommendations) == 5
    assert index.multilingual_is_current()


def test_a_chinese_conversation(ready, make_agent):
    agent = make_agent()
    first = agent.ask("我想看一部关于太空探险的科幻电影", k=5)
    assert len(first.recommendations) == 5
    why = agent.ask("为什么推荐第二部？", first.session)
    assert first.recommendations[1].title in why.reply
    more = agent.ask("再来几部", first.session)
    shown = {r.movie_id for r in first.recommendations}
    assert more.recommendations and not {r.movie_id for r in more.recommendations} & shown
    assert sum("Sci-Fi" in r.genres for r in more.recommendations) >= 3   # still the ask


@pytest.mark.parametrize("text,lang,english", [
    ("la primera ya la vi", "es", "I've seen the first one"),
    ("Ya vi la segunda.", "es", "I've seen the second one"),
    ("muéstrame la lista otra vez", "es", "show me the list again"),
    ("第一部看过了", "zh", "I've seen the first one"),
    ("我看过第二部", "zh", "I've seen the second one"),
    ("再显示一下刚才的片单", "zh", "show me the list again"),
    ("给我看看推荐", "zh", None),           # "show me recommendations": an ask, not "again"
])
def test_pivot_rows_for_feedback_on_a_pick_and_the_list_again(text, lang, english):
    assert pivot(text, lang) == english


def test_seen_a_pick_and_the_list_again_in_spanish(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror sobre una casa embrujada", k=5)
    seen = agent.ask("la primera ya la vi", first.session)
    assert seen.lang == "es" and seen.reply.startswith("Anotado para esta conversación")
    assert first.recommendations[0].movie_id not in [r.movie_id for r in seen.recommendations]
    again = agent.ask("muéstrame la lista otra vez", first.session)
    assert again.reply == "Aquí tienes otra vez la última lista."
    assert [r.movie_id for r in again.recommendations] == \
        [r.movie_id for r in seen.recommendations]


def test_a_refined_spanish_description_is_still_searched(ready, make_agent):
    """"ninguna de estas" after a Spanish description without a genre: the next list comes
    from the multilingual search again, not from what English chats suggested for the
    session's (Spanish) words, which gave John Wick and Independence Day."""
    agent = make_agent()
    first = agent.ask("busco una película sobre un robot que se enamora", k=5)
    other = agent.ask("ninguna de estas", first.session)
    assert len(other.recommendations) == 5
    assert all("chat_talk" not in r.sources for r in other.recommendations)
    assert sum("search" in r.sources for r in other.recommendations) >= 4


def test_a_follow_up_that_only_keeps_out_or_bounds_narrows_the_last_ask(ready, make_agent):
    """'quiero algo de acción' then 'pero nada de superhéroes': still action, no superhero
    film; '来点轻松的喜剧' then '不要爱情片' then '有没有九十年代的': comedies without romance,
    then of the 90s (a newcomer lost the comedy at each step). Answered in the ask's language."""
    agent = make_agent()
    first = agent.ask("quiero algo de acción", k=5)
    nxt = agent.ask("pero nada de superhéroes", first.session)
    kept_out = agent.generator.films_naming("superheroes")
    assert len(nxt.recommendations) == 5 and nxt.lang == "es"
    assert all("Action" in r.genres for r in nxt.recommendations), nxt.reply
    assert not {r.movie_id for r in nxt.recommendations} & kept_out, nxt.reply
    first = agent.ask("来点轻松的喜剧", k=5)
    nxt = agent.ask("不要爱情片", first.session)
    assert len(nxt.recommendations) == 5 and nxt.lang == "zh"
    assert all("Comedy" in r.genres and "Romance" not in r.genres
               for r in nxt.recommendations), nxt.reply
    last = agent.ask("有没有九十年代的", first.session)
    assert all("Comedy" in r.genres and "Romance" not in r.genres
               and 1990 <= (r.year or 0) <= 1999 for r in last.recommendations), last.reply
    assert len(last.recommendations) == 5


def test_a_question_about_a_pick_by_its_place_answers_in_the_ask_language(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror sobre una casa embrujada", k=5)
    second = first.recommendations[1]
    about = agent.ask("la segunda se ve buena, ¿de qué trata?", first.session)
    assert about.kind == "about" and not about.recommendations
    assert about.reply.startswith(f"{second.title} (") and "Géneros: " in about.reply
    assert "Genres:" not in about.reply and "Directed by" not in about.reply
    seen = agent.ask("ya vi la primera y la tercera", first.session)
    gone = {first.recommendations[0].movie_id, first.recommendations[2].movie_id}
    assert seen.recommendations and not gone & {r.movie_id for r in seen.recommendations}
    assert seen.reply.startswith("Anotado para esta conversación")
    assert first.recommendations[0].title in seen.reply and first.recommendations[2].title in \
        seen.reply
    rated = agent.ask("la quinta, ¿es buena?", first.session)
    assert rated.kind == "about" and "sobre 5" in rated.reply


def test_a_decade_dropped_for_recent_films_in_chinese_keeps_the_genre(ready, make_agent):
    agent = make_agent()
    first = agent.ask("有什么好看的科幻片", k=5)
    nineties = agent.ask("九十年代的", first.session)
    assert all(1990 <= r.year <= 1999 for r in nineties.recommendations)
    recent = agent.ask("不要90年代了，最近几年的吧", first.session)
    assert len(recent.recommendations) == 5
    assert all(r.year >= 2013 and "Sci-Fi" in r.genres for r in recent.recommendations)


@pytest.mark.parametrize("first,text", [("una comedia romántica", "perfecto, la primera. ¡gracias!"),
                                        ("一部喜剧", "谢谢，就看第一部了")])
def test_choosing_a_pick_in_spanish_or_chinese_ends_the_chat(ready, make_agent, first, text):
    """It searched "perfecto, la primera. ¡gracias!" and listed Men in Black II."""
    agent = make_agent()
    one = agent.ask(first, k=5)
    ans = agent.ask(text, one.session)
    assert one.recommendations and not ans.recommendations, (ans.kind, ans.reply)


def test_not_too_old_and_a_year_said_later_keep_the_genre_in_chinese(ready, make_agent):
    """A newcomer's Chinese chat: "最好是科幻片，不要太老的" (sci-fi, not too old) gave Star Wars
    (1977) first; "都太老了，我想要2010年以后的" then dropped the sci-fi and searched its words."""
    agent = make_agent()
    first = agent.ask("你好，今晚想看一部电影，最好是科幻片，不要太老的", k=5)
    assert first.recommendations and all(
        r.year >= 2000 and "Sci-Fi" in r.genres for r in first.recommendations), \
        [(r.title, r.year) for r in first.recommendations]
    later = agent.ask("都太老了，我想要2010年以后的", first.session, k=5)
    assert len(later.recommendations) == 5 and all(
        r.year >= 2010 and "Sci-Fi" in r.genres for r in later.recommendations), \
        [(r.title, r.year, r.genres) for r in later.recommendations]
    es = agent.ask("una de terror que no sea muy vieja", k=5)
    assert es.recommendations and all(r.year >= 2000 for r in es.recommendations)


def test_soft_critiques_and_a_studio_kept_out_in_spanish_and_chinese(ready, make_agent):
    """A newcomer's asks: "别太血腥" (not too gory) inside a Chinese horror ask is a soft
    critique, not ignored; "que no sea de disney" after a Spanish ask for an animated film
    keeps the films tagged Disney out (it gave five Disney films)."""
    from recbot.agent.reader.language import read_other

    assert read_other("周末想和朋友看恐怖片，要吓人一点的，别太血腥", "zh")["critiques"] == [
        "less_violent"]
    assert read_other("un thriller bueno pero sin tanta violencia", "es")["critiques"] == [
        "less_violent"]
    assert read_other("una peli violenta", "es")["critiques"] == []
    agent = make_agent()
    first = agent.ask("peli animada para ver con mis hijos, nada de miedo", k=5)
    nxt = agent.ask("que no sea de disney", first.session)
    disney = agent.generator.films_naming("disney")
    assert len(disney) >= 10
    assert len(nxt.recommendations) == 5 and nxt.lang == "es", nxt.reply
    assert not {r.movie_id for r in nxt.recommendations} & disney, nxt.reply
    assert all("Animation" in r.genres for r in nxt.recommendations), nxt.reply


def test_a_spanish_person_ask_keeps_the_person_when_a_genre_is_kept_out(ready, make_agent):
    """'algo con Meryl Streep' then 'pero que no sea drama': her films without drama (a
    newcomer got The Matrix, Seven); the first headline searches no 'algo con'."""
    agent = make_agent()
    first = agent.ask("algo con Meryl Streep", k=5)
    assert first.recommendations and "algo con" not in first.reply, first.reply
    nxt = agent.ask("pero que no sea drama", first.session)
    hers = set(agent.mentions_person("Meryl Streep"))
    assert nxt.recommendations and nxt.lang == "es", nxt.reply
    assert all(r.movie_id in hers and "Drama" not in r.genres for r in nxt.recommendations), \
        nxt.reply


def test_spanish_typed_without_accents_is_read_as_spanish(ready, make_agent):
    """'una de accion de los 80' then 'algo mas nuevo porfa': newer action films, answered
    in Spanish (without its accents the message read as Portuguese, 'a language recbot
    does not read')."""
    from recbot.agent.reader.language import language

    assert language("algo mas nuevo porfa", "es") == "es"
    agent = make_agent()
    first = agent.ask("una de accion de los 80", k=5)
    nxt = agent.ask("algo mas nuevo porfa", first.session)
    assert len(nxt.recommendations) == 5 and nxt.lang == "es", nxt.reply
    assert all("Action" in r.genres and r.year >= 1985 for r in nxt.recommendations), nxt.reply


@pytest.mark.parametrize("text,lang,minutes", [
    ("nada muy largo", "es", 100),
    ("algo corto", "es", 100),
    ("una comedia de menos de dos horas", "es", 120),
    ("不要太长的，两个小时以内", "zh", 120),
    ("都太长了，有没有短一点的", "zh", 100),
    ("una de terror de los 80", "es", None),
    ("menos de hora y media", "es", 90),
    ("no mas de dos horas", "es", 120),
    ("¿cuál es la más corta?", "es", None),        # a question, no bound
    ("不超过两个小时", "zh", 120),
    ("一个半小时以内", "zh", 90),
    ("哪部最短的", "zh", None),
])
def test_how_long_a_chinese_or_spanish_ask_wants_the_film(text, lang, minutes):
    from recbot.agent.reader.language import read_other

    assert read_other(text, lang)["runtime_max"] == minutes


@pytest.mark.parametrize("first,text,lang", [
    ("una comedia", "nada muy largo", "es"),
    ("想看Tom Hanks的电影", "不要太长的，两个小时以内", "zh"),
])
def test_a_length_said_in_chinese_or_spanish_bounds_the_list(ready, make_agent, first, text, lang):
    agent = make_agent()
    start = agent.ask(first, k=5)
    answer = agent.ask(text, start.session)
    read_minutes = 120 if lang == "zh" else 100
    runtimes = [agent.catalog[r.movie_id].runtime_min for r in answer.recommendations]
    assert answer.lang == lang and answer.recommendations and all(
        rt is not None and rt <= read_minutes for rt in runtimes), (runtimes, answer.reply)


@pytest.mark.parametrize("text,lang,title,role", [
    ("me gustó Heat", "es", "Heat", "liked"),
    ("me encanta Heat", "es", "Heat", "liked"),
    ("ya vi Titanic, algo de romance?", "es", "Titanic", "seen"),
    ("no me gustó Cars, algo para niños", "es", "Cars", "disliked"),
    ("Heat看过了", "zh", "Heat", "seen"),
    ("ya vi Heat y no me gustó", "es", "Heat", "disliked"),
    ("Heat看过了，不喜欢", "zh", "Heat", "disliked"),
])
def test_a_latin_title_after_a_spanish_verdict_or_before_a_chinese_one(ready, make_agent, text,
                                                                      lang, title, role):
    """ "me gustó Heat" liked Heat (it searched "me gustó Heat"); "ya vi Titanic" has seen
    it (Titanic was the first pick); the reply stays in the ask's language."""
    answer = make_agent().ask(text, k=5)
    roles = {m.title: answer.roles.get(m.movie_id) for m in answer.resolved}
    assert roles.get(title) == role, (roles, answer.reply)
    assert answer.lang == lang and title not in [r.title for r in answer.recommendations]


def test_tambien_is_no_title_and_y_carries_the_verdict(ready, make_agent):
    answer = make_agent().ask("me gusto Heat, y Casino tambien", k=5)
    assert sorted(m.title for m in answer.resolved) == ["Casino", "Heat"], answer.reply


@pytest.mark.parametrize("text,lang", [("hola", "es"), ("gracias", "es"), ("algo corto", "es")])
def test_one_spanish_word_as_a_first_message_is_answered_in_spanish(ready, make_agent, text, lang):
    answer = make_agent().ask(text, k=5)
    assert answer.lang == lang and answer.kind != "nonsense", answer.reply


@pytest.mark.parametrize("text", ["no vi Heat, ¿es buena?", "todavía no he visto Heat",
                                  "nunca vi Titanic, algo de romance"])
def test_not_seen_in_spanish_is_not_seen(ready, make_agent, text):
    answer = make_agent().ask(text, k=5)
    assert "seen" not in answer.roles.values(), (answer.roles, answer.reply)


@pytest.mark.parametrize("text,person", [("me gustó Heat, algo con Al Pacino", "Al Pacino")])
def test_a_verdict_keeps_the_rest_of_the_ask(ready, make_agent, text, person):
    agent = make_agent()
    answer = agent.ask(text, k=5)
    films = set(agent.mentions_person(person))
    assert answer.recommendations and all(r.movie_id in films for r in answer.recommendations), \
        answer.reply


@pytest.mark.parametrize("text,lang", [("ya vi Heat, algo parecido", "es"),
                                       ("ya vi Heat, ¿qué me recomiendas?", "es"),
                                       ("Heat看过了，推荐点别的", "zh")])
def test_seen_and_an_ask_gives_a_list_without_the_film(ready, make_agent, text, lang):
    answer = make_agent().ask(text, k=5)
    assert answer.lang == lang and len(answer.recommendations) == 5 and "Heat" not in [
        r.title for r in answer.recommendations], answer.reply
