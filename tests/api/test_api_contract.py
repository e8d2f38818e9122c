"""One contract over every endpoint: each documented operation is called (success and failure cases),
every status is one the OpenAPI schema documents, every JSON body validates against the published
schema, and every 4xx/5xx has the common error body. A new endpoint without cases here fails."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from test_api_corpus import ADMIN_KEY, EMBED_DIM, ApiEnv, doc_id_of, make_env

from api.app import create_app
from core.model.embedding import HashingEmbedder
from core.settings import Settings

KEY = {"X-API-Key": ADMIN_KEY}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the OpenAPI path template
    url: str  # the URL called ({doc}, {job}, {inbox} are filled in)
    status: int
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("get", "/search", "/search", 200, {"q": "Kreislaufwirtschaft Kreis Unna", "passages_per_doc": 2}),
    Case("get", "/search", "/search", 200, {"q": "Förderung", "place": "Kreis Unna", "doc_type": "press_release"}),
    Case("get", "/search", "/search", 200, {"q": "qqqqxxxxzzzz", "mode": "lexical"}),
    Case("get", "/search", "/search", 422, {}),
    Case("get", "/search", "/search", 400, {"q": "Förderung", "place": "Atlantis"}),
    Case("get", "/export.json", "/export.json", 200, {"q": "Wasserstoff", "k": 10}),
    Case("get", "/export.json", "/export.json", 422, {"q": "Wasserstoff", "k": 0}),
    Case("get", "/export.csv", "/export.csv", 200, {"q": "Wasserstoff", "k": 10}),
    Case("get", "/export.csv", "/export.csv", 400, {"q": "  "}),
    Case("get", "/facets", "/facets", 200),
    Case("get", "/documents/{doc_id}", "/documents/{doc}", 200),
    Case("get", "/documents/{doc_id}", "/documents/0123456789abcdef", 404),
    Case("get", "/documents/{doc_id}", "/documents/not-an-id", 422),
    Case("get", "/documents/{doc_id}/original", "/documents/{doc}/original", 200),
    Case("get", "/documents/{doc_id}/original", "/documents/0123456789abcdef/original", 404),
    Case("get", "/sources", "/sources", 200),
    Case("get", "/facts", "/facts", 200),
    Case("get", "/facts", "/facts", 200, {"place": "Kreis Unna", "program": "5-Standorte-Programm"}),
    Case("get", "/facts", "/facts", 400, {"place": "Atlantis"}),
    Case("get", "/facts", "/facts", 400, {"program": "Quatsch"}),
    Case("get", "/facts", "/facts", 422, {"doc": "kein-dokument"}),
    Case("get", "/facts.csv", "/facts.csv", 200, {"place": "Bergkamen"}),
    Case("get", "/facts.csv", "/facts.csv", 400, {"place": "Atlantis"}),
    Case("get", "/projects", "/projects", 200, {"q": "EcoTecHub"}),
    Case("get", "/projects", "/projects", 400, {"program": "Quatsch"}),
    Case("get", "/projects.csv", "/projects.csv", 200),
    Case("get", "/projects.csv", "/projects.csv", 400, {"place": "Atlantis"}),
    Case("get", "/projects/{project_id}", "/projects/{project}", 200),
    Case("get", "/projects/{project_id}", "/projects/p-0000000000", 404),
    Case("get", "/projects/{project_id}", "/projects/kein-vorhaben", 422),
    Case("post", "/ingest", "/ingest", 202, json={"paths": ["{inbox}"]}, headers=KEY),
    Case("post", "/ingest", "/ingest", 401, json={"paths": ["{inbox}"]}),
    Case("post", "/ingest", "/ingest", 400, json={"paths": ["/etc"]}, headers=KEY),
    Case("post", "/ingest", "/ingest", 422, json={"paths": []}, headers=KEY),
    Case("post", "/crawl", "/crawl", 202, json={"sources": ["unerreichbar"]}, headers=KEY),
    Case("post", "/crawl", "/crawl", 400, json={"sources": ["nirgendwo"]}, headers=KEY),
    Case("post", "/crawl", "/crawl", 401, json={"sources": ["nirgendwo"]}, headers={"X-API-Key": "falsch"}),
    Case("post", "/crawl", "/crawl", 422, json={"sources": "nirgendwo"}, headers=KEY),
    Case("get", "/jobs/{job_id}", "/jobs/{job}", 200, headers=KEY),
    Case("get", "/jobs/{job_id}", "/jobs/" + "f" * 32, 404, headers=KEY),
    Case("get", "/jobs/{job_id}", "/jobs/{job}", 401),
    Case("get", "/healthz", "/healthz", 200),
    Case("get", "/readyz", "/readyz", 200),
    Case("get", "/metrics", "/metrics", 200),
]
# the same operations on an app whose store is unavailable
NOT_READY_CASES = [
    Case("get", "/readyz", "/readyz", 503),
    Case("get", "/search", "/search", 503, {"q": "Förderung"}),
    Case("get", "/export.csv", "/export.csv", 503, {"q": "Förderung"}),
    Case("get", "/facets", "/facets", 503),
    Case("get", "/documents/{doc_id}", "/documents/0123456789abcdef", 503),
    Case("get", "/healthz", "/healthz", 200),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    root = tmp_path_factory.mktemp("contract")
    sources = root / "sources.toml"
    sources.write_text(  # a source nobody answers for: the crawl job starts and reports the failure
        f"""[crawler]
