"""``foerdersuche reindex``: re-parse every live document from its kept raw bytes and index it again.

After a parser, chunker or enrichment improvement the index is rebuilt without fetching or reading a
single source again: the registry knows each live source's ``raw_sha256``, the ``RawStore`` holds the
bytes. Document ids stay what they were (``doc_id_for`` of the same URL or source), so every document's
passages are replaced, never duplicated. A source whose raw bytes are missing becomes a FAILED entry
of the report (fetch or ingest it again); nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from core.ids import doc_id_for
from core.models import FileStatus
from core.rawstore import RawStore
from core.registry import Registry, SourceRecord
from ingest.discovery import SourceItem
from ingest.pipeline import Indexer
from ingest.report import FileResult, IngestReport


def reindex_plan(registry: Registry, raw: RawStore) -> tuple[list[SourceRecord], list[FileResult]]:
    """(live records whose raw bytes are kept, results for those whose bytes are missing)."""
    ready: list[SourceRecord] = []
    missing: list[FileResult] = []
    for record in list(registry.all()):
        if record.raw_sha256 and raw.has(record.raw_sha256):
            ready.append(record)
        else:
            missing.append(
                FileResult(
                    record.source,
                    FileStatus.FAILED,
                    "raw bytes not kept: fetch or ingest this source again",
                    0,
                    record.doc_id,
                    record.title,
                )
            )
    return ready, missing


def item_for(record: SourceRecord, raw: RawStore) -> SourceItem:
    """The source item that reproduces ``record``'s document id from its raw bytes."""
    assert record.raw_sha256 is not None
    # a crawled document's id derives from its URL, a file's from its source path (its url field may
    # hold the page's canonical link): keep whichever gave the recorded id
    url = record.url if record.url and doc_id_for(record.url) == record.doc_id else None
    return SourceItem(
        source=record.source,
        data=raw.get(record.raw_sha256),
        url=url,
        content_type=record.media_type,
        source_name=record.source_name,
    )


def reindex(indexer: Indexer, *, on_result: Callable[[FileResult], None] | None = None) -> IngestReport:
    """Force re-indexing of every live registry record from its raw bytes."""
    ready, missing = reindex_plan(indexer.registry, indexer.raw)
    for result in missing:
        if on_result:
            on_result(result)

    def items() -> Iterator[SourceItem]:  # one file's bytes in memory at a time
        for record in ready:
            yield item_for(record, indexer.raw)

    report = indexer.ingest(items(), force=True, on_result=on_result)
    return IngestReport(
        files=tuple(missing) + report.files, seconds=report.seconds, passages_written=report.passages_written
    )
