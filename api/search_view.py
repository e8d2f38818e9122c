"""From the API's search parameters to its grouped, cited, highlighted answer (and the export rows).

Grouping (``search.group``): the top ``k`` passages of the query are grouped by document, in the
order of each document's best passage, near-duplicates (the same press release on several sites)
folded into one group that lists where else it was published; a group shows its
``passages_per_doc`` best passages and counts all of its retrieved ones; pages are pages of groups.

Facets of a query (``search.facets``) are counted over the query's fused candidates, the passages
both retrievers returned before the cut to ``k`` (up to ``prefetch_limit`` each), in documents: a
document counts once per value any of its candidate passages carries. They cost no extra store
request and say how many relevant documents a filter would keep. Counting over *every* passage that
matches the filters would ignore relevance (any query would show the same counts); ``/facets``
gives those index-wide counts instead (unit: passages).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.schemas import (
    AnswerCitation,
    AnswerOut,
    AppliedFilter,
    Citation,
    DocumentGroup,
    ExportRow,
    Facets,
    FacetValue,
    OcrMark,
    PassageHit,
    PlaceFacetValue,
    PlaceOut,
    SearchParams,
    SearchResponse,
)
from api.state import AppState
from core.gazetteer import Gazetteer
from core.models import DocType, Hit, Passage
from search.engine import SearchOptions, SearchRequest, SearchResult
from search.facets import facet_counts, index_facets
from search.group import group_hits
from search.highlight import snippet
from search.request import RequestParams, resolve_request

FACET_LIMIT = 50
FIRST_YEAR = 1990  # global year facets count from here to next year

DOC_TYPE_LABELS = {
    DocType.PRESS_RELEASE.value: "Pressemitteilung",
    DocType.PROJECT_PAGE.value: "Projektseite",
    DocType.PROGRESS_REPORT.value: "Fortschrittsbericht",
    DocType.OTHER.value: "Sonstiges",
}
LANGUAGE_LABELS = {"de": "Deutsch", "en": "Englisch", "fr": "Französisch", "nl": "Niederländisch"}
PLACE_KIND_LABELS = {
    "land": "Land",
    "regierungsbezirk": "Regierungsbezirk",
    "kreis": "Kreis",
    "kreisfreie_stadt": "kreisfreie Stadt",
    "gemeinde": "Gemeinde",
    "region": "Region",
}
PDF = "application/pdf"


# ----------------------------------------------------------------------------- filters


def request_params(params: SearchParams) -> RequestParams:
    """The API's parameters as the one resolver (``search.request``) takes them from every front end."""
    return RequestParams(
        query=params.q,
        k=params.k,
        places=params.place,
        programs=params.program,
        doc_types=params.doc_type,
        date_from=params.date_from,
        date_to=params.date_to,
        languages=params.language,
        sources=params.source,
        mode=params.mode,
    )


def resolve(params: SearchParams, gazetteer: Gazetteer, defaults: SearchOptions) -> tuple[SearchRequest, AppliedFilter]:
    """The validated request (``search.request.resolve_request``) and the filter as the answer shows it."""
    resolved = resolve_request(request_params(params), gazetteer, defaults)
    flt = resolved.request.filter
    applied = AppliedFilter(
        places=[PlaceOut(ags=p.ags, name=p.name) for p in resolved.places],
        programs=list(flt.programs),
        doc_types=[DocType(t) for t in flt.doc_types],
        languages=list(flt.languages),
        sources=list(flt.source_names),
        date_from=flt.date_from,
        date_to=flt.date_to,
    )
    return resolved.request, applied


# ----------------------------------------------------------------------------- citations, snippets


def original_url(doc_id: str, media_type: str | None, page: int | None) -> str:
    url = f"/documents/{doc_id}/original"
    if media_type == PDF and page:
        url += f"#page={page}"
    return url


def view_url(doc_id: str, passage_id: str | None = None) -> str:
    return f"/dokument/{doc_id}" + (f"?passage={passage_id}#p-{passage_id}" if passage_id else "")


def snippet_html(text: str, spans: list[tuple[int, int]]) -> str:
    return snippet(text, spans).html()


def citation(hit: Hit, media_type: str | None) -> Citation:
    p, d = hit.passage, hit.doc
    return Citation(
        doc_id=d.doc_id,
        passage_id=p.passage_id,
        title=d.title,
        source=d.source,
        source_name=d.source_name,
        url=d.url,
        page=p.page,
        date=d.date,
        char_start=p.char_start,
        char_end=p.char_end,
        original_url=original_url(d.doc_id, media_type, p.page),
        view_url=view_url(d.doc_id, p.passage_id),
    )


