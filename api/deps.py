"""Dependency aliases of the route handlers (``StateDep``, ``SearchParamsDep``, ``AdminDep``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader

from api.errors import ApiError
from api.schemas import RegisterParams, SearchParams
from api.state import AppState

ADMIN_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=ADMIN_HEADER,
    auto_error=False,
    description="Admin key (FOERDERSUCHE_ADMIN_KEY). Without a configured key the admin endpoints are disabled.",
)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.foerdersuche
    return state


StateDep = Annotated[AppState, Depends(get_state)]
SearchParamsDep = Annotated[SearchParams, Query()]
RegisterParamsDep = Annotated[RegisterParams, Query()]


def require_admin(state: StateDep, key: Annotated[str | None, Depends(_api_key_header)]) -> None:
    """Admin endpoints need the configured key; without one they are disabled, never open."""
    configured = state.settings.admin_key
    if not configured:
        raise ApiError(
            403,
            "admin_disabled",
            "Admin endpoints are disabled: no admin key is configured (set FOERDERSUCHE_ADMIN_KEY).",
        )
    if not key:
        raise ApiError(401, "unauthorized", f"Missing {ADMIN_HEADER} header.", headers={"WWW-Authenticate": "ApiKey"})
    if not hmac.compare_digest(key.encode("utf-8"), configured.encode("utf-8")):
        raise ApiError(401, "unauthorized", "Invalid API key.", headers={"WWW-Authenticate": "ApiKey"})


AdminDep = Depends(require_admin)
