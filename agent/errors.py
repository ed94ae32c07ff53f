"""The failures a user can act on, from every layer: printed as one line, never a traceback."""

from __future__ import annotations


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is a complete one-line explanation for the user."""
    from recbot.ranking.errors import RankingError
    from recbot.retrieval.errors import RetrievalError

    from .importer import ImportFileError
    from .reader.intent import InputError
    from .llm import LLMError
    from .memory import MemoryError_
    from .workspace import BatchInputError

    return (BatchInputError, RankingError, RetrievalError, LLMError, MemoryError_, InputError,
            ImportFileError)
