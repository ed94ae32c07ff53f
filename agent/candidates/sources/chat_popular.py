"""``chat_popular``: the films real recommenders suggest most (ReDial); explained by the
``chat`` source's evidence."""

from __future__ import annotations

from .base import Source
from ...i18n import N_


def collect(gen, req, found, lists):
    return gen.prior.popular() if gen.prior is not None else None


SOURCE = Source("chat_popular", 1.0, collect, N_("#{rank} among the films most suggested in real chats"),
                generic=True)
