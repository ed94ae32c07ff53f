"""What keeps a scripted `recbot ask` under a second, checked for what it must not change:
the quick exit still saves the turn and the log and says when the output cannot be
written; the shipped seeker-words table is the computed one; a restored MF model answers
without implicit until a reason needs it; the keyword source finds what it found before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

RECBOT = Path(sys.executable).with_name("recbot")


def _env(data_dir: Path, log_dir: Path) -> dict[str, str]:
    env = {**os.environ, "RECBOT_DATA_DIR": str(data_dir), "RECBOT_LOG_DIR": str(log_dir)}
    env.pop("RECBOT_LLM_BASE_URL", None)
    return env


# ----- the quick exit ---------------------------------------------------------------------

def test_a_quick_turn_still_logs_and_saves_the_session(indexed_data_dir, tmp_path):
    env = _env(indexed_data_dir, tmp_path / "log")
    first = subprocess.run([str(RECBOT), "ask", "a heist movie with a twist", "--llm", "none",
                            "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)      # the whole answer came out before the exit
    assert len(answer["recommendations"]) == 5
    log = (tmp_path / "log" / "recbot.log").read_text()
    assert "ask exited 0 after" in log     # logging's handlers were flushed
    again = subprocess.run([str(RECBOT), "ask", "why the first one?", "--llm", "none", "--json",
                            "--session", answer["session"]],
                           capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr    # the session was committed
    assert answer["recommendations"][0]["title"] in json.loads(again.stdout)["reply"]


def test_a_closed_pipe_ends_the_turn_quietly(indexed_data_dir, tmp_path):
    env = _env(indexed_data_dir, tmp_path / "log")
    proc = subprocess.Popen([str(RECBOT), "ask", "a heist movie with a twist", "--llm", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()          # the reader went away before the answer
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert "Traceback" not in err and "Exception ignored" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [
    ["ask", "a heist movie with a twist", "--llm", "none"],
    ["ask", "a heist movie with a twist", "--llm", "none", "--json"],
    ["title", "Heat", "--json"],
    ["export"],
])
def test_output_to_a_full_disk_is_one_line_and_exit_1(indexed_data_dir, tmp_path, args):
    with open("/dev/full", "w") as full:
        res = subprocess.run([str(RECBOT), *args], stdout=full, stderr=subprocess.PIPE,
                             text=True, env=_env(indexed_data_dir, tmp_path / "log"),
                             timeout=300)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("recbot: error: cannot write to standard output")
    assert "No space left" in lines[-1] and "Traceback" not in res.stderr


def test_only_a_turn_on_a_current_index_leaves_without_teardown(indexed_data_dir, tmp_path,
                                                                 monkeypatch, capsys):
    """``run`` ends an ask on a ready index with ``os._exit`` after the exit handlers, and
    every other command the usual way."""
    import atexit

    from recbot.tui import cli

    monkeypatch.setenv("RECBOT_DATA_DIR", str(indexed_data_dir))

    class Exited(Exception):
        pass

    handlers = []

    def fake_exit(code):
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: handlers.append("ran"))
    with pytest.raises(Exited) as quick:
        cli.run(["ask", "something like Heat", "--llm", "none", "--json"])
    assert quick.value.args == (0,) and handlers == ["ran"]
    assert json.loads(capsys.readouterr().out)["recommendations"]
    with pytest.raises(SystemExit) as usual:
        cli.run(["profile", "--json"])
    assert usual.value.code == 0 and handlers == ["ran"]
    with pytest.raises(SystemExit) as bad:      # a refused ask takes the usual way too
        cli.run(["ask", "hi", "--k", "0", "--llm", "none"])
    assert bad.value.code != 0


# ----- the shipped seeker-words table -------------------------------------------------------

def test_the_shipped_seeker_words_table_is_the_computed_one():
    from recbot.agent.candidates.text import seeker_stop_words
    from recbot.retrieval import prior

    stop = seeker_stop_words()
    stamp = prior.seeker_words_stamp(prior.CONTEXTS_JSONL, stop)
    shipped = prior.read_seeker_words(prior.SEEKER_WORDS_JSON, stamp)
    assert shipped is not None, ("retrieval/data/redial_seeker_words.json is out of date: "
                                 "run python bench/build_redial_prior.py --seeker-words")
    computed = prior.seeker_words(prior.ChatNeighbours.load().contexts, stop)
    assert shipped == computed and len(shipped) > 500


def test_a_table_of_other_inputs_or_garbled_is_not_used(tmp_path):
    from recbot.retrieval import prior

    contexts = tmp_path / "contexts.jsonl.gz"
    import gzip

    with gzip.open(contexts, "wt", encoding="utf-8") as fh:
        for text, film in [("I want heists with a twist", 1), ("heists please, clever ones", 1),
                           ("a clever heist", 2), ("space and aliens", 3)]:
            fh.write(json.dumps({"text": text, "films": {str(film): 1.0}}) + "\n")
    table = tmp_path / "words.json"
    prior.write_seeker_words(table, contexts, frozenset({"want", "please"}))
    stamp = prior.seeker_words_stamp(contexts, frozenset({"want", "please"}))
    assert prior.read_seeker_words(table, stamp) == prior.seeker_words(
        prior.ChatNeighbours.load(contexts).contexts, frozenset({"want", "please"}))
    # other stop words, or other contexts: another stamp, the table is not used
    assert prior.read_seeker_words(table, prior.seeker_words_stamp(contexts, frozenset())) \
        is None
    for garbled in ("{", "[]", '{"format": "recbot-seeker-words/1", "stamp": "%s", '
                               '"words": {"1": [3]}}' % stamp):
        table.write_text(garbled)
        assert prior.read_seeker_words(table, stamp) is None


def test_contexts_are_read_again_when_their_file_changes(tmp_path):
    import gzip

    from recbot.retrieval.prior import ChatNeighbours

    path = tmp_path / "c.jsonl.gz"

    def write(texts):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            for t in texts:
                fh.write(json.dumps({"text": t, "films": {"1": 1.0}}) + "\n")

    write(["one"])
    assert [c.text for c in ChatNeighbours.load(path).contexts] == ["one"]
    write(["one", "two and more"])
    assert [c.text for c in ChatNeighbours.load(path).contexts] == ["one", "two and more"]
    first = ChatNeighbours.load(path)
    first.contexts.append("not shared")         # one instance's list is its own
    assert len(ChatNeighbours.load(path).contexts) == 2


# ----- a restored MF model -------------------------------------------------------------------

def test_a_restored_als_model_needs_implicit_only_for_reasons(tmp_path):
    code = r"""
