"""``search``: semantic search over catalog documents and transcripts for a described ask
(not for a mood alone: MiniLM scores a lone mood word alike against everything); its
evidence is the passage of dialogue it matched, the ask's theme, and its similarity."""

from __future__ import annotations

from ...explain.evidence import Fact, fact, looks_like_instructions
from ...i18n import N_
from ...kinds import FactKind
from ..text import _mood_only, _theme
from .base import Source


def collect(gen, req, found, lists):
    if not (req.query or req.about) or _mood_only(req.query):
        return None
    # "a movie about dogs" after "a heist movie": a subject is searched alone (its topic
    # filter reads these scores)
    about = {} if req.topic else req.about
    ranked, found.hits = gen._search(req.query, req.constraints, req.exclude, about, req.lang)
    return ranked


def evidence(gen, cand, req, clues, facts) -> None:
    hit = clues.hit
    if hit is None:
        return
    for ev in hit.evidence:
        if ev.kind == "transcript" and not looks_like_instructions(ev.text):
            facts.append(Fact(FactKind.TRANSCRIPT, ev.text, ev.start, ev.end, ev.source))
    if req.query:
        theme = _theme(gen.catalog[cand.movie_id], req.query, gen.first_names)
        if theme is not None:
            facts.append(theme)
        facts.append(fact(FactKind.MATCH, N_("matches your description (similarity "
                                             "{score:.2f})"), score=hit.score))


SOURCE = Source("search", 1.0, collect, N_("#{rank} in the search for your description"),
                evidence,
                (FactKind.TRANSCRIPT, FactKind.THEME, FactKind.MATCH))
