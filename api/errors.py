"""One error body for every 4xx/5xx answer, and the one place that maps exceptions to it.

    core.errors.FoerdersucheError  -> by class (table ``CORE_ERRORS``, most specific first)
    ApiError                       -> its own status and code (auth, readiness, body size, ...)
    RequestValidationError         -> 422 ``validation_error`` with the failing fields
    starlette HTTPException        -> its status (404 unknown route, 405 wrong method, ...); a 404 for a
                                      browser (Accept: text/html) is the German error page instead
    anything else                  -> 500 ``internal_error``: logged with an error id, body says only that
                                      (a browser gets a German page with the error id)

The body is always ``{"error": {"code": ..., "message": ..., "details": ...}}`` (``api.schemas.ErrorBody``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import (
    ConfigError,
    CrawlError,
    FoerdersucheError,
    ModelError,
    NotFound,
    ParseError,
    QueryError,
    StoreCorrupted,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger("api")

# (exception class, HTTP status, code); the first matching class wins, so subclasses come first.
CORE_ERRORS: tuple[tuple[type[FoerdersucheError], int, str], ...] = (
    (QueryError, 400, "invalid_query"),
    (NotFound, 404, "not_found"),
    (CrawlError, 400, "crawl_error"),
    (ParseError, 422, "parse_error"),
    (StoreUnavailable, 503, "store_unavailable"),
    (StoreCorrupted, 503, "store_corrupted"),
    (StoreError, 503, "store_error"),
    (ModelError, 503, "model_unavailable"),
    (ConfigError, 500, "config_error"),
    (FoerdersucheError, 500, "error"),
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the API raises itself, with its status, code and a message fit for a user."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def classify(exc: FoerdersucheError) -> tuple[int, str]:
    for cls, status, code in CORE_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return 500, "error"  # unreachable: FoerdersucheError is the last row


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Field, message and type of each failure; never the raw input (it may be huge or binary)."""
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def install_error_handlers(app: FastAPI, html_not_found: Callable[[Request], HTMLResponse]) -> None:
    """The one mapping of errors to answers: the common JSON body; a browser that followed a broken
    link gets ``html_not_found`` (the web page's own 404 page, passed in by the app factory)."""

    async def on_core_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FoerdersucheError)
        status, code = classify(exc)
        if status >= 500:
            log.warning("%s %s -> %d %s: %s", request.method, request.url.path, status, code, exc)
        return error_response(status, code, str(exc) or code)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "validation_error", "The request is invalid.", _validation_details(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            return html_not_found(request)  # a browser that followed a broken link gets a page
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    app.add_exception_handler(FoerdersucheError, on_core_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


# deliberately no template: the page must render even when the template machinery is what failed
INTERNAL_ERROR_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Fehler – Fördersuche</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main><section class="notice error" role="alert">
<h1>Interner Fehler</h1><p>Bei der Bearbeitung ist ein Fehler aufgetreten. Bitte später erneut versuchen.
Fehlernummer: {error_id}</p><p><a href="/">Zur Suche</a></p></section></main></body></html>"""


class CatchAllMiddleware:
    """The last resort: any unhandled exception becomes a logged 500 with the common body.

    Starlette's own ``ServerErrorMiddleware`` would answer with plain text and re-raise; this
    middleware sits inside it, so the client always gets the error shape and no traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("unhandled error %s in %s %s", error_id, scope.get("method"), scope.get("path"))
            if started:  # too late for a clean answer; the server closes the connection
                raise
            response: Response
            if b"text/html" in dict(scope.get("headers", ())).get(b"accept", b""):
                response = HTMLResponse(INTERNAL_ERROR_PAGE.format(error_id=error_id), status_code=500)
            else:
                response = error_response(500, "internal_error", "An internal error occurred.", {"error_id": error_id})
            await response(scope, receive, send)
