"""The API's own request and response models (pydantic), separate from the core values.

Request models validate and bound what a client may ask for (query length, ``k``, page size, number
of filter values); response models are what the OpenAPI schema promises and the contract test checks.
Every 4xx/5xx answer has the one ``ErrorBody`` shape.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from core.models import DocType
from search.engine import MAX_K, MAX_QUERY_CHARS

# --- limits (also enforced by the engine where it has its own; these make them visible in the schema)
DEFAULT_K = 50
MAX_PAGE = 200
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
DEFAULT_PASSAGES_PER_DOC = 3
MAX_PASSAGES_PER_DOC = 20
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 200
MAX_INGEST_PATHS = 100
MAX_PATH_CHARS = 4096
MAX_CRAWL_SOURCES = 50
MAX_BODY_BYTES = 64 * 1024

Mode = Literal["hybrid", "dense", "lexical"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    """Accept ``YYYY-MM-DD`` strings only (pydantic's lax mode would read ``"2021"`` as a Unix time)."""
    if isinstance(value, date) or value is None:
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be an ISO date YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=MAX_FILTER_CHARS)]


# ----------------------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_query`, `not_found`.")
    message: str = Field(description="What went wrong, fit for a user; never internals.")
    details: Any = Field(default=None, description="Structured context (validation errors, readiness checks).")


class ErrorBody(BaseModel):
    """The one body of every 4xx and 5xx answer."""

    error: ErrorDetail


# ----------------------------------------------------------------------------- search request


class SearchParams(BaseModel):
    """Query parameters of ``/search`` and the exports (and of the web page)."""

    model_config = ConfigDict(extra="ignore")

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query (German).")
    k: int = Field(
        default=DEFAULT_K,
        ge=1,
        le=MAX_K,
        description="How many top passages to retrieve. Results are these passages grouped by document; "
        "facets and exports are computed over them too.",
    )
    mode: Mode | None = Field(default=None, description="Retrieval mode; default from the settings (`hybrid`).")
    place: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Place filter: an official municipality key (AGS, e.g. `05978`) or a place name. "
        "A Kreis includes its Gemeinden. Several values: any of them.",
    )
    program: list[FilterValue] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Funding programme(s)."
    )
    doc_type: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Document type(s): press_release, project_page, progress_report, other (or the German labels).",
    )
    date_from: str | None = Field(default=None, max_length=10, description="Documents dated on or after (YYYY-MM-DD).")
    date_to: str | None = Field(default=None, max_length=10, description="Documents dated on or before (YYYY-MM-DD).")
    language: list[FilterValue] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Language code(s), e.g. `de`."
    )
    source: list[FilterValue] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Source name(s) (crawl source)."
    )
    page: int = Field(default=1, ge=1, le=MAX_PAGE, description="Result page (of documents), 1-based.")
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Documents per page.")
    passages_per_doc: int = Field(
        default=DEFAULT_PASSAGES_PER_DOC,
        ge=1,
        le=MAX_PASSAGES_PER_DOC,
        description="Best passages shown per document (all matching passages are counted).",
    )
    answer: bool = Field(
        default=True,
        description="Answer a question directly (`answer` in the response) when it asks for a value the "
        "passages state. `false` skips that work (a second search and the answer rules, about 20 ms at 100k "
        "passages) for clients that read the passages only; `answer` is then null.",
    )


# ----------------------------------------------------------------------------- search response


class OcrMark(BaseModel):
    """The passage's page was read by OCR (Tesseract) from its image, not from a text layer."""

    confidence: float = Field(description="Mean word confidence of the page's OCR, 0-100.")
    flagged: bool = Field(description="The confidence lies under the floor set at ingest (`ocr_min_confidence`).")
    label: str = Field(description='German label for the citation, e.g. "Text per Texterkennung, Seite 3".')


class Citation(BaseModel):
    """Everything needed to cite a passage."""

    doc_id: str
    passage_id: str
    title: str
    source: str = Field(description="Where the document was read from (URL or project-relative path).")
    source_name: str | None = None
    url: str | None = Field(default=None, description="Public address of the document, when known.")
    page: int | None = Field(default=None, description="1-based page (PDFs).")
    date: str | None = None
    char_start: int = Field(description="Offset of the passage in the document text.")
    char_end: int
    original_url: str = Field(description="This API's link to the stored original (with `#page=N` for PDFs).")
    view_url: str = Field(description="The web page that shows the passage in its document.")


