"""``chat_similar``: the films people suggest in chats, nearest to what the user named first
(the MF list's order); explained by the ``chat`` source's evidence."""

from __future__ import annotations

from .base import Source
from ...i18n import N_


def collect(gen, req, found, lists):
    if gen.prior is None or not (req.seeds or req.likes):
        return None
    near = lists.get("similar") or lists.get("profile") or []
    return [i for i in near if i in gen.prior.suggested]


SOURCE = Source("chat_similar", 1.0, collect, N_("#{rank} among chat favourites near {names}"))
