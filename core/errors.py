"""The one exception tree of foerdersuche.

    FoerdersucheError                 base of everything raised on purpose
    +-- ConfigError                   a setting is missing or invalid
    +-- ModelError                    the embedding model cannot be provisioned or loaded
    +-- StoreError                    the index cannot be opened, read or written
    |   +-- StoreUnavailable          a configured Qdrant server does not answer
    |   +-- StoreCorrupted            the embedded store directory is damaged (recover: `foerdersuche reindex`)
    +-- ParseError                    a file cannot be turned into a Document (carries a FileStatus)
    +-- CrawlError                    a crawl cannot start (bad sources file, ...)
    +-- NotFound                      a document or job id does not exist
    +-- QueryError                    a query or filter is invalid

Per-file problems during ingest are not raised to the caller: they become entries of the report.
"""

from __future__ import annotations

from core.models import FileStatus


class FoerdersucheError(Exception):
    """Base class; ``str(err)`` is a message fit for a user."""


class ConfigError(FoerdersucheError):
    pass


class ModelError(FoerdersucheError):
    pass


class StoreError(FoerdersucheError):
    pass


class StoreUnavailable(StoreError):
    pass


class StoreCorrupted(StoreError):
    pass


class OutdatedIndex(StoreError):
    """The index was written by an earlier version of foerdersuche; ``foerdersuche reindex`` rebuilds it."""


class ParseError(FoerdersucheError):
    """A file could not be parsed; ``status`` says why in the report's vocabulary."""

    def __init__(self, status: FileStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CrawlError(FoerdersucheError):
    pass


class NotFound(FoerdersucheError):
    pass


class QueryError(FoerdersucheError):
    pass
