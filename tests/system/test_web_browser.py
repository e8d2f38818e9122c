"""The web page in a real browser: Debian's chromium driven by Playwright against a real uvicorn server
on 127.0.0.1 over the small indexed corpus. Screenshots and downloads go to tests/artifacts/.

Playwright's own browser download is never used: the test launches /usr/bin/chromium (installed by
scripts/test.sh on CI) with a new empty profile, and is skipped with a reason when it is missing.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from test_api_corpus import EMBED_DIM, XSS, make_env

from api.app import create_app
from core.model.embedding import HashingEmbedder

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; scripts/test.sh installs it)",
    ),
]


@contextmanager
def serve(app: Any, start_timeout_s: float = 60) -> Iterator[str]:
    """``app`` in a real uvicorn server on 127.0.0.1 (a thread of this process); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on: no race with other processes
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def chromium(profile: Path, accept_downloads: bool = True) -> Iterator[Any]:
    """Debian's chromium with a new empty ``profile``, German locale (a Playwright browser context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=accept_downloads,
            locale="de-DE",
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = make_env(tmp_path_factory.mktemp("browser"))
    with serve(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    yield page
    page.close()


def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_non_trivial(path: Path) -> None:
    from PIL import Image

    assert path.is_file(), path
    assert path.stat().st_size > 5_000, f"{path} is suspiciously small"
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 10, f"{path} is (almost) a single colour"
        assert image.width >= 800 and image.height >= 400


def test_search_filter_open_export(page: Any, base_url: str) -> None:
    shots = []
    page.goto(base_url + "/")
    assert page.locator("html").get_attribute("lang") == "de"
    shots.append(shoot(page, "01-start.png"))

    # type a query
    page.fill("#q", "Kreislaufwirtschaft Kreis Unna")
    with page.expect_navigation():
        page.press("#q", "Enter")
    summary = page.inner_text("#summary")
    assert "für „Kreislaufwirtschaft Kreis Unna“" in summary
    docs_before = page.locator("li.doc").count()
    assert docs_before >= 3
    assert page.locator("mark").count() > 0
    shots.append(shoot(page, "02-results.png"))

    # apply a filter: the Gemeinde Bergkamen (the checkbox submits the form by itself)
    box = page.locator('input[name="place"][value="05978004"]')
    with page.expect_navigation():
        box.check()
    assert "place=05978004" in page.url
    assert page.locator('input[name="place"][value="05978004"]').is_checked()
    docs_after = page.locator("li.doc").count()
    assert 1 <= docs_after <= docs_before
    titles = page.locator("li.doc h3").all_inner_texts()
    assert any("Bergkamen" in t or "5-StandorteProgramm" in t for t in titles)
    assert not any("Ladepunkte" in t for t in titles), "Unna (city) only is filtered out"
    shots.append(shoot(page, "03-filtered.png"))
    results_url = page.url

    # open a document at a cited passage
    link = page.locator("a.in-context").first
    href = link.get_attribute("href")
    passage_id = href.split("passage=")[1].split("&")[0]
    with page.expect_navigation():
        link.click()
    assert "/dokument/" in page.url
    cited = page.locator(f"#p-{passage_id}")
    assert "cited" in (cited.get_attribute("class") or "")
    assert "zitierte Passage" in cited.inner_text()
    assert cited.is_visible()
    box_ = cited.bounding_box()
    scroll_y = page.evaluate("window.scrollY")
    viewport = page.viewport_size
    assert box_ is not None and viewport is not None
    assert box_["y"] < viewport["height"] and box_["y"] + box_["height"] > 0, "scrolled to the cited passage"
    shots.append(shoot(page, "04-document.png"))
    assert scroll_y >= 0

    # back to the results and export both formats
    page.goto(results_url)
    with page.expect_download() as info:
        page.click("#export-csv")
    csv_path = ARTIFACTS / "export.csv"
    info.value.save_as(str(csv_path))
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert rows and {"passage_id", "title", "page", "url", "text"} <= set(rows[0])
    assert all(r["doc_id"] for r in rows)
    with page.expect_download() as info:
        page.click("#export-json")
    json_path = ARTIFACTS / "export.json"
    info.value.save_as(str(json_path))
    exported = json.loads(json_path.read_text(encoding="utf-8"))
    assert exported["filter"]["places"] == [{"ags": "05978004", "name": "Bergkamen"}]
    assert [h["passage_id"] for h in exported["hits"]] == [r["passage_id"] for r in rows]

    for shot in shots:
        assert_non_trivial(shot)


def test_a_script_in_a_document_is_shown_as_text(page: Any, base_url: str) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(base_url + "/?q=Schwammstadt+Kamen")
    title = page.locator("li.doc h3", has_text="Schwammstadt").first
    assert title.inner_text().startswith(XSS), "the markup is visible as text"
    assert page.locator("li.doc script").count() == 0
    with page.expect_navigation():
        title.locator("a").click()
    assert page.inner_text("#doc-title").startswith(XSS)
    assert "<b>fett</b>" in page.inner_text("article")
    shot = shoot(page, "05-script-as-text.png")
    original = page.locator("a", has_text="Datei öffnen").get_attribute("href")
    page.goto(base_url + original)  # the stored original, served sandboxed
    page.goto(base_url + "/?q=" + "%3Cscript%3Ealert(2)%3C%2Fscript%3E")
    assert page.input_value("#q") == "<script>alert(2)</script>"
    page.wait_for_timeout(300)
    assert dialogs == [], f"a script ran: {dialogs}"
    assert_non_trivial(shot)
