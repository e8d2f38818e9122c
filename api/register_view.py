"""The register over HTTP: ``/facts``, ``/projects``, ``/projects/{id}`` and their CSV exports.

The request goes through ``search.register.resolve_register_query``, the same resolver the CLI uses,
so a place or program filter means the same everywhere (and an unknown one is the same 400).
"""

from __future__ import annotations

from api.schemas import FactsResponse, ProjectDetailOut, ProjectsResponse, RegisterParams
from api.state import AppState
from core.errors import NotFound
from core.gazetteer import Gazetteer
from search.register import (
    Project,
    RegisterFact,
    RegisterQuery,
    resolve_register_query,
    select_facts,
    select_projects,
    sums,
)


def facts_rows(state: AppState, params: RegisterParams) -> list[RegisterFact]:
    gazetteer = state.require_gazetteer()
    return select_facts(state.register(), _query(gazetteer, params), gazetteer)


def projects_rows(state: AppState, params: RegisterParams) -> list[Project]:
    gazetteer = state.require_gazetteer()
    return select_projects(state.register(), _query(gazetteer, params), gazetteer)


def _query(gazetteer: Gazetteer, params: RegisterParams) -> RegisterQuery:
    return resolve_register_query(
        gazetteer, places=params.place, programs=params.program, doc_id=params.doc, query=params.q
    )


def facts(state: AppState, params: RegisterParams) -> FactsResponse:
    found = facts_rows(state, params)
    sums_ = sums(found, state.require_gazetteer()).to_dict()
    return FactsResponse.model_validate({"facts": [f.to_dict() for f in found], "sums": sums_})


def projects(state: AppState, params: RegisterParams) -> ProjectsResponse:
    return ProjectsResponse.model_validate({"projects": [p.to_dict() for p in projects_rows(state, params)]})


def project(state: AppState, project_id: str) -> ProjectDetailOut:
    found = state.register().by_id.get(project_id)
    if found is None:
        raise NotFound(f"Kein Vorhaben mit der ID {project_id!r}.")
    return ProjectDetailOut.model_validate(found.to_dict(with_facts=True))
