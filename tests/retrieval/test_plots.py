"""Plot text of the user's own (`recbot data enrich`): reading a user's CSV, cleaning the
text, storing it atomically, and the catalog taking it in. Small real files in tmp dirs."""

from __future__ import annotations

import os
import unicodedata

import pytest

from recbot.retrieval import plots as plots_mod
from recbot.retrieval.catalog import load_catalog
from recbot.retrieval.documents import catalog_document
from recbot.retrieval.errors import CatalogError
from recbot.retrieval.plots import (
    MAX_PLOT_CHARS,
    clean_plot,
    enrich_plots,
    load_plots,
    read_plot_file,
)

MOVIES = ("movieId,title,genres\n"
          "1,Toy Story (1995),Animation|Children\n"
          "2,Jumanji (1995),Adventure\n"
          "3,Grumpier Old Men (1995),Comedy\n")
LINKS = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,8844\n3,0113228,15602\n"
TOY_STORY = "A cowboy doll is profoundly threatened when a new spaceman figure supplants him."


@pytest.fixture
def dataset(tmp_path):
    d = tmp_path / "ml"
    d.mkdir()
    (d / "movies.csv").write_text(MOVIES, encoding="utf-8")
    (d / "links.csv").write_text(LINKS, encoding="utf-8")
    return d


def _file(tmp_path, text: str | bytes, name: str = "plots-in.csv"):
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


# ----- reading a user's file ----------------------------------------------------------------

def test_rows_keyed_by_movie_id(tmp_path, dataset):
    src = _file(tmp_path, f'movieId,plot\n1,"{TOY_STORY}"\n2,A board game comes alive.\n')
    plots, skipped = read_plot_file(src, dataset)
    assert plots == {1: TOY_STORY, 2: "A board game comes alive."}
    assert skipped == ()


def test_rows_keyed_by_imdb_id_in_every_spelling_through_links(tmp_path, dataset):
    # header names in any case, with an underscore; BOM and CRLF as spreadsheets write them
    text = ("IMDb_ID,Overview\r\n"
            f'tt0114709,"{TOY_STORY}"\r\n'
            "0113497,A board game comes alive.\r\n"
            "113228,Two old men feud.\r\n")
    src = _file(tmp_path, b"\xef\xbb\xbf" + text.encode())
    plots, skipped = read_plot_file(src, dataset)
    assert plots == {1: TOY_STORY, 2: "A board game comes alive.", 3: "Two old men feud."}
    assert skipped == ()


def test_tab_separated_with_a_description_column(tmp_path, dataset):
    src = _file(tmp_path, "movieId\tDescription\n1\tA toy story.\n")
    assert read_plot_file(src, dataset)[0] == {1: "A toy story."}


def test_unusable_rows_are_skipped_with_their_line_numbers(tmp_path, dataset):
    src = _file(tmp_path, (
        "imdbId,plot\n"
        'tt0114709,"A plot over\ntwo lines"\n'      # lines 2-3
        "tt9999999,Not a MovieLens film\n"          # line 4
        "nonsense,Text\n"                           # line 5
        "tt0113497,   \n"                           # line 6
        "\n"                                        # blank, ignored
        "tt0999999,Another unknown\n"))             # line 8
    plots, skipped = read_plot_file(src, dataset)
    assert plots == {1: "A plot over two lines"}
    assert {s.reason: (s.count, s.lines) for s in skipped} == {
        plots_mod.UNKNOWN_ID: (2, (4, 8)), plots_mod.BAD_ID: (1, (5,)),
        plots_mod.EMPTY_TEXT: (1, (6,))}


def test_a_movie_id_not_in_the_dataset_is_unknown(tmp_path, dataset):
    src = _file(tmp_path, "movieId,plot\n1,Toys.\n99,Not here.\n1.0,Toys again.\n")
    plots, skipped = read_plot_file(src, dataset)
    assert plots == {1: "Toys again."}            # a later row for a film replaces the earlier
    assert [(s.reason, s.lines) for s in skipped] == [(plots_mod.UNKNOWN_ID, (3,))]


@pytest.mark.parametrize("content, says", [
    ("title,\x1b[2Jplot\nToy Story,Toys.\n", r"no movieId or imdbId column \(header: title, "
                                              r"plot\)"),
    ("movieId,tagline\n1,To infinity.\n", r"no plot text column .*plot, overview, description"),
    ("", r"empty, no header row"),
    (b"movieId,plot\n1,caf\xe9\n", r"not UTF-8 text \(byte 18\); save it as a UTF-8 CSV"),
    ("movieId,plot\n".encode("utf-16"), r"UTF-16 text"),
    ('movieId,plot\n1,Toys.\n2,"unterminated\n3,x\n', r"not a readable CSV \(line 3: unexp"),
    (b"PK\x03\x04\x00\x00binary", r"NUL bytes, so it is not a CSV"),
])
def test_a_file_that_cannot_be_used_is_one_line_naming_it(tmp_path, dataset, content, says):
    src = _file(tmp_path, content)
    with pytest.raises(CatalogError, match=says) as err:
        read_plot_file(src, dataset)
    message = str(err.value)
    assert message.startswith(f"{src}: ") and "\n" not in message and "\x1b" not in message


def test_a_missing_file_and_imdb_ids_without_links(tmp_path, dataset):
    with pytest.raises(CatalogError, match=r"nope\.csv: file not found"):
        read_plot_file(tmp_path / "nope.csv", dataset)
    (dataset / "links.csv").unlink()
    src = _file(tmp_path, "imdbId,plot\ntt0114709,Toys.\n")
    with pytest.raises(CatalogError, match=r"keyed by imdbId, but the dataset has no links\.csv"):
        read_plot_file(src, dataset)
    # movieIds need no links
    assert read_plot_file(_file(tmp_path, "movieId,plot\n1,Toys.\n"), dataset)[0] == {1: "Toys."}


