"""The JSON API. Handlers stay thin: they validate (schemas), delegate (search_view, documents,
admin) and shape the answer; every error goes through ``api.errors``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from api import admin, documents, export, register_view, search_view
from api.deps import AdminDep, RegisterParamsDep, SearchParamsDep, StateDep
from api.documents import DOC_ID_PATTERN
from api.errors import ApiError
from api.schemas import (
    CrawlRequest,
    DocumentOut,
    ErrorBody,
    ExportResponse,
    FactsResponse,
    GlobalFacetsResponse,
    HealthOut,
    IngestRequest,
    JobOut,
    ProjectDetailOut,
    ProjectsResponse,
    ReadyOut,
    SearchResponse,
    SourcesResponse,
)

_ERR = {"model": ErrorBody}
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "Invalid query, filter or request"},
    404: {**_ERR, "description": "Not found"},
    413: {**_ERR, "description": "Request body too large"},
    422: {**_ERR, "description": "Validation error"},
    500: {**_ERR, "description": "Internal error"},
    503: {**_ERR, "description": "Model or index not ready"},
}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERR, "description": "Missing or wrong X-API-Key"},
    403: {**_ERR, "description": "Admin endpoints disabled (no admin key configured)"},
}

DocId = Annotated[str, Path(pattern=DOC_ID_PATTERN, max_length=16, description="Document id (16 hex digits).")]
ProjectId = Annotated[str, Path(pattern=r"^p-[0-9a-f]{10}$", max_length=12, description="Project id.")]
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", max_length=32, description="Job id (32 hex digits).")]

router = APIRouter(responses=COMMON_ERRORS)


def json_response(model: BaseModel) -> Response:
    """A response model as JSON, written by pydantic in one step. Returned as is, FastAPI would dump the
    model to a dict, validate the dict against ``response_model`` again and encode it anew: 1.5 ms of a
    ``/search`` answer at 100k passages against 0.2 ms for this (evaluation/reports/serving.md). The
    route keeps its ``response_model`` for the OpenAPI schema."""
    return Response(content=model.model_dump_json(), media_type="application/json")


admin_router = APIRouter(tags=["admin"], responses={**COMMON_ERRORS, **ADMIN_ERRORS}, dependencies=[AdminDep])


# ----------------------------------------------------------------------------- search


@router.get("/search", tags=["search"], response_model=SearchResponse, summary="Search, grouped by document")
def search(state: StateDep, params: SearchParamsDep) -> Response:
    """Top-``k`` passages for the query, grouped by document, with highlighted snippets, citations and
    the facets of the query's candidates (counted in documents; see ``api.search_view``)."""
    return json_response(search_view.search_response(state, params))


@router.get(
    "/export.json",
    tags=["search"],
    response_model=ExportResponse,
    summary="Export the results as JSON",
)
def export_json(state: StateDep, params: SearchParamsDep, response: Response) -> ExportResponse:
    """Every retrieved passage (all pages) with its citation; same parameters as ``/search``."""
    found = search_view.retrieve(state, params)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename("json")}"'
    return export.to_json(found)


