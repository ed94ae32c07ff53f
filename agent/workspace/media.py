"""The user's own media: Whisper transcription and ingesting files into the store, the
ledger and the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..settings import Settings
from .data import Data
from .index import Index

if TYPE_CHECKING:
    from recbot.retrieval.ingest import Ingester, IngestReport


class Media:
    """Transcribes and ingests files into ``index``'s store and ``data``'s ledger."""

    def __init__(self, settings: Settings, data: Data, index: Index) -> None:
        self.settings = settings
        self.data = data
        self.index = index

    def transcriber(self, model: str | None = None, language: str | None = None):
        """Whisper: a model the user named, as it is; else speech in any language (the
        bundled tiny.en for English, the multilingual base for the rest: detected per
        file, or ``language`` / the ``whisper_language`` setting)."""
        from recbot.retrieval.transcribe import AutoTranscriber, WhisperTranscriber

        from recbot.retrieval.transcribe import check_language

        model = model or self.settings.whisper_model
        language = language or self.settings.whisper_language
        if model:
            if language:
                language = check_language(language, model)
            return WhisperTranscriber(model, language=language)
        return AutoTranscriber(language)

    def ingester(self, transcriber=None) -> Ingester:
        from recbot.retrieval.ingest import Ingester

        return Ingester(self.index.store, self.data.ledger, transcriber or self.transcriber(),
                        self.index.embedder, self.data.catalog)

    def ingest(self, paths: Iterable[str], *, item_id: int | None = None,
               on_file=None) -> IngestReport:
        report = self.ingester().ingest(paths, item_id=item_id, on_file=on_file)
        if report.ingested:  # new items may have joined the catalog
            self.data.forget_catalog()
            self.index.forget_searcher()
        return report