delay_s = 0.0
max_retries = 0
timeout_s = 2.0

[[sources]]
name = "unerreichbar"
start_urls = ["http://127.0.0.1:{free_port()}/"]
max_pages = 1
allow_private = true
""",
        encoding="utf-8",
    )
    env = make_env(root, sources_file=sources, allow_private_networks=True)
    (env.inbox / "neu.md").write_text("# Neu\n\nEin neuer Text über Förderung in Herne.\n", encoding="utf-8")
    return env


@pytest.fixture(scope="module")
def client(env: ApiEnv) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        yield c


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def validator(openapi: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": openapi["components"]})


def check(openapi: dict[str, Any], case: Case, response: Any) -> None:
    where = f"{case.method.upper()} {case.url} -> {response.status_code}"
    assert response.status_code == case.status, f"{where}: {response.text[:500]}"
    operation = openapi["paths"][case.path][case.method]
    documented = operation["responses"]
    assert str(response.status_code) in documented, f"{where}: status not documented"
    content_type = response.headers.get("content-type", "")
    if response.status_code >= 400:
        assert content_type == "application/json", where
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, where
        assert isinstance(body["error"]["code"], str) and body["error"]["message"], where
        schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
        errors = [e.message for e in validator(openapi, schema).iter_errors(body)]
        assert not errors, f"{where}: {errors}"
        return
    content = documented[str(response.status_code)].get("content", {})
    if content_type.startswith("application/json"):
        schema = content["application/json"]["schema"]
        errors = [e.message for e in validator(openapi, schema).iter_errors(response.json())]
        assert not errors, f"{where}: {errors}"
    else:
        declared = list(content)
        assert declared, f"{where}: undocumented content type {content_type}"
        media = content_type.split(";")[0]
        assert media in declared or "application/octet-stream" in declared, f"{where}: {media} not in {declared}"


def test_the_cases_cover_every_operation(openapi: dict[str, Any]) -> None:
    operations = {(method, path) for path, item in openapi["paths"].items() for method in item}
    covered = {(c.method, c.path) for c in CASES}
    assert operations == covered, f"missing: {operations - covered}, unknown: {covered - operations}"
    for method, path in operations:
        statuses = {c.status for c in CASES if (c.method, c.path) == (method, path)}
        assert any(s < 300 for s in statuses), (method, path)
        if path not in ("/healthz", "/readyz", "/metrics", "/facets", "/sources"):  # no client input to get wrong
            assert any(s >= 400 for s in statuses), (method, path)


def test_every_response_matches_its_schema(client: TestClient, openapi: dict[str, Any], env: ApiEnv) -> None:
    doc = doc_id_of(client, "Fortschrittsbericht 5-StandorteProgramm")
    project = client.get("/projects").json()["projects"][0]["project_id"]
    job = ""
    jobs = []
    for case in CASES:
        url = case.url.format(doc=doc, job=job or "0" * 32, project=project)
        body = case.json
        if body is not None and "paths" in body:
            body = {"paths": [p.format(inbox=env.inbox) for p in body["paths"]]}
        response = client.request(case.method, url, params=case.params, json=body, headers=case.headers)
        check(openapi, case, response)
        if response.status_code == 202:
            job = response.json()["job_id"]
            jobs.append(job)
    deadline = time.monotonic() + 60
    for job_id in jobs:
        while client.get(f"/jobs/{job_id}", headers=KEY).json()["finished_at"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
        finished = client.get(f"/jobs/{job_id}", headers=KEY)
        check(openapi, Case("get", "/jobs/{job_id}", "/jobs/{job}", 200), finished)
        assert finished.json()["status"] == "succeeded", finished.json()


def test_generic_errors_have_the_common_shape(client: TestClient, openapi: dict[str, Any]) -> None:
    for method, url, kwargs, status in [
        ("get", "/gibt-es-nicht", {}, 404),
        ("delete", "/search", {}, 405),
        ("post", "/ingest", {"content": b"x" * 70_000, "headers": {**KEY, "Content-Type": "application/json"}}, 413),
    ]:
        response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status
        body = response.json()
        assert set(body["error"]) == {"code", "message", "details"}
        errors = [e.message for e in validator(openapi, {"$ref": "#/components/schemas/ErrorBody"}).iter_errors(body)]
        assert not errors


def test_not_ready_answers_match_the_schema(tmp_path: Path, openapi: dict[str, Any]) -> None:
    settings = Settings(data_dir=tmp_path / "data", qdrant_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        for case in NOT_READY_CASES:
            check(openapi, case, c.request(case.method, case.url, params=case.params))