@router.get(
    "/export.csv",
    tags=["search"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV, UTF-8 with BOM"}},
    summary="Export the results as CSV",
)
def export_csv(state: StateDep, params: SearchParamsDep) -> Response:
    """The rows of ``/export.json`` as CSV (see ``api.export`` for the format)."""
    found = search_view.retrieve(state, params)
    return export.csv_response(export.to_csv(search_view.export_rows(found)), export.filename("csv"))


@router.get("/facets", tags=["search"], response_model=GlobalFacetsResponse, summary="Index-wide facet counts")
def facets(state: StateDep) -> GlobalFacetsResponse:
    """Counts of passages per place, programme, document type, year, language and source."""
    total, values = search_view.global_facets(state)
    return GlobalFacetsResponse(total_passages=total, facets=values)


# ----------------------------------------------------------------------------- documents


@router.get("/facts", tags=["register"], response_model=FactsResponse, summary="Funding facts, cited, with sums")
def facts(state: StateDep, params: RegisterParamsDep) -> FactsResponse:
    return register_view.facts(state, params)


@router.get(
    "/facts.csv",
    tags=["register"],
    response_class=Response,
    summary="Funding facts as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def facts_csv(state: StateDep, params: RegisterParamsDep) -> Response:
    from search.register import facts_csv_rows

    return export.csv_response(
        export.csv_text(facts_csv_rows(register_view.facts_rows(state, params))), "foerderangaben.csv"
    )


@router.get("/projects", tags=["register"], response_model=ProjectsResponse, summary="Projects linked across documents")
def projects(state: StateDep, params: RegisterParamsDep) -> ProjectsResponse:
    return register_view.projects(state, params)


@router.get(
    "/projects.csv",
    tags=["register"],
    response_class=Response,
    summary="Projects as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def projects_csv(state: StateDep, params: RegisterParamsDep) -> Response:
    from search.register import projects_csv_rows

    return export.csv_response(
        export.csv_text(projects_csv_rows(register_view.projects_rows(state, params))), "vorhaben.csv"
    )


@router.get("/projects/{project_id}", tags=["register"], response_model=ProjectDetailOut, summary="One project")
def project(state: StateDep, project_id: ProjectId) -> ProjectDetailOut:
    return register_view.project(state, project_id)


@router.get("/documents/{doc_id}", tags=["documents"], response_model=DocumentOut)
def document(state: StateDep, doc_id: DocId) -> DocumentOut:
    """Metadata, registry status and all passages (in reading order) of one document."""
    return documents.document(state, doc_id)


@router.get(
    "/documents/{doc_id}/original",
    tags=["documents"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The stored original file"}},
)
def document_original(state: StateDep, doc_id: DocId) -> Response:
    """The original file as ingested (PDF, HTML, text), with its content type."""
    orig = documents.original(state, doc_id)
    headers = {"Content-Disposition": orig.content_disposition(), "X-Content-Type-Options": "nosniff"}
    if orig.media_type != "application/pdf":
        # stored third-party HTML must not run script in this origin; a sandboxed PDF would not render
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return Response(orig.data, media_type=orig.media_type, headers=headers)


@router.get("/sources", tags=["documents"], response_model=SourcesResponse)
def sources(state: StateDep) -> SourcesResponse:
    """Documents and passages per source (crawl source name; null = local files), from the registry."""
    return documents.sources(state)


# ----------------------------------------------------------------------------- admin


@admin_router.post("/ingest", status_code=202, response_model=JobOut)
def ingest(state: StateDep, body: IngestRequest) -> dict[str, Any]:
    """Start ingesting files or folders below an allowed root; returns the job to poll."""
    paths = admin.resolve_ingest_paths(body.paths, state.settings)
    state.require_searcher()  # fail now, not in the job, when the model or store is missing
    return state.jobs.submit(
        "ingest",
        {"paths": [str(p) for p in paths], "force": body.force},
        admin.ingest_job(state, paths, body.force),
    )


@admin_router.post("/crawl", status_code=202, response_model=JobOut)
def crawl(state: StateDep, body: CrawlRequest) -> dict[str, Any]:
    """Start crawling the named sources of the sources file; returns the job to poll."""
    names = list(dict.fromkeys(body.sources))
    job = admin.crawl_job(state, names)  # validates the names (400) before anything starts
    state.require_searcher()
    return state.jobs.submit("crawl", {"sources": names}, job)


@admin_router.get("/jobs/{job_id}", response_model=JobOut)
def job(state: StateDep, job_id: JobId) -> dict[str, Any]:
    """Status, progress and (when finished) the report of a job of this process."""
    found = state.jobs.get(job_id)
    if found is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return found


# ----------------------------------------------------------------------------- operations


@router.get("/healthz", tags=["operations"], response_model=HealthOut)
def healthz() -> HealthOut:
    """The process answers (liveness)."""
    return HealthOut(status="ok")


@router.get("/readyz", tags=["operations"], response_model=ReadyOut)
def readyz(state: StateDep) -> ReadyOut:
    """Model loaded, gazetteer loaded, store open and answering (readiness); 503 otherwise."""
    ready, checks = state.readiness()
    if not ready:
        failing = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        raise ApiError(503, "not_ready", f"Not ready ({failing}).", {"checks": checks})
    return ReadyOut(status="ready", checks=checks)


@router.get(
    "/metrics",
    tags=["operations"],
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format"}
    },
)
def metrics(state: StateDep) -> Response:
    """Prometheus metrics: requests and latencies per route, index size, last ingest, jobs."""
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
