"""Errors raised by ranking; each message is one line a user can act on."""


class RankingError(Exception):
    """Base class. ``str(err)`` says what is wrong and what to do about it."""


class InteractionsError(RankingError):
    """A ratings file or table is missing columns, malformed or empty."""


class ModelError(RankingError):
    """A saved model is unreadable, from another version, or stale."""