import sys, numpy as np, scipy.sparse as sp
from recbot.ranking.interactions import Interactions
from recbot.ranking.models import ALSRanker
from recbot.ranking import store
rng = np.random.default_rng(0)
R = sp.random(120, 60, density=0.15, random_state=rng, format="csr", dtype=np.float32)
R.data = rng.choice([1.0, 3.0, 4.5, 5.0], size=R.nnz).astype(np.float32)
fitted = ALSRanker(factors=8, iterations=3).fit(Interactions(np.arange(120), np.arange(60), R))
store.save(fitted, sys.argv[1])
"""
    path = tmp_path / "als.npz"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=300)
    probe = r"""
import sys, json
from recbot.ranking import store
ranker = store.load(sys.argv[1])
liked = [int(i) for i in ranker.interactions.item_ids[:3]]
recs = [c.item_id for c in ranker.recommend_for_items(liked, n=5)]
before = "implicit" in sys.modules
why = ranker.explain_many(liked, recs[:2])
print(json.dumps({"before": before, "after": "implicit" in sys.modules, "recs": len(recs),
                  "why": len(why)}))
"""
    out = subprocess.run([sys.executable, "-c", probe, str(path)], check=True, timeout=300,
                         capture_output=True, text=True)
    got = json.loads(out.stdout)
    assert got == {"before": False, "after": True, "recs": 5, "why": 2}


def test_a_restored_models_fold_in_and_reasons_equal_the_fitted_ones(tmp_path):
    from recbot.ranking import store
    from recbot.ranking.interactions import Interactions
    from recbot.ranking.models import ALSRanker

    rng = np.random.default_rng(4)
    R = sp.random(150, 70, density=0.12, random_state=rng, format="csr", dtype=np.float32)
    R.data = rng.choice([1.0, 2.5, 4.0, 5.0], size=R.nnz).astype(np.float32)
    fitted = ALSRanker(factors=12, iterations=3).fit(
        Interactions(np.arange(150), np.arange(70), R))
    store.save(fitted, tmp_path / "m.npz")
    loaded = store.load(tmp_path / "m.npz")
    profile = sp.csr_matrix(np.array([[2.0, 0, -2.0, 1.0] + [0] * 66], dtype=np.float32))
    np.testing.assert_allclose(loaded.fold_in(profile), fitted.fold_in(profile), atol=1e-5)
    theirs = fitted.model.recalculate_user(np.arange(1), profile)[0]   # implicit
    np.testing.assert_allclose(loaded.fold_in(profile)[0], theirs, atol=1e-5)
    liked = [0, 3, 5]
    a, b = fitted.explain_many(liked, [10, 20]), loaded.explain_many(liked, [10, 20])
    assert a.keys() == b.keys() == {10, 20}
    for item in a:
        assert [c.item_id for c in a[item].contributions] == [c.item_id for c in b[item].contributions]
        assert a[item].score == pytest.approx(b[item].score, abs=1e-5)


# ----- the keyword source -----------------------------------------------------------------------

def test_keyword_matches_equal_one_text_per_film(workspace):
    """Studios and "superhero" are looked at only for words they could hold: every query
    finds what one text per film (tags, plot, studios, "superhero") finds."""
    from recbot.agent.candidates.generator import CandidateGenerator
    from recbot.agent.candidates.text import (_is_superhero, _names_someone, _stem_pattern,
                                              _studios_of)

    catalog = workspace.catalog
    gen = CandidateGenerator(catalog, None, None)
    whole = {m.movie_id: " ".join([*(t for t in m.tags if not _names_someone(t, gen.first_names)),
                                   m.overview or "", *_studios_of(m),
                                   *(["superhero"] if _is_superhero(m) else [])]).lower()
             for m in catalog}
    for word in ("superheroes", "pixar", "ghibli", "heist", "twist", "zombie", "dog", "studio",
                 "animation", "marvel", "witch", "disney", "dreamworks", "super"):
        pattern = _stem_pattern(word)
        found = gen._films_matching(pattern)
        assert found == {i for i, t in whole.items() if pattern.search(t)}, word
    assert gen._films_matching(_stem_pattern("pixar"))           # the extras are reached
    assert gen._films_matching(_stem_pattern("superhero"))
