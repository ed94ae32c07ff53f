"""`recbot export`: the last list of a session and the profile, as JSON or CSV, through
``recbot.tui.cli.main`` on a private copy of the indexed data dir (no LLM)."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from recbot.agent.memory import Memory
from recbot.agent.service import ExportError, export_data, render_export, write_export
from recbot.tui import logs
from recbot.tui.cli import main


@pytest.fixture(autouse=True)
def _log_dir(tmp_path_factory, monkeypatch):
    """`main` logs to a fresh dir, never the user's; its handlers go after each test."""
    monkeypatch.setenv("RECBOT_LOG_DIR", str(tmp_path_factory.mktemp("export-log")))
    yield
    logs.reset()


@pytest.fixture(scope="module")
def asked(indexed_data_dir, tmp_path_factory):
    """Two `recbot ask` sessions (the second the latest) and a like in the profile."""
    data = shutil.copytree(indexed_data_dir, tmp_path_factory.mktemp("export") / "data")
    for f in data.glob("sessions.sqlite*"):   # other tests' sessions and profile edits
        f.unlink()
    answers = []
    for text in ("something like Forrest Gump", "a funny animated film after 2000"):
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("sys.stdout", out)
            mp.setenv("RECBOT_LOG_DIR", str(tmp_path_factory.mktemp("export-log")))
            rc = main(["--data-dir", str(data), "ask", text, "--json", "--llm", "none"])
            logs.reset()
        assert rc == 0
        answers.append(json.loads(out.getvalue()))
    # Toy Story liked, Jumanji seen
    Memory(data / "sessions.sqlite").add_feedback(None, {1: "like", 2: "seen"})
    return data, answers


def export(data, *args, capsys):
    rc = main(["--data-dir", str(data), "export", *args])
    got = capsys.readouterr()
    return rc, got.out, got.err


def test_json_to_stdout_is_the_last_ask_and_the_profile(asked, capsys):
    data, answers = asked
    rc, out, _ = export(data, capsys=capsys)
    assert rc == 0
    last = answers[-1]
    got = json.loads(out)
    assert got["session"] == last["session"] and got["ask"] == "a funny animated film after 2000"
    links = _links()
    assert got["recommendations"] == [
        {"rank": i, "movie_id": r["movie_id"], "title": r["title"], "year": r["year"],
         "reason": r["explanation"], "imdb_id": f"tt{links[r['movie_id']][0]}",
         "tmdb_id": int(links[r["movie_id"]][1])}
        for i, r in enumerate(last["recommendations"], 1)]
    assert got["profile"] == {"likes": [{"movie_id": 1, "title": "Toy Story", "year": 1995,
                                         "imdb_id": "tt0114709", "tmdb_id": 862}],
                              "dislikes": [],
                              "seen": [{"movie_id": 2, "title": "Jumanji", "year": 1995,
                                        "imdb_id": "tt0113497", "tmdb_id": 8844}]}


def _links() -> dict[int, tuple[str, str]]:
    """The bundled links.csv, read here on its own: movieId -> (imdbId, tmdbId) as written."""
    from tests.conftest import REPO

    with (REPO / "retrieval/data/ml-latest-small/links.csv").open(newline="") as fh:
        return {int(r["movieId"]): (r["imdbId"], r["tmdbId"]) for r in csv.DictReader(fh)}


