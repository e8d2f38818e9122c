"""The register over HTTP: ``/facts``, ``/projects``, ``/projects/{id}`` and their CSV exports.

The request goes through ``search.register.resolve_register_query``, the same resolver the CLI uses,
so a place or program filter means the same everywhere (and an unknown one is the same 400).
"""

from __future__ import annotations

from api.schemas import FactsResponse, ProjectDetailOut, ProjectsResponse, RegisterParams
from api.state import AppState
from core.errors import NotFound
from search.register import (
    Project,
    RegisterFact,
    resolve_register_query,
    select_facts,
    select_projects,
    sums,
)


def _query(state: AppState, params: RegisterParams) -> tuple[list[RegisterFact], list[Project]]:
    gazetteer = state.require_gazetteer()
    register = state.register()
    q = resolve_register_query(
        gazetteer, places=params.place, programs=params.program, doc_id=params.doc, query=params.q
    )
    return select_facts(register, q, gazetteer), select_projects(register, q, gazetteer)


def facts(state: AppState, params: RegisterParams) -> FactsResponse:
    found, _ = _query(state, params)
    gazetteer = state.require_gazetteer()
    return FactsResponse.model_validate(
        {"facts": [f.to_dict() for f in found], "sums": sums(found, gazetteer).to_dict()}
    )


def projects(state: AppState, params: RegisterParams) -> ProjectsResponse:
    _, found = _query(state, params)
    return ProjectsResponse.model_validate({"projects": [p.to_dict() for p in found]})


def project(state: AppState, project_id: str) -> ProjectDetailOut:
    found = state.register().by_id.get(project_id)
    if found is None:
        raise NotFound(f"Kein Vorhaben mit der ID {project_id!r}.")
    return ProjectDetailOut.model_validate(found.to_dict(with_facts=True))


def facts_rows(state: AppState, params: RegisterParams) -> list[RegisterFact]:
    return _query(state, params)[0]


def projects_rows(state: AppState, params: RegisterParams) -> list[Project]:
    return _query(state, params)[1]
