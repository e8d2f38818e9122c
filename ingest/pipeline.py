"""The ingest run, orchestrated: sources -> parse (isolated) -> chunk -> enrich -> embed -> write to the index.

Failures are data: every input ends as one ``FileResult`` with a status and a reason; nothing is
dropped silently and one bad file never aborts the run. Crash-safety: a source is marked
``indexing`` in the registry before its points are written and gets its final status after, so an
interrupted run redoes exactly the unfinished sources; stable point ids make the redo overwrite
instead of duplicate. Every run starts with ``ingest.reconcile.reconcile``, which removes what an
interrupted run left half-done. A full disk ends the run with a ``StoreError`` that says so.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.analysis import AnalyserConfig, passage_vector
from core.errors import ParseError, StoreError
from core.facts import INTEL_VERSION, DocIntel, intel_to_json
from core.gazetteer import Gazetteer
from core.ids import content_hash, doc_id_for
from core.model.embedding import Embedder
from core.models import DocInfo, Document, FileStatus, Passage
from core.rawstore import RawStore
from core.registry import INDEXING, Registry, SourceRecord
from core.settings import Settings
from core.store.base import IndexPoint, Store
from ingest.chunk import ChunkOptions, chunk
from ingest.dedup import DupCandidate, clusters, signature
from ingest.discovery import SourceItem
from ingest.enrich import annotate
from ingest.facts import extract_intel
from ingest.isolation import ParseJob, ParserPool
from ingest.ocr import ocr_pages_json
from ingest.parse import parse_bytes
from ingest.reconcile import ReconcileReport, reconcile
from ingest.report import FileResult, IngestReport, RefreshReport

log = logging.getLogger(__name__)

# A parser turns a source item into a Document or says why it cannot. It gets the item, its raw
# bytes and the path of their content-addressed copy (what an isolated worker reads), and the doc id.
Parser = Callable[[SourceItem, bytes, Path, str], "Document | ParseError"]


def _disk_full(where: Path, exc: Exception) -> str:
    return (
        f"The disk holding {where} is full ({exc}). The run stopped; documents already marked indexed are "
        "complete, the unfinished one is redone by the next run. Free some space and run it again."
    )


def inline_parser(item: SourceItem, data: bytes, path: Path, doc_id: str) -> Document | ParseError:
    """Parse in this process (fast; for trusted input and tests). Never raises ParseError."""
    try:
        return parse_bytes(
            data,
            item.source,
            doc_id=doc_id,
            suffix_hint=item.suffix,
            content_type=item.content_type,
            url=item.url,
            source_name=item.source_name,
        )
    except ParseError as exc:
        return exc


def pool_parser(pool: ParserPool) -> Parser:
    """Parse in ``pool``'s worker processes, under its time and memory limits."""

    def parse(item: SourceItem, data: bytes, path: Path, doc_id: str) -> Document | ParseError:
        return pool.parse(
            ParseJob(
                path=path,
                doc_id=doc_id,
                source=item.source,
                suffix_hint=item.suffix,
                content_type=item.content_type,
                url=item.url,
                source_name=item.source_name,
            )
        )

    return parse


def register_rows(doc: Document, gazetteer: Gazetteer) -> DocIntel:
    """The document's funding facts and project mentions. A failure of the rules costs the document its
    register rows (logged with the source), never the ingest run or its passages."""
    try:
        return extract_intel(doc, gazetteer)
    except Exception:  # the rules are ours, the text is not: keep the passages whatever happens here
        log.exception("register: extraction failed for %s; the document has no facts until the next run", doc.source)
        return DocIntel(doc_id=doc.doc_id)


