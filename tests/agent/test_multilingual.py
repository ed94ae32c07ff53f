"""Asks in Chinese and Spanish (issue 33, first part): the language of a message, the
multilingual embedder (real USE v3 in numpy), its catalog index and the ask route."""

from __future__ import annotations

import numpy as np
import pytest

from recbot.agent.reader.language import language

# ----- which language -------------------------------------------------------------------------

LANGUAGE_CASES = [
    # (message, the conversation's language so far, expected)
    ("我想看一部关于太空探险的科幻电影", "en", "zh"),
    ("有没有什么好看的恐怖片？", "en", "zh"),
    ("推荐几部像 Forrest Gump 一样的电影", "en", "zh"),
    ("una película de terror de los años 80", "en", "es"),
    ("quiero una comedia romántica ligera para esta noche", "en", "es"),
    ("recomiéndame algo como Forrest Gump", "en", "es"),
    ("¿por qué la segunda?", "en", "es"),
    ("ninguna de estas", "en", "es"),
    ("something like Forrest Gump", "en", "en"),
    ("something like Amores Perros", "en", "en"),        # a Spanish title in English
    ("a funny animated film, nothing before 2000", "en", "en"),
    ("none of these", "es", "en"),
    ("why the second one?", "zh", "en"),
    ("Amélie", "en", "en"),                              # one title decides nothing
    ("La La Land", "en", "en"),
    ("La La Land", "es", "es"),                          # ... nor does it switch back
    ("gracias", "es", "es"),
    ("ok", "zh", "zh"),
    ("je veux un film drôle pour ce soir", "en", "other"),
    ("ich möchte einen lustigen Film sehen", "en", "other"),
    ("君の名は みたいな映画", "en", "other"),                 # kana: Japanese
    ("Хочу посмотреть фильм", "en", "other"),
    ("영화 추천해 주세요", "en", "other"),
]


@pytest.mark.parametrize("text,previous,expected", LANGUAGE_CASES)
def test_the_language_of_a_message(text, previous, expected):
    assert language(text, previous) == expected


# ----- the embedder ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def use(tmp_path_factory):
    from recbot.retrieval.multilingual import UseEmbedder

    return UseEmbedder(cache_dir=tmp_path_factory.mktemp("use-cache"))


