"""``similar``: the MF ranker's fold-in from the films the user named ("like X"), and the
co-rating evidence for them: X's fans rate this film 4+ n times as often as raters do."""

from __future__ import annotations

from ...explain.evidence import MIN_LIFT, MIN_SUPPORT, Fact, co_rating_text
from ...kinds import FactKind
from .base import Source


def collect(gen, req, found, lists):
    return gen._mf(req.seeds) if req.seeds else None


def evidence(gen, cand, req, clues, facts) -> None:
    for seed in clues.seeds:
        got = gen.corate.lift(seed.movie_id, cand.movie_id)
        if got is None:
            continue
        both, fans, lift = int(got[0]), int(got[1]), float(got[2])
        if fans < MIN_SUPPORT:
            facts.append(Fact(FactKind.THIN, f"few people rated {seed.title} 4+ ({fans}), too "
                                             f"few to say what else they loved"))
        elif both >= MIN_SUPPORT and lift >= MIN_LIFT:
            base = float(both / fans / lift)
            facts.append(Fact(FactKind.CO_RATING, co_rating_text(seed.title, both, fans, lift),
                              short=f"{seed.title} fans love it {lift:.1f}× as often",
                              bars=((f"{seed.title} fans", both / fans), ("all raters", base))))


SOURCE = Source("similar", 1.0, collect,
                "#{rank} among the films people who loved {names} also loved", evidence,
                (FactKind.CO_RATING, FactKind.THIN))