def ocr_mark(passage: Passage) -> OcrMark | None:
    """The OCR mark of a passage whose page was read by OCR ("Text per Texterkennung, Seite 3")."""
    if passage.ocr is None:
        return None
    return OcrMark(
        confidence=passage.ocr.confidence,
        flagged=passage.ocr.flagged,
        label=f"Text per Texterkennung, Seite {passage.ocr.page}",
    )


def passage_hit(result: SearchResult, hit: Hit, media_type: str | None) -> PassageHit:
    p = hit.passage
    spans = result.highlights(hit)
    return PassageHit(
        passage_id=p.passage_id,
        ordinal=p.ordinal,
        text=p.text,
        snippet_html=snippet_html(p.text, spans),
        highlights=spans,
        score=hit.score,
        ranks=dict(hit.ranks),
        page=p.page,
        char_start=p.char_start,
        char_end=p.char_end,
        heading_path=list(p.heading_path),
        places=list(p.annotations.places),
        place_keys=list(p.annotations.place_keys),
        programs=list(p.annotations.programs),
        citation=citation(hit, media_type),
        ocr=ocr_mark(p),
    )


# ----------------------------------------------------------------------------- facets


def _counted(counts: dict[str, int], label: Callable[[str], str]) -> list[FacetValue]:
    ordered = sorted(counts.items(), key=lambda vc: (-vc[1], label(vc[0]).casefold(), vc[0]))
    return [FacetValue(value=v, label=label(v), count=n) for v, n in ordered[:FACET_LIMIT]]


def place_values(counts: dict[str, int], gazetteer: Gazetteer | None) -> list[PlaceFacetValue]:
    out = []
    for fv in _counted(counts, lambda key: place_label(key, gazetteer)):
        place = gazetteer.places.get(fv.value) if gazetteer else None
        kind = PLACE_KIND_LABELS.get(place.kind, place.kind) if place else None
        out.append(PlaceFacetValue(value=fv.value, label=fv.label, count=fv.count, kind=kind))
    return out


def place_label(key: str, gazetteer: Gazetteer | None) -> str:
    place = gazetteer.places.get(key) if gazetteer else None
    return place.name if place else key


def doc_type_label(value: str) -> str:
    return DOC_TYPE_LABELS.get(value, value)


def language_label(value: str) -> str:
    return LANGUAGE_LABELS.get(value, value)


def _same(value: str) -> str:
    return value


def query_facets(result: SearchResult, gazetteer: Gazetteer | None) -> Facets:
    """Facets of a query (``search.facets``): documents per value among the fused candidates."""
    candidates = result.candidates or result.hits
    counts = facet_counts(candidates, gazetteer, FACET_LIMIT) if gazetteer else {}

    def values(name: str) -> dict[str, int]:
        return dict(counts.get(name, ()))

    return Facets(
        unit="documents",
        basis=f"the {len(candidates)} fused candidate passages of this query (up to prefetch_limit per retriever)",
        places=place_values(values("place"), gazetteer),
        programs=_counted(values("program"), _same),
        doc_types=_counted(values("doc_type"), doc_type_label),
        years=sorted(_counted(values("year"), _same), key=lambda fv: fv.value, reverse=True),
        languages=_counted(values("language"), language_label),
        sources=_counted(values("source"), _same),
    )


def global_facets(state: AppState) -> tuple[int, Facets]:
    """Index-wide counts of passages per value (``/facets``)."""
    store = state.require_store()
    gazetteer = state.gazetteer
    with state.index_lock.read():
        total, fields = index_facets(store, FACET_LIMIT)
    facets = Facets(
        unit="passages",
        basis="all passages in the index",
        places=place_values(dict(fields["place"]), gazetteer),
        programs=_counted(dict(fields["program"]), _same),
        doc_types=_counted(dict(fields["doc_type"]), doc_type_label),
        years=sorted(_counted(dict(fields["year"]), _same), key=lambda fv: fv.value, reverse=True),
        languages=_counted(dict(fields["language"]), language_label),
        sources=_counted(dict(fields["source"]), _same),
    )
    return total, facets


# ----------------------------------------------------------------------------- search


@dataclass(frozen=True)
class Retrieved:
    """A search with its resolved filter."""

    params: SearchParams
    result: SearchResult
    applied: AppliedFilter
    seconds: float