# ----- cleaning ---------------------------------------------------------------------------------

def test_escape_sequences_and_control_characters_never_get_through():
    dirty = ("A \x1b[31mred\x1b[0m doll\x1b]0;window title\x07 and a "
             "\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ and \x9b2J8-bit CSI, "
             "\x1bcreset, NUL\x00 here,\tTAB\r\nnew line, bidi \u202eevil\u202c, "
             "stray \x1b and \x07 bell; unterminated \x1b]8;;http://x")
    clean = clean_plot(dirty)
    assert clean == ("A red doll and a link and 8-bit CSI, reset, NUL here, TAB new line, "
                     "bidi evil, stray and bell; unterminated")
    assert not any(unicodedata.category(c) == "Cc" for c in clean)


def test_long_text_is_cut_at_a_word_boundary():
    words = " ".join(f"word{i}" for i in range(600))            # ~5,000 characters
    cut = clean_plot(words)
    assert len(cut) <= MAX_PLOT_CHARS and words.startswith(cut) and words[len(cut)] == " "
    assert clean_plot("x" * 2000) == "x" * MAX_PLOT_CHARS         # one giant word: cut hard
    exact = "a" * (MAX_PLOT_CHARS - 2) + " b"                    # exactly the limit: whole
    assert clean_plot(exact + "  ") == exact


# ----- the stored copy --------------------------------------------------------------------------

def test_new_rows_replace_the_same_films_and_replace_drops_the_rest(tmp_path, dataset):
    stored = tmp_path / "data" / "plots.csv"       # the data dir does not exist yet
    first = _file(tmp_path, "movieId,plot\n1,Toys.\n2,A board game.\n", "a.csv")
    report = enrich_plots(first, dataset, stored)
    assert (report.stored, report.total_stored, report.path) == (2, 2, stored)
    assert load_plots(stored) == {1: "Toys.", 2: "A board game."}

    second = _file(tmp_path, "movieId,plot\n2,Jungle drums.\n3,Old men.\n7,Gone.\n", "b.csv")
    report = enrich_plots(second, dataset, stored)
    assert (report.stored, report.total_stored) == (2, 3)
    assert report.skipped_text() == "1 row skipped: unknown id on line 4"
    assert report.as_dict()["skipped"] == [{"reason": "unknown id", "count": 1, "lines": [4]}]
    assert load_plots(stored) == {1: "Toys.", 2: "Jungle drums.", 3: "Old men."}

    report = enrich_plots(second, dataset, stored, replace=True)
    assert (report.stored, report.total_stored) == (2, 2)
    assert load_plots(stored) == {2: "Jungle drums.", 3: "Old men."}
    assert stored.read_text(encoding="utf-8").splitlines()[0] == "movieId,plot"


def test_a_corrupt_stored_file_says_what_to_do_and_replace_mends_it(tmp_path, dataset):
    stored = tmp_path / "plots.csv"
    src = _file(tmp_path, "movieId,plot\n1,Toys.\n")
    for junk in (b"garbage\n", b"movieId,plot\nnot-a-number,x\n", b"movieId,plot\n1,\xff\n"):
        stored.write_bytes(junk)
        with pytest.raises(CatalogError, match=r"plots\.csv: stored plot text is unreadable .*"
                                               r"move the file aside.*--replace") as err:
            enrich_plots(src, dataset, stored)
        assert str(err.value).startswith(str(stored)) and "\n" not in str(err.value)
        assert stored.read_bytes() == junk               # nothing written over it
    enrich_plots(src, dataset, stored, replace=True)
    assert load_plots(stored) == {1: "Toys."}
    assert load_plots(tmp_path / "none.csv") == {}


def test_a_failed_write_raises_and_leaves_the_old_file_whole(tmp_path, dataset, monkeypatch):
    stored = tmp_path / "plots.csv"
    enrich_plots(_file(tmp_path, "movieId,plot\n1,Toys.\n"), dataset, stored)
    before = stored.read_bytes()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(CatalogError, match=r"plots\.csv: cannot write the plot text "
                                           r"\(No space left on device\)"):
        enrich_plots(_file(tmp_path, "movieId,plot\n2,Board game.\n"), dataset, stored)
    assert stored.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml", "plots-in.csv", "plots.csv"]


def test_a_hand_edited_stored_file_is_cleaned_when_loaded(tmp_path):
    stored = tmp_path / "plots.csv"
    stored.write_text('movieId,plot\n1,"Toys \x1b[2Jand\nmore"\n2,\n', encoding="utf-8")
    assert load_plots(stored) == {1: "Toys and more"}


# ----- the catalog ------------------------------------------------------------------------------

def test_the_catalog_takes_the_users_text_before_the_tables(tmp_path, dataset):
    imdb = tmp_path / "imdb.csv"
    imdb.write_text("Series_Title,Released_Year,Director,Overview\n"
                    "Toy Story,1995,John Lasseter,The table's text.\n"
                    "Jumanji,1995,Joe Johnston,The table's Jumanji.\n", encoding="utf-8")
    catalog = load_catalog(dataset, imdb_csv=imdb, plots={1: TOY_STORY, 404: "Not a film."})
    assert catalog[1].overview == TOY_STORY
    assert catalog[2].overview == "The table's Jumanji."     # no text of the user's: the table's
    assert catalog[3].overview is None
    assert 404 not in catalog
    assert TOY_STORY in catalog_document(catalog[1])
    assert load_catalog(dataset, imdb_csv=None)[1].overview is None
