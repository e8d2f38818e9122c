"""Health, readiness, metrics, the error handling of the whole app and the app factory."""

from __future__ import annotations

import gc
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import EMBED_DIM, ApiEnv, api_env, client, make_env  # noqa: F401 - fixtures

import api.state
from api.app import create_app
from core.model.embedding import HashingEmbedder
from core.settings import PROJECT_ROOT, Settings
from core.store.factory import open_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"model": "ok", "gazetteer": "ok", "store": "ok"}}


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {
        "/search",
        "/documents/{doc_id}",
        "/documents/{doc_id}/original",
        "/sources",
        "/facets",
        "/ingest",
        "/crawl",
        "/jobs/{job_id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/export.csv",
        "/export.json",
    } <= set(schema["paths"])
    assert "/" not in schema["paths"] and "/dokument/{doc_id}" not in schema["paths"]
    assert "ErrorBody" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_unknown_routes_and_methods_have_the_common_body(client: TestClient) -> None:
    missing = client.get("/gibt-es-nicht")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.post("/search", json={})
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    static = client.get("/static/../../core/settings.py")
    assert static.status_code == 404


def test_an_unexpected_error_is_a_logged_500_without_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env(tmp_path)
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))

    def boom() -> None:
        raise RuntimeError("geheimes internes Detail /etc/passwd")

    app.add_api_route("/boom", boom)
    with TestClient(app) as c, caplog.at_level(logging.ERROR, logger="api"):
        response = c.get("/boom")
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["code"] == "internal_error" and error["message"] == "An internal error occurred."
        assert "geheim" not in response.text and "Traceback" not in response.text
        assert error["details"]["error_id"] in caplog.text
        assert "geheimes internes Detail" in caplog.text, "the log keeps the cause"
        metrics = c.get("/metrics").text
        assert 'foerdersuche_http_requests_total{method="GET",route="/boom",status="500"} 1.0' in metrics


def test_metrics_count_requests_per_route_template(client: TestClient) -> None:
    client.get("/search", params={"q": "Wasserstoff"})
    client.get("/documents/0123456789abcdef")
    text = client.get("/metrics").text
    assert 'foerdersuche_http_requests_total{method="GET",route="/search",status="200"}' in text
    assert 'route="/documents/{doc_id}",status="404"' in text
    assert "0123456789abcdef" not in text, "labels are route templates, not raw paths"
    assert 'foerdersuche_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/search"}' in text
    assert "foerdersuche_ready 1.0" in text
    passages = client.get("/sources").json()["passages"]
    assert f"foerdersuche_index_passages {float(passages)}" in text
    assert "foerdersuche_index_documents 8.0" in text
    # the ranking fields are read in a thread after the start; the metrics say when they are held
    deadline = time.monotonic() + 60
    while "foerdersuche_summaries_loading 1.0" in text and time.monotonic() < deadline:
        time.sleep(0.05)
        text = client.get("/metrics").text
    assert "foerdersuche_summaries_loading 0.0" in text
    assert f"foerdersuche_summary_points {float(passages)}" in text
    assert "foerdersuche_last_ingest_timestamp_seconds" in text


def test_every_app_has_its_own_metrics_registry(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as fresh:
        fresh.get("/healthz")
        text = fresh.get("/metrics").text
    assert 'foerdersuche_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text


def test_the_server_app_freezes_what_it_holds_for_good_after_starting(tmp_path: Path) -> None:
    """``serve``'s app (``freeze_gc``) moves the objects it holds after the start out of the cyclic
    collector's walks; an app without it (tests, the CLI) leaves the collector alone."""
    env = make_env(tmp_path)
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as plain:
        assert plain.get("/readyz").status_code == 200
        assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM), freeze_gc=True)) as server:
            assert gc.get_freeze_count() > 1000  # the state it opened: gazetteer, store, summaries
            assert server.get("/search", params={"q": "Förderung Kreis Unna"}).status_code == 200
    finally:
        gc.unfreeze()


def test_not_ready_while_the_store_is_unavailable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", qdrant_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503
        error = ready.json()["error"]
        assert error["code"] == "not_ready" and "store" in error["message"]
        assert error["details"]["checks"]["model"] == "ok"
        assert error["details"]["checks"]["store"] != "ok"
        search = c.get("/search", params={"q": "Förderung"})
        assert search.status_code == 503 and search.json()["error"]["code"] == "not_ready"
        assert c.get("/facets").status_code == 503
        assert "foerdersuche_ready 0.0" in c.get("/metrics").text
        page = c.get("/", params={"q": "Förderung"})
        assert page.status_code == 503 and "nicht verfügbar" in page.text


def test_readiness_recovers_when_the_store_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.state, "RETRY_S", 0.0)
    env = make_env(tmp_path)
    blocker = open_store(env.settings)  # the shard allows one opener: the app cannot open it now
    try:
        with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
            first = c.get("/readyz")
            assert first.status_code == 503, first.text
            assert "store" in first.json()["error"]["details"]["checks"]
            blocker.close()
            assert c.get("/readyz").status_code == 200
            assert c.get("/search", params={"q": "Wasserstoff"}).json()["total_documents"] > 0
    finally:
        blocker.close()


def test_not_ready_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = Settings(data_dir=tmp_path / "data", model_name=str(tmp_path / "kein-modell"))
    with TestClient(create_app(settings)) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["error"]["details"]["checks"]
        assert checks["model"] != "ok" and "kein-modell" in checks["model"]
        assert c.get("/search", params={"q": "x"}).json()["error"]["code"] == "not_ready"
        assert c.get("/sources").status_code == 200, "registry-only endpoints keep working"


def test_nothing_is_built_at_import_time() -> None:
    code = (
        "import sys, api.app, api.routes, api.web, api.state, api.admin;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'qdrant_edge', 'qdrant_client') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_create_app_opens_nothing_before_the_lifespan(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    create_app(settings, embedder=HashingEmbedder(EMBED_DIM))
    assert not (tmp_path / "fresh").exists()


def test_an_empty_data_dir_serves_empty_results(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "empty")
    with TestClient(create_app(settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        assert c.get("/readyz").status_code == 200
        body = c.get("/search", params={"q": "Förderung"}).json()
        assert body["results"] == [] and body["total_documents"] == 0
        assert c.get("/facets").json()["total_passages"] == 0
        assert c.get("/sources").json() == {"sources": [], "documents": 0, "passages": 0, "last_ingest": None}
