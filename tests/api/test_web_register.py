"""The web page's register ("Vorhaben", "Förderangaben", one project's page), rendered by the real app
over the bundled sample corpus (HTML checks; tests/system/test_web_register_browser.py drives it in Chromium).

The corpus is ``corpus/sample`` plus one document whose project name and sentence carry markup,
ingested once per test process through the real pipeline (parsers, register extraction, Qdrant Edge)
with the deterministic ``HashingEmbedder`` of the other web tests: the register reads the registry,
never the vectors, so the real model would only cost time. The expected values come from the JSON API
(``/projects``, ``/facts``), so the tests pin that page and API agree, not today's extraction rules.
"""

from __future__ import annotations

import atexit
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import EMBED_DIM, index_corpus

from api.app import create_app
from api.register_web import euro
from api.web import CSP
from core.model.embedding import HashingEmbedder
from core.settings import PROJECT_ROOT, Settings

SAMPLE = PROJECT_ROOT / "corpus" / "sample"
XSS = "<script>alert(1)</script>"
XSS_PROJECT = f"Seseke-Park {XSS}"
XSS_DOC = f"""# {XSS} Förderbescheid für Kamen

Das Projekt „{XSS_PROJECT}“ in Kamen erhält 1,25 Millionen Euro aus dem 5-StandorteProgramm. Der
Förderbescheid wurde am 12. März 2024 übergeben.
"""

_BUILT: list[Path] = []


def register_data_dir() -> Path:
    """The sample corpus (plus the markup document) indexed once per test process; read-only: copy it."""
    if not _BUILT:
        root = Path(tempfile.mkdtemp(prefix="foerdersuche-register-"))
        atexit.register(shutil.rmtree, root, True)
        corpus = root / "corpus"
        shutil.copytree(SAMPLE, corpus)
        (corpus / "xss-foerderbescheid-kamen.md").write_text(XSS_DOC, encoding="utf-8")
        report = index_corpus(Settings(data_dir=root / "data"), corpus)
        assert set(report.counts()) == {"indexed"}, report.to_dict()
        _BUILT.append(root / "data")
    return _BUILT[0]


def register_settings(target: Path) -> Settings:
    shutil.copytree(register_data_dir(), target / "data")
    return Settings(data_dir=target / "data")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(register_settings(tmp_path_factory.mktemp("register")), embedder=HashingEmbedder(EMBED_DIM))
    with TestClient(app) as c:
        yield c


def page(client: TestClient, url: str, status: int = 200, **params: Any) -> str:
    response = client.get(url, params=params or None)  # an empty dict would drop the query of ``url``
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    return response.text


def api(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def row_ids(html: str, attr: str = "data-project-id") -> list[str]:
    return re.findall(rf'<tr {attr}="([^"]+)"', html)


def rows(html: str, attr: str = "data-project-id") -> dict[str, str]:
    """Each table row's HTML by its project (or fact) id."""
    return dict(re.findall(rf'<tr {attr}="([^"]+)">(.*?)</tr>', html, re.S))


def text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def ecotechub(client: TestClient) -> dict[str, Any]:
    found = api(client, "/projects", q="EcoTecHub")["projects"]
    assert found, "the sample corpus names the EcoTecHub"
    return max(found, key=lambda p: len(p["mentions"]))  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- the "Vorhaben" table


def test_the_main_page_links_the_register(client: TestClient) -> None:
    html = page(client, "/")
    assert '<nav class="site" aria-label="Hauptnavigation">' in html
    assert 'href="/vorhaben">Vorhaben</a>' in html
    view = page(client, "/vorhaben")
    assert 'id="nav-vorhaben" href="/vorhaben" aria-current="page"' in view
    assert '<html lang="de">' in view and "Register der Förderungen" in view


def test_every_project_is_a_row_with_its_cells(client: TestClient) -> None:
    projects = api(client, "/projects")["projects"]
    html = page(client, "/vorhaben")
    assert sorted(row_ids(html)) == sorted(p["project_id"] for p in projects)
    assert f"{len(projects)} von {len(projects)} Vorhaben" in text(html)
    hub = ecotechub(client)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows(html)[hub["project_id"]], re.S)
    name, place, program, amount, period, organisations, status, documents = cells
    assert f'href="/vorhaben/{hub["project_id"]}"' in name and text(name) == hub["name"]
    assert text(place) == ", ".join(p["name"] for p in hub["places"])
    assert text(program) == ", ".join(hub["programs"])
    assert text(organisations) == ", ".join(hub["organisations"])
    labels = {"planned": "geplant", "approved": "bewilligt", "running": "läuft", "completed": "abgeschlossen"}
    assert text(status) == labels[hub["status"]]
    assert int(text(documents)) == len({m["doc_id"] for m in hub["mentions"]})
    dates = [t["date"] for t in hub["timeline"]]
    assert text(period) == (f"{dates[0]} – {dates[-1]}" if dates[0] != dates[-1] else dates[0])
    # each distinct granted amount once, each linked to its sentence
    funding = {a["eur"] for a in hub["amounts"] if a["kind"] == "funding"}
    links = re.findall(r'<a class="cited-amount" href="([^"]+)"[^>]*>([^<]+)</a>', amount)
    assert sorted(label for _, label in links) == sorted(euro(e) for e in funding)
    assert all(re.fullmatch(r"/dokument/[0-9a-f]{16}\?char_start=\d+&amp;char_end=\d+", href) for href, _ in links)


