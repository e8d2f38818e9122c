"""``search``, ``ask`` and ``status`` computed once for both of the CLI's paths: in its own process, or in the
``foerdersuche serve`` of the same data directory (``foerdersuche.server_link``).

``search_payloads`` runs the queries and returns JSON data (the ``search --json`` contract, built by
``foerdersuche.hits``); ``print_search`` prints that data, as JSON or as the text list. The CLI calls
``search_payloads`` itself when it can open the index, or asks the server, whose ``serve`` mounts
``router`` (``POST /cli/search``, ``POST /cli/ask`` with ``ask_cmd.ask_payload``, ``GET /cli/status``,
``GET /cli/whoami``); either way the same code prints it, so the output is the same. The endpoints
answer only clients on the loopback interface: they serve the CLI on the server's machine, they are not
part of the public API.
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from rich.markup import escape

from api.deps import StateDep
from api.errors import ApiError
from core.registry import Registry
from core.settings import Settings
from core.store.base import Store
from foerdersuche.context import err
from foerdersuche.hits import extended_json, hit_json, print_body, print_facets
from search.engine import Searcher, SearchOptions, SearchRequest


class CliSearch(BaseModel):
    """The options of ``foerdersuche search`` (see its ``--help``)."""

    queries: list[str] = Field(min_length=1, max_length=10_000)
    k: int = Field(default=10, ge=1, le=200)
    mode: Literal["hybrid", "dense", "lexical"] | None = None
    fusion: Literal["weighted", "rrf", "dbsf"] | None = None
    place: list[str] = Field(default_factory=list)
    place_mode: Literal["boost", "filter", "off"] = "boost"
    program: list[str] = Field(default_factory=list)
    doc_type: list[str] = Field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None
    language: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    group: bool = False
    per_doc: int = Field(default=3, ge=1)
    facets: bool = False


def search_payloads(request: CliSearch, searcher: Searcher, store: Store, defaults: SearchOptions) -> dict[str, Any]:
    """``{"results": [one body per query], "index_empty": bool}``; a body is ``extended_json``'s, with the
    flat ``hits`` always present and ``facet_labels`` (place key -> name) for the text output."""
    from search.request import RequestParams, resolve_request

    gazetteer = searcher.gazetteer

    def resolved(query: str) -> SearchRequest:  # the one resolver, as for the API and the evaluation
        params = RequestParams(
            query=query,
            k=request.k,
            places=request.place,
            programs=request.program,
            doc_types=request.doc_type,
            date_from=request.date_from,
            date_to=request.date_to,
            languages=request.language,
            sources=request.source,
            mode=request.mode,
            fusion=request.fusion,
            place_mode=request.place_mode,
        )
        return resolve_request(params, gazetteer, defaults).request

    results = []
    found_nothing = False
    for q in request.queries:
        result = searcher.search(resolved(q))
        found_nothing = found_nothing or not result.hits
        body = extended_json(result, gazetteer, request.group, request.per_doc, request.facets)
        body["hits"] = [hit_json(result, h) for h in result.hits]
        places = dict(body.get("facets", {})).get("place", [])
        body["facet_labels"] = {v: gazetteer.places[v].name for v, _n in places if v in gazetteer.places}
        results.append(body)
    return {"results": results, "index_empty": found_nothing and store.count() == 0}


def print_search(
    payload: dict[str, Any], request: CliSearch, *, as_json: bool, queries_file: bool, data_dir: str
) -> None:
    """What ``foerdersuche search`` prints for ``payload`` (README, "Output contracts")."""
    for body in payload["results"]:
        if queries_file:
            print(json.dumps({"query": body["query"], "hits": body["hits"]}, ensure_ascii=False))
        elif as_json and not (request.group or request.facets):
            print(json.dumps(body["hits"], ensure_ascii=False, indent=1))
        elif as_json:
            shown = {k: v for k, v in body.items() if k not in ("facet_labels",)}
            if request.group:
                shown.pop("hits")
            print(json.dumps(shown, ensure_ascii=False, indent=1))
        else:
            print_body(body, request.group)
            if request.facets:
                print_facets(body)
    if payload["index_empty"]:  # stderr: the JSON on stdout keeps its contract
        err.print(
            f"[yellow]Hinweis:[/yellow] Der Index in {escape(data_dir)} ist leer. "
            "Zuerst Dokumente aufnehmen, z. B. [bold]foerdersuche ingest corpus/sample[/bold].",
            soft_wrap=True,
        )


def status_info(settings: Settings, store: Store, registry: Registry) -> dict[str, Any]:
    """The ``status --json`` object: documents, passages, counts per status, runs, sources, OCR."""
    from ingest.crawl.status import source_status, status_dict
    from ingest.ocr import ocr_pages_from_json, ocr_run_summary

    docs, passages = registry.totals()
    return {
        "data_dir": str(settings.data_dir),
        "store": "qdrant-server" if settings.qdrant_url else "qdrant-edge",
        "documents": docs,
        "passages": passages,
        "points_in_index": store.count(),
        "by_status": registry.counts_by_status(),
        "last_ingest": registry.last_run("ingest"),
        "last_crawl": registry.last_run("crawl"),
        "sources": status_dict(source_status(registry, settings.data_dir)),
        "ocr": ocr_run_summary([(s, ocr_pages_from_json(p)) for s, p in registry.ocr_pages()]),
    }


# ----------------------------------------------------------------------------- the server's side


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "testclient"  # Starlette's test client
    if not local:
        raise ApiError(403, "forbidden", "the CLI endpoints answer only on the server's own machine")


router = APIRouter(prefix="/cli", include_in_schema=False, dependencies=[Depends(_loopback_only)])


@router.get("/whoami")
def whoami(state: StateDep) -> dict[str, Any]:
    return {"pid": os.getpid(), "data_dir": str(state.settings.data_dir.resolve())}


@router.post("/search")
def cli_search(state: StateDep, body: CliSearch) -> dict[str, Any]:
    searcher = state.require_searcher()
    with state.index_lock.read():
        return search_payloads(body, searcher, searcher.store, state.search_options(None))


class CliAsk(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=10, ge=1, le=200)


@router.post("/ask")
def cli_ask(state: StateDep, body: CliAsk) -> dict[str, Any]:
    from foerdersuche.ask_cmd import ask_payload

    searcher = state.require_searcher()
    register = state.register()
    with state.index_lock.read():
        return ask_payload(body.question, body.k, searcher, register, state.search_options(None))


@router.get("/status")
def cli_status(state: StateDep) -> dict[str, Any]:
    store = state.require_store()
    with state.index_lock.read(), state.registry() as registry:
        return status_info(state.settings, store, registry)
