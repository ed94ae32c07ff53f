"""What real chats suggested to seekers who said something like this (retrieval.prior):
the shipped contexts and their vectors, with the real bundled MiniLM embedder."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.embed import MiniLMEmbedder
from recbot.retrieval.prior import (
    CONTEXTS_VECTORS,
    ChatNeighbours,
    Context,
    seeker_words,
    talk_text,
)


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def cat():
    return load_catalog(BUNDLED_DATASET_DIR)


@pytest.fixture(scope="module")
def shipped(embedder):
    nb = ChatNeighbours.load()
    assert nb.attach(embedder.name, None), "the shipped vectors should fit the bundled embedder"
    return nb


def test_talk_keeps_the_newest_whole_messages():
    msgs = ["a" * 400, "b" * 400, "c" * 400, "the newest"]
    text = talk_text(msgs, limit=1000)
    assert text.split("\n") == ["b" * 400, "c" * 400, "the newest"]
    assert talk_text(["x" * 50 + "END"], limit=20) == "x" * 17 + "END"
    assert talk_text(["", "  ", "hi"]) == "hi"


def test_shipped_contexts_come_from_the_learn_part_and_name_catalog_films(shipped, cat):
    assert len(shipped.contexts) > 1000
    assert all(c.text and len(c.text) <= 1000 for c in shipped.contexts)
    films = {m for c in shipped.contexts for m in c.films}
    assert films and all(m in cat for m in films)


def test_shipped_vectors_are_the_bundled_embedders(shipped, embedder):
    """A stale vector file (texts changed, embedder changed) would rank nonsense."""
    rng = np.random.default_rng(7)
    sample = rng.choice(len(shipped.contexts), size=24, replace=False)
    fresh = embedder.embed([shipped.contexts[i].text for i in sample])
    cos = np.sum(fresh * shipped.vectors[sample], axis=1)
    # The int8 model is quantised on the user's machine, and onnxruntime releases round a
    # little differently (onnxruntime 1.32: min 0.989, mean 0.992 against the shipped
    # vectors); a stale file is far off: another context's vector <= 0.65, the same text
    # with "movie" changed to "book" 0.79.
    assert cos.min() > 0.97 and cos.mean() > 0.98, cos
    other = np.sum(fresh * shipped.vectors[np.roll(sample, 1)], axis=1)
    assert other.max() < 0.9, other


@pytest.mark.parametrize("said, genres", [
    ("hi! I love scary movies, ghosts and haunted houses like Paranormal Activity (2007)",
     {"Horror", "Thriller"}),
    ("something for my kids tonight, they love Disney cartoons like Frozen (2013)",
     {"Animation", "Children"}),
    ("I'm in the mood for a romantic movie, something sweet like The Notebook (2004)",
     {"Romance"}),
])
def test_neighbours_suggest_what_fits_what_was_said(shipped, embedder, cat, said, genres):
    films, best = shipped.rank(embedder.embed([said])[0])
    top = [cat[m] for m in films[:10]]
    fits = [m.label() for m in top if set(m.genres) & genres]
    assert len(fits) >= 7, (said, [m.label() for m in top])
    for m in films[:10]:      # each film keeps the context that voted most for it
        assert m in shipped.contexts[best[m]].films


def test_another_embedder_gets_the_vectors_computed_once(tmp_path, monkeypatch, embedder):
    path = tmp_path / "contexts.jsonl.gz"
    rows = [{"text": "I like horror movies like It (2017)", "films": {"1": 1.0}},
            {"text": "a funny cartoon for my kids", "films": {"2": 1.0}}]
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    monkeypatch.setenv("RECBOT_CONTEXTS", str(path))

    class Other:
        name = "other-model"
        calls = 0

        def embed(self, texts, progress=None):
            Other.calls += 1
            return embedder.embed(texts)

    nb = ChatNeighbours.load()
    assert [c.films for c in nb.contexts] == [{1: 1.0}, {2: 1.0}]
    cache = tmp_path / "cache"
    assert not nb.attach(Other.name, cache)          # nothing computed yet: no guess
    assert nb.ensure_vectors(Other(), cache) is True
    assert Other.calls == 1 and len(list(cache.iterdir())) == 1
    again = ChatNeighbours.load()
    assert again.ensure_vectors(Other(), cache) is False and Other.calls == 1
    films, _ = again.rank(embedder.embed(["a cartoon the kids will find funny"])[0])
    assert films[0] == 2
    # a cache file cut short is not trusted: computed again, nothing raised
    (f,) = cache.iterdir()
    f.write_bytes(f.read_bytes()[:100])
    assert ChatNeighbours.load().ensure_vectors(Other(), cache) is True
    assert Other.calls == 2


def test_the_shipped_vectors_do_not_serve_another_embedder(tmp_path):
    nb = ChatNeighbours.load()
    assert not nb.attach("some-other-model", tmp_path)
    assert CONTEXTS_VECTORS.is_file()


def test_no_contexts_no_votes():
    nb = ChatNeighbours([Context("x", {1: 1.0})])
    assert nb.rank(np.ones(384, dtype=np.float32)) == ([], {})   # no vectors attached


def test_seeker_words_are_what_a_films_seekers_asked_for_and_no_other_film_did():
    contexts = [
        Context("Hi\nI'm looking for a great documentary about real events", {1: 1.0}),
        Context("any documentary that teaches me something true?", {1: 1.0, 2: 1.0}),
        Context("I loved Bowling for Columbine (2002) so a documentary please", {3: 1.0}),
        Context("scary haunted house with ghosts", {4: 1.0, 5: 1.0}),
        Context("ghosts and a haunted house, I love being scared", {5: 1.0}),
    ]
    words = seeker_words(contexts, stop=frozenset({"looking", "great", "please", "love"}))
    assert words[1][0] == "documentary"            # in both of its contexts, and a third film's
    assert "looking" not in words[1] and "great" not in words[1]      # chat words: the stop list
    assert "real" not in words.get(1, ())          # a word of one film only says nothing
    assert not {"bowling", "columbine"} & set(words.get(3, ()))      # a title is no ask
    assert {"haunted", "ghosts"} <= set(words[5]) and "scared" not in words[5]


def test_a_catalog_document_carries_what_seekers_asked_for():
    from recbot.retrieval.documents import catalog_document

    toy = load_catalog(BUNDLED_DATASET_DIR, imdb_csv=None)[1]
    assert "Seekers asked for: pixar, toys." in catalog_document(toy, ("pixar", "toys"))
    assert "Seekers asked for" not in catalog_document(toy)


def test_seeker_words_go_only_to_films_whose_id_is_the_movielens_one(tmp_path):
    """The shipped contexts speak of MovieLens ids: a dataset of its own ids gets no words
    for a film that only shares an id (here 2, Jumanji in MovieLens)."""
    from recbot.agent.candidates.text import seeker_words

    (tmp_path / "movies.csv").write_text("movieId,title,genres\n2,Apollo 13 (1995),Drama\n"
                                         "6,Heat (1995),Action|Crime|Thriller\n")
    own = load_catalog(tmp_path, imdb_csv=None)
    shipped = seeker_words()
    assert 2 in shipped and 6 in shipped
    assert set(seeker_words(own)) == {6}
