"""``profile``: the MF ranker for a MovieLens user, else its fold-in from the session's likes
and dislikes; its evidence names the likes that pushed a film up most."""

from __future__ import annotations

from ...explain.evidence import Fact
from ...kinds import FactKind
from .base import Source


def collect(gen, req, found, lists):
    if req.user_id is not None:
        return gen._user(req.user_id)
    if req.likes:
        return gen._mf(req.likes, req.dislikes)
    return None


def evidence(gen, cand, req, clues, facts) -> None:
    if "profile" not in cand.sources or clues.explained is None:
        return
    ex = clues.explained.get(cand.movie_id)
    names = [gen.catalog[c.item_id].title for c in (ex.contributions if ex else ())
             if c.share > 0.05 and c.item_id in gen.catalog]
    if names:
        facts.append(Fact(FactKind.BECAUSE_YOU_LIKED,
                          f"you liked {' and '.join(names)}, which pushed it up most"))


SOURCE = Source("profile", 0.3, collect, "#{rank} for your likes (MF ranker)", evidence,
                (FactKind.BECAUSE_YOU_LIKED,))
