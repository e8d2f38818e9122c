"""The German web page, rendered by the real app (HTML checks; the browser test drives it for real)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import EMBED_DIM, XSS, api_env, client, doc_id_of, make_env  # noqa: F401 - fixtures

from api.app import create_app
from api.web import CSP, safe_href
from core.model.embedding import HashingEmbedder
from core.settings import Settings


def page(client: TestClient, url: str = "/", status: int = 200, **params: object) -> str:
    response = client.get(url, params=params)  # type: ignore[arg-type]
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    return response.text


def test_landing_page_is_german_and_explains_itself(client: TestClient) -> None:
    html = page(client)
    assert '<html lang="de">' in html
    assert "Suchen" in html and "Beispiele" in html
    assert "Im Index: 8 Dokumente" in html
    assert 'name="q"' in html and 'action="/"' in html


def test_results_page_groups_documents_with_citations_and_exports(client: TestClient) -> None:
    html = page(client, q="Kreislaufwirtschaft Bergkamen")
    assert re.search(r"\d+ Dokumente \(\d+ Passagen\) für „Kreislaufwirtschaft Bergkamen“", " ".join(html.split()))
    assert "<mark>Kreislaufwirtschaft</mark>" in html
    assert 'id="export-csv" href="/export.csv?q=Kreislaufwirtschaft+Bergkamen"' in html
    assert 'id="export-json" href="/export.json?q=Kreislaufwirtschaft+Bergkamen"' in html
    assert "im Dokument zeigen" in html and "Zeichen " in html
    assert 'href="https://wfg.example.de/presse/ecotechub-bergkamen"' in html
    assert re.search(r'href="/documents/[0-9a-f]{16}/original#page=\d"', html), "PDF citations link their page"
    assert "Ort (Kreis / Gemeinde)" in html and "Förderprogramm" in html and "Dokumenttyp" in html and "Jahr" in html
    assert re.search(r'name="place" value="05978004"\s*>\s*Bergkamen <span class="kind">Gemeinde</span>', html)


def test_applied_filters_stay_checked_and_can_be_reset(client: TestClient) -> None:
    html = page(client, q="Förderung", place="05978", doc_type="press_release")
    assert re.search(r'name="place" value="05978" checked', html)
    assert re.search(r'name="doc_type" value="press_release" checked', html)
    assert 'href="/?q=F%C3%B6rderung">Filter zurücksetzen' in html
    years = re.findall(r'<a class="year" href="/\?([^"]+)">(\d{4})</a>', html)
    assert years and all(f"date_from={y}-01-01&amp;date_to={y}-12-31" in qs for qs, y in years)
    assert all("place=05978" in qs for qs, _ in years), "a year link keeps the other filters"


def test_a_document_titled_script_is_shown_as_text(client: TestClient) -> None:
    html = page(client, q="Schwammstadt Kamen")
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    doc_id = doc_id_of(client, "Schwammstadt")
    view = page(client, f"/dokument/{doc_id}")
    assert XSS not in view and "&lt;script&gt;alert(1)&lt;/script&gt; Förderaufruf" in view
    assert "<b>fett</b>" not in view and "&lt;b&gt;fett&lt;/b&gt;" in view


def test_a_query_with_markup_is_echoed_as_text(client: TestClient) -> None:
    html = page(client, q='<script>alert(2)</script>" onfocus="x')
    assert "<script>alert(2)</script>" not in html
    assert 'value="&lt;script&gt;alert(2)&lt;/script&gt;&#34; onfocus=&#34;x"' in html


def test_only_web_links_become_links() -> None:
    assert safe_href("https://www.example.de/a?b=1") == "https://www.example.de/a?b=1"
    assert safe_href("http://x.de") == "http://x.de"
    for bad in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "",
        None,
        "http://[::1",
    ):
        assert safe_href(bad) is None


def test_empty_state(client: TestClient) -> None:
    html = page(client, q="xyzzyqqqq", mode="lexical")
    assert 'id="empty"' in html and "Zu dieser Anfrage wurde nichts gefunden." in html
    filtered = page(client, q="xyzzyqqqq", mode="lexical", doc_type="press_release")
    assert "Filter entfernen" in filtered


def test_an_empty_index_says_how_to_fill_it(tmp_path: Path, client: TestClient) -> None:
    settings = Settings(data_dir=tmp_path / "nothing-ingested")
    with TestClient(create_app(settings, embedder=HashingEmbedder(EMBED_DIM))) as empty:
        start = page(empty)
        assert 'id="index-empty"' in start and "foerdersuche ingest corpus/sample" in start
        assert "Im Index:" not in start
        searched = page(empty, q="Förderung Kreis Unna")
        assert 'id="index-empty"' in searched and 'id="empty"' not in searched
    # with documents in the index: the counts, and the usual advice when a query finds nothing
    start = page(client)
    assert "Im Index:" in start and 'id="index-empty"' not in start
    nothing = page(client, q="xyzzyqqqq", mode="lexical")
    assert 'id="empty"' in nothing and 'id="index-empty"' not in nothing


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"q": "Förderung", "date_from": "2021-13-45"}, 400, "Ungültiges Datum für date_from: &#39;2021-13-45&#39;"),
        ({"q": "Förderung", "k": "999"}, 422, "Ungültige Eingabe – Trefferzahl"),
        ({"q": "Förderung", "place": "Atlantis"}, 400, "Unbekannter Ort: &#39;Atlantis&#39;"),
        ({"q": "Förderung", "mode": "magie"}, 422, "Suchmodus"),
    ],
)
def test_error_states_are_german_pages(client: TestClient, params: dict, status: int, message: str) -> None:  # type: ignore[type-arg]
    html = page(client, status=status, **params)
    assert 'role="alert"' in html and message in html
    assert "Traceback" not in html


def test_empty_form_fields_are_ignored(client: TestClient) -> None:
    html = page(client, q="Wasserstoff", mode="", date_from="", date_to="", place="")
    assert "Wasserstoff" in html and 'role="alert"' not in html


def test_pagination_links(client: TestClient) -> None:
    html = page(client, q="Förderung", k=100, page_size=2)
    assert 'rel="next" href="/?q=F%C3%B6rderung&amp;k=100&amp;page=2&amp;page_size=2"' in html
    second = page(client, q="Förderung", k=100, page_size=2, page=2)
    assert 'rel="prev"' in second and '<span aria-current="page">2</span>' in second


def test_document_view_shows_the_cited_passage_in_context(client: TestClient) -> None:
    doc_id = doc_id_of(client, "Fortschrittsbericht 5-StandorteProgramm")
    passages = client.get(f"/documents/{doc_id}").json()["passages"]
    cited = next(p for p in passages if p["page"] == 2)
    html = page(client, f"/dokument/{doc_id}", passage=cited["passage_id"], q="Wasserstoffzentrum Hamm")
    section = re.search(
        rf'<section id="p-{cited["passage_id"]}" class="passage-full cited"[^>]*>(.*?)</section>', html, re.S
    )
    assert section, "the cited passage is marked"
    assert "zitierte Passage" in section.group(1) and "S. 2" in section.group(1)
    assert f'href="/documents/{doc_id}/original#page=2"' in section.group(1), "the PDF page is linked"
    assert "<mark>Wasserstoffzentrum</mark>" in section.group(1)
    assert html.count('class="passage-full') == len(passages), "the whole document is shown, in order"
    assert 'href="/?q=Wasserstoffzentrum+Hamm">‹ Zurück zu den Ergebnissen' in html
    assert "Fortschrittsbericht" in html and "indexiert" in html


def test_document_view_errors(client: TestClient) -> None:
    html = page(client, "/dokument/0123456789abcdef", status=404)
    assert "Das Dokument wurde nicht gefunden." in html
    traversal = client.get("/dokument/..%2F..%2Fetc%2Fpasswd", headers={"Accept": "text/html"})
    assert traversal.status_code == 404 and "Seite nicht gefunden" in traversal.text
    assert client.get("/dokument/..%2F..%2Fetc%2Fpasswd").json()["error"]["code"] == "not_found"
    doc_id = doc_id_of(client, "Ladepunkte")
    stale = page(client, f"/dokument/{doc_id}", passage=f"{doc_id}-9999")
    assert "Die zitierte Passage gibt es in diesem Dokument nicht (mehr)" in stale


def test_odd_document_view_parameters_still_render(client: TestClient) -> None:
    doc_id = doc_id_of(client, "Ladepunkte")
    html = page(client, f"/dokument/{doc_id}", passage="x" * 500, q="Ladepunkte " * 200)
    assert "Ladepunkte" in html and 'role="alert"' not in html


def test_non_default_result_sizes_survive_a_filter_submit(client: TestClient) -> None:
    html = page(client, q="Förderung", k=80, page_size=5)
    assert '<input type="hidden" name="k" value="80">' in html
    assert '<input type="hidden" name="page_size" value="5">' in html
    assert 'name="passages_per_doc"' not in html


def test_an_unexpected_error_on_a_page_is_a_german_500(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))

    def boom() -> None:
        raise RuntimeError("intern")

    app.add_api_route("/kaputt", boom)
    with TestClient(app) as c:
        response = c.get("/kaputt", headers={"Accept": "text/html,application/xhtml+xml"})
        assert response.status_code == 500 and "Interner Fehler" in response.text and 'intern"' not in response.text
        assert "RuntimeError" not in response.text


def test_static_files(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "mark" in css.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "submit" in js.text


def test_every_link_on_a_results_page_resolves(client: TestClient) -> None:
    html = page(client, q="Kreislaufwirtschaft Kreis Unna")
    links = {unescape(h) for h in re.findall(r'href="(/[^"#]*)', html)}
    assert len(links) > 10
    for link in sorted(links):
        response = client.get(link)
        assert response.status_code == 200, link