def refresh_register(
    registry: Registry,
    raw: RawStore,
    gazetteer: Gazetteer,
    parser: Parser,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> RefreshReport:
    """Re-enrich every live document whose register rows are missing or older than ``INTEL_VERSION``
    (an index written before the register existed, or by older rules), from its kept raw bytes.

    No fetch and no embedding: the raw bytes are parsed again and only the register rows are written.
    """
    stale = registry.stale_intel(INTEL_VERSION)
    failed: list[tuple[str, str]] = []
    done = 0
    for n, (source, doc_id, raw_sha) in enumerate(stale, 1):
        if on_progress:
            on_progress(n, len(stale), source)
        record = registry.get(source)
        if raw_sha is None or record is None or not raw.has(raw_sha):
            failed.append((source, "raw bytes not kept; run `foerdersuche reindex` or ingest the source again"))
            continue
        item = SourceItem(source=source, url=record.url, content_type=record.media_type, source_name=record.source_name)
        parsed = parser(item, raw.get(raw_sha), raw.path_of(raw_sha), doc_id)
        if isinstance(parsed, ParseError):
            failed.append((source, parsed.reason))
            continue
        intel = register_rows(parsed, gazetteer)
        registry.put_intel(doc_id, intel.version, intel_to_json(intel))
        done += 1
    return RefreshReport(done, tuple(failed))


@dataclass
class _Pending:
    item: SourceItem
    doc: Document
    passages: list[Passage]
    raw_sha: str
    previous: SourceRecord | None  # the registry row before this run touched it
    intel: DocIntel


@dataclass
class Indexer:
    """Writes sources into the index. Holds its collaborators; built by an entry point."""

    settings: Settings
    embedder: Embedder
    store: Store
    registry: Registry
    raw: RawStore
    gazetteer: Gazetteer
    parser: Parser
    analyser: AnalyserConfig = field(default_factory=AnalyserConfig)
    batch_passages: int = 64
    last_reconcile: ReconcileReport | None = field(default=None, init=False)
    _in_run: bool = field(default=False, init=False)
    _clusters_stale: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.store.ensure_collection(self.embedder.dim)

    @property
    def chunk_options(self) -> ChunkOptions:
        s = self.settings
        return ChunkOptions(target_words=s.chunk_target_words, max_words=s.chunk_max_words, min_words=s.chunk_min_words)

    def ingest(
        self,
        items: Iterable[SourceItem],
        *,
        force: bool = False,
        on_result: Callable[[FileResult], None] | None = None,
    ) -> IngestReport:
        """Ingest ``items``; unchanged sources (same bytes, already indexed) are skipped unless ``force``."""
        self._in_run, self._clusters_stale = True, False
        try:
            return self._ingest(items, force, on_result)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreError(_disk_full(self.settings.data_dir, exc)) from exc
            raise
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise StoreError(_disk_full(self.settings.registry_path, exc)) from exc
            raise
        finally:
            self._in_run = False

    def _ingest(
        self, items: Iterable[SourceItem], force: bool, on_result: Callable[[FileResult], None] | None
    ) -> IngestReport:
        self.last_reconcile = reconcile(self.store, self.registry)
        refresh_register(self.registry, self.raw, self.gazetteer, self.parser)
        started = time.monotonic()
        run_id = self.registry.start_run("ingest")
        results: list[FileResult] = []
        written = 0
        pending: list[_Pending] = []

        def emit(result: FileResult) -> None:
            results.append(result)
            if on_result:
                on_result(result)

        def flush() -> None:
            nonlocal written
            for result in self._write(pending):
                written += result.passages
                emit(result)
            pending.clear()

        order: dict[str, int] = {}
        for item in items:
            order.setdefault(item.source, len(order))
            outcome = self._prepare(item, force)
            if isinstance(outcome, FileResult):
                emit(outcome)
                continue
            pending.append(outcome)
            if sum(len(p.passages) for p in pending) >= self.batch_passages:
                flush()
        flush()
        if written or self._clusters_stale:
            self.mark_near_duplicates()  # once per run, whatever was written or removed during it
            self._clusters_stale = False
        if written:
            self.store.optimize()
        results.sort(key=lambda r: order.get(r.source, len(order)))  # input order, whatever the batching
        report = IngestReport(files=tuple(results), seconds=time.monotonic() - started, passages_written=written)
        self.registry.finish_run(run_id, json.dumps(report.counts()))
        return report

    def _prepare(self, item: SourceItem, force: bool) -> _Pending | FileResult:
        try:
            data = item.data if item.data is not None else self._read(item)
        except OSError as exc:
            return FileResult(item.source, FileStatus.FAILED, f"cannot read: {exc.strerror or exc}")
        if isinstance(data, FileResult):
            return data
        doc_id = doc_id_for(item.url or item.source)
        raw_sha = content_hash(data)
        previous = self.registry.get(item.source)
        if (
            not force
            and previous is not None
            and previous.raw_sha256 == raw_sha
            and previous.status in (FileStatus.INDEXED.value, FileStatus.UNCHANGED.value)
            and not previous.deleted
        ):
            return FileResult(
                item.source,
                FileStatus.UNCHANGED,
                "content unchanged since last ingest",
                previous.passages,
                doc_id,
                previous.title,
            )
        self.raw.put(data)
        parsed = self.parser(item, data, self.raw.path_of(raw_sha), doc_id)
        if isinstance(parsed, ParseError):
            self._forget(previous, doc_id)
            self.registry.upsert(
                item.source,
                doc_id=doc_id,
                status=parsed.status.value,
                reason=parsed.reason,
                url=item.url,
                source_name=item.source_name,
                raw_sha256=raw_sha,
            )
            return FileResult(item.source, parsed.status, parsed.reason, 0, doc_id)
        doc = parsed
        passages = chunk(doc, self.chunk_options)
        if not passages:
            self._forget(previous, doc_id)
            reason = "no text passages after extraction"
            self.registry.upsert(
                item.source,
                doc_id=doc_id,
                status=FileStatus.EMPTY.value,
                reason=reason,
                url=item.url,
                source_name=item.source_name,
                raw_sha256=raw_sha,
                title=doc.title,
            )
            return FileResult(item.source, FileStatus.EMPTY, reason, 0, doc_id, doc.title)
        title_ann = annotate(doc.title, self.gazetteer)
        ocr_by_page = {o.page: replace(o, seconds=0.0) for o in doc.ocr_pages}
        enriched = []
        for p in passages:
            ann = annotate(p.text, self.gazetteer)
            ann = replace(
                ann,
                places=tuple(dict.fromkeys(ann.places + title_ann.places)),
                place_keys=tuple(dict.fromkeys(ann.place_keys + title_ann.place_keys)),
                programs=tuple(dict.fromkeys(ann.programs + title_ann.programs)),
            )
            enriched.append(replace(p, annotations=ann, ocr=ocr_by_page.get(p.page or 0)))
        return _Pending(item, doc, enriched, raw_sha, previous, register_rows(doc, self.gazetteer))

    def _read(self, item: SourceItem) -> bytes | FileResult:
        assert item.path is not None
        size = item.path.stat().st_size
        if size > self.settings.max_file_bytes:
            return FileResult(
                item.source,
                FileStatus.SKIPPED,
                f"file too large ({size} bytes > max_file_bytes {self.settings.max_file_bytes})",
            )
        return item.path.read_bytes()

    def _forget(self, previous: SourceRecord | None, doc_id: str) -> None:
        """A source that no longer yields passages must not keep old ones in the index."""
        if previous is not None and previous.passages:
            self.store.delete_documents([doc_id])
        self.registry.delete_intel(doc_id)
        if previous is not None and previous.doc_id != doc_id:
            self.registry.delete_intel(previous.doc_id)

    def _write(self, pending: list[_Pending]) -> Iterator[FileResult]:
        if not pending:
            return
        for p in pending:
            self.registry.upsert(
                p.item.source,
                doc_id=p.doc.doc_id,
                status=INDEXING,
                url=p.item.url,
                source_name=p.item.source_name,
                title=p.doc.title,
                media_type=p.doc.media_type,
                content_hash=p.doc.content_hash,
                raw_sha256=p.raw_sha,
            )
        texts = [pas.text for p in pending for pas in p.passages]
        dense = np.asarray(self.embedder.embed_passages(texts), dtype=np.float32)
        row = 0
        for p in pending:
            info = DocInfo.of(p.doc)
            points = []
            for pas in p.passages:
                points.append(
                    IndexPoint(pas, info, tuple(float(x) for x in dense[row]), passage_vector(pas.text, self.analyser))
                )
                row += 1
            before = p.previous
            if before is not None:
                # a known source is replaced as a whole, so no passage of an older version survives
                self.store.delete_documents(sorted({before.doc_id, p.doc.doc_id}))
            self.store.upsert(points)
            self.registry.upsert(
                p.item.source,
                doc_id=p.doc.doc_id,
                status=FileStatus.INDEXED.value,
                reason=None,
                passages=len(points),
                url=p.item.url or p.doc.url,
                source_name=p.item.source_name,
                title=p.doc.title,
                media_type=p.doc.media_type,
                content_hash=p.doc.content_hash,
                raw_sha256=p.raw_sha,
            )
            self.registry.set_signature(p.item.source, p.doc.date, signature(p.doc.text))
            self.registry.set_ocr(p.item.source, ocr_pages_json(p.doc.ocr_pages))
            if before is not None and before.doc_id != p.doc.doc_id:
                self.registry.delete_intel(before.doc_id)
            self.registry.put_intel(p.doc.doc_id, p.intel.version, intel_to_json(p.intel))
            yield FileResult(
                p.item.source, FileStatus.INDEXED, None, len(points), p.doc.doc_id, p.doc.title, p.doc.ocr_pages
            )

    def mark_near_duplicates(self) -> int:
        """Recompute near-duplicate clusters over the live documents and update the payloads that changed."""
        rows = self.registry.signatures()
        candidates = [DupCandidate(doc_id, source, url, date, sig) for doc_id, source, url, date, sig, _ in rows]
        wanted: dict[str, tuple[str | None, tuple[str, ...]]] = {c.doc_id: (None, ()) for c in candidates}
        for members in clusters(candidates):
            canonical, others = members[0], members[1:]
            wanted[canonical.doc_id] = (None, tuple(o.url or o.source for o in others))
            for o in others:
                wanted[o.doc_id] = (canonical.doc_id, (canonical.url or canonical.source,))
        changed = 0
        for doc_id, _source, _url, _date, _sig, state in rows:
            dup_of, also = wanted[doc_id]
            new_state = json.dumps([dup_of, list(also)])
            if state == new_state or (not state and dup_of is None and not also):
                continue
            self.store.set_payload(doc_id, {"near_duplicate_of": dup_of, "also_published_at": list(also)})
            self.registry.set_dup_state(doc_id, new_state)
            changed += 1
        return changed

    def remove(self, source: str, reason: str) -> bool:
        """Remove a source's passages from the index and mark it deleted; False if it was unknown.

        During an ingest run (a crawl removes gone pages while it feeds ``ingest``) the near-duplicate
        clusters are recomputed once at the end of the run, not once per removed page."""
        record = self.registry.get(source)
        if record is None or record.deleted:
            return False
        self.store.delete_documents([record.doc_id])
        self.registry.mark_deleted(source, reason)
        if self._in_run:
            self._clusters_stale = True
        else:
            self.mark_near_duplicates()
        return True
