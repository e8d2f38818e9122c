"""Property-based requests from the OpenAPI schema (schemathesis), in-process over ASGI against the real
app and index: no operation may answer with a server error, and every answer must be documented and
match its schema. Bounded: at most ``MAX_EXAMPLES`` generated requests per operation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_api_corpus import ADMIN_KEY, EMBED_DIM, make_env

from api.app import create_app
from core.model.embedding import HashingEmbedder
from core.settings import Settings

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("schemathesis")
    sources = root / "sources.toml"
    sources.write_text(  # the only crawlable source points nowhere: generated requests never reach the web
        '[[sources]]\nname = "lokal"\nstart_urls = ["http://127.0.0.1:9/"]\nmax_pages = 1\n', encoding="utf-8"
    )
    env = make_env(root, sources_file=sources)
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan; close store and jobs now


def _runs() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) for every documented operation (create_app builds nothing until its
    lifespan); negative runs only where there is input to break (parameters or a body)."""
    app = create_app(Settings(data_dir=Path(tempfile.gettempdir()) / "foerdersuche-unused"))
    runs = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            runs.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                runs.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(runs)


# schemathesis' own pytest integration (``from_fixture``) fails on pytest 9 (it reads a removed private
# attribute), so each operation is driven through its hypothesis strategy here.
@pytest.mark.parametrize(("method", "path", "mode"), _runs())
def test_no_server_errors_and_documented_answers(api_schema: Any, method: str, path: str, mode: GenerationMode) -> None:
    """Valid requests (positive) and requests that break the schema (negative), ``MAX_EXAMPLES`` each."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call(headers={"X-API-Key": ADMIN_KEY})
        case.validate_response(response, checks=CHECKS)

    run()
