"""The web page in Debian's chromium shows where a cited text came from OCR: a search for a word
that occurs only in a scanned page's image shows "Text per Texterkennung, Seite 3" (and the
low-confidence mark) at the hit and in the document view; a digital page shows no such marker.
Server and browser as in tests/system/test_web_browser.py; the index holds the generated scans of
tests/ingest/test_ocr_ingest.py, read by the real Tesseract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_ocr_ingest import EMBED_DIM, FLOOR, make_ocr_env
from test_ocr_pages import needs_tesseract
from test_web_browser import CHROMIUM, assert_non_trivial, chromium, serve, shoot

from api.app import create_app
from core.model.embedding import HashingEmbedder

pytestmark = [
    pytest.mark.browser,
    needs_tesseract,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = make_ocr_env(tmp_path_factory.mktemp("ocr-browser"), ocr_min_confidence=FLOOR)
    with serve(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as url:
        yield url


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile"), accept_downloads=False) as context:
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page


def test_a_hit_on_a_scanned_page_shows_the_ocr_marker(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    page.fill("#q", "Grubenwasserwärmepumpe")
    with page.expect_navigation():
        page.press("#q", "Enter")
    hit = page.locator("li.doc blockquote.passage").first
    assert "Grubenwasserwärmepumpe" in hit.inner_text()
    marker = hit.locator("span.ocr")
    assert marker.inner_text() == "Text per Texterkennung, Seite 3"
    assert marker.is_visible()
    assert "unsichere Erkennung" in hit.locator("strong.ocr-flagged").inner_text()
    assert "S. 3" in hit.locator("footer.cite").inner_text()
    assert_non_trivial(shoot(page, "ocr-01-hit.png"))

    with page.expect_navigation():
        hit.locator("a.in-context").click()
    cited = page.locator("section.passage-full[data-cited='1']")
    assert cited.locator("span.ocr").inner_text() == "Text per Texterkennung, Seite 3"
    digital = page.locator("section.passage-full", has_text="Ökosiedlung").first
    assert digital.locator("span.ocr").count() == 0
    assert_non_trivial(shoot(page, "ocr-02-document.png"))


def test_a_hit_on_a_digital_page_has_no_marker(page: Any, base_url: str) -> None:
    page.goto(base_url + "/?q=%C3%96kosiedlung+Bergkamen&mode=lexical")
    hit = page.locator("li.doc blockquote.passage", has_text="Ökosiedlung").first
    assert "S. 1" in hit.locator("footer.cite").inner_text()
    assert hit.locator("span.ocr").count() == 0
