"""Replies in the language of the ask (issue 33, item 3): the fixed phrases of an answer
through the gettext catalogs of agent/i18n, film titles and tags as the catalog has them;
English untouched."""

from __future__ import annotations

import gettext
import io
import re

import pytest

from recbot.agent import i18n
from recbot.agent.explain.evidence import Fact, Words, fact
from recbot.agent.i18n import messages
from recbot.agent.kinds import FactKind

# English fixed phrases of answers and reasons (none is a word of a film title)
ENGLISH = ("Here are", "Here is", "people suggested it", "rated by", "directed by",
           "starring", "matches your description", "which pushed it up", "fits your request",
           "by MovieLens users", "Noted for this chat", "in real recommendation chat",
           "that many people love", "Its rank by each signal", "Tell me", "ratings)")
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_phrase_of_the_code_is_in_both_catalogs():
    assert len(messages.needed()) > 100
    assert messages.problems("zh") == []
    assert messages.problems("es") == []


def test_a_catalog_missing_a_phrase_or_a_field_is_caught(tmp_path):
    po = tmp_path / "x.po"
    po.write_text('msgid "from {year} on"\nmsgstr "desde"\n\n'
                  'msgid "up to {year}"\nmsgstr "hasta {anio}"\n', encoding="utf-8")
    want = [messages.Message("from {year} on"), messages.Message("up to {year}"),
            messages.Message("no {genre}")]
    got = messages.problems("es", po, want)
    assert any("drops ['year']" in line for line in got)
    assert any("['anio']" in line for line in got)
    assert any("missing 'no {genre}'" in line for line in got)


def test_the_extractor_reads_calls_not_running_them(tmp_path):
    (tmp_path / "mod.py").write_text(
        'tr("one {x}", x=1)\nntr("a film", "{n} films", 2)\nptr("genre", "Drama")\n'
        'N_("marked")\ntr(some_variable)\n', encoding="utf-8")
    got = {(m.context, m.msgid, m.plural) for m in messages.from_source(tmp_path)}
    assert got == {(None, "one {x}", None), (None, "a film", "{n} films"),
                   ("genre", "Drama", None), (None, "marked", None)}


def test_po_reader_plurals_contexts_and_fallback():
    text = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
            'msgid "a film"\nmsgid_plural "{n} films"\nmsgstr[0] "una película"\n'
            'msgstr[1] "{n} películas"\n\n'
            'msgctxt "genre"\nmsgid "War"\nmsgstr "Bélica"\n\n'
            'msgid "War"\nmsgstr "Guerra"\n\n'
            '#, fuzzy\nmsgid "unsure"\nmsgstr "dudoso"\n\n'
            'msgid "long"\nmsgstr ""\n"dos "\n"líneas \\"citadas\\""\n')
    cat = gettext.GNUTranslations(io.BytesIO(i18n.mo_bytes(i18n.parse_po(text))))
    assert cat.ngettext("a film", "{n} films", 1) == "una película"
    assert cat.ngettext("a film", "{n} films", 3) == "{n} películas"
    assert cat.pgettext("genre", "War") == "Bélica" and cat.gettext("War") == "Guerra"
    assert cat.gettext("unsure") == "unsure"          # fuzzy: not used
    assert cat.gettext("long") == 'dos líneas "citadas"'
    assert cat.gettext("not there") == "not there"    # English when a phrase is missing
    with pytest.raises(i18n.CatalogError, match="line 1"):
        i18n.parse_po("msgid oops\n")


def test_english_is_the_phrase_itself_and_other_languages_fall_back_to_it():
    assert i18n.tr("from {year} on", year=1990) == "from 1990 on"
    with i18n.speaking("es"):
        assert i18n.tr("from {year} on", year=1990) == "desde 1990"
        assert i18n.ntr("Here is {n} film that many people love",
                        "Here are {n} films that many people love", 1).startswith(
            "Aquí tienes 1 película")
    with i18n.speaking("zh"):
        assert i18n.genre("Sci-Fi") == "科幻" and i18n.join(["A", "B"], " and ") == "A 和 B"
    with i18n.speaking("fr"):                   # not a reply language: English
        assert i18n.current() == "en" and i18n.genre("Sci-Fi") == "Sci-Fi"
    assert i18n.current() == "en"


def test_a_fact_keeps_english_text_and_says_itself_in_the_turns_language():
    with i18n.speaking("es"):      # made during a Spanish turn: its text is still English
        f = fact(FactKind.SHARED_GENRES, "shares {genres} with {title}",
                 genres=Words(("Crime", "Drama"), genres=True), title="Heat")
        assert f.text == "shares Crime, Drama with Heat"
        assert f.said() == "comparte Crimen, Drama con Heat"
    assert f.said() == f.text
    back = Fact.from_dict(f.as_dict())      # as a session stores it
    assert back == f and back.origin == "MovieLens genres"
    with i18n.speaking("zh"):
        assert back.said() == "和 Heat 同属犯罪、剧情"
    hostile = Fact.from_dict({"kind": "tags", "text": "tagged x", "msg": "tagged {tags}",
                              "fields": [["tags", {"items": "not a list"}]]})
    assert hostile.msg is None and hostile.said() == "tagged x"


@pytest.fixture(scope="module")
def ready(workspace):
    if not workspace.index.multilingual_is_current():
        workspace.index.build_multilingual()
    return workspace


def _no_english(answer) -> None:
    texts = [answer.reply, *(r.explanation for r in answer.recommendations)]
    for text in texts:
        for r in answer.recommendations:      # titles are data: as the catalog has them
            text = text.replace(r.title, "")
        for phrase in ENGLISH:
            assert phrase not in text, (phrase, text)


