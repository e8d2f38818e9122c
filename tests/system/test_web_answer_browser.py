"""The answer card in a real browser (Debian's chromium via Playwright, as tests/system/test_web_browser.py) against a
real uvicorn server over the sample corpus indexed with the real model: a question with a direct answer shows
the card above the results (value in large type, the sentence with the value marked, the citation link that
opens the cited passage); a question without one shows no card and the passages as usual."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from conftest import SampleIndex
from test_web_browser import CHROMIUM, assert_non_trivial, browser, page, serve, shoot  # noqa: F401 - fixtures

from api.app import create_app
from core.model.embedding import Embedder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; scripts/test.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def base_url(sample_index: SampleIndex, real_embedder: Embedder) -> Iterator[str]:
    with serve(create_app(sample_index.settings, embedder=real_embedder), start_timeout_s=120) as url:
        yield url


def test_a_question_with_an_answer_shows_the_card(page: Any, base_url: str) -> None:
    question = "Wie viel Geld gibt das Land NRW für die Vorstudie zum EcoTecHub in Bergkamen?"
    page.goto(f"{base_url}/?q={quote(question)}")
    card = page.locator("#answer")
    card.wait_for()
    value = page.locator("#answer-value").inner_text().strip()
    assert re.fullmatch(r"150\.000 (?:Euro|€)", value), value  # as the cited sentence writes it
    marked = card.locator("#answer-sentence mark")
    assert marked.count() == 1 and marked.inner_text() == value
    # the card sits above the results
    card_box, results_box = card.bounding_box(), page.locator("ol.docs").bounding_box()
    assert card_box is not None and results_box is not None and card_box["y"] < results_box["y"]
    assert page.locator("li.doc").count() > 0
    assert_non_trivial(shoot(page, "answer-card.png"))
    link = page.locator("#answer-citation")
    passage_id = link.get_attribute("href").split("passage=")[1].split("#")[0]
    link.click()
    page.wait_for_url("**/dokument/**")
    assert value in page.locator(f"#p-{passage_id}").inner_text()


def test_a_question_without_answer_shows_no_card_but_the_passages(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/?q={quote('Wer ist Bürgermeister von Lünen?')}")
    page.locator("#summary").wait_for()
    assert page.locator("#answer").count() == 0
    assert page.locator("li.doc").count() > 0