class PassageHit(BaseModel):
    passage_id: str
    ordinal: int
    text: str
    snippet_html: str = Field(description="HTML-escaped excerpt with `<mark>` around matched words.")
    highlights: list[tuple[int, int]] = Field(description="Matched words as offsets into `text`.")
    score: float
    ranks: dict[str, int] = Field(description="1-based rank each retriever gave the passage.")
    page: int | None = None
    char_start: int
    char_end: int
    heading_path: list[str]
    places: list[str]
    place_keys: list[str]
    programs: list[str]
    citation: Citation
    ocr: OcrMark | None = Field(default=None, description="Set when the passage's page was read by OCR.")


class DocumentGroup(BaseModel):
    doc_id: str
    title: str
    source: str
    source_name: str | None = None
    url: str | None = None
    doc_type: DocType
    date: str | None = None
    language: str | None = None
    media_type: str | None = None
    score: float = Field(description="Score of the document's best passage.")
    matching_passages: int = Field(description="Passages of this document among the retrieved ones.")
    also_published_at: list[str] = Field(
        default_factory=list, description="Where near-duplicates of this document were published (folded into it)."
    )
    passages: list[PassageHit]


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class PlaceFacetValue(FacetValue):
    kind: str | None = Field(default=None, description="`Kreis`, `kreisfreie Stadt`, `Gemeinde`, ... when known.")


class Facets(BaseModel):
    unit: Literal["documents", "passages"] = Field(description="What the counts count.")
    basis: str = Field(description="Which points the counts are over.")
    places: list[PlaceFacetValue]
    programs: list[FacetValue]
    doc_types: list[FacetValue]
    years: list[FacetValue]
    languages: list[FacetValue]
    sources: list[FacetValue]


class PlaceOut(BaseModel):
    ags: str
    name: str


class AppliedFilter(BaseModel):
    places: list[PlaceOut] = Field(description="The place filter after resolving names to keys.")
    programs: list[str]
    doc_types: list[DocType]
    languages: list[str]
    sources: list[str]
    date_from: str | None = None
    date_to: str | None = None


class AnswerCitation(BaseModel):
    """The sentence that states the answer: ``quote == extracted_text[char_start:char_end]``."""

    doc_id: str
    source: str
    url: str | None
    title: str | None
    page: int | None
    char_start: int
    char_end: int
    quote: str


class AnswerOut(BaseModel):
    """A direct answer to a "wie viel / wann / wie viele / wer / wo" question (``search.answer``)."""

    text: str = Field(description="The value as the text writes it, e.g. '1,08 Millionen Euro'.")
    kind: Literal["amount", "date", "count", "person", "organisation", "place"]
    value: int | float | str = Field(
        description="Euros for amounts, an integer for counts, an ISO date at the text's precision, else a string."
    )
    citation: AnswerCitation
    score: float
    fact_kind: Literal["funding", "cost", "budget", "other"] | None = None
    value_start: int = Field(description="Offset of the value in the document text (inside the citation).")
    value_end: int
    passage_id: str
    view_url: str = Field(description="The cited passage in the document view.")


class SearchResponse(BaseModel):
    query: str
    mode: Mode
    k: int
    page: int
    page_size: int
    pages: int
    total_documents: int = Field(description="Documents among the retrieved passages.")
    total_passages: int = Field(description="Retrieved passages (at most k).")
    recognised_places: list[PlaceOut] = Field(description="Places named in the query (they boost, not filter).")
    filter: AppliedFilter
    results: list[DocumentGroup]
    facets: Facets
    answer: AnswerOut | None = Field(
        default=None, description="A direct answer with its cited sentence, or null when the question has none."
    )
    took_ms: float


class ExportRow(BaseModel):
    """One retrieved passage with its full citation (also the CSV columns, in this order)."""

    rank: int
    score: float
    doc_id: str
    title: str
    doc_type: str
    date: str | None
    language: str | None
    source: str
    source_name: str | None
    url: str | None
    page: int | None
    passage_id: str
    char_start: int
    char_end: int
    heading_path: list[str]
    places: list[str]
    programs: list[str]
    text: str
    original_url: str
    view_url: str


class ExportResponse(BaseModel):
    query: str
    mode: Mode
    k: int
    filter: AppliedFilter
    exported_at: str = Field(description="UTC time of the export (ISO 8601).")
    count: int
    hits: list[ExportRow]


# ----------------------------------------------------------------------------- documents, sources