def test_translations_land_nearer_than_another_topic(use):
    v = use.embed(["a science fiction adventure in space",
                   "una aventura de ciencia ficción en el espacio",
                   "一部关于太空冒险的科幻电影",
                   "a romantic comedy set in Paris"])
    assert v.shape == (4, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v[0]
    assert sims[1] > sims[3] + 0.2 and sims[2] > sims[3] + 0.2


def test_a_long_text_is_cut_and_a_string_is_refused(use):
    from recbot.retrieval.multilingual import MAX_CHARS

    long = "a heist in a casino. " * 2000
    np.testing.assert_allclose(use.embed([long])[0], use.embed([long[:MAX_CHARS]])[0],
                               atol=1e-6)
    with pytest.raises(TypeError):
        use.embed("one string")


def test_weights_that_do_not_match_their_pin_are_refused(tmp_path, monkeypatch):
    from recbot.retrieval import multilingual
    from recbot.retrieval.bundled import BundledFile
    from recbot.retrieval.errors import EmbeddingError

    fake = tmp_path / "weights.npz"
    fake.write_bytes(b"x" * multilingual.USE_WEIGHTS.size)   # right size, wrong bytes
    monkeypatch.setattr(BundledFile, "locate", lambda self: fake)
    with pytest.raises(EmbeddingError, match="sha256 .* does not match .*--force-reinstall"):
        multilingual.UseEmbedder(cache_dir=tmp_path / "cache").embed(["hola"])


# ----- the catalog index and the ask ---------------------------------------------------------

@pytest.fixture(scope="module")
def built(workspace):
    """The multilingual catalog of the shared agent workspace, built once (real USE)."""
    index = workspace.index
    index.multilingual_path.unlink(missing_ok=True)    # (another module may have built it)
    embedded = index.build_multilingual()
    return index, embedded


def test_the_catalog_is_embedded_once_then_incrementally(built):
    index, embedded = built
    assert embedded == len(index.data.catalog)
    assert index.multilingual_is_current()
    assert index.build_multilingual() == 0            # nothing changed: nothing embedded


def test_a_damaged_multilingual_file_is_rebuilt(built):
    index, _ = built
    path = index.multilingual_path
    good = path.read_bytes()
    try:
        path.write_bytes(good[: len(good) // 3])      # torn
        assert not index.multilingual_is_current()
        assert index.build_multilingual() == len(index.data.catalog)
        assert index.multilingual_is_current()
    finally:
        if not index.multilingual_is_current():
            path.write_bytes(good)


@pytest.mark.parametrize("text,genre", [
    ("una película de terror", "Horror"),
    ("一部关于太空冒险的科幻电影", "Sci-Fi"),
    ("una comedia romántica", "Romance"),
])
def test_search_in_another_language_finds_the_genre_it_describes(built, text, genre):
    index, _ = built
    hits = index.search(text, k=5, lang=language(text))
    catalog = index.data.catalog
    assert len(hits) == 5
    assert sum(genre in catalog[h.movie_id].genres for h in hits) >= 4, \
        [catalog[h.movie_id].label() for h in hits]


def test_each_language_searches_its_index(built):
    index, _ = built
    assert index.search("space adventure", k=3) == index.searcher.search("space adventure", k=3)
    spanish = index.search("una aventura espacial", k=3, lang="es")
    assert spanish == index.multilingual_searcher.search("una aventura espacial", k=3)
    assert spanish != index.searcher.search("una aventura espacial", k=3)


def test_a_file_of_the_wrong_types_is_not_used(built, tmp_path):
    import json

    index, _ = built
    path = index.multilingual_path
    good = path.read_bytes()
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays["header"].tobytes().decode())
        assert header["embedder"] == "use-multilingual-v3"
        for field, bad in (("vectors", arrays["vectors"].astype("<U3")),
                           ("vectors", np.full_like(arrays["vectors"], np.nan))):
            with path.open("wb") as fh:
                np.savez(fh, **{**arrays, field: bad})
            index.__dict__.pop("_multilingual_checked", None)
            assert index._read_multilingual() == {} and not index.multilingual_is_current()
    finally:
        path.write_bytes(good)
        index.__dict__.pop("_multilingual_checked", None)
    assert index.multilingual_is_current()


def test_a_spanish_ask_gets_a_list_of_what_it_describes(built, make_agent):
    agent = make_agent()
    answer = agent.ask("una película de terror de los años 80", k=5)
    recs = answer.recommendations
    assert len(recs) == 5
    assert sum("Horror" in r.genres for r in recs) >= 4, [r.title for r in recs]
    assert all(r.explanation for r in recs)


def test_a_chinese_ask_gets_a_list(built, make_agent):
    answer = make_agent().ask("我想看一部关于太空探险的科幻电影", k=5)
    assert len(answer.recommendations) == 5
    assert sum("Sci-Fi" in r.genres for r in answer.recommendations) >= 3


def test_a_latin_title_inside_chinese_is_still_read(built, make_agent):
    answer = make_agent().ask("推荐几部像 Forrest Gump 一样的电影", k=5)
    assert [m.movie_id for m in answer.resolved] == [356]
    assert answer.recommendations and 356 not in [r.movie_id for r in answer.recommendations]


def test_an_ask_in_a_language_recbot_does_not_read_is_told_which_it_reads(make_agent):
    answer = make_agent().ask("je voudrais un film romantique pour ce soir", k=5)
    assert not answer.recommendations
    assert "English, Chinese and Spanish" in answer.reply


def test_score_fusion_of_two_searches_keeps_the_first_ones_evidence():
    from recbot.agent.candidates.generator import fuse_scores
    from recbot.retrieval.search import Evidence, Hit

    said = (Evidence("transcript", "they build a filter", 1.0, 5.0, "apollo.wav", 0.4),)
    mini = [Hit(1, "A", 2000, 0.60, said), Hit(2, "B", 2001, 0.50, ()), Hit(3, "C", 2002, 0.40, ())]
    use = [Hit(3, "C", 2002, 0.90, ()), Hit(4, "D", 2003, 0.80, ()), Hit(1, "A", 2000, 0.30, ())]
    got = fuse_scores(mini, use, 0.5)
    assert [h.movie_id for h in got] == [3, 4, 1, 2]
    # C: (0.40 + 0.90) / 2; D: only the second found it, the first's lowest (0.40) stands in
    assert got[0].score == pytest.approx(0.65) and got[1].score == pytest.approx(0.60)
    assert got[2].evidence == said          # the first search's evidence is kept
    assert fuse_scores(mini, [], 0.5) == mini and fuse_scores([], use, 0.5) == use
    assert [h.movie_id for h in fuse_scores(mini, use, 0.0)] == [1, 2, 3, 4]


@pytest.mark.parametrize("text,lang,described", [
    ("la película en la que fabrican un filtro de dióxido de carbono con cinta adhesiva", "es",
     "fabrican un filtro de dióxido de carbono con cinta adhesiva"),
    ("Busco una película sobre un robot que se enamora", "es", "un robot que se enamora"),
    ("Hola, ¿me recomiendas una peli donde un perro viaja solo?", "es",
     "un perro viaja solo?"),
    ("comedia negra en la nieve de Minnesota", "es", "comedia negra en la nieve de Minnesota"),
    ("una película de miedo", "es", "una película de miedo"),     # too little left: as said
    ("我想看一部关于太空探险的科幻电影", "zh", "太空探险的科幻"),
    ("宇航员用胶带和袜子做了一个二氧化碳过滤器的电影", "zh", "宇航员用胶带和袜子做了一个二氧化碳过滤器"),
    ("90年代青春喜剧，比佛利山庄的富家千金", "zh", "90年代青春喜剧，比佛利山庄的富家千金"),
    ("想看电影", "zh", "想看电影"),                               # nothing left: as said
    ("找一部讲述二战的片子吗？", "zh", "二战"),                  # 讲述 whole, not 讲
    ("找到了新世界的电影", "zh", "找到了新世界"),                # 找到 is no "find me"
    ("一个人的武林", "zh", "一个人的武林"),                      # a title keeps its 一个
])
def test_the_lead_in_of_an_ask_is_taken_off_before_the_search(text, lang, described):
    from recbot.agent.reader.language import described_part

    assert described_part(text, lang) == described
