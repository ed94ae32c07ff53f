"""The `recbot` command end to end: the real console script on small files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.loopback import make_zip, serve_grouplens
from recbot.agent.settings import Settings
from recbot.tui.cli import main

REPO = Path(__file__).resolve().parents[2]
RECBOT = Path(sys.executable).with_name("recbot")


def run_recbot(*args: str, data_dir: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir)}
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    return subprocess.run([str(RECBOT), *args], check=False, capture_output=True, text=True, env=env,
                          timeout=timeout)


def write_ratings(path: Path, n_users: int = 60, n_items: int = 40, seed: int = 0) -> Path:
    """Two taste groups over two item blocks, plus some noise; every user rates ~15 items."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        block = np.arange(1, n_items // 2 + 1) + (0 if u % 2 else n_items // 2)
        liked = rng.choice(block, size=12, replace=False)
        other = rng.choice(np.setdiff1d(np.arange(1, n_items + 1), block), size=3, replace=False)
        rows += [(u, int(m), float(rng.choice([4.0, 4.5, 5.0])), 1_000_000 + u) for m in liked]
        rows += [(u, int(m), float(rng.choice([1.0, 2.0])), 1_000_000 + u) for m in other]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        w.writerows(rows)
    return path


def write_dataset(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    write_ratings(path / "ratings.csv")
    with (path / "movies.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["movieId", "title", "genres"])
        for m in range(1, 41):
            w.writerow([m, f"Synthetic Film {m} ({1980 + m})", "Drama" if m <= 20 else "Comedy"])
    return path


def read_recs(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# ----- the README and CI agree ----------------------------------------------------------

def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    blocks = [b.split("```")[0].strip() for b in readme.split("```bash")[1:]]
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_cmd in ci, "README's test command must be run verbatim by .ci/run"
    assert "recbot" in blocks[0] and "pip install" in blocks[0]


def test_help_imports_no_heavy_library(tmp_path):
    code = ("import sys; from recbot.tui.cli import build_parser; build_parser().format_help(); "
            "heavy = [m for m in ('torch', 'chromadb', 'faster_whisper', 'llama_cpp', "
            "'implicit', 'pandas', 'sentence_transformers', 'textual') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.strip() == ""
    res = run_recbot("--help", data_dir=tmp_path)
    assert res.returncode == 0
    for command in ("ask", "search", "ingest", "index", "rank", "eval", "transcribe", "data",
                    "title", "similar", "recommend"):
        assert command in res.stdout
    assert "--llm" in res.stdout


# ----- recbot rank ----------------------------------------------------------------------

def test_rank_writes_top_k_unseen_items_for_every_listed_user(tmp_path):
    train = write_ratings(tmp_path / "train.csv")
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n\n7\n60\n")
    out = tmp_path / "out" / "recs.csv"

    res = run_recbot("rank", "--train", str(train), "--users", str(users), "--k", "5",
                     "--out", str(out), data_dir=tmp_path / "data")

    assert res.returncode == 0, res.stderr
    recs = read_recs(out)
    assert list(recs[0]) == ["userId", "movieId", "rank", "score", "imdbId", "tmdbId"]
    seen: dict[int, set[int]] = {}
    with train.open() as fh:
        for row in csv.DictReader(fh):
            seen.setdefault(int(row["userId"]), set()).add(int(row["movieId"]))
    by_user: dict[int, list[dict]] = {}
    for r in recs:
        by_user.setdefault(int(r["userId"]), []).append(r)
    assert sorted(by_user) == [1, 2, 7, 60]
    for user, rows in by_user.items():
        assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5]
        items = [int(r["movieId"]) for r in rows]
        assert len(set(items)) == 5
        assert not set(items) & seen[user], "an already-rated item was recommended"
        scores = [float(r["score"]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        # the taste structure is learnable: most picks come from the user's own block
        own = range(1, 21) if user % 2 else range(21, 41)
        assert sum(i in own for i in items) >= 3


def test_rank_k_larger_than_unseen_items_never_returns_seen(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("userId,movieId,rating,timestamp\n1,10,5,0\n1,11,4,0\n2,10,5,0\n2,12,3.5,0\n")
    users = tmp_path / "users.txt"
    users.write_text("1\n")
    out = tmp_path / "recs.csv"
    assert main(["rank", "--train", str(train), "--users", str(users), "--k", "10",
                 "--out", str(out)]) == 0
    assert [int(r["movieId"]) for r in read_recs(out)] == [12]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("userId,movieId,timestamp\n1,2,3\n", "missing column(s) rating"),
        ("user,item,rating,timestamp\n1,2,3,4\n", "missing column(s) userId, movieId"),
        ("userId,movieId,rating,timestamp\n1,2,great,4\n", "line 2: rating must be a float"),
        ("userId,movieId,rating,timestamp\n1,2,4,0\nx,3,4,0\n", "line 3: userId must be an integer"),
        ("", "the file is empty"),
        ("userId,movieId,rating,timestamp\n", "no ratings"),
        ("userId,movieId,rating,timestamp\n1,2,4,0\n1,3,4,0\n1,2,5,0\n",
         "line 4: duplicate rating for userId 1, movieId 2"),
    ],
)
def test_rank_rejects_bad_ratings_with_one_line_and_keeps_old_output(tmp_path, capsys, content,
                                                                     expected):
    train = tmp_path / "train.csv"
    train.write_text(content)
    users = tmp_path / "users.txt"
    users.write_text("1\n")
    out = tmp_path / "recs.csv"
    out.write_text("previous results\n")

    code = main(["rank", "--train", str(train), "--users", str(users), "--out", str(out)])

    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "Traceback" not in err
    assert str(train) in err and expected in err
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_rank_rejects_unknown_and_malformed_users(tmp_path, capsys):
    train = write_ratings(tmp_path / "train.csv")
    users = tmp_path / "users.txt"
    out = tmp_path / "recs.csv"
    users.write_text("1\n999\n")
    assert main(["rank", "--train", str(train), "--users", str(users), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "999" in err and str(users) in err and not out.exists()
    users.write_text("1\nbob\n")
    assert main(["rank", "--train", str(train), "--users", str(users), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "'bob'" in err and not out.exists()


def test_bad_input_through_the_real_command_has_no_traceback(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("userId,movieId,rating\n1,2,abc\n")
    users = tmp_path / "users.txt"
    users.write_text("1\n")
    res = run_recbot("rank", "--train", str(train), "--users", str(users), "--out",
                     str(tmp_path / "o.csv"), data_dir=tmp_path / "data")
    assert res.returncode == 1
    assert res.stderr.startswith("recbot: error: ") and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# ----- recbot eval / data on another dataset ----------------------------------------------

@pytest.mark.parametrize("var, value, says", [("RECBOT_LLM_MODE", "fast", "llm_mode must be one of"),
                                              ("RECBOT_LLM_TIMEOUT", "soon", "llm_timeout must")])
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, var, value, says):
    monkeypatch.setenv(var, value)
    assert main(["--data-dir", str(tmp_path), "title", "Heat"]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_eval_json_compares_all_rankers_on_a_chosen_dataset(tmp_path, capsys):
    ds = write_dataset(tmp_path / "my-movielens")
    assert main(["--dataset", str(ds), "eval", "--json", "--k", "5", "--seed", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["k"] == 5 and report["seed"] == 3
    names = [r["ranker"] for r in report["results"]]
    assert names == ["als", "ease", "itemknn", "pop"]
    by = {r["ranker"]: r for r in report["results"]}
    for r in report["results"]:
        for metric in ("ndcg", "recall", "precision", "map", "coverage"):
            assert 0.0 <= r[metric] <= 1.0
    assert by["als"]["ndcg"] > by["pop"]["ndcg"]


def test_corrupt_zip_dataset_is_one_line_and_leaves_data_dir_untouched(tmp_path, capsys):
    bad = tmp_path / "ml-broken.zip"
    bad.write_text("this is not a zip archive")
    data_dir = tmp_path / "data"
    code = main(["--data-dir", str(data_dir), "--dataset", str(bad), "eval"])
    err = capsys.readouterr().err
    assert code == 1 and str(bad) in err and err.count("\n") == 1
    assert not (data_dir / "datasets").exists() or not any((data_dir / "datasets").iterdir())


def test_data_use_switches_the_default_dataset(tmp_path, capsys):
    ds = write_dataset(tmp_path / "mine")
    data_dir = tmp_path / "data"
    assert main(["--data-dir", str(data_dir), "data", "use", str(ds)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "title", "Synthetic Film 7"]) == 0
    assert "Synthetic Film 7 (1987)" in capsys.readouterr().out
    # a bad spec changes nothing
    assert main(["--data-dir", str(data_dir), "data", "use", str(tmp_path / "nope")]) == 1
    config_file = Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json"
    assert json.loads(config_file.read_text())["dataset"] == str(ds.resolve())
    assert not (data_dir / "config.json").exists()      # the data dir holds data only


def test_data_enrich_gives_the_bundled_catalog_plot_text_of_the_users(tmp_path, capsys):
    from recbot.agent.workspace import Workspace

    data_dir = tmp_path / "data"
    plots = tmp_path / "my-plots.csv"
    plots.write_text("imdbId,Plot\n"
                     'tt0114709,"A cowboy doll is threatened by a \x1b[31mspaceman\x1b[0m."\n'
                     "0113497,A board game unleashes a jungle.\n"
                     "tt9999999,Not a MovieLens film.\n", encoding="utf-8")
    assert main(["--data-dir", str(data_dir), "data", "enrich", str(plots)]) == 0
    out = capsys.readouterr().out
    stored = data_dir / "plots.csv"
    assert out == (f"plot text for 2 films stored in {stored} (1 row skipped: unknown id on "
                   f"line 4); the search index takes it in on the next start or `recbot "
                   f"index`\n")
    assert main(["--data-dir", str(data_dir), "data", "info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plots"] == {"films": 2, "path": str(stored)}

    catalog = Workspace(Settings.load(data_dir=data_dir)).catalog
    assert catalog[1].overview == "A cowboy doll is threatened by a spaceman."
    assert catalog[2].overview == "A board game unleashes a jungle."
    assert catalog[3].overview is None
    # new text for a film replaces its old; the ready-made catalog is rebuilt to show it
    again = tmp_path / "again.csv"
    again.write_text("movieId,overview\n2,Two children find a cursed board game.\n")
    assert main(["--data-dir", str(data_dir), "data", "enrich", str(again), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "stored": 1, "total_stored": 2, "skipped": [], "path": str(stored)}
    catalog = Workspace(Settings.load(data_dir=data_dir)).catalog
    assert catalog[2].overview == "Two children find a cursed board game."
    assert catalog[1].overview.startswith("A cowboy doll")

    # a file it cannot use: one line, exit 1, the stored text untouched
    bad = tmp_path / "bad.csv"
    bad.write_text("movieId,tagline\n1,To infinity.\n")
    before = stored.read_bytes()
    assert main(["--data-dir", str(data_dir), "data", "enrich", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"recbot: error: {bad}: no plot text column") and err.count("\n") == 1
    assert stored.read_bytes() == before


def test_config_precedence_flags_over_env_over_file_over_defaults(tmp_path, monkeypatch):
    config_dir = Path(os.environ["RECBOT_CONFIG_DIR"])
    (config_dir / "config.json").write_text(json.dumps(
        {"llm": "none", "llm_timeout": 5, "chroma_url": "http://127.0.0.1:9"}))
    legacy = tmp_path / "data"
    legacy.mkdir()
    (legacy / "config.json").write_text(json.dumps({"dataset": "old-one", "llm_timeout": 1}))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(legacy))
    monkeypatch.setenv("RECBOT_LLM_TIMEOUT", "7")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    s = Settings.load(chroma_url="http://127.0.0.1:8000")
    assert s.chroma_url == "http://127.0.0.1:8000"          # flag over file
    assert s.llm_timeout == 7.0                              # env over file over old file
    assert s.llm == "none" and s.dataset == "old-one"        # file; the old file beneath it
    assert s.llm_base_url == "http://127.0.0.1:1/v1"         # OPENAI_BASE_URL honoured
    monkeypatch.setenv("RECBOT_LLM_BASE_URL", "http://127.0.0.1:2/v1")
    assert Settings.load().llm_base_url == "http://127.0.0.1:2/v1"   # ours wins
    assert Settings.load().datasets_url.startswith("https://")       # default


@pytest.mark.parametrize("text, says", [
    ('{"llm": "none",}', "not valid JSON (line 1 column"),
    ('["none"]', "must be a JSON object"),
    ('{"lmm": "none"}', "unknown setting 'lmm'"),
    ('{"dataset": 5}', "dataset must be a string"),
    ('{"llm_timeout": [1]}', "llm_timeout must be a number"),
])
def test_a_malformed_config_is_one_line_and_exit_2_and_is_left_alone(text, says, tmp_path,
                                                                     capsys):
    config = Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json"
    config.write_text(text)
    ds = write_dataset(tmp_path / "mine")
    assert main(["data", "use", str(ds)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recbot: error: {config}: ") and says in err
    assert err.count("\n") == 1
    assert config.read_text() == text                   # not overwritten


def test_an_unwritable_log_dir_is_one_line_and_nothing_is_written(tmp_path, monkeypatch,
                                                                 capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    monkeypatch.setenv("RECBOT_LOG_DIR", str(blocker / "log"))
    ds = write_dataset(tmp_path / "mine")
    assert main(["data", "use", str(ds)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the log file" in err
    assert "RECBOT_LOG_DIR" in err
    assert not (Path(os.environ["RECBOT_CONFIG_DIR"]) / "config.json").exists()


def test_verbose_logs_to_stderr_and_the_log_file(tmp_path, capsys):
    log = Path(os.environ["RECBOT_LOG_DIR"]) / "recbot.log"
    ds = write_dataset(tmp_path / "mine")
    assert main(["-v", "data", "use", str(ds)]) == 0
    assert main(["-v", "title", "Synthetic Film 7"]) == 0
    err = capsys.readouterr().err
    assert " INFO " in err or "INFO" in err
    assert log.is_file() and "INFO" in log.read_text()


def test_data_fetch_through_the_command_against_a_loopback_server(tmp_path):
    with serve_grouplens() as server:
        server.publish("ml-latest-small", make_zip())
        server.truncate_next = 1  # the first response is cut short; the client resumes
        res = run_recbot("data", "fetch", "ml-latest-small", "--base-url", server.base_url,
                         data_dir=tmp_path / "data")
        assert res.returncode == 0, res.stderr
        assert any("Range" in h for h in server.zip_requests()[1:])
        installed = tmp_path / "data" / "datasets" / "ml-latest-small"
        assert (installed / "ratings.csv").is_file()

        server.publish("ml-25m", make_zip(top="ml-25m/"), md5="0" * 32)
        res = run_recbot("data", "fetch", "ml-25m", "--base-url", server.base_url,
                         data_dir=tmp_path / "data")
        assert res.returncode == 1 and "checksum mismatch" in res.stderr
        assert not (tmp_path / "data" / "datasets" / "ml-25m").exists()


# ----- the bundled data through the real command ------------------------------------------

def test_title_similar_and_recommend_on_the_bundled_data(tmp_path):
    res = run_recbot("title", "forest gump", "--json", data_dir=tmp_path)
    assert res.returncode == 0, res.stderr
    best = json.loads(res.stdout)["best"]
    assert (best["title"], best["year"]) == ("Forrest Gump", 1994)

    res = run_recbot("similar", "Forrest Gump", "-n", "10", "--json", data_dir=tmp_path)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    ids = [r["movie_id"] for r in got["results"]]
    assert len(ids) == 10 and len(set(ids)) == 10 and got["seed"]["movie_id"] not in ids
    assert list((tmp_path / "models" / "builtin").glob("als-*.npz")), "model was not cached"

    res = run_recbot("recommend", "--like", "Toy Story", "--like", "Finding Nemo", "-n", "5",
                     "--json", data_dir=tmp_path)
    assert res.returncode == 0, res.stderr
    recs = json.loads(res.stdout)["results"]
    assert len(recs) == 5
    assert all(r["because"] for r in recs), "every cold-start pick names a liked title"
    assert {b["title"] for r in recs for b in r["because"]} <= {"Toy Story", "Finding Nemo"}


def test_profile_command_edits_and_forgets(tmp_path):
    res = run_recbot("profile", "--like", "Heat", "--seen", "Fargo", "--json", data_dir=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["profile"]
    assert {(r["movie_id"], r["kind"]) for r in rows} == {(6, "like"), (608, "seen")}
    res = run_recbot("profile", "--forget", "Heat", "--like", "Zxqwv Blorp", data_dir=tmp_path)
    assert res.returncode == 1 and "Zxqwv Blorp" in res.stderr    # bad title: nothing written
    res = run_recbot("profile", "--forget", "Heat", "--json", data_dir=tmp_path)
    assert {r["movie_id"] for r in json.loads(res.stdout)["profile"]} == {608}


def test_eval_leaves_ease_out_above_its_size_limit_and_refuses_it_by_name(tmp_path, capsys,
                                                                          monkeypatch):
    import recbot.ranking.models as models

    ds = write_dataset(tmp_path / "my-movielens")
    monkeypatch.setattr(models, "EASE_MAX_ITEMS", 5)   # the written set has more rated films
    assert main(["--dataset", str(ds), "eval", "--json", "--k", "5"]) == 0
    out, err = capsys.readouterr()
    assert [r["ranker"] for r in json.loads(out)["results"]] == ["als", "itemknn", "pop"]
    assert "EASE left out" in err and "up to 5" in err
    assert main(["--dataset", str(ds), "eval", "--rankers", "als,ease"]) == 1
    out, err = capsys.readouterr()
    assert "EASE needs a dense" in err and "use als" in err and not out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
