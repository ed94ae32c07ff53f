"""Title parsing, normalisation and resolution, on the bundled MovieLens titles."""

import csv
import statistics
import time

import pytest

from recbot.retrieval.catalog import BUNDLED_DATASET_DIR, load_catalog
from recbot.retrieval.titles import (
    CONFIDENT_SCORE,
    MIN_SCORE,
    ParsedTitle,
    TitleIndex,
    normalise_title,
    parse_movielens_title,
    resolve_title,
)

SHAWSHANK, SEVEN, FORREST_GUMP, MATRIX, AMELIE = 318, 47, 356, 2571, 4973
HALLOWEEN_1978, HALLOWEEN_2007, GODFATHER_2, TERMINATOR_2 = 1982, 54785, 1221, 589


def _raw_titles() -> list[tuple[int, str]]:
    with open(BUNDLED_DATASET_DIR / "movies.csv", encoding="utf-8", newline="") as f:
        return [(int(row["movieId"]), row["title"]) for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BUNDLED_DATASET_DIR, imdb_csv=None)


@pytest.fixture(scope="module")
def index(catalog) -> TitleIndex:
    return catalog.titles


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Shawshank Redemption, The (1994)", ParsedTitle("The Shawshank Redemption", 1994)),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            ParsedTitle("The City of Lost Children", 1995, ("La Cité des enfants perdus",)),
        ),
        ("Seven (a.k.a. Se7en) (1995)", ParsedTitle("Seven", 1995, ("Se7en",))),
        (
            "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
            ParsedTitle("Amelie", 2001, ("Le Fabuleux destin d'Amélie Poulain",)),
        ),
        (
            "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)",
            ParsedTitle("Léon: The Professional", 1994, ("The Professional", "Léon")),
        ),
        (
            "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
            ParsedTitle(
                "The Good, the Bad and the Ugly", 1966, ("Il Buono, il brutto, il cattivo",)
            ),
        ),
        ("Atalante, L' (1934)", ParsedTitle("L'Atalante", 1934)),
        ("Paris, Texas (1984)", ParsedTitle("Paris, Texas", 1984)),
        ("Babylon 5", ParsedTitle("Babylon 5", None)),
        ("Assembly (Ji jie hao) (2007) ", ParsedTitle("Assembly", 2007, ("Ji jie hao",))),
        ("(500) Days of Summer (2009)", ParsedTitle("(500) Days of Summer", 2009)),
        ("Frontière(s) (2007)", ParsedTitle("Frontière(s)", 2007)),
        ("Death Note: Desu nôto (2006–2007)", ParsedTitle("Death Note: Desu nôto", 2006)),
        (
            "Goods: Live Hard, Sell Hard, The (2009)",
            ParsedTitle("The Goods: Live Hard, Sell Hard", 2009),
        ),
    ],
)
def test_parse_movielens_title(raw, expected):
    assert parse_movielens_title(raw) == expected


def test_every_bundled_title_parses_cleanly():
    parsed = [parse_movielens_title(raw) for _, raw in _raw_titles()]
    assert sum(p.year is None for p in parsed) == 12  # e.g. "Babylon 5", "Moonlight"
    for p in parsed:
        assert p.title and p.title == p.title.strip()
        assert not p.title.endswith((", The", ", A", ", An")), p
        assert not p.title.endswith(")") or p.title.endswith("(s)") or "(" in p.title[:-1], p
        assert p.title not in p.alt_titles
        assert all(not alt.lower().startswith("a.k.a") for alt in p.alt_titles), p


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Matrix", "matrix"),
        ("Amélie", "amelie"),
        ("  The   Lord of the Rings: The Two Towers ", "lord of the rings the two towers"),
        ("Tom & Jerry", "tom and jerry"),
        ("Schindler's List", "schindlers list"),
        ("Schindler’s List", "schindlers list"),
        ("L'Atalante", "atalante"),
        ("La Cité des enfants perdus", "cite des enfants perdus"),
        ("Das Boot", "boot"),
        ("Godfather: Part II", "godfather part 2"),
        ("John Wick: Chapter Two", "john wick chapter 2"),
        ("Kill Bill: Volume 2", normalise_title("Kill Bill: Vol. 2")),
        ("Guardians of the Galaxy Vol. 2", "guardians of the galaxy 2"),
        ("Two Weeks Notice", "two weeks notice"),
        ("The Volume", "volume"),
        ("L.A. Confidential", normalise_title("LA Confidential")),
        ("Spider-Man", "spider man"),
        ("The", "the"),
        ("!!!", ""),
    ],
)
def test_normalise_title(text, expected):
    assert normalise_title(text) == expected


