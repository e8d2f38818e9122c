"""The web page in Debian's chromium shows where a cited text came from OCR: a search for a word
that occurs only in a scanned page's image shows "Text per Texterkennung, Seite 3" (and the
low-confidence mark) at the hit and in the document view; a digital page shows no such marker.
Server and browser as in tests/test_web_browser.py; the index holds the generated scans of
tests/test_ocr_ingest.py, read by the real Tesseract."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from test_ocr_ingest import EMBED_DIM, FLOOR, make_ocr_env
from test_ocr_pages import needs_tesseract
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, assert_non_trivial, shoot

from api.app import create_app
from core.embedding import HashingEmbedder

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
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(30)
    sock.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            locale="de-DE",
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()


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