class DocumentPassage(BaseModel):
    passage_id: str
    ordinal: int
    text: str
    char_start: int
    char_end: int
    page: int | None = None
    heading_path: list[str]
    places: list[str]
    place_keys: list[str]
    programs: list[str]
    organisations: list[str]
    ocr: OcrMark | None = Field(default=None, description="Set when the passage's page was read by OCR.")


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    source: str
    source_name: str | None = None
    url: str | None = None
    doc_type: DocType
    date: str | None = None
    language: str | None = None
    media_type: str | None = None
    content_hash: str | None = None
    near_duplicate_of: str | None = None
    status: str | None = Field(default=None, description="Registry status (`indexed`, ...), if registered.")
    status_reason: str | None = None
    updated_at: float | None = Field(default=None, description="Last registry change (Unix time).")
    has_original: bool = Field(description="Whether the original file is stored and served at `original_url`.")
    original_url: str
    passages: list[DocumentPassage]


class SourceOut(BaseModel):
    name: str | None = Field(description="Crawl source name; null for local files.")
    documents: int = Field(description="Registered documents (any status).")
    indexed_documents: int = Field(description="Documents with passages in the index.")
    passages: int
    by_status: dict[str, int]


class RunOut(BaseModel):
    started_at: float
    finished_at: float | None = None
    summary: dict[str, Any] | None = None


class SourcesResponse(BaseModel):
    sources: list[SourceOut]
    documents: int
    passages: int
    last_ingest: RunOut | None = None


class GlobalFacetsResponse(BaseModel):
    total_passages: int
    facets: Facets


# ----------------------------------------------------------------------------- admin


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_INGEST_PATHS,
        description="Files or folders inside an allowed root (`FOERDERSUCHE_INGEST_ROOTS`); relative paths "
        "are taken relative to the project folder.",
    )
    force: bool = Field(default=False, description="Re-index unchanged files too.")


class CrawlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_FILTER_CHARS)]] = Field(
        min_length=1, max_length=MAX_CRAWL_SOURCES, description="Names of sources from the sources file."
    )


JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobProgress(BaseModel):
    done: int
    total: int | None = None


class JobOut(BaseModel):
    job_id: str
    kind: Literal["ingest", "crawl"]
    status: JobStatus
    params: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress: JobProgress
    report: dict[str, Any] | None = Field(default=None, description="The run's report once finished.")
    error: str | None = None


# ----------------------------------------------------------------------------- health


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]
    checks: dict[str, str]


# ----------------------------------------------------------------------------- register (facts, projects)


class RegisterParams(BaseModel):
    """Query parameters of ``/facts`` and ``/projects`` (and of the web page's "Vorhaben" view)."""

    model_config = ConfigDict(extra="ignore")

    place: list[FilterValue] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Place name or AGS key; a Kreis includes its Gemeinden. Several values: any of them.",
    )
    program: list[FilterValue] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Funding program(s), any alias."
    )
    doc: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$", description="Only this document's facts.")
    q: str | None = Field(default=None, max_length=MAX_FILTER_CHARS, description="Words in the project's names.")


class CitationOut(BaseModel):
    doc_id: str
    source: str
    url: str | None
    title: str | None
    page: int | None
    char_start: int
    char_end: int
    quote: str


class FactOut(BaseModel):
    fact_id: str
    eur: float
    amount_text: str
    kind: Literal["funding", "cost", "budget", "other"]
    purpose: str
    project_id: str | None
    project: str | None
    places: list[PlaceOut]
    programs: list[str]
    funder: str | None
    date: str | None
    doc_date: str | None
    amount_start: int
    amount_end: int
    citation: CitationOut


class FactsResponse(BaseModel):
    facts: list[FactOut]
    sums: dict[str, dict[str, dict[str, float]]] = Field(
        description="`by_place` and `by_program`: euros per kind, each distinct amount counted once."
    )


class AmountOut(BaseModel):
    eur: float
    kind: str
    fact_id: str


class MentionOut(BaseModel):
    doc_id: str
    source: str
    title: str | None
    date: str | None
    page: int | None
    char_start: int
    char_end: int
    name: str


class TimelineOut(BaseModel):
    date: str
    what: str
    citation: CitationOut


class ProjectOut(BaseModel):
    project_id: str
    name: str
    aliases: list[str]
    places: list[PlaceOut]
    programs: list[str]
    organisations: list[str]
    amounts: list[AmountOut]
    status: Literal["planned", "approved", "running", "completed"] | None
    mentions: list[MentionOut]
    timeline: list[TimelineOut]


class ProjectDetailOut(ProjectOut):
    facts: list[FactOut]


class ProjectsResponse(BaseModel):
    projects: list[ProjectOut]