def retrieve(state: AppState, params: SearchParams) -> Retrieved:
    started = time.perf_counter()
    searcher = state.require_searcher()
    request, applied = resolve(params, searcher.gazetteer, state.search_options(None))
    with state.index_lock.read():
        result = searcher.search(request)
    return Retrieved(params, result, applied, time.perf_counter() - started)


def group(found: Retrieved, page: slice = slice(None)) -> tuple[int, list[DocumentGroup]]:
    """Documents in the order of their best passage (near-duplicates folded, ``search.group``): how
    many there are, and those of ``page`` with their passages (highlighted and cited: the costly part,
    so it is done for the shown page only)."""
    result, params = found.result, found.params
    all_groups = group_hits(result.hits, per_doc=params.passages_per_doc)
    groups = []
    for g in all_groups[page]:
        d = g.doc
        media = d.media_type
        groups.append(
            DocumentGroup(
                doc_id=d.doc_id,
                title=d.title,
                source=d.source,
                source_name=d.source_name,
                url=d.url,
                doc_type=d.doc_type,
                date=d.date,
                language=d.language,
                media_type=media,
                score=g.score,
                matching_passages=g.total_hits,
                also_published_at=list(g.also_published_at),
                passages=[passage_hit(result, h, media) for h in g.hits],
            )
        )
    return len(all_groups), groups


def search_response(state: AppState, params: SearchParams) -> SearchResponse:
    found = retrieve(state, params)
    start = (params.page - 1) * params.page_size
    total, groups = group(found, slice(start, start + params.page_size))
    pages = max(1, math.ceil(total / params.page_size))
    result = found.result
    return SearchResponse(
        query=params.q,
        mode=result.request.options.mode,
        k=params.k,
        page=params.page,
        page_size=params.page_size,
        pages=pages,
        total_documents=total,
        total_passages=len(result.hits),
        recognised_places=[PlaceOut(ags=p.ags, name=p.name) for p in result.plan.places],
        filter=found.applied,
        results=groups,
        facets=query_facets(result, state.gazetteer),
        answer=direct_answer(state, found),
        took_ms=round(found.seconds * 1000, 2),
    )


def direct_answer(state: AppState, found: Retrieved) -> AnswerOut | None:
    """The question's direct answer from the retrieved passages and the register (``search.answer``)."""
    from search.answer import answer_search, understand_question

    if not found.params.answer:
        return None
    gazetteer = state.require_gazetteer()
    question = understand_question(found.params.q, gazetteer)
    if question.asked is None:  # not a question this can answer: no register needed
        return None
    register = state.register(current=False)  # never waits for a rebuild while an ingest changes the registry
    question = understand_question(found.params.q, gazetteer, register)
    with state.index_lock.read():  # the second search and the text around the passages, as `ask` reads them
        a = answer_search(question, state.require_searcher(), found.result.request, found.result.hits, register).answer
    if a is None:
        return None
    d = a.to_dict()
    return AnswerOut(
        text=a.text,
        kind=d["kind"],
        value=d["value"],
        citation=AnswerCitation(**d["citation"]),
        score=d["score"],
        fact_kind=d["fact_kind"],
        value_start=a.value_start,
        value_end=a.value_end,
        passage_id=a.passage_id,
        view_url=view_url(a.citation.doc_id, a.passage_id or None),
    )


# ----------------------------------------------------------------------------- export

EXPORT_COLUMNS = tuple(ExportRow.model_fields)


def export_rows(found: Retrieved) -> list[ExportRow]:
    """One row per retrieved passage, best first, with its full citation."""
    rows = []
    for rank, hit in enumerate(found.result.hits, 1):
        p, d = hit.passage, hit.doc
        rows.append(
            ExportRow(
                rank=rank,
                score=hit.score,
                doc_id=d.doc_id,
                title=d.title,
                doc_type=d.doc_type.value,
                date=d.date,
                language=d.language,
                source=d.source,
                source_name=d.source_name,
                url=d.url,
                page=p.page,
                passage_id=p.passage_id,
                char_start=p.char_start,
                char_end=p.char_end,
                heading_path=list(p.heading_path),
                places=list(p.annotations.places),
                programs=list(p.annotations.programs),
                text=p.text,
                original_url=original_url(d.doc_id, d.media_type, p.page),
                view_url=view_url(d.doc_id, p.passage_id),
            )
        )
    return rows
