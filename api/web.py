"""The German web page: search with filters and facet counts, results grouped by document with cited,
highlighted passages, a document view that shows a cited passage in context, and CSV/JSON export.

Server-rendered with Jinja2, autoescaping on for every template (a title ``<script>`` is shown as
text); the only HTML that is not escaped by the template engine is made by ``search.highlight.mark``,
which escapes the text itself. A strict Content-Security-Policy (no inline script) backs this up.
The pages render their own errors as HTML; the JSON API keeps the common error body.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError

from api import documents, search_view
from api.deps import StateDep
from api.errors import ApiError, classify
from api.schemas import DEFAULT_K, DEFAULT_PAGE_SIZE, DEFAULT_PASSAGES_PER_DOC, SearchParams
from core.analysis import query_stems
from core.errors import FoerdersucheError, QueryError
from search.engine import MAX_QUERY_CHARS
from search.highlight import mark, match_spans

log = logging.getLogger("api")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
MAX_PASSAGE_ID_CHARS = 64
LIST_FIELDS = ("place", "program", "doc_type", "language", "source")
SHOWN_PLACE_KINDS = ("Kreis", "kreisfreie Stadt", "Gemeinde", "Region")
STATUS_LABELS = {
    "indexed": "indexiert",
    "unchanged": "unverändert",
    "indexing": "wird indexiert",
    "empty": "leer",
    "encrypted": "verschlüsselt",
    "needs_ocr": "Texterkennung nötig (Scan)",
    "garbled": "Text unlesbar",
    "failed": "fehlgeschlagen",
    "skipped": "übersprungen",
}
MODE_LABELS = {"hybrid": "Hybrid (empfohlen)", "dense": "Semantisch", "lexical": "Stichwörter"}
EXAMPLES = (
    "Projekte Kreislaufwirtschaft Kreis Unna",
    "Wasserstoff Förderung Gelsenkirchen",
    "5-StandorteProgramm Fortschrittsbericht",
)

router = APIRouter(include_in_schema=False)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # for every template, whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        doc_type_label=search_view.doc_type_label,
        language_label=search_view.language_label,
        safe_href=safe_href,
        mode_labels=MODE_LABELS,
        status_label=lambda status: STATUS_LABELS.get(status, status),
    )
    return env


def safe_href(url: str | None) -> str | None:
    """Only http(s) URLs become links (a document's canonical URL could say ``javascript:``)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def html_not_found(request: Request) -> HTMLResponse:
    """The German 404 page for a browser that followed a broken link."""
    return render(
        request,
        "error.html",
        404,
        title="Seite nicht gefunden",
        message="Diese Seite gibt es nicht. Vielleicht hilft die Suche weiter.",
    )


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    html = env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


def query_string(params: SearchParams, **changes: Any) -> str:
    """The URL query of ``params`` with ``changes`` (None removes); defaults are left out."""
    data: dict[str, Any] = params.model_dump(mode="json")
    data.update(changes)
    defaults = {"k": DEFAULT_K, "page": 1, "page_size": DEFAULT_PAGE_SIZE, "passages_per_doc": DEFAULT_PASSAGES_PER_DOC}
    pairs: list[tuple[str, str]] = []
    for key in ("q", "mode", "k", *LIST_FIELDS, "date_from", "date_to", "page", "page_size", "passages_per_doc"):
        value = data.get(key)
        if value is None or value == [] or defaults.get(key) == value:
            continue
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, str(v)))
    return urlencode(pairs)


def parse_params(request: Request) -> SearchParams | None:
    """The search parameters of a page URL; None when there is no query. Empty form fields are dropped."""
    raw: dict[str, Any] = {}
    for key in ("q", "mode", "k", "date_from", "date_to", "page", "page_size", "passages_per_doc"):
        value = request.query_params.get(key)
        if value is not None and value.strip():
            raw[key] = value.strip() if key != "q" else value
    for key in LIST_FIELDS:
        values = [v for v in request.query_params.getlist(key) if v.strip()]
        if values:
            raw[key] = values
    if not raw.get("q", "").strip():
        return None
    return SearchParams.model_validate(raw)


def _german_validation(exc: ValidationError) -> str:
    names = {
        "q": "Suchanfrage",
        "k": "Trefferzahl",
        "date_from": "Datum von",
        "date_to": "Datum bis",
        "page": "Seite",
        "page_size": "Treffer pro Seite",
        "doc_type": "Dokumenttyp",
        "mode": "Suchmodus",
    }
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        field = names.get(loc[0], loc[0]) if loc else "Anfrage"
        parts.append(f"{field}: {err.get('msg', '')}")
    return "Ungültige Eingabe – " + "; ".join(parts)


