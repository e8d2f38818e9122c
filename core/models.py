"""The values that flow through foerdersuche, from the first byte to the citation.

``Document`` (one parsed source) -> ``Passage`` (a bounded slice of its text with provenance)
-> ``Hit`` (a passage found by a query, with its score and the rank each retriever gave it).

All of them are frozen dataclasses: created once, never mutated, safe to pass between threads.
Ids are stable: a document's id derives from its canonical source, a passage's id from the
document id and its ordinal, and the index point id from the passage id (see ``core.ids``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class DocType(enum.StrEnum):
    """What kind of text a document is; used as a filter and a facet."""

    PRESS_RELEASE = "press_release"
    PROJECT_PAGE = "project_page"
    PROGRESS_REPORT = "progress_report"
    OTHER = "other"


class FileStatus(enum.StrEnum):
    """The outcome for one input file of an ingest run (stable names: scripts rely on them)."""

    INDEXED = "indexed"
    UNCHANGED = "unchanged"
    EMPTY = "empty"
    ENCRYPTED = "encrypted"
    NEEDS_OCR = "needs_ocr"
    GARBLED = "garbled"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PageSpan:
    """Page ``page`` (1-based) covers ``text[start:end]`` of its document."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class OcrPage:
    """Page ``page`` (1-based) was read by OCR (Tesseract): its mean word ``confidence`` (0-100) and the
    ``seconds`` it took; ``flagged`` when the confidence lies under the floor set at ingest."""

    page: int
    confidence: float
    seconds: float = 0.0
    flagged: bool = False


@dataclass(frozen=True)
class Heading:
    """A heading of ``level`` (1 = top) that starts at offset ``start`` of the document text."""

    start: int
    level: int
    text: str


@dataclass(frozen=True)
class Document:
    """One parsed source: the extracted text plus everything a citation needs.

    ``source`` is where it was read from (a URL, or a file path relative to the project root when the
    file lies inside it); ``url`` the page's public address when known (crawled URL or the HTML's
    canonical link), which citations link to. ``text`` is the normalised extracted text; all offsets
    (pages, headings, passages) index into it. ``pages`` is empty for sources without pages.
    """

    doc_id: str
    source: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    doc_type: DocType = DocType.OTHER
    date: str | None = None
    language: str | None = None
    media_type: str = "text/plain"
    pages: tuple[PageSpan, ...] = ()
    headings: tuple[Heading, ...] = ()
    source_name: str | None = None
    warnings: tuple[str, ...] = ()
    ocr_pages: tuple[OcrPage, ...] = ()  # the pages whose text OCR read, in page order

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that contains ``offset``, or None for documents without pages."""
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        if self.pages and offset >= self.pages[-1].end:
            return self.pages[-1].page
        return None


@dataclass(frozen=True)
class Amount:
    """A money amount found in a text, normalised to euros."""

    euros: float
    text: str


@dataclass(frozen=True, slots=True)
class Annotations:
    """What enrichment found in a passage (or a document).

    ``place_keys`` holds the official municipality keys (AGS) of every place named, expanded upwards so
    that a passage about Bergkamen also carries the key of Kreis Unna; ``places`` the display names.
    """

    places: tuple[str, ...] = ()
    place_keys: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    amounts: tuple[Amount, ...] = ()
    dates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A bounded slice ``document.text[char_start:char_end]`` with its provenance."""

    passage_id: str
    doc_id: str
    ordinal: int
    text: str
    char_start: int
    char_end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()
    annotations: Annotations = field(default_factory=Annotations)
    ocr: OcrPage | None = None  # its page was read by OCR (``seconds`` is not kept with a passage)


@dataclass(frozen=True, slots=True)
class DocInfo:
    """The citation-relevant metadata of a document, stored with each of its passages."""

    doc_id: str
    source: str
    title: str
    doc_type: DocType
    date: str | None
    language: str | None
    url: str | None = None
    source_name: str | None = None
    content_hash: str = ""
    near_duplicate_of: str | None = None
    also_published_at: tuple[str, ...] = ()
    media_type: str | None = None  # what a citation links to: a PDF page anchor, the original's type

    @classmethod
    def of(cls, doc: Document) -> DocInfo:
        return cls(
            doc_id=doc.doc_id,
            source=doc.source,
            title=doc.title,
            doc_type=doc.doc_type,
            date=doc.date,
            language=doc.language,
            url=doc.url,
            source_name=doc.source_name,
            content_hash=doc.content_hash,
            media_type=doc.media_type,
        )


@dataclass(frozen=True)
class Hit:
    """A passage found by a query: fused score and the 1-based rank each retriever gave it."""

    passage: Passage
    doc: DocInfo
    score: float
    ranks: tuple[tuple[str, int], ...] = ()
