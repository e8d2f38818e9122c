"""Documents, originals, sources and index-wide facets."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_api_corpus import ApiEnv, api_env, client, doc_id_of  # noqa: F401 - fixtures

from api.schemas import DocumentOut, GlobalFacetsResponse, SourcesResponse
from core.ids import doc_id_for
from core.registry import Registry


def test_document_has_metadata_status_and_all_passages_in_order(client: TestClient) -> None:
    doc_id = doc_id_of(client, "Fortschrittsbericht 5-StandorteProgramm")
    response = client.get(f"/documents/{doc_id}")
    assert response.status_code == 200
    doc = DocumentOut.model_validate(response.json())
    assert doc.doc_id == doc_id
    assert doc.media_type == "application/pdf" and doc.doc_type.value == "progress_report"
    assert doc.status == "indexed" and doc.has_original
    assert doc.original_url == f"/documents/{doc_id}/original"
    assert [p.ordinal for p in doc.passages] == sorted(p.ordinal for p in doc.passages)
    assert {p.page for p in doc.passages} == {1, 2}
    starts = [p.char_start for p in doc.passages]
    assert starts == sorted(starts)
    assert all(p.passage_id.startswith(doc_id) for p in doc.passages)


def test_unknown_and_malformed_document_ids(client: TestClient) -> None:
    missing = client.get("/documents/0123456789abcdef")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    for bad in ("xyz", "0123456789ABCDEF", "0123456789abcdef0", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fregistry"):
        response = client.get(f"/documents/{bad}")
        assert response.status_code in (404, 422), bad
        assert set(response.json()["error"]) == {"code", "message", "details"}
        original = client.get(f"/documents/{bad}/original")
        assert original.status_code in (404, 422), bad
        assert "error" in original.json()


def test_pdf_original_is_served_as_pdf(client: TestClient) -> None:
    doc_id = doc_id_of(client, "Fortschrittsbericht 5-StandorteProgramm")
    response = client.get(f"/documents/{doc_id}/original")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-disposition"].startswith('inline; filename="bericht-5-standorte-2024.pdf"')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers, "a sandboxed PDF would not render"


def test_html_and_text_originals_cannot_run_script(client: TestClient) -> None:
    html_id = doc_id_of(client, "Ladepunkte")
    html = client.get(f"/documents/{html_id}/original")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert b"<title>Pressemitteilung: 24 neue Ladepunkte in Unna</title>" in html.content
    assert "sandbox" in html.headers["content-security-policy"]
    md_id = doc_id_of(client, "Schwammstadt")
    md = client.get(f"/documents/{md_id}/original")
    assert md.headers["content-type"].startswith("text/markdown")
    assert "sandbox" in md.headers["content-security-policy"]
    assert b"<script>alert(1)</script>" in md.content


def test_a_registry_row_cannot_point_outside_the_raw_store(client: TestClient, api_env: ApiEnv) -> None:
    doc_id = doc_id_for("evil-source")
    with Registry(api_env.settings.registry_path) as registry:
        registry.upsert(
            "evil-source",
            doc_id=doc_id,
            status="failed",
            reason="test row",
            source_name="manipulated",
            raw_sha256="../../../../etc/passwd",
            title="Böse",
        )
    response = client.get(f"/documents/{doc_id}/original")
    assert response.status_code == 404
    assert "passwd" not in response.text or response.json()["error"]["code"] == "not_found"
    # the document itself exists in the registry only: metadata and status, no passages
    doc = client.get(f"/documents/{doc_id}").json()
    assert doc["status"] == "failed" and doc["status_reason"] == "test row"
    assert doc["passages"] == [] and doc["has_original"] is False


def test_original_missing_from_the_raw_store_is_404(client: TestClient, api_env: ApiEnv) -> None:
    doc_id = doc_id_for("lost-source")
    with Registry(api_env.settings.registry_path) as registry:
        registry.upsert(
            "lost-source",
            doc_id=doc_id,
            status="indexed",
            raw_sha256="ab" * 32,
            title="Verloren",
            source_name="manipulated",
        )
    response = client.get(f"/documents/{doc_id}/original")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_sources_count_documents_and_passages(client: TestClient) -> None:
    response = client.get("/sources")
    assert response.status_code == 200
    body = SourcesResponse.model_validate(response.json())
    local = next(s for s in body.sources if s.name is None)
    assert local.indexed_documents == 8
    assert local.by_status.get("indexed") == 8
    assert body.documents == 8
    assert body.passages == sum(s.passages for s in body.sources) >= 8
    assert body.last_ingest is not None and body.last_ingest.summary == {"indexed": 8}


def test_global_facets_count_passages(client: TestClient) -> None:
    response = client.get("/facets")
    assert response.status_code == 200
    body = GlobalFacetsResponse.model_validate(response.json())
    assert body.facets.unit == "passages"
    assert body.total_passages == client.get("/sources").json()["passages"]
    assert sum(f.count for f in body.facets.languages) == body.total_passages
    assert sum(f.count for f in body.facets.doc_types) == body.total_passages
    places = {f.value: f for f in body.facets.places}
    assert places["05978"].count >= places["05978004"].count, "a Kreis counts its Gemeinden's passages too"
    assert places["05978"].kind == "Kreis"
    years = {f.value: f.count for f in body.facets.years}
    assert {"2020", "2021", "2022", "2023", "2024"} <= set(years)