def _error_message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ValidationError):
        return 422, _german_validation(exc)
    if isinstance(exc, ApiError):
        if exc.status == 503:
            return (
                503,
                "Die Suche ist gerade nicht verfügbar (Modell oder Index nicht bereit). Bitte später erneut versuchen.",
            )
        return exc.status, exc.message
    if isinstance(exc, QueryError):
        return 400, f"Die Anfrage kann so nicht ausgeführt werden: {exc}"
    if isinstance(exc, FoerdersucheError):
        status, _code = classify(exc)
        if status == 404:
            return 404, "Das Dokument wurde nicht gefunden."
        if status >= 500:
            return status, "Die Suche ist gerade nicht verfügbar. Bitte später erneut versuchen."
        return status, str(exc)
    raise exc


@router.get("/", response_class=HTMLResponse)
def index(request: Request, state: StateDep) -> HTMLResponse:
    try:
        params = parse_params(request)
    except ValidationError as exc:
        status, message = _error_message(exc)
        return render(
            request,
            "search.html",
            status,
            params=None,
            raw_q=request.query_params.get("q", ""),
            result=None,
            error=message,
            examples=EXAMPLES,
        )
    if params is None:
        with state.registry() as reg:
            docs, passages = reg.totals()
        return render(
            request,
            "search.html",
            params=None,
            raw_q="",
            result=None,
            error=None,
            examples=EXAMPLES,
            totals=(docs, passages),
        )
    try:
        result = search_view.search_response(state, params)
    except (FoerdersucheError, ApiError) as exc:
        status, message = _error_message(exc)
        return render(
            request, "search.html", status, params=params, raw_q=params.q, result=None, error=message, examples=EXAMPLES
        )
    index_empty = False
    if not result.total_documents:  # nothing found: say so differently when nothing was ever ingested
        with state.registry() as reg:
            index_empty = reg.totals()[1] == 0
    places = [p for p in result.facets.places if p.kind in SHOWN_PLACE_KINDS]
    chosen_places = {p.ags for p in result.filter.places}
    extra_places = [p for p in result.filter.places if p.ags not in {f.value for f in places}]
    year_links = {
        f.value: query_string(params, page=None, date_from=f"{f.value}-01-01", date_to=f"{f.value}-12-31")
        for f in result.facets.years
    }
    export_query = query_string(params, page=None, page_size=None, passages_per_doc=None)
    pages = [(n, query_string(params, page=n)) for n in range(1, result.pages + 1)]
    defaults = {"k": DEFAULT_K, "page_size": DEFAULT_PAGE_SIZE, "passages_per_doc": DEFAULT_PASSAGES_PER_DOC}
    hidden = [(name, getattr(params, name)) for name, default in defaults.items() if getattr(params, name) != default]
    return render(
        request,
        "search.html",
        params=params,
        raw_q=params.q,
        result=result,
        error=None,
        examples=EXAMPLES,
        place_facets=places,
        chosen_places=chosen_places,
        extra_places=extra_places,
        year_links=year_links,
        export_query=export_query,
        pages=pages,
        doc_link_query=urlencode([("q", params.q)]),
        hidden=hidden,
        index_empty=index_empty,
    )


def _char_range(start: str | None, end: str | None) -> tuple[int, int] | None:
    """``(start, end)`` of a citation's character offsets, or None when they are missing or not a range."""
    if not start or not end or not start.isdigit() or not end.isdigit() or len(start) > 12 or len(end) > 12:
        return None
    a, b = int(start), int(end)
    return (a, b) if a < b else None


@router.get("/dokument/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    state: StateDep,
    doc_id: str,
    passage: str | None = None,
    q: str | None = None,
    char_start: str | None = None,
    char_end: str | None = None,
) -> HTMLResponse:
    """The whole document; the cited passage (by ``passage`` id, or the passages overlapping the character
    range ``char_start``-``char_end`` of a register citation, whose exact span is marked) is highlighted."""
    passage = passage if passage and len(passage) <= MAX_PASSAGE_ID_CHARS else None  # a page never fails on these
    cite_range = _char_range(char_start, char_end)
    q = q[:MAX_QUERY_CHARS] if q else None
    try:
        doc = documents.document(state, doc_id)
    except (FoerdersucheError, ApiError) as exc:
        status, message = _error_message(exc)
        return render(request, "error.html", status, title="Dokument nicht verfügbar", message=message)
    stems = query_stems(q) if q and q.strip() else frozenset()
    rendered = []
    for p in doc.passages:
        spans = match_spans(p.text, stems) if stems else []
        html = mark(p.text, spans)
        cited = p.passage_id == passage
        if cite_range is not None and cite_range[0] < p.char_end and p.char_start < cite_range[1]:
            a, b = max(cite_range[0], p.char_start) - p.char_start, min(cite_range[1], p.char_end) - p.char_start
            html, cited = mark(p.text, [(a, b)], '<mark class="cited-span">'), True
        rendered.append({"passage": p, "html": html, "cited": cited})
    cited_missing = (passage is not None or cite_range is not None) and not any(r["cited"] for r in rendered)
    pdf = doc.media_type == "application/pdf"
    return render(
        request,
        "document.html",
        doc=doc,
        passages=rendered,
        cited=passage,
        cited_missing=cited_missing,
        q=q or "",
        back_query=urlencode([("q", q)]) if q else None,
        pdf=pdf,
    )
