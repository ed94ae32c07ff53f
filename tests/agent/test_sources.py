"""The candidate sources as a registry: each declares its name, weight, signal and evidence
in one module, and nothing else has to list it. Fact kinds and critique names are enums: a
typo fails where it is written."""

from __future__ import annotations

import shutil

import pytest

from recbot.agent.candidates import generator, sources
from recbot.agent.candidates.sources import SOURCES, WEIGHTS, Source
from recbot.agent.explain.evidence import Fact
from recbot.agent.kinds import CritiqueKind, FactKind
from recbot.agent.reader.lexicon import RULES_DIR, LexiconError, lexicon


def test_every_source_declares_a_name_weight_and_how_it_finds_films():
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    assert {"similar", "search", "chat_talk", "people"} <= set(names)
    for s in SOURCES:
        assert s.weight > 0 and callable(s.collect), s.name
        assert WEIGHTS[s.name] == s.weight
        if s.evidence is not None:
            assert s.facts and all(isinstance(k, FactKind) for k in s.facts), s.name


def test_a_new_source_needs_only_its_module(make_agent, monkeypatch):
    """A source added to the registry is fused with its weight, counted in "why #n" and
    explained by its own evidence, with no change to the generator or the questions (the
    registry and its signal table patched as importing a new module would build them)."""
    agent = make_agent()
    gen = agent.generator
    pick = next(m.movie_id for m in agent.catalog if m.title == "Groundhog Day")

    def collect(gen, req, found, lists):
        return [pick]

    def evidence(gen, cand, req, clues, facts):
        if "staff" in cand.sources:
            facts.append(Fact(FactKind.THEME, "the staff's pick of the week"))

    staff = Source("staff", 5.0, collect, "#{rank} among the staff's picks", evidence,
                   (FactKind.THEME,))
    monkeypatch.setattr(generator, "SOURCES", (*SOURCES, staff))
    monkeypatch.setattr("recbot.agent.questions.SIGNALS", {**sources.SIGNALS, "staff":
                                                           staff.signal})
    assert gen is agent.generator
    ans = agent.ask("a comedy")
    top = ans.recommendations[0]
    assert top.movie_id == pick and top.sources.get("staff") == 1, [r.title for r in
                                                                   ans.recommendations]
    assert any(f.text == "the staff's pick of the week" for f in top.evidence)
    why = agent.ask("why #1?", ans.session)
    assert "#1 among the staff's picks" in why.reply, why.reply


def test_a_typo_in_a_fact_kind_fails_where_it_is_written():
    with pytest.raises(ValueError):
        Fact("thme", "tagged time travel")
    assert Fact("theme", "x").kind is FactKind.THEME
    assert Fact.from_dict(Fact(FactKind.CO_RATING, "y").as_dict()).kind == "co_rating"


def test_a_critique_the_sources_cannot_apply_is_refused_at_load(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    path = rules / "critiques.toml"
    path.write_text(path.read_text().replace('name = "lighter"', 'name = "lighterr"'))
    with pytest.raises(LexiconError, match="critiques.toml: critique 'lighterr'"):
        lexicon(rules)
    assert {r.name for r in lexicon().critiques} <= set(CritiqueKind)