def test_a_spanish_conversation_is_answered_in_spanish(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror de los años 80", k=5)
    assert first.lang == "es" and first.as_dict()["lang"] == "es"
    assert first.reply.startswith("Aquí tienes 5 películas") and "Terror" in first.reply
    assert "de 1980 a 1989" in first.reply
    _no_english(first)
    assert all(r.explanation and r.info.get("lang") == "es" for r in first.recommendations)
    why = agent.ask("¿por qué la segunda?", first.session)
    assert why.reply.startswith(f"Por qué {first.recommendations[1].label()}")
    assert why.lang == "es"
    other = agent.ask("ninguna de estas", first.session)
    assert other.reply.startswith("Aquí tienes") and other.lang == "es"
    _no_english(other)
    thanks = agent.ask("gracias", first.session)
    assert thanks.reply.startswith("¡De nada")
    more = agent.ask("more", first.session)      # English words get English
    assert more.lang == "en" and more.reply.startswith("Here are")


def test_a_chinese_conversation_is_answered_in_chinese(ready, make_agent):
    agent = make_agent()
    first = agent.ask("有没有什么好看的恐怖片？", k=5)
    assert first.lang == "zh" and first.reply.startswith("推荐 5 部") and "恐怖" in first.reply
    _no_english(first)
    for r in first.recommendations:
        assert HAN.search(r.explanation), r.explanation
    why = agent.ask("为什么推荐第二部？", first.session)
    assert why.reply.startswith(f"为什么推荐 {first.recommendations[1].label()}")
    thanks = agent.ask("谢谢", first.session)
    assert thanks.reply.startswith("不客气")


def test_a_chinese_title_unknown_is_asked_for_in_chinese(ready, make_agent):
    answer = make_agent().ask("有没有像阿甘正传那样的电影？")
    assert answer.kind == "clarify" and answer.lang == "zh"
    assert answer.reply.startswith("我在片库里找不到《阿甘正传》")


def test_a_language_recbot_does_not_read_is_told_in_english(ready, make_agent):
    answer = make_agent().ask("je voudrais un film romantique, s'il vous plaît")
    assert answer.lang == "en" and "English, Chinese and Spanish" in answer.reply


def test_two_directors_are_joined_in_the_turns_language_and_english_is_as_before():
    from types import SimpleNamespace

    from recbot.agent.explain.evidence import catalog_facts

    movie = SimpleNamespace(directors=("Ron Clements", "John Musker"), director="Ron Clements",
                            stars=(), tags=(), genres=("Animation",), overview=None,
                            directed_by=lambda: "Ron Clements and John Musker")
    f = next(f for f in catalog_facts(movie, []) if f.kind == "director")
    assert f.text == "directed by Ron Clements and John Musker"
    with i18n.speaking("es"):
        assert f.said() == "dirigida por Ron Clements y John Musker"


def test_lists_and_sentences_in_each_language():
    assert i18n.either(["A (1998)", "A (2014)", "A (1954)"]) == "A (1998), A (2014) or A (1954)"
    with i18n.speaking("es"):
        assert i18n.either(["A", "B", "C"]) == "A, B o C"
        # a quote that ends a clause ends no sentence: the full stop is still added
        assert i18n.sentence('se sugirió a personas que pedían "heat"') == \
            'Se sugirió a personas que pedían "heat".'
        assert i18n.sentence('dijo "hola."') == 'Dijo "hola."'
        assert i18n.sentences(["Uno.", "Dos."]) == "Uno. Dos."
    with i18n.speaking("zh"):
        assert i18n.sentences(["一。", "二。"]) == "一。二。"


def test_stored_phrases_that_are_not_the_facts_own_are_dropped():
    good = fact(FactKind.MATCH, "matches your description (similarity {score:.2f})", score=0.5)
    d = good.as_dict()
    assert Fact.from_dict(d).msg == good.msg
    for tampered in ({**d, "fields": [["score", "0.50"]]},          # a string for a number
                     {**d, "fields": []},                             # a field missing
                     {**d, "msg": "{score.__class__}", "text": "<class 'float'>"},   # lookups
                     {**d, "msg": "anything else {score:.2f}"}):     # not what the text says
        back = Fact.from_dict(tampered)
        assert back.msg is None and back.fields == ()
        with i18n.speaking("es"):
            assert back.said() == back.text                           # English, no error


def test_why_after_a_list_in_another_language_is_said_in_this_one(ready, make_agent):
    agent = make_agent()
    first = agent.ask("a funny animated film", k=5)
    assert first.lang == "en"
    why = agent.ask("¿por qué la segunda?", first.session)
    assert why.lang == "es" and why.reply.startswith("Por qué")
    _no_english(why)
    reason = why.recommendations[0].explanation
    assert reason and why.reply.count(reason) == 1 and why.recommendations[0].info["lang"] == "es"
    second = agent.ask("有没有什么好看的恐怖片？", k=5)
    back = agent.ask("why #2?", second.session)
    assert back.lang == "en" and back.reply.startswith("Why ")
    assert not HAN.search(back.reply.replace(second.recommendations[1].title, ""))


def test_a_spanish_follow_up_that_reads_like_english_stays_spanish(ready, make_agent):
    agent = make_agent()
    first = agent.ask("una película de terror sobre una casa embrujada", k=5)
    for follow in ("sin gore", "otra"):
        answer = agent.ask(follow, first.session)
        assert answer.lang == "es", (follow, answer.reply)