def test_a_kreis_includes_its_gemeinden(client: TestClient) -> None:
    expected = [p["project_id"] for p in api(client, "/projects", place="Kreis Unna")["projects"]]
    html = page(client, "/vorhaben", place="Kreis Unna")
    assert sorted(row_ids(html)) == sorted(expected)
    assert "(gefiltert)" in html
    assert re.search(r'<option value="05978" selected>\s*Kreis Unna</option>', html), "the Kreis is chosen"
    assert re.search(r'<option value="05978004">&nbsp;&nbsp;– Bergkamen</option>', html), "its Gemeinden below it"
    hub = ecotechub(client)
    assert {p["ags"] for p in hub["places"]} <= {"05978004"}, "the EcoTecHub is in a Gemeinde, not the Kreis"
    assert hub["project_id"] in row_ids(html)
    by_key = row_ids(page(client, "/vorhaben", place="05978"))
    assert by_key == row_ids(html), "a name and an AGS key are the same filter"
    bergkamen = row_ids(page(client, "/vorhaben", place="05978004"))
    assert hub["project_id"] in bergkamen and set(bergkamen) < set(row_ids(html))
    assert not set(row_ids(page(client, "/vorhaben", place="Gelsenkirchen"))) & set(bergkamen)


def test_program_and_search_filters(client: TestClient) -> None:
    expected = [p["project_id"] for p in api(client, "/projects", program="JTF")["projects"]]
    html = page(client, "/vorhaben", program="JTF")
    assert expected and sorted(row_ids(html)) == sorted(expected)
    assert '<option value="Just Transition Fund" selected>' in html, "an alias selects the canonical program"
    hub = ecotechub(client)
    found = page(client, "/vorhaben", q="EcoTecHub")
    assert hub["project_id"] in row_ids(found) and 'value="EcoTecHub"' in found
    assert row_ids(found) == [p["project_id"] for p in api(client, "/projects", q="EcoTecHub")["projects"]]
    none = page(client, "/vorhaben", q="Gibtesnichtvorhaben")
    assert row_ids(none) == [] and "Keine Vorhaben für diese Filter." in none


