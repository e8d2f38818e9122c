"""The "Vorhaben" view in a real browser: Debian's chromium driven by Playwright against a real uvicorn
server on 127.0.0.1 over the sample corpus (``test_web_register.register_data_dir``, built once per
process). Filter, sort, export, and a cited amount that opens its sentence in the document view.
Screenshots and downloads go to tests/artifacts/. Set-up as in tests/system/test_web_browser.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from test_api_corpus import EMBED_DIM
from test_web_browser import ARTIFACTS, CHROMIUM, assert_non_trivial, chromium, serve, shoot
from test_web_register import register_settings

from api.app import create_app
from core.model.embedding import HashingEmbedder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(
        register_settings(tmp_path_factory.mktemp("register-browser")), embedder=HashingEmbedder(EMBED_DIM)
    )
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    assert dialogs == [], f"a script ran: {dialogs}"
    page.close()


def project_ids(page: Any) -> list[str]:
    return [str(x) for x in page.locator("#projects tbody tr[data-project-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.projectId)"
    )]  # fmt: skip


def amounts(page: Any) -> list[float]:
    return [
        float(x) for x in page.locator("#projects td.amount").evaluate_all("cells => cells.map(c => c.dataset.eur)")
    ]


def test_filter_sort_export_and_open_a_cited_amount(page: Any, base_url: str) -> None:
    shots = []
    page.goto(base_url + "/")
    with page.expect_navigation():
        page.click("#nav-vorhaben")
    assert page.url.endswith("/vorhaben")
    assert page.locator("html").get_attribute("lang") == "de"
    everything = project_ids(page)
    assert len(everything) >= 10
    shots.append(shoot(page, "register-01-vorhaben.png"))

    # filter: the Kreis Unna, which includes its Gemeinden
    page.select_option("#f-place", label="Kreis Unna")
    with page.expect_navigation():
        page.click("#apply-register-filters")
    assert "place=05978" in page.url
    filtered = project_ids(page)
    assert 1 <= len(filtered) < len(everything) and set(filtered) <= set(everything)
    places = page.locator("#projects tbody tr td:nth-child(2)").all_inner_texts()
    assert any("Bergkamen" in p for p in places), "a Gemeinde of the Kreis is in"
    assert not any("Gelsenkirchen" in p for p in places)
    assert page.locator("#sums-place").is_visible() and "Bergkamen" in page.inner_text("#sums-place")
    shots.append(shoot(page, "register-02-filtered.png"))

    # sort by the amount column: descending first, then ascending; the order changes
    before = project_ids(page)
    with page.expect_navigation():
        page.click('#projects th a[data-sort="amount"]')
    assert page.locator('#projects th[aria-sort="descending"] a[data-sort="amount"]').count() == 1
    desc = [a for a in amounts(page) if a > 0]
    assert len(desc) >= 2 and desc == sorted(desc, reverse=True)
    assert project_ids(page) != before and sorted(project_ids(page)) == sorted(before)
    with page.expect_navigation():
        page.click('#projects th a[data-sort="amount"]')
    asc = [a for a in amounts(page) if a > 0]
    assert asc == sorted(desc)
    assert "place=05978" in page.url, "sorting keeps the filter"
    shots.append(shoot(page, "register-03-sorted.png"))

    # export: the CSV holds the projects of the table
    with page.expect_download() as info:
        page.click("#export-projects-csv")
    path = ARTIFACTS / "vorhaben.csv"
    info.value.save_as(str(path))
    exported = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert sorted(r["project_id"] for r in exported) == sorted(project_ids(page))
    assert {"name", "places", "programs", "funding_eur", "status"} <= set(exported[0])

    # a cited amount opens the document with its sentence marked and in view
    cell = page.locator("#projects a.cited-amount").first
    amount_label = cell.inner_text()
    with page.expect_navigation():
        cell.click()
    assert "/dokument/" in page.url and "char_start=" in page.url
    marked = page.locator("mark.cited-span").first
    assert marked.is_visible()
    section = page.locator("section.passage-full.cited").first
    assert "zitierte Passage" in section.inner_text()
    box = marked.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] + box["height"] >= 0 and box["y"] < viewport["height"], "scrolled to the cited sentence"
    number = amount_label.split()[0]  # "18,6" of "18,6 Mio. €", "150.000" of "150.000 €"
    assert number in " ".join(page.locator("mark.cited-span").all_inner_texts())
    shots.append(shoot(page, "register-04-cited.png"))

    for shot in shots:
        assert_non_trivial(shot)


def test_facts_tab_and_project_page(page: Any, base_url: str) -> None:
    page.goto(base_url + "/vorhaben?q=EcoTecHub")
    with page.expect_navigation():
        page.click("#tab-foerderangaben")
    assert "/foerderangaben" in page.url
    rows = page.locator("#facts tbody tr[data-fact-id]").count()
    assert rows >= 10
    with page.expect_navigation():
        page.click('#facts th a[data-sort="amount"]')
    values = [float(x) for x in page.locator("#facts td.amount").evaluate_all("c => c.map(x => x.dataset.eur)")]
    assert values == sorted(values, reverse=True)
    with page.expect_download() as info:
        page.click("#export-facts-csv")
    path = ARTIFACTS / "foerderangaben.csv"
    info.value.save_as(str(path))
    assert len(list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))) == rows

    page.goto(base_url + "/vorhaben?q=EcoTecHub&sort=documents&dir=desc")
    with page.expect_navigation():
        page.locator("#projects td.name a").first.click()
    assert "EcoTecHub" in page.inner_text("#project-name")
    assert page.locator("#timeline li").count() >= 1 and page.locator("#mentions li").count() >= 2
    shot = shoot(page, "register-05-project.png")
    with page.expect_navigation():
        page.locator("#timeline a.in-context").first.click()
    assert page.locator("mark.cited-span").first.is_visible()
    assert_non_trivial(shot)

    page.goto(base_url + "/foerderangaben?place=Kamen")  # the document with markup in its sentence
    assert "<script>alert(1)</script>" in page.inner_text("#facts")
    assert page.locator("#facts script").count() == 0