@pytest.mark.parametrize(
    ("text", "movie_id"),
    [
        ("forest gump", FORREST_GUMP),
        ("Se7en", SEVEN),
        ("amelie", AMELIE),
        ("Amélie", AMELIE),
        ("the matrix", MATRIX),
        ("matrix", MATRIX),
        ("Matrix, The", MATRIX),
        ("THE MATRIX!", MATRIX),
        ("shawshenk redemtion", SHAWSHANK),
        ("godfather part 2", GODFATHER_2),
        ("godfather part ii", GODFATHER_2),
        ("godfather 2", GODFATHER_2),
        ("terminator 2", TERMINATOR_2),
        ("halloween 2007", HALLOWEEN_2007),
        ("Halloween (2007)", HALLOWEEN_2007),
        ("halloween 1978", HALLOWEEN_1978),
        ("cite des enfants perdus", 29),
        ("Death Race 2000", 7991),  # the number is the title, not a year
        ("blade runner 2049", 176371),
    ],
)
def test_resolve_finds_the_movie(index, text, movie_id):
    resolution = index.resolve(text)
    assert resolution.best is not None, text
    assert resolution.best.movie_id == movie_id, resolution
    assert not resolution.ambiguous
    assert resolution.confident
    assert resolution.confidence == resolution.best.score >= CONFIDENT_SCORE


def test_resolve_a_typo_scores_below_an_exact_match(index):
    typo, exact = index.resolve("forest gump"), index.resolve("forrest gump")
    assert typo.best.movie_id == exact.best.movie_id == FORREST_GUMP
    assert exact.confidence == 1.0
    assert 0.9 < typo.confidence < 1.0


def test_resolve_shared_name_is_ambiguous_and_prefers_the_most_popular(index, catalog):
    resolution = index.resolve("Halloween")
    assert resolution.ambiguous
    assert not resolution.confident
    assert resolution.best.movie_id == HALLOWEEN_1978
    assert resolution.best.title == "Halloween" and resolution.best.year == 1978
    assert resolution.alternatives[0].movie_id == HALLOWEEN_2007
    assert resolution.alternatives[0].score == resolution.best.score == 1.0
    pop = catalog.popularity
    assert pop[HALLOWEEN_1978] > pop[HALLOWEEN_2007]
    # The sequels follow, each scoring below the exact name.
    assert all(m.score < 1.0 for m in resolution.alternatives[1:])
    assert all("Halloween" in m.title for m in resolution.alternatives)


def test_resolve_year_breaks_the_tie(index):
    resolution = index.resolve("Halloween (1978)")
    assert not resolution.ambiguous
    assert resolution.best.movie_id == HALLOWEEN_1978
    remake = next(m for m in resolution.alternatives if m.movie_id == HALLOWEEN_2007)
    assert remake.score < resolution.best.score - 0.2


def test_resolve_alternatives_are_ranked_and_limited(index):
    resolution = index.resolve("the matrix", limit=3)
    assert len(resolution.matches) == 3
    assert resolution.best not in resolution.alternatives
    scores = [m.score for m in resolution.matches]
    assert scores == sorted(scores, reverse=True)
    assert {m.title for m in resolution.alternatives} <= {
        "The Matrix Reloaded",
        "The Matrix Revolutions",
        "The Animatrix",
    }


@pytest.mark.parametrize(
    "garbage", ["qwzx", "asdfgh", "hjkl", "zzzzzz", "lorem ipsum dolor", "the", "", "   ", "!!!"]
)
def test_resolve_garbage_finds_nothing(index, garbage):
    resolution = index.resolve(garbage)
    assert resolution.best is None, resolution
    assert resolution.confidence == 0.0 and not resolution.confident


def test_resolve_drops_matches_below_min_score(index):
    for text in ("star wars", "lotr", "toy story"):
        assert all(m.score >= MIN_SCORE for m in index.resolve(text, limit=20).matches)


def test_popularity_breaks_ties_in_a_small_index():
    titles = [(1, "Halloween (1978)"), (2, "Halloween (2007)"), (3, "Heat (1995)")]
    assert TitleIndex(titles).resolve("halloween").best.movie_id == 1  # lower id without data
    popular_remake = TitleIndex(titles, popularity={1: 5, 2: 50})
    resolution = popular_remake.resolve("halloween")
    assert resolution.ambiguous
    assert [m.movie_id for m in resolution.matches] == [2, 1]


def test_empty_index_resolves_nothing():
    resolution = TitleIndex([]).resolve("heat")
    assert resolution.best is None and resolution.matches == () and resolution.confidence == 0


def test_resolve_title_uses_the_bundled_catalog():
    resolution = resolve_title("amelie")
    assert resolution.best.movie_id == AMELIE
    assert resolve_title("heat", index=TitleIndex([(7, "Heat (1995)")])).best.movie_id == 7


def test_index_builds_and_resolves_fast(index):
    titles = _raw_titles()
    build = min(_elapsed(lambda: TitleIndex(titles)) for _ in range(3))
    assert build < 0.5, f"building the title index took {build:.2f} s"
    queries = ["forest gump", "Se7en", "Halloween", "godfather part 2", "qwzx", "the dark night"]
    per_query = statistics.median(_elapsed(lambda q=q: index.resolve(q)) for q in queries * 5)
    assert per_query < 0.020, f"resolve took {per_query * 1000:.1f} ms"


def _elapsed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
