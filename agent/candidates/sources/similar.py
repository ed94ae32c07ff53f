"""``similar``: the MF ranker's fold-in from the films the user named ("like X"), and the
co-rating evidence for them: X's fans rate this film 4+ n times as often as raters do."""

from __future__ import annotations

from ...explain.evidence import CO_RATING, MIN_LIFT, MIN_SUPPORT, fact
from ...i18n import N_
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
            facts.append(fact(FactKind.THIN, N_("few people rated {title} 4+ ({fans}), too few "
                                                "to say what else they loved"),
                              title=seed.title, fans=fans))
        elif both >= MIN_SUPPORT and lift >= MIN_LIFT:
            base = float(both / fans / lift)
            facts.append(fact(FactKind.CO_RATING, CO_RATING, title=seed.title, lift=lift,
                              both=both, fans=fans,
                              short=f"{seed.title} fans love it {lift:.1f}× as often",
                              bars=((f"{seed.title} fans", both / fans), ("all raters", base))))


SOURCE = Source("similar", 1.0, collect,
                N_("#{rank} among the films people who loved {names} also loved"), evidence,
                (FactKind.CO_RATING, FactKind.THIN))
