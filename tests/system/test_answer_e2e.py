"""Direct answers end to end with the real model over the sample corpus (``sample_index``): the ``ask``
command's JSON contract, ``GET /search``'s ``answer`` field, and the answers gate (evaluation/gate_answers.toml)
measured on the domain evaluation index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SampleIndex
from fastapi.testclient import TestClient

from api.app import create_app
from api.schemas import SearchResponse
from api.state import AppState
from core.model.embedding import Embedder
from core.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

ANSWERED = "Wie viel Geld gibt das Land NRW für die Vorstudie zum EcoTecHub in Bergkamen?"
NOT_ANSWERED = "Wer ist Bürgermeister von Lünen?"
CLI = Path(sys.executable).with_name("foerdersuche")  # the installed entry point
CITATION_KEYS = {"doc_id", "source", "url", "title", "page", "char_start", "char_end", "quote"}


def ask_json(settings: Settings, question: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "FOERDERSUCHE_MODEL_DIR": str(settings.model_path)}
    proc = subprocess.run(
        [str(CLI), "--data-dir", str(settings.data_dir), "ask", question, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_ask_json_gives_the_value_and_its_citation(sample_index: SampleIndex) -> None:
    body = ask_json(sample_index.settings, ANSWERED)
    assert set(body) == {"question", "answer", "hits"} and body["question"] == ANSWERED
    a = body["answer"]
    assert a is not None and {"text", "kind", "value", "citation"} <= set(a)
    assert a["kind"] == "amount" and a["value"] == 150000 and "150.000" in a["text"]
    c = a["citation"]
    assert set(c) >= CITATION_KEYS and c["char_end"] - c["char_start"] == len(c["quote"])
    assert a["text"] in " ".join(c["quote"].split())
    assert body["hits"] and {"doc_id", "passage_id", "text", "char_start", "char_end"} <= set(body["hits"][0])


def test_ask_json_says_so_when_there_is_no_direct_answer(sample_index: SampleIndex) -> None:
    body = ask_json(sample_index.settings, NOT_ANSWERED)
    assert body["answer"] is None and body["hits"], "the passages are still shown"


@pytest.fixture(scope="module")
def client(sample_index: SampleIndex, real_embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(sample_index.settings, embedder=real_embedder)) as c:
        yield c


def test_search_carries_the_answer(client: TestClient) -> None:
    response = client.get("/search", params={"q": ANSWERED})
    assert response.status_code == 200, response.text
    body = response.json()
    SearchResponse.model_validate(body)
    a = body["answer"]
    assert a["kind"] == "amount" and a["value"] == 150000 and set(a["citation"]) >= CITATION_KEYS
    assert a["view_url"].startswith(f"/dokument/{a['citation']['doc_id']}")
    c = a["citation"]
    assert c["char_start"] <= a["value_start"] < a["value_end"] <= c["char_end"]


def test_search_answer_is_null_without_a_direct_answer(client: TestClient) -> None:
    for q in (NOT_ANSWERED, "Kreislaufwirtschaft Bergkamen"):  # a question without answer; keywords
        body = client.get("/search", params={"q": q}).json()
        assert "answer" in body and body["answer"] is None, q


def test_search_without_the_answer_skips_its_work(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """``answer=false``: the same results, no answer, and only the one search (no second search)."""
    state: AppState = client.app.state.foerdersuche  # type: ignore[attr-defined]
    searcher = state.require_searcher()
    queries: list[str] = []
    search = searcher.search
    monkeypatch.setattr(searcher, "search", lambda request: queries.append(request.query) or search(request))
    with_answer = client.get("/search", params={"q": ANSWERED}).json()
    assert with_answer["answer"] is not None and len(queries) == 2, queries
    queries.clear()
    without = client.get("/search", params={"q": ANSWERED, "answer": "false"}).json()
    assert without["answer"] is None and queries == [ANSWERED]
    assert without["results"] == with_answer["results"] and without["facets"] == with_answer["facets"]


def test_answers_gate(client: TestClient) -> None:
    """The pinned floors (right) and ceilings (wrong) of evaluation/gate_answers.toml hold, measured on the
    session's index of corpus/sample (the same documents, model and pipeline as the evaluation index),
    through the running app's searcher and register (the embedded index is open in one place at a time)."""
    from evaluation.quality import answers

    state: AppState = client.app.state.foerdersuche  # type: ignore[attr-defined]
    report = answers.ask_all(answers.load_questions(), state.require_searcher(), state.register())
    failures = answers.gate_failures(report, answers.load_gate())
    assert not failures, "\n".join(failures) + "\n(re-measure: foerdersuche eval --collection answers)"
