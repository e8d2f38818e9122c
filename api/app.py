"""The app factory: ``create_app(settings, *, embedder=None)``.

Nothing is built at import time. The lifespan opens the store, loads the model and the gazetteer
(``api.state.AppState``) and closes them again; a missing model or store leaves the app running but
not ready (``/readyz`` says why). Middleware, outermost first: request metrics, the catch-all 500,
the request body limit; then FastAPI's exception handlers (``api.errors``) and the routes.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import register_web, routes, web
from api.errors import CatchAllMiddleware, install_error_handlers
from api.middleware import BodyLimitMiddleware, MetricsMiddleware
from api.ratelimit import RateLimitMiddleware
from api.schemas import MAX_BODY_BYTES
from api.state import AppState
from core.model.embedding import Embedder
from core.settings import Settings

log = logging.getLogger("api")

DESCRIPTION = """Cited German search over funding texts of the Ruhr area's structural change.

Every hit carries its citation (title, source URL or file, page, date, character offsets, passage id).
Errors always have the body `{"error": {"code": ..., "message": ..., "details": ...}}`.
Admin endpoints (`/ingest`, `/crawl`, `/jobs/...`) need the `X-API-Key` header and are disabled when
no admin key is configured.
"""


def create_app(settings: Settings, *, embedder: Embedder | None = None, freeze_gc: bool = False) -> FastAPI:
    """A new app over ``settings``; ``embedder`` replaces the configured model (tests).

    ``freeze_gc`` (the server process, ``serve``): once started, the objects it holds for good (the
    summary table, the gazetteer, the model's tables: about 200,000 at 100k passages) leave Python's
    cyclic garbage collector (``gc.freeze``). A full collection walks every tracked object, 75-90 ms
    at 100k, and one fell into whichever request allocated last; now it walks what requests create.
    Not for a process that builds many apps (tests): objects frozen there are never collected."""
    state = AppState(settings, embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.admin_key is not None and 0 < len(settings.admin_key) < 16:
            log.warning("FOERDERSUCHE_ADMIN_KEY is shorter than 16 characters; use a long random key")
        await run_in_threadpool(state.start)
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = FastAPI(
        title="foerdersuche",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.foerdersuche = state
    app.state.templates = web.make_environment()
    install_error_handlers(app, web.html_not_found)
    app.include_router(routes.router)
    app.include_router(routes.admin_router)
    app.include_router(web.router)
    app.include_router(register_web.router)
    app.mount("/static", StaticFiles(directory=str(web.STATIC)), name="static")
    # add_middleware wraps: the last added is the outermost
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RateLimitMiddleware, rate=settings.search_rate_limit, burst=settings.search_rate_burst)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app
