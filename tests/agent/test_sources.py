"""The candidate sources as a registry: each declares its name, weight, signal and evidence
in one module, and nothing else has to list it. Fact kinds and critique names are enums: a
typo fails where it is written."""

from __future__ import annotations

import re
import shutil

import pytest

from recbot.agent.candidates import sources
from recbot.agent.candidates import Request
from recbot.agent.candidates.sources import SOURCES, Clues, Source
from recbot.agent.explain.evidence import Fact
from recbot.agent.kinds import CritiqueKind, FactKind
from recbot.agent.reader.lexicon import RULES_DIR, LexiconError, lexicon


def test_every_source_declares_a_name_weight_and_how_it_finds_films():
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))
    assert {"similar", "search", "chat_talk", "people"} <= set(names)
    for s in SOURCES:
        assert s.weight > 0 and callable(s.collect), s.name
        if s.evidence is not None:
            assert s.facts and all(isinstance(k, FactKind) for k in s.facts), s.name
        if s.signal:
            assert "{rank}" in s.signal, s.name


def test_each_source_gives_only_the_facts_it_declares(make_agent):
    """Every source's evidence, run on its own over real candidates of a few asks, adds
    only the kinds of fact it declares, and the ones that can speak here do."""
    agent = make_agent()
    gen = agent.generator
    heat = next(m for m in agent.catalog if m.title == "Heat" and m.year == 1995)
    asks = [Request(seeds=[heat.movie_id], similar=True, talk="something like Heat"),
            Request(query="dogs", topic=True, talk="a movie about dogs"),
            Request(people=["Meryl Streep"], only=set(agent.mentions_person("Meryl Streep")),
                    talk="something with Meryl Streep")]
    spoke: set[str] = set()
    for req in asks:
        _, _, found = gen._fuse(req)
        seeds = [agent.catalog[i] for i in req.seeds]
        for cand in gen.gather(req, pool=10):
            clues = Clues(seeds, found.hits.get(cand.movie_id), None,
                          found.quotes.get(cand.movie_id))
            for source in SOURCES:
                if source.evidence is None:
                    continue
                facts: list[Fact] = []
                source.evidence(gen, cand, req, clues, facts)
                assert {f.kind for f in facts} <= set(source.facts), (source.name, facts)
                if facts:
                    spoke.add(source.name)
    assert {"similar", "people", "keyword", "chat"} <= spoke, spoke


def test_a_new_source_needs_only_its_module(make_agent, monkeypatch):
    """A source added to the registry is fused with its weight, counted in "why #n" and
    explained by its own evidence, with no change to the generator or the questions (the
    registry patched as listing a new module in sources/__init__.py builds it)."""
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
    monkeypatch.setattr(sources, "SOURCES", (*SOURCES, staff))   # what its module adds
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


def test_the_profile_personalises_within_the_ask(make_agent):
    """With a profile of sci-fi and horror likes, an ask for animated films gets animated
    films only, and a reason cites a liked film only when it relates to the pick."""
    agent = make_agent()
    liked = {m.movie_id: "like" for m in agent.catalog
             if (m.title, m.year) in {("Alien", 1979), ("Aliens", 1986), ("Predator", 1987)}}
    assert len(liked) == 3
    agent.memory.add_feedback(None, liked)
    ans = agent.ask("a movie about toys")
    assert ans.recommendations
    for rec in ans.recommendations:
        assert "profile" not in rec.sources or len(rec.sources) > 1, rec.title
        for fact in rec.evidence:
            if fact.kind == FactKind.BECAUSE_YOU_LIKED:
                pick = agent.catalog[rec.movie_id]
                said = re.search(r"you liked (.+?), which pushed", fact.text)
                names = said.group(1).split(" and ") if said else []
                cited = [agent.catalog[i] for i in liked if agent.catalog[i].title in names]
                assert cited and all(sources.profile.related(agent.generator, m, pick)
                                     for m in cited), (rec.title, fact.text)
