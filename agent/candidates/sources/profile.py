"""``profile``: the MF ranker for a MovieLens user, else its fold-in from the session's likes
and dislikes; its evidence names the likes that pushed a film up most."""

from __future__ import annotations

from ...explain.evidence import MIN_LIFT, MIN_SUPPORT, Words, fact
from ...i18n import N_
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
    pick = gen.catalog[cand.movie_id]
    names = [gen.catalog[c.item_id].title for c in (ex.contributions if ex else ())
             if c.share > 0.05 and c.item_id in gen.catalog
             and related(gen, gen.catalog[c.item_id], pick)]
    if names:
        facts.append(fact(FactKind.BECAUSE_YOU_LIKED,
                          N_("you liked {titles}, which pushed it up most"),
                          titles=Words(tuple(names), " and ")))


# A liked film of no shared genre or person is cited for a pick only when its fans rate the
# pick 4+ this many times as often as raters do. In MovieLens's small set the fans of any
# popular film are heavy raters, so lifts of 1.5-2.5 link almost any two popular films
# (Terminator 2's fans rate The Lion King 4+ 1.8x as often; The Fly's 2.5x): such a lift
# says they rate many films, not that the two are related.
CITE_LIFT = 3.0


# Genres too broad to link two films in a reason: nearly half the catalog is a drama, so
# "you liked Rocky" said of The Wolf of Wall Street and The Notebook (a newcomer's boxing
# chat) cites no tie a user can see
BROAD_GENRES = frozenset({"Drama"})


def related(gen, liked, pick) -> bool:
    """A liked film a reason may cite for ``pick``: it shares a genre (other than
    ``BROAD_GENRES``) or a person with it, or its fans rate the pick 4+ far more often than
    raters do (``CITE_LIFT``)."""
    if (set(liked.genres) & set(pick.genres)) - BROAD_GENRES or \
            set((*liked.directors, *liked.stars)) & set((*pick.directors, *pick.stars)):
        return True
    got = gen.corate.lift(liked.movie_id, pick.movie_id)
    return bool(got and got[0] >= MIN_SUPPORT and got[2] >= max(MIN_LIFT, CITE_LIFT))


SOURCE = Source("profile", 0.3, collect, N_("#{rank} for your likes (MF ranker)"), evidence,
                (FactKind.BECAUSE_YOU_LIKED,), within_ask=True)
