"""``chat``: what real recommenders suggested after the films the user named (ReDial); its
evidence (for any of the chat sources) says how often, or with which named film."""

from __future__ import annotations

from ...explain.evidence import fact
from ...i18n import N_
from ...kinds import FactKind
from .base import Source

CHAT_SOURCES = frozenset({"chat", "chat_popular", "chat_similar"})


def collect(gen, req, found, lists):
    named = [*req.seeds, *req.likes]
    if gen.prior is None or not named:
        return None
    return gen.prior.following(named)


def evidence(gen, cand, req, clues, facts) -> None:
    if gen.prior is None or not cand.sources.keys() & CHAT_SOURCES:
        return
    after = [(s, gen.prior.after.get(s.movie_id, {}).get(cand.movie_id, 0)) for s in clues.seeds]
    after = [(s, n) for s, n in after if n >= 2]
    n_all = gen.prior.suggested.get(cand.movie_id, 0)
    if after:
        s, n = max(after, key=lambda sn: sn[1])
        facts.append(fact(FactKind.CHAT, N_("in real recommendation chats, it was suggested "
                                            "together with {title} {n} times"),
                          title=s.title, n=n))
    elif n_all >= 3:
        facts.append(fact(FactKind.CHAT, N_("people suggested it {n} times in real movie "
                                            "recommendation chats"), n=n_all))


SOURCE = Source("chat", 1.0, collect,
                N_("#{rank} among films suggested after {names} in real chats"),
                evidence, (FactKind.CHAT,))
