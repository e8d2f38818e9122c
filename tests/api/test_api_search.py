"""``GET /search`` and the exports over the real app and the real embedded index."""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import XSS, api_env, client, doc_id_of  # noqa: F401 - fixtures

from api.schemas import MAX_PAGE_SIZE, SearchResponse


def search(client: TestClient, **params: object) -> dict:  # type: ignore[type-arg]
    response = client.get("/search", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    body = response.json()
    SearchResponse.model_validate(body)
    return body  # type: ignore[no-any-return]


def titles(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [g["title"] for g in body["results"]]


# ----------------------------------------------------------------------------- grouping, citations


def test_results_are_grouped_by_document_with_citations(client: TestClient) -> None:
    body = search(client, q="Kreislaufwirtschaft Bergkamen", k=30)
    assert body["total_documents"] == len(body["results"]) and body["pages"] == 1
    ids = [g["doc_id"] for g in body["results"]]
    assert len(ids) == len(set(ids)), "a document appears once"
    top = body["results"][0]
    assert "Bergkamen" in top["title"] or "5-StandorteProgramm" in top["title"]
    scores = [g["score"] for g in body["results"]]
    assert scores == sorted(scores, reverse=True)
    for group in body["results"]:
        for p in group["passages"]:
            c = p["citation"]
            assert c["doc_id"] == group["doc_id"] and c["passage_id"] == p["passage_id"]
            assert c["title"] == group["title"] and c["source"]
            assert 0 <= c["char_start"] < c["char_end"]
            assert c["char_end"] - c["char_start"] == len(p["text"]), "offsets slice the document text"
            assert c["view_url"] == f"/dokument/{group['doc_id']}?passage={p['passage_id']}#p-{p['passage_id']}"
            assert c["original_url"].startswith(f"/documents/{group['doc_id']}/original")


def test_pdf_citations_name_the_page_and_link_it(client: TestClient) -> None:
    body = search(client, q="Wasserstoffzentrum Uentrop Hamm", k=20)
    pdf = next(g for g in body["results"] if g["media_type"] == "application/pdf")
    page2 = next(p for p in pdf["passages"] if "Uentrop" in p["text"])
    assert page2["page"] == 2
    assert page2["citation"]["page"] == 2
    assert page2["citation"]["original_url"] == f"/documents/{pdf['doc_id']}/original#page=2"


def test_html_citations_link_the_public_url(client: TestClient) -> None:
    body = search(client, q="Ladepunkte Elektrofahrzeuge", k=10)
    doc = next(g for g in body["results"] if "Ladepunkte" in g["title"])
    assert doc["url"] == "https://unna.example.de/presse/ladepunkte"
    assert doc["passages"][0]["citation"]["url"] == doc["url"]
    assert "#page=" not in doc["passages"][0]["citation"]["original_url"]


def test_snippets_are_escaped_and_mark_matched_words(client: TestClient) -> None:
    body = search(client, q="Schwammstadt Kamen Regenwasser", k=10)
    doc = next(g for g in body["results"] if "Schwammstadt" in g["title"])
    assert doc["title"].startswith(XSS)  # the data keeps the text as written
    snippet = doc["passages"][0]["snippet_html"]
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "<mark>Schwammstadt</mark>" in snippet
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet
    passage = doc["passages"][0]
    marked = [passage["text"][a:b] for a, b in passage["highlights"]]
    assert "Schwammstadt" in marked and "Regenwasser" in marked


def test_stem_highlighting_marks_inflected_forms(client: TestClient) -> None:
    body = search(client, q="Förderung", k=20, mode="lexical")
    marked = {p["text"][a:b].lower() for g in body["results"] for p in g["passages"] for a, b in p["highlights"]}
    assert "förderung" in marked


def test_more_passages_per_document_on_request(client: TestClient) -> None:
    one = search(client, q="EcoTecHub Bergkamen Kreislaufwirtschaft Workshop", k=50, passages_per_doc=1)
    more = search(client, q="EcoTecHub Bergkamen Kreislaufwirtschaft Workshop", k=50, passages_per_doc=5)
    assert all(len(g["passages"]) == 1 for g in one["results"])
    assert any(len(g["passages"]) > 1 for g in more["results"])
    for g in more["results"]:
        assert len(g["passages"]) == min(5, g["matching_passages"])
        scores = [p["score"] for p in g["passages"]]
        assert scores == sorted(scores, reverse=True)


def test_pagination_pages_through_documents(client: TestClient) -> None:
    full = search(client, q="Förderung Strukturwandel", k=100, page_size=MAX_PAGE_SIZE)
    assert full["total_documents"] >= 4
    seen = []
    page = 1
    while True:
        body = search(client, q="Förderung Strukturwandel", k=100, page_size=2, page=page)
        assert body["pages"] == -(-full["total_documents"] // 2)
        seen += [g["doc_id"] for g in body["results"]]
        if page >= body["pages"]:
            break
        page += 1
    assert seen == [g["doc_id"] for g in full["results"]]
    beyond = search(client, q="Förderung Strukturwandel", k=100, page_size=2, page=body["pages"] + 1)
    assert beyond["results"] == [] and beyond["total_documents"] == full["total_documents"]


def test_k_bounds_the_retrieved_passages(client: TestClient) -> None:
    body = search(client, q="Förderung", k=3, passages_per_doc=20)
    assert body["total_passages"] <= 3
    assert sum(g["matching_passages"] for g in body["results"]) == body["total_passages"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_every_mode_answers(client: TestClient, mode: str) -> None:
    body = search(client, q="Wasserstoff Gelsenkirchen", mode=mode, k=10)
    assert body["mode"] == mode
    assert any("Wasserstoff" in t for t in titles(body))


def test_a_place_in_the_query_is_recognised(client: TestClient) -> None:
    body = search(client, q="Projekte Kreislaufwirtschaft Kreis Unna")
    assert body["recognised_places"] == [{"ags": "05978", "name": "Kreis Unna"}]
    assert body["filter"]["places"] == []  # recognised places boost, they do not filter


# ----------------------------------------------------------------------------- filters


def _all_results(client: TestClient, **params: object) -> dict:  # type: ignore[type-arg]
    return search(client, k=200, page_size=MAX_PAGE_SIZE, **params)


def test_place_filter_by_key_and_by_name_agree(client: TestClient) -> None:
    by_key = _all_results(client, q="Förderung", place="05978004")
    by_name = _all_results(client, q="Förderung", place="Bergkamen")
    assert by_key["filter"]["places"] == [{"ags": "05978004", "name": "Bergkamen"}]
    assert [g["doc_id"] for g in by_key["results"]] == [g["doc_id"] for g in by_name["results"]]
    assert by_key["results"]
    for group in by_key["results"]:
        assert any("05978004" in p["place_keys"] for p in group["passages"])


def test_a_kreis_includes_its_gemeinden(client: TestClient) -> None:
    kreis = {g["doc_id"] for g in _all_results(client, q="Förderung Projekte", place="Kreis Unna")["results"]}
    bergkamen = {g["doc_id"] for g in _all_results(client, q="Förderung Projekte", place="05978004")["results"]}
    unna_city = {g["doc_id"] for g in _all_results(client, q="Förderung Projekte", place="05978036")["results"]}
    assert bergkamen and unna_city
    assert bergkamen <= kreis and unna_city <= kreis
    assert doc_id_of(client, "Wasserstoff-Campus") not in kreis, "Gelsenkirchen is not in Kreis Unna"


def test_several_places_match_any_of_them(client: TestClient) -> None:
    a = {g["doc_id"] for g in _all_results(client, q="Förderung", place="Herne")["results"]}
    b = {g["doc_id"] for g in _all_results(client, q="Förderung", place="Gelsenkirchen")["results"]}
    both = {g["doc_id"] for g in _all_results(client, q="Förderung", place=["Herne", "Gelsenkirchen"])["results"]}
    assert a | b == both


def test_unknown_place_is_a_400(client: TestClient) -> None:
    for place in ("Atlantis", "99999"):
        response = client.get("/search", params={"q": "Förderung", "place": place})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_query"
        assert "Unbekannt" in response.json()["error"]["message"]


def test_program_filter(client: TestClient) -> None:
    body = _all_results(client, q="Förderung", program="STARK")
    assert body["results"]
    assert all(any("STARK" in p["programs"] for p in g["passages"]) for g in body["results"])
    assert any("Herne" in t for t in titles(body))


def test_doc_type_filter(client: TestClient) -> None:
    body = _all_results(client, q="Förderung", doc_type="press_release")
    assert body["results"] and all(g["doc_type"] == "press_release" for g in body["results"])
    both = _all_results(client, q="Förderung", doc_type=["press_release", "progress_report"])
    assert {g["doc_type"] for g in both["results"]} == {"press_release", "progress_report"}


def test_date_range_filter_is_inclusive(client: TestClient) -> None:
    body = _all_results(client, q="Förderung", date_from="2022-01-01", date_to="2022-12-31")
    assert body["results"]
    assert all(g["date"] and "2022-01-01" <= g["date"][:10] <= "2022-12-31" for g in body["results"])
    day = _all_results(client, q="Ladepunkte", date_from="2022-04-27", date_to="2022-04-27")
    assert [g["date"] for g in day["results"]] == ["2022-04-27"]
    assert body["filter"]["date_from"] == "2022-01-01" and body["filter"]["date_to"] == "2022-12-31"


def test_language_and_source_filters(client: TestClient) -> None:
    english = _all_results(client, q="Ruhr structural change", language="en")
    assert titles(english) == ["Invest in Dortmund: structural change in the Ruhr"]
    none = _all_results(client, q="Förderung", source="no-such-source")
    assert none["results"] == [] and none["total_documents"] == 0


def test_filters_combine(client: TestClient) -> None:
    body = _all_results(client, q="Förderung", place="Kreis Unna", doc_type="press_release", date_from="2023-01-01")
    assert body["results"]
    for g in body["results"]:
        assert g["doc_type"] == "press_release" and g["date"] >= "2023-01-01"


# ----------------------------------------------------------------------------- facets


def test_query_facets_count_documents_among_the_candidates(client: TestClient) -> None:
    body = search(client, q="Kreislaufwirtschaft Kreis Unna", k=50)
    facets = body["facets"]
    assert facets["unit"] == "documents" and "candidate" in facets["basis"]
    places = {f["value"]: f for f in facets["places"]}
    assert places["05978"]["label"] == "Kreis Unna" and places["05978"]["kind"] == "Kreis"
    assert places["05978004"]["kind"] == "Gemeinde"
    assert "05" not in places, "the Land is no useful place facet"
    doc_types = {f["value"]: f for f in facets["doc_types"]}
    assert doc_types["press_release"]["label"] == "Pressemitteilung"
    for name in ("places", "programs", "doc_types", "years", "languages"):
        assert all(f["count"] >= 1 for f in facets[name])
        counts = [f["count"] for f in facets[name]]
        if name != "years":
            assert counts == sorted(counts, reverse=True)
    years = [f["value"] for f in facets["years"]]
    assert years == sorted(years, reverse=True)


def test_a_facet_count_predicts_the_filtered_result(client: TestClient) -> None:
    body = search(client, q="Förderung", k=200)
    stark = next(f for f in body["facets"]["programs"] if f["value"] == "STARK")
    filtered = _all_results(client, q="Förderung", program="STARK")
    assert filtered["total_documents"] >= stark["count"]


# ----------------------------------------------------------------------------- validation and limits


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 1001},
        {"q": "Förderung", "k": 0},
        {"q": "Förderung", "k": 201},
        {"q": "Förderung", "k": "viele"},
        {"q": "Förderung", "page": 0},
        {"q": "Förderung", "page_size": 51},
        {"q": "Förderung", "passages_per_doc": 21},
        {"q": "Förderung", "mode": "magic"},
        {"q": "Förderung", "place": ["x"] * 21},
        {"q": "Förderung", "program": "p" * 201},
    ],
)
def test_invalid_parameters_are_422_with_the_common_body(client: TestClient, params: dict) -> None:  # type: ignore[type-arg]
    response = client.get("/search", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] and all({"loc", "msg", "type"} <= set(d) for d in error["details"])


def test_a_blank_query_is_a_400(client: TestClient) -> None:
    response = client.get("/search", params={"q": "   "})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_query",
        "message": "Die Suchanfrage ist leer.",
        "details": None,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"doc_type": "roman"}, "Unbekannte Dokumentart: 'roman' (erlaubt: press_release, project_page"),
        ({"date_from": "2021"}, "Ungültiges Datum für date_from: '2021' (JJJJ-MM-TT erwartet)."),
        ({"date_from": "2021-13-01"}, "Ungültiges Datum für date_from: '2021-13-01'"),
        ({"date_from": "2023-01-01", "date_to": "2022-01-01"}, "Der Zeitraum ist leer: date_from 2023-01-01"),
        ({"place": "Atlantis"}, "Unbekannter Ort: 'Atlantis'"),
        ({"program": "Quatsch"}, "Unbekanntes Förderprogramm: 'Quatsch'"),
    ],
)
def test_invalid_filter_values_are_400_with_the_resolvers_german_message(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    response = client.get("/search", params={"q": "Förderung", **params})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_query" and error["message"].startswith(message)


def test_odd_queries_never_break_the_server(client: TestClient) -> None:
    for q in ("\x00", "§ 4 Abs. 2", "ÄÖÜß" * 100, "\"'<>&;--", "🙂 Förderung", "a" * 1000, "Kreis"):
        response = client.get("/search", params={"q": q})
        assert response.status_code in (200, 400), (q, response.text)


# ----------------------------------------------------------------------------- exports


def test_csv_export_has_every_retrieved_passage_with_its_citation(client: TestClient) -> None:
    params: dict[str, Any] = {"q": "Kreislaufwirtschaft", "k": 20, "page_size": 1}
    response = client.get("/export.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"] and ".csv" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for spreadsheet programs"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    body = search(client, **params)
    assert len(rows) == body["total_passages"], "all pages, not just the first"
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    first = rows[0]
    for column in ("title", "source", "page", "date", "passage_id", "char_start", "char_end", "text", "url"):
        assert column in first
    assert "Kreislaufwirtschaft" in " ".join(r["text"] for r in rows)


def test_csv_export_defuses_formulas(client: TestClient) -> None:
    from api.export import _cell

    assert _cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert _cell("-5 Prozent") == "'-5 Prozent"
    assert _cell("Förderung") == "Förderung"
    assert _cell(["a", "b"]) == "a | b"
    assert _cell(None) == ""


def test_json_export_matches_the_csv(client: TestClient) -> None:
    params: dict[str, Any] = {"q": "Wasserstoff", "k": 15, "place": "Gelsenkirchen"}
    response = client.get("/export.json", params=params)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    body = response.json()
    assert body["query"] == "Wasserstoff" and body["k"] == 15
    assert body["filter"]["places"] == [{"ags": "05513", "name": "Gelsenkirchen"}]
    assert body["count"] == len(body["hits"]) > 0
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv", params=params).content.decode("utf-8-sig"))))
    assert [r["passage_id"] for r in rows] == [h["passage_id"] for h in body["hits"]]
    assert json.loads(json.dumps(body["hits"][0]))["text"] == body["hits"][0]["text"]


def test_export_errors_have_the_common_shape(client: TestClient) -> None:
    for path in ("/export.csv", "/export.json"):
        response = client.get(path, params={"q": "Förderung", "k": 999})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"


# ----------------------------------------------------------------------------- latency (measured, reported)


def test_search_latency_through_the_test_client(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    queries = [
        "Kreislaufwirtschaft Kreis Unna",
        "Wasserstoff Förderung",
        "Transformationsbüro Herne STARK",
        "Ladepunkte Unna",
        "Fortschrittsbericht 5-StandorteProgramm",
    ]
    client.get("/search", params={"q": "warm-up"})
    timings = []
    for _ in range(4):
        for q in queries:
            started = time.perf_counter()
            assert client.get("/search", params={"q": q}).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    with capsys.disabled():
        print(
            f"\n/search via TestClient (hashing embedder, {len(timings)} requests): median {median:.1f} ms, "
            f"max {max(timings):.1f} ms"
        )
    assert median < 1000
