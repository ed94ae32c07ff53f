"""``chat_talk``: what real chats suggested to the seekers whose words are nearest to what
the user said (retrieval.prior.ChatNeighbours); its evidence quotes the seeker's line.

On ReDial's learn folds (contexts and prior from the other fold) novel R@10 0.098 / 0.111
-> 0.114 / 0.121 at weight 1.5 (1.0: 0.111 / 0.116; 2.0: 0.116 / 0.121, ties 1.5 on fold 2);
"something like X" asks leave it out (X's neighbours lead there, and that turn then needs
no embedding): 0.114 / 0.120."""

from __future__ import annotations

from ...explain.evidence import fact
from ...i18n import N_
from ...kinds import FactKind
from ..text import _AVOID_WORDING, quote_line
from .base import Source


def collect(gen, req, found, lists):
    if gen.conversations is None or not req.talk.strip() or (req.seeds and req.similar) \
            or req.lang != "en":     # the seekers' words are English: a Spanish ask reads as noise
        return None
    ranked, found.quotes = gen.conversations(req.talk)
    return ranked


def evidence(gen, cand, req, clues, facts) -> None:
    if not clues.quote or "chat_talk" not in cand.sources:
        return
    words = quote_line(clues.quote, req.talk)
    kept_out = [_AVOID_WORDING.sub("", a).lower() for a in req.constraints.avoided]
    if words and any(k and k in words.lower() for k in kept_out):
        words = None    # "Other than Star Wars": no reason after "not star wars"
    if words:
        facts.append(fact(FactKind.CHAT_TALK, N_('in a real recommendation chat, someone who '
                                                 'said "{words}" was suggested it'), words=words))


SOURCE = Source("chat_talk", 1.5, collect,
                N_("#{rank} among what real chats suggested to people who said what you said"),
                evidence, (FactKind.CHAT_TALK,))