def test_empty_form_fields_mean_no_filter(client: TestClient) -> None:
    everything = row_ids(page(client, "/vorhaben"))
    assert row_ids(page(client, "/vorhaben", place="", program="", q=" ")) == everything


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"place": "Nirgendwo"}, 400, "Unbekannter Ort: 'Nirgendwo'"),
        ({"program": "Quatschprogramm"}, 400, "Unbekanntes Förderprogramm: 'Quatschprogramm'"),
        ({"doc": "nicht-hex"}, 422, "Ungültige Eingabe"),
    ],
)
def test_errors_are_german_and_the_same_as_the_api(
    client: TestClient, params: dict[str, str], status: int, message: str
) -> None:
    for url in ("/vorhaben", "/foerderangaben"):
        html = page(client, url, status=status, **params)
        alert = re.search(r'<section class="notice error" role="alert" id="error">(.*?)</section>', html, re.S)
        assert alert and message in unescape(alert.group(1))
        if status == 400:
            api_message = client.get(
                url.replace("/vorhaben", "/projects").replace("/foerderangaben", "/facts"), params=params
            )
            assert api_message.status_code == 400
            assert api_message.json()["error"]["message"] in unescape(alert.group(1)), "the API's message, in German"
            assert '<select id="f-place" name="place">' in html, "the filters stay usable"
        assert "<table" not in html


def test_sorting_by_each_column(client: TestClient) -> None:
    default = row_ids(page(client, "/vorhaben"))
    html = page(client, "/vorhaben", sort="amount", dir="desc")
    amounts = [float(x) for x in re.findall(r'<td class="num amount" data-eur="([0-9.]+)"', html)]
    filled = [a for a in amounts if a > 0]
    assert filled == sorted(filled, reverse=True) and len(filled) >= 3
    assert amounts[: len(filled)] == filled, "rows without an amount come last"
    assert row_ids(html) != default
    assert '<th scope="col" aria-sort="descending" class="num">' in html
    assert 'href="/vorhaben?sort=amount"' in html, "the sorted column's link turns the direction"
    ascending = page(client, "/vorhaben", sort="amount")
    assert [float(x) for x in re.findall(r'data-eur="([0-9.]+)"', ascending)][: len(filled)] == sorted(filled)
    by_name = page(client, "/vorhaben", sort="name", dir="desc")
    names = [text(n) for n in re.findall(r'<td class="name">(.*?)</td>', by_name, re.S)]
    assert names == sorted(names, key=str.lower, reverse=True)
    for column in ("place", "program", "date", "organisations", "status", "documents"):
        assert sorted(row_ids(page(client, "/vorhaben", sort=column))) == sorted(default)
    assert row_ids(page(client, "/vorhaben", sort="unbekannt")) == default, "an unknown column leaves the order"
    # the sort survives a filter, and a filter survives a sort
    filtered = page(client, "/vorhaben", place="Kreis Unna", sort="amount", dir="desc")
    assert 'href="/vorhaben?place=Kreis+Unna&amp;sort=name"' in filtered
    assert '<input type="hidden" name="sort" value="amount"><input type="hidden" name="dir" value="desc">' in filtered


def test_sums_per_place_and_program_are_the_apis(client: TestClient) -> None:
    sums = api(client, "/facts", place="Kreis Unna")["sums"]
    html = page(client, "/vorhaben", place="Kreis Unna")
    kinds = ("funding", "cost", "budget", "other")
    for table_id, values in (("sums-place", sums["by_place"]), ("sums-program", sums["by_program"])):
        table = re.search(rf'<table class="register sums" id="{table_id}">(.*?)</table>', html, re.S)
        assert table, table_id
        shown = {
            text(name): [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
            for name, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table.group(1), re.S)
        }
        assert shown == {name: [euro(row[k]) if row.get(k) else "–" for k in kinds] for name, row in values.items()}
    assert "Bergkamen" in sums["by_place"], "a Gemeinde of the Kreis has its own sum"


