"""The register behind ``GET /search``'s direct answers is rebuilt in the background when the registry changes
(``AppState.register(current=False)``): a question never waits for a rebuild (seconds at ten thousand
documents) while an ingest writes; the register views still get the current one. Real ingest of two sample
documents into a real Edge index; the hashing embedder stands in for the model (the register reads no vectors)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.state import AppState
from core.model.embedding import HashingEmbedder
from core.registry import Registry
from core.settings import PROJECT_ROOT, Settings
from ingest.discovery import SourceItem
from runtime import open_runtime

SELM = "pm-mobilstationen-selm-eroeffnung.html"
UNNA = "bericht-5-standorte-kreis-unna-sachstand-2024.html"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data")
    files = [PROJECT_ROOT / "corpus" / "sample" / name for name in (SELM, UNNA)]
    with open_runtime(settings, embedder=HashingEmbedder()) as rt:
        report = rt.indexer.ingest([SourceItem(source=str(f.relative_to(PROJECT_ROOT)), path=f) for f in files])
        assert {f.status.value for f in report.files} == {"indexed"}
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as c:
        yield c


def _state(client: TestClient) -> AppState:
    return client.app.state.foerdersuche  # type: ignore[attr-defined,no-any-return]


def _doc_ids(register: object) -> set[str]:
    return {f.citation.doc_id for f in register.facts}  # type: ignore[attr-defined]


def _drop_register_rows(state: AppState, source_name: str) -> str:
    """What a re-crawl that finds a page gone does to the registry: the document and its register rows go."""
    with Registry(state.settings.registry_path) as reg:
        [(source, doc_id)] = [(r.source, r.doc_id) for r in reg.intel_rows() if r.source.endswith(source_name)]
        reg.mark_deleted(source, "Quelle entfernt")
    return doc_id


def _rebuilt(state: AppState, held: object) -> object:
    """The register once a background rebuild has replaced ``held``: questions keep asking, as they would,
    and one of them starts the rebuild when the pause after the last one has ended."""
    deadline = time.monotonic() + 30
    while (found := state.register(current=False)) is held:
        assert time.monotonic() < deadline, "the register was not rebuilt"
        state.wait_for_register(timeout_s=60)
        time.sleep(0.02)
    return found


def test_the_register_is_built_when_the_app_starts(client: TestClient) -> None:
    state = _state(client)
    state.wait_for_register(timeout_s=60)
    held = state._register
    assert held is not None and len(_doc_ids(held[1])) == 2
    assert state.register(current=False) is held[1]


def test_a_question_answers_with_the_held_register_while_a_new_one_is_built(client: TestClient) -> None:
    state = _state(client)
    first = state.register(current=False)  # the one built at the start (or built now, if that has not ended)
    assert len(_doc_ids(first)) == 2
    dropped = _drop_register_rows(state, SELM)  # what an ingest does to the registry meanwhile

    assert state.register(current=False) is first  # answered at once; a rebuild starts (after a pause, if one ran)
    rebuilt = _rebuilt(state, first)
    assert rebuilt is not first and dropped not in _doc_ids(rebuilt) and len(_doc_ids(rebuilt)) == 1
    assert state.register(current=False) is rebuilt  # nothing changed since: no rebuild

    # `GET /search` answers a question with the held register
    body = client.get("/search", params={"q": "Wie hoch ist der Zuschuss für die Selmer Mobilstationen?"}).json()
    assert "answer" in body and body["results"]


def test_the_register_views_get_the_current_register(client: TestClient) -> None:
    state = _state(client)
    held = state.register(current=False)
    dropped = _drop_register_rows(state, UNNA)
    response = client.get("/facts")  # the register view: rebuilt in the request
    assert response.status_code == 200, response.text
    cited = {f["citation"]["doc_id"] for f in response.json()["facts"]}
    assert cited and dropped not in cited
    current = state.register()
    assert current is not held and _doc_ids(current) == cited


def test_a_failed_rebuild_keeps_the_held_register(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _state(client)
    held = state.register(current=False)
    attempts: list[int] = []

    def broken(*_args: object, **_kwargs: object) -> object:
        attempts.append(1)
        raise RuntimeError("register rows unreadable")

    monkeypatch.setattr("api.state.build_register", broken)
    _drop_register_rows(state, SELM)
    deadline = time.monotonic() + 30
    while not attempts:  # questions keep coming until a rebuild has been tried (and failed)
        assert state.register(current=False) is held
        assert time.monotonic() < deadline, "no rebuild was tried"
        state.wait_for_register(timeout_s=60)
        time.sleep(0.02)
    assert state.register(current=False) is held  # still answering; the failure is logged, a later call retries
    monkeypatch.undo()
    assert len(_doc_ids(_rebuilt(state, held))) == 1
