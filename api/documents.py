"""Documents, their stored originals and the per-source counts, read from the index and the registry."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import quote

from api.schemas import DocumentOut, DocumentPassage, RunOut, SourceOut, SourcesResponse
from api.search_view import ocr_mark, original_url
from api.state import AppState
from core.errors import NotFound
from core.models import DocInfo, DocType

DOC_ID = re.compile(r"^[0-9a-f]{16}$")
DOC_ID_PATTERN = DOC_ID.pattern


def check_doc_id(doc_id: str) -> str:
    """Document ids are 16 lower-case hex digits (``core.ids.doc_id_for``); anything else is unknown."""
    if not DOC_ID.match(doc_id):
        raise NotFound(f"no document {doc_id[:40]!r}")
    return doc_id


def document(state: AppState, doc_id: str) -> DocumentOut:
    check_doc_id(doc_id)
    store = state.require_store()
    with state.index_lock.read():
        found = store.passages_of(doc_id)
    with state.registry() as reg:
        record = reg.by_doc_id(doc_id)
    if not found and (record is None or record.deleted):
        raise NotFound(f"no document {doc_id}")
    has_original = bool(record and record.raw_sha256 and state.raw.has(record.raw_sha256))
    media_type = record.media_type if record else None
    passages = [
        DocumentPassage(
            passage_id=p.passage_id,
            ordinal=p.ordinal,
            text=p.text,
            char_start=p.char_start,
            char_end=p.char_end,
            page=p.page,
            heading_path=list(p.heading_path),
            places=list(p.annotations.places),
            place_keys=list(p.annotations.place_keys),
            programs=list(p.annotations.programs),
            organisations=list(p.annotations.organisations),
            ocr=ocr_mark(p),
        )
        for p, _ in found
    ]
    if found:  # the index holds the citation metadata
        info = found[0][1]
    else:  # registered but without passages (failed, needs OCR, ...): what the registry knows
        assert record is not None
        info = DocInfo(
            doc_id=doc_id,
            source=record.source,
            title=record.title or "",
            doc_type=DocType.OTHER,
            date=None,
            language=None,
            url=record.url,
            source_name=record.source_name,
            content_hash=record.content_hash or "",
        )
    return DocumentOut(
        doc_id=doc_id,
        title=info.title,
        source=info.source,
        source_name=info.source_name,
        url=info.url,
        doc_type=info.doc_type,
        date=info.date,
        language=info.language,
        media_type=media_type,
        content_hash=info.content_hash or None,
        near_duplicate_of=info.near_duplicate_of,
        status=record.status if record else None,
        status_reason=record.reason if record else None,
        updated_at=record.updated_at if record else None,
        has_original=has_original,
        original_url=original_url(doc_id, media_type, None),
        passages=passages,
    )


@dataclass(frozen=True)
class Original:
    data: bytes
    media_type: str
    filename: str

    def content_disposition(self) -> str:
        ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.filename).strip("._") or "original"
        return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename, safe='')}"


def original(state: AppState, doc_id: str) -> Original:
    """The stored raw bytes of a document (content-addressed in the raw store, found via the registry)."""
    check_doc_id(doc_id)
    with state.registry() as reg:
        record = reg.by_doc_id(doc_id)
    if record is None or record.deleted or not record.raw_sha256:
        raise NotFound(f"no stored original for document {doc_id}")
    data = state.raw.get(record.raw_sha256)  # NotFound when missing; the sha is validated there
    name = record.source.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "original"
    media = (record.media_type or mimetypes.guess_type(name)[0] or "application/octet-stream").split(";")[0].strip()
    return Original(data=data, media_type=media, filename=name)


def sources(state: AppState) -> SourcesResponse:
    by_name: dict[str | None, SourceOut] = {}
    with state.registry() as reg:
        for rec in reg.all():
            out = by_name.setdefault(
                rec.source_name,
                SourceOut(name=rec.source_name, documents=0, indexed_documents=0, passages=0, by_status={}),
            )
            out.documents += 1
            out.passages += rec.passages
            out.indexed_documents += 1 if rec.passages > 0 else 0
            out.by_status[rec.status] = out.by_status.get(rec.status, 0) + 1
        documents, passages = reg.totals()
        run = reg.last_run("ingest")
    last = None
    if run is not None:
        try:
            summary = json.loads(run[2]) if run[2] else None
        except ValueError:
            summary = None
        last = RunOut(started_at=run[0], finished_at=run[1], summary=summary if isinstance(summary, dict) else None)
    ordered = sorted(by_name.values(), key=lambda s: (s.name is not None, s.name or ""))
    return SourcesResponse(sources=ordered, documents=documents, passages=passages, last_ingest=last)
