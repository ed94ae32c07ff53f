"""The catalog and its IMDb enrichment, on the bundled data, plus broken copies of it."""

import dataclasses
import shutil
import time

import pytest

from recbot.retrieval import enrich
from recbot.retrieval.catalog import (
    BUNDLED_DATASET_DIR,
    BUNDLED_IMDB_CSV,
    MAX_TAGS,
    Catalog,
    Movie,
    load_catalog,
)
from recbot.retrieval.errors import CatalogError
from recbot.retrieval.titles import TitleIndex, parse_movielens_title

SHAWSHANK, FORREST_GUMP, PULP_FICTION, STAR_WARS, APOLLO_13, YOJIMBO = 318, 356, 296, 260, 150, 3030

MOVIES_HEADER = "movieId,title,genres\n"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(BUNDLED_DATASET_DIR)


def _dataset(tmp_path, movies: str, **files: str):
    """A dataset dir with the given movies.csv text and other files (name -> text)."""
    (tmp_path / "movies.csv").write_text(movies, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def test_catalog_is_read_only_and_mapping_like(catalog):
    assert len(catalog) == 9742
    assert SHAWSHANK in catalog and -1 not in catalog
    movie = catalog[SHAWSHANK]
    assert isinstance(movie, Movie) and movie.movie_id == SHAWSHANK
    assert catalog.get(-1) is None
    with pytest.raises(KeyError):
        catalog[-1]
    movies = list(catalog)
    assert len(movies) == len(catalog) and all(isinstance(m, Movie) for m in movies)
    with pytest.raises(dataclasses.FrozenInstanceError):
        movie.title = "Something else"
    assert not hasattr(catalog, "add_movie")


def test_movie_fields_from_movielens(catalog):
    movie = catalog[SHAWSHANK]
    assert movie.title == "The Shawshank Redemption"
    assert movie.raw_title == "Shawshank Redemption, The (1994)"
    assert movie.year == 1994
    assert movie.genres == ("Crime", "Drama")
    assert movie.label() == "The Shawshank Redemption (1994)"
    amelie = catalog[4973]
    assert amelie.alt_titles == ("Le Fabuleux destin d'Amélie Poulain",)
    assert catalog[114335].genres == ()  # "(no genres listed)"


def test_movie_fields_from_imdb(catalog):
    movie = catalog[SHAWSHANK]
    assert movie.director == "Frank Darabont"
    assert movie.overview is None     # the bundled table ships no IMDb plot text
    assert movie.stars == ("Tim Robbins", "Morgan Freeman", "Bob Gunton", "William Sadler")
    assert movie.runtime_min == 142
    assert movie.imdb_rating == 9.3
    assert movie.certificate == "A"
    # Matched by the looser rules: title only (IMDb's year is "PG"), words inside the
    # MovieLens title, and a transliteration ("Yôjinbô").
    assert catalog[APOLLO_13].director == "Ron Howard"
    assert catalog[STAR_WARS].director == "George Lucas"
    assert catalog[YOJIMBO].director == "Akira Kurosawa"
    unmatched = catalog[2]  # Jumanji is not in the IMDb top 1000
    assert (unmatched.overview, unmatched.director, unmatched.stars) == (None, None, ())


def _by_title(catalog, title: str, year: int):
    found = [m for m in catalog if m.title == title and m.year == year]
    assert len(found) == 1, (title, year, found)
    return found[0]


@pytest.mark.parametrize("title, year, codirector", [
    ("Fargo", 1996, "Ethan Coen"),
    ("The Big Lebowski", 1998, "Ethan Coen"),
    ("The Matrix", 1999, "Lilly Wachowski"),
    ("Finding Nemo", 2003, "Lee Unkrich"),
])
def test_codirectors_are_not_stars(catalog, title, year, codirector):
    # The IMDb table lists a film's second director as Star1.
    movie = _by_title(catalog, title, year)
    assert codirector not in movie.stars
    assert codirector in movie.directors
    assert codirector in movie.directed_by()
    assert movie.stars, "the actors stay"


@pytest.mark.parametrize("title, year, star", [
    ("Goodfellas", 1990, "Robert De Niro"),
    ("Life Is Beautiful", 1997, "Roberto Benigni"),   # directs and stars
    ("Singin' in the Rain", 1952, "Gene Kelly"),                        # co-directs and stars
    ("The Great Escape", 1963, "Steve McQueen"),   # namesake of the 12 Years a Slave director
])
def test_actors_who_direct_stay_stars(catalog, title, year, star):
    movie = _by_title(catalog, title, year)
    assert star in movie.stars
    assert movie.stars.count(star) == 1


def test_codirector_surname_rule_spares_namesakes_who_act_elsewhere():
    frame = enrich.pd.DataFrame([
        # Star1 shares the director's surname and acts nowhere else: a co-director.
        {"Series_Title": "Brothers' Film", "Released_Year": "2001", "Director": "Ann Vale",
         "Star1": "Bo Vale", "Star2": "Cy Actor", "Star3": "", "Star4": ""},
        # Same surname, but she also stars in a film by someone else: an actress.
        {"Series_Title": "Autumn", "Released_Year": "1978", "Director": "Ingmar Bergman",
         "Star1": "Ingrid Bergman", "Star2": "Liv Ullmann", "Star3": "", "Star4": ""},
        {"Series_Title": "Casablanca", "Released_Year": "1942", "Director": "Michael Curtiz",
         "Star1": "Humphrey Bogart", "Star2": "Ingrid Bergman", "Star3": "", "Star4": ""},
    ])
    credits = enrich.codirector_credits(frame, curated=None)
    assert credits == {("Brothers' Film", "2001"): {"Bo Vale": False}}


def test_tags_most_used_first_ties_alphabetical(catalog):
    assert catalog[SHAWSHANK].tags == (
        "Morgan Freeman",
        "prison",
        "Stephen King",
        "wrongful imprisonment",
    )
    tags = catalog[PULP_FICTION].tags
    assert len(tags) == MAX_TAGS
    assert tags[:8] == (  # each tagged twice, then the once-used ones alphabetically
        "cult film",
        "drugs",
        "good dialogue",
        "great soundtrack",
        "hit men",
        "non-linear",
        "Quentin Tarantino",
        "Tarantino",
    )
    assert tags[8:] == ("1990s", "achronological")
    for movie in catalog:
        folded = [t.casefold() for t in movie.tags]
        assert len(folded) == len(set(folded)) and len(folded) <= MAX_TAGS
    assert sum(1 for m in catalog if m.tags) == 1572


def test_tags_merge_case_and_keep_the_most_used_spelling(tmp_path):
    tags = "userId,movieId,tag,timestamp\n" + "".join(
        f"1,1,{tag},0\n" for tag in ["Funny", "funny", "funny", " beta ", "alpha", "", "FUNNY"]
    )
    dataset = _dataset(tmp_path, MOVIES_HEADER + "1,Heat (1995),Action\n", tags=tags)
    assert load_catalog(dataset, imdb_csv=None)[1].tags == ("funny", "alpha", "beta")


def test_popularity_counts_ratings(catalog):
    assert catalog.popularity[FORREST_GUMP] == 329
    assert max(catalog.popularity, key=catalog.popularity.get) == FORREST_GUMP
    assert sum(catalog.popularity.values()) == 100_836
    assert set(catalog.popularity) == {m.movie_id for m in catalog}


def test_titles_index_is_built_once_and_uses_popularity(catalog):
    assert isinstance(catalog.titles, TitleIndex)
    assert catalog.titles is catalog.titles
    assert catalog.titles.resolve("Halloween").best.year == 1978


def test_enrichment_report(catalog):
    report = catalog.enrichment
    assert report.total_rows == 1000
    assert report.matched > 850  # exact (title, year) alone gets ~65%
    assert report.matched + len(report.unmatched) == report.total_rows
    assert sum(report.reasons_count.values()) == len(report.unmatched)
    assert sum(report.matched_by.values()) == report.matched
    assert report.matched_by[enrich.BY_TITLE_AND_YEAR] > 800
    assert set(report.reasons_count) <= {
        enrich.NO_TITLE,
        enrich.YEAR_DIFFERS,
        enrich.AMBIGUOUS,
        enrich.NOT_IN_CATALOG,
        enrich.DUPLICATE,
    }
    assert sum(1 for m in catalog if m.director) == report.matched
    assert not any(m.overview for m in catalog)
    last_year = max(m.year for m in catalog if m.year)
    newer = [row for row in report.unmatched if row[2] == enrich.NOT_IN_CATALOG]
    assert newer and all(year > last_year for _, year, _ in newer)
    assert ("A Star Is Born", 2018, enrich.YEAR_DIFFERS) in report.unmatched  # not the 1937 one
    lines = report.summary()
    assert (
        lines[0]
        == f"IMDb enrichment: {report.matched}/1000 rows matched ({report.matched / 10:.0f}%)"
    )
    assert any(enrich.NOT_IN_CATALOG in line for line in lines)


def test_year_off_by_one_needs_a_unique_title():
    titles = {1: "King of Comedy, The (1983)", 2: "Heat (1995)", 3: "Heat (1986)"}
    parsed = {i: parse_movielens_title(t) for i, t in titles.items()}
    lookup = enrich._TitleLookup(parsed)
    assert lookup.match("The King of Comedy", 1982) == (1, enrich.BY_TITLE_NEAR_YEAR)
    assert lookup.match("The King of Comedy", 1980) == (None, enrich.YEAR_DIFFERS)
    assert lookup.match("Heat", 1995) == (2, enrich.BY_TITLE_AND_YEAR)
    assert lookup.match("Heat", 1990) == (None, enrich.YEAR_DIFFERS)
    assert lookup.match("Heat", 2030) == (None, enrich.NOT_IN_CATALOG)
    assert lookup.match("Cold", 1995) == (None, enrich.NO_TITLE)


def test_load_without_imdb(tmp_path):
    catalog = load_catalog(BUNDLED_DATASET_DIR, imdb_csv=None)
    assert catalog.enrichment.total_rows == 0 and catalog.enrichment.matched == 0
    assert all(m.overview is None and m.director is None for m in catalog)


def test_load_movies_only(tmp_path):
    dataset = _dataset(tmp_path, MOVIES_HEADER + '1,"Matrix, The (1999)",Action|Sci-Fi\n')
    catalog = load_catalog(dataset, imdb_csv=BUNDLED_IMDB_CSV)
    movie = catalog[1]
    assert (movie.title, movie.year, movie.tags) == ("The Matrix", 1999, ())
    assert movie.director == "Lana Wachowski"
    assert catalog.popularity == {1: 0}


def test_load_bundled_catalog_is_fast():
    elapsed = min(_elapsed(lambda: load_catalog(BUNDLED_DATASET_DIR)) for _ in range(2))
    assert elapsed < 1.5, f"loading the bundled catalog took {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("movies", "message"),
    [
        ("", "movies.csv: file is empty"),
        (MOVIES_HEADER, "movies.csv: no movies"),
        ("movieId,title\n1,Heat (1995)\n", "movies.csv: missing column(s) genres"),
        ("id,name,genres\n1,Heat (1995),Action\n", "movies.csv: missing column(s) movieId, title"),
        (MOVIES_HEADER + "1,Heat (1995),Action\nx,Heat (1986),Action\n", "movies.csv: line 3"),
        (MOVIES_HEADER + "1,Heat (1995),Action\n1,Heat (1986),Action\n", "movieId 1 appears twice"),
    ],
)
def test_bad_movies_csv_raises_catalog_error(tmp_path, movies, message):
    dataset = _dataset(tmp_path, movies)
    with pytest.raises(CatalogError) as err:
        load_catalog(dataset, imdb_csv=None)
    assert message in str(err.value)
    assert str(dataset / "movies.csv") in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_files_raise_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="dataset directory not found"):
        load_catalog(tmp_path / "nowhere")
    with pytest.raises(CatalogError, match=r"movies\.csv: file not found"):
        load_catalog(tmp_path)
    dataset = _dataset(tmp_path, MOVIES_HEADER + "1,Heat (1995),Action\n")
    with pytest.raises(CatalogError, match=r"nope\.csv: IMDb file not found"):
        load_catalog(dataset, imdb_csv=tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ratings", "userId,item,rating,timestamp\n1,1,4.0,0\n"),
        ("tags", "userId,movieId,label,timestamp\n1,1,funny,0\n"),
    ],
)
def test_bad_optional_files_raise_catalog_error(tmp_path, name, text):
    dataset = _dataset(tmp_path, MOVIES_HEADER + "1,Heat (1995),Action\n", **{name: text})
    with pytest.raises(CatalogError, match=rf"{name}\.csv: missing column"):
        load_catalog(dataset, imdb_csv=None)


def test_bad_imdb_csv_raises_catalog_error(tmp_path):
    imdb_csv = tmp_path / "imdb.csv"
    header, *rows = BUNDLED_IMDB_CSV.read_text(encoding="utf-8").splitlines()
    imdb_csv.write_text(
        header.replace("Director", "Regie") + "\n" + rows[0] + "\n", encoding="utf-8"
    )
    dataset = tmp_path / "ml"
    shutil.copytree(BUNDLED_DATASET_DIR, dataset, ignore=shutil.ignore_patterns("ratings.csv"))
    with pytest.raises(CatalogError, match=r"imdb\.csv: IMDb CSV is missing column\(s\) Director"):
        load_catalog(dataset, imdb_csv=imdb_csv)


def _elapsed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