def test_csv_and_json_files_by_suffix_and_by_session(asked, tmp_path, capsys):
    data, answers = asked
    first = answers[0]
    rc, _, err = export(data, "--session", first["session"], "--out", str(tmp_path / "a.csv"),
                        capsys=capsys)
    assert rc == 0 and "exported 5 films" in err
    with (tmp_path / "a.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["section", "rank", "movie_id", "title", "year", "reason",
                             "imdb_id", "tmdb_id"]
    links = _links()
    assert all(r["imdb_id"] == f"tt{links[int(r['movie_id'])][0]}"
               and r["tmdb_id"] == links[int(r["movie_id"])][1] for r in rows)
    recs = [r for r in rows if r["section"] == "recommendation"]
    assert [(int(r["rank"]), int(r["movie_id"]), r["title"], int(r["year"]), r["reason"])
            for r in recs] == [(i, r["movie_id"], r["title"], r["year"], r["explanation"])
                               for i, r in enumerate(first["recommendations"], 1)]
    assert [(r["section"], r["title"], r["rank"]) for r in rows[len(recs):]] == \
        [("like", "Toy Story", ""), ("seen", "Jumanji", "")]
    rc, _, _ = export(data, "--out", str(tmp_path / "b.json"), capsys=capsys)
    assert rc == 0
    assert [r["movie_id"] for r in json.loads((tmp_path / "b.json").read_text())
            ["recommendations"]] == [r["movie_id"] for r in answers[-1]["recommendations"]]
    rc, out, _ = export(data, "--format", "csv", capsys=capsys)          # CSV to stdout
    assert rc == 0 and out.startswith("section,rank,movie_id,title,year,reason,imdb_id,tmdb_id\n")
    rc, _, _ = export(data, "--format", "json", "--out", str(tmp_path / "c.txt"),
                      capsys=capsys)
    assert rc == 0 and json.loads((tmp_path / "c.txt").read_text())["session"]


@pytest.mark.parametrize("where", ["missing/dir/out.json", "a-dir", "a-file/out.csv"])
def test_a_bad_output_path_is_one_line_exit_1_and_nothing_written(asked, tmp_path, capsys,
                                                                   where):
    data, _ = asked
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-file").write_text("keep")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    rc, out, err = export(data, "--out", str(tmp_path / where), capsys=capsys)
    assert rc == 1 and out == ""
    assert err.startswith(f"recbot: error: cannot write {tmp_path / where}") \
        and err.count("\n") == 1
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "a-file").read_text() == "keep"


def test_an_unknown_session_is_one_line(asked, capsys):
    data, _ = asked
    rc, out, err = export(data, "--session", "nope", capsys=capsys)
    assert rc == 1 and out == "" and err == ("recbot: error: no session 'nope'; leave out "
                                            "--session to export the latest list\n")


def test_an_existing_file_is_replaced_whole_or_kept(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")
    data = {"session": "s", "ask": "", "recommendations": [],
            "profile": {"likes": [], "dislikes": [], "seen": []}}
    write_export(data, target, "json")
    assert json.loads(target.read_text()) == data

    def fail(*_a):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(ExportError, match="No space left on device"):
        write_export({**data, "session": "t"}, target, "json")
    assert json.loads(target.read_text()) == data and sorted(tmp_path.iterdir()) == [target]


def test_export_data_without_a_list_still_has_the_profile(tmp_path):
    memory = Memory(tmp_path / "sessions.sqlite")
    memory.add_feedback(None, {7: "dislike"})

    class Catalog(dict):
        pass
    got = export_data(memory, Catalog(), None)
    assert got == {"session": None, "ask": "", "recommendations": [],
                   "profile": {"likes": [], "seen": [],
                               "dislikes": [{"movie_id": 7, "title": "7", "year": None}]}}
    assert render_export(got, "csv") == ("section,rank,movie_id,title,year,reason,imdb_id,tmdb_id\n"
                                         "dislike,,7,7,,,,\n")


def test_ids_from_a_links_file_with_odd_cells(tmp_path):
    """links.csv is data: a cell that is not a plain number (a superscript digit, text,
    nothing) gives no id, and nothing crashes."""
    from recbot.agent.settings import Settings
    from recbot.agent.workspace import Data

    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Comedy\n")
    (ds / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,0\n")
    (ds / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,\u00b2\n2,tt,862\nx,1,2\n",
                                  encoding="utf-8")
    data = Data(Settings(data_dir=tmp_path / "data", dataset=str(ds)))
    assert data.external_ids(1) == {"imdb_id": "tt0114709"}
    assert data.external_ids(2) == {"tmdb_id": 862} and data.external_ids(3) == {}
