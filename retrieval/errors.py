"""Errors raised by retrieval; each message is one line a user can act on."""


class RetrievalError(Exception):
    """Base class. ``str(err)`` says what is wrong and what to do about it."""


class DatasetError(RetrievalError):
    """A dataset file or archive is missing, malformed, or failed to download."""


class CatalogError(RetrievalError):
    """The catalog could not be built from the dataset files."""


class EmbeddingError(RetrievalError):
    """An embedding model is missing, unreadable, or failed to run."""


class TranscriptionError(RetrievalError):
    """A media file could not be read, or the speech model could not be loaded."""