def test_csv_links_carry_the_filters_and_return_the_rows(client: TestClient) -> None:
    html = page(client, "/vorhaben", place="Kreis Unna", program="5-StandorteProgramm", q="Bergkamen", sort="name")
    projects_href = unescape(re.search(r'id="export-projects-csv" href="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    facts_href = unescape(re.search(r'id="export-facts-csv" href="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    assert projects_href == "/projects.csv?place=Kreis+Unna&program=5-StandorteProgramm&q=Bergkamen"
    assert facts_href == "/facts.csv?place=Kreis+Unna&program=5-StandorteProgramm"
    body = client.get(projects_href)
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
    exported = [r["project_id"] for r in csv.DictReader(io.StringIO(body.text.lstrip("\ufeff")))]
    assert exported and sorted(exported) == sorted(row_ids(html))
    facts = client.get(facts_href)
    assert facts.status_code == 200
    fact_ids = [r["fact_id"] for r in csv.DictReader(io.StringIO(facts.text.lstrip("\ufeff")))]
    assert sorted(fact_ids) == sorted(
        row_ids(page(client, "/foerderangaben", place="Kreis Unna", program="5-StandorteProgramm"), "data-fact-id")
    )


# ----------------------------------------------------------------------------- "Förderangaben"


def test_facts_table_with_filters_sort_and_citations(client: TestClient) -> None:
    everything = api(client, "/facts")["facts"]
    html = page(client, "/foerderangaben")
    assert 'id="tab-foerderangaben" href="/foerderangaben?" aria-current="page"' in html
    assert sorted(row_ids(html, "data-fact-id")) == sorted(f["fact_id"] for f in everything)
    expected = api(client, "/facts", place="Kreis Unna", program="JTF")["facts"]
    filtered = page(client, "/foerderangaben", place="Kreis Unna", program="JTF")
    assert sorted(row_ids(filtered, "data-fact-id")) == sorted(f["fact_id"] for f in expected)
    assert 'name="q"' not in html, "facts are filtered by place and program only, like /facts"
    by_amount = page(client, "/foerderangaben", sort="amount", dir="desc")
    amounts = [float(x) for x in re.findall(r'data-eur="([0-9.]+)"', by_amount)]
    assert amounts == sorted(amounts, reverse=True) and len(amounts) == len(everything)
    fact = max(everything, key=lambda f: f["eur"])
    row = rows(by_amount, "data-fact-id")[fact["fact_id"]]
    c = fact["citation"]
    assert f'href="/dokument/{c["doc_id"]}?char_start={c["char_start"]}&amp;char_end={c["char_end"]}"' in row
    assert euro(fact["eur"]) in row and unescape(fact["amount_text"]) in unescape(row)
    for column in ("kind", "project", "place", "program", "date", "source"):
        assert len(row_ids(page(client, "/foerderangaben", sort=column), "data-fact-id")) == len(everything)


def test_a_cited_amount_opens_its_sentence_marked_in_the_document(client: TestClient) -> None:
    hub = ecotechub(client)
    detail = api(client, f"/projects/{hub['project_id']}")
    fact = next(f for f in detail["facts"] if f["kind"] == "funding")
    c = fact["citation"]
    html = page(client, "/vorhaben")
    href = unescape(re.search(rf'href="(/dokument/{c["doc_id"]}\?char_start={c["char_start"]}[^"]*)"', html).group(1))  # type: ignore[union-attr]
    view = page(client, href)
    cited = re.findall(r'<section id="p-[^"]+" class="passage-full cited"[^>]*>(.*?)</section>', view, re.S)
    assert cited and all("zitierte Passage" in s for s in cited)
    marked = " ".join(unescape(m) for s in cited for m in re.findall(r'<mark class="cited-span">(.*?)</mark>', s, re.S))
    assert " ".join(c["quote"].split()) in " ".join(marked.split()) or " ".join(marked.split()) in " ".join(
        c["quote"].split()
    )
    assert fact["amount_text"] in marked
    assert "Die zitierte Passage gibt es" not in view


def test_document_view_character_ranges_never_break_the_page(client: TestClient) -> None:
    fact = api(client, "/facts")["facts"][0]
    doc = fact["citation"]["doc_id"]
    for params in ({"char_start": "x", "char_end": "5"}, {"char_start": "9", "char_end": "3"}, {"char_start": "1"}):
        html = page(client, f"/dokument/{doc}", **params)
        assert "cited-span" not in html and 'role="alert"' not in html
    beyond = page(client, f"/dokument/{doc}", char_start=10**9, char_end=10**9 + 5)
    assert "Die zitierte Passage gibt es in diesem Dokument nicht (mehr)" in beyond


# ----------------------------------------------------------------------------- one project


def test_project_page_has_amounts_timeline_and_mentions_cited(client: TestClient) -> None:
    hub = api(client, f"/projects/{ecotechub(client)['project_id']}")
    html = page(client, f"/vorhaben/{hub['project_id']}")
    assert f'<h1 id="project-name">{hub["name"]}</h1>' in html
    assert 'id="nav-vorhaben" href="/vorhaben" aria-current="page"' in html
    for alias in hub["aliases"]:
        assert f"„{alias}“" in unescape(html)
    assert all(p["name"] in html and p["ags"] in html for p in hub["places"])
    assert all(o in unescape(html) for o in hub["organisations"])
    assert all(unescape(x) in unescape(html) for x in hub["programs"])
    amounts = rows(html, "data-fact-id")
    assert sorted(amounts) == sorted(f["fact_id"] for f in hub["facts"])
    for f in hub["facts"]:
        c = f["citation"]
        assert (
            f"/dokument/{c['doc_id']}?char_start={c['char_start']}&amp;char_end={c['char_end']}"
            in amounts[f["fact_id"]]
        )
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S)
    assert timeline and hub["timeline"]
    entries = re.findall(r"<li>(.*?)</li>", timeline.group(1), re.S)
    assert [re.search(r'<time datetime="([^"]+)"', e).group(1) for e in entries] == [t["date"] for t in hub["timeline"]]  # type: ignore[union-attr]
    for entry, t in zip(entries, hub["timeline"], strict=True):
        assert t["what"] in entry and " ".join(t["citation"]["quote"].split()) in " ".join(unescape(entry).split())
        assert f"char_start={t['citation']['char_start']}" in entry and "im Dokument zeigen" in entry
    mentions = re.search(r'<ul class="mentions" id="mentions">(.*?)</ul>', html, re.S)
    assert mentions and mentions.group(1).count("<li>") == len(hub["mentions"])
    assert f"Erwähnungen ({len(hub['mentions'])})" in html


def test_unknown_project_is_a_german_404(client: TestClient) -> None:
    for pid in ("p-0000000000", "gibt-es-nicht", "p-" + "a" * 200):
        html = page(client, f"/vorhaben/{pid}", status=404)
        assert "Vorhaben nicht gefunden" in html


# ----------------------------------------------------------------------------- escaping


def test_markup_in_documents_and_parameters_is_shown_as_text(client: TestClient) -> None:
    facts = page(client, "/foerderangaben", place="Kamen")
    assert XSS not in facts and "&lt;script&gt;alert(1)&lt;/script&gt;" in facts
    assert "1,25 Mio. €" in facts
    found = api(client, "/projects", q="Seseke-Park")["projects"]
    assert [p["name"] for p in found] == [XSS_PROJECT]
    listing = page(client, "/vorhaben", q="Seseke-Park")
    assert XSS not in listing and "Seseke-Park &lt;script&gt;alert(1)&lt;/script&gt;" in listing
    project = page(client, f"/vorhaben/{found[0]['project_id']}")
    assert XSS not in project and "<title>Seseke-Park &lt;script&gt;" in project
    echoed = page(client, "/vorhaben", q='<script>alert(2)</script>" onfocus="x')
    assert "<script>alert(2)</script>" not in echoed
    assert 'value="&lt;script&gt;alert(2)&lt;/script&gt;&#34; onfocus=&#34;x"' in echoed
    bad_place = page(client, "/vorhaben", status=400, place="<b>Ort</b>")
    assert "<b>Ort</b>" not in bad_place and "&lt;b&gt;Ort&lt;/b&gt;" in bad_place
    assert "<b>Ort</b>" not in page(client, "/foerderangaben", status=400, place="<b>Ort</b>")


def test_an_empty_register_says_how_to_fill_it(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"), embedder=HashingEmbedder(EMBED_DIM))
    with TestClient(app) as c:
        for url in ("/vorhaben", "/foerderangaben"):
            html = page(c, url)
            assert 'id="register-empty"' in html and "foerdersuche ingest corpus/sample" in html
