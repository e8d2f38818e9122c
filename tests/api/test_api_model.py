"""The API with the real embedding model (multilingual-e5-small, provisioned under
``Settings().model_path`` by ``foerdersuche model install``), loaded by the app's lifespan."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import write_corpus

from api.app import create_app
from core.gazetteer import load_gazetteer
from core.model.embedding import load_embedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.factory import open_store
from ingest.discovery import discover
from ingest.pipeline import Indexer, inline_parser

MODEL_PATH = Settings().model_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (MODEL_PATH / "modules.json").is_file(),
        reason=f"the model is not provisioned at {MODEL_PATH}; run `foerdersuche model install`",
    ),
]


@pytest.fixture(scope="module")
def model_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("model")
    settings = Settings(data_dir=root / "data", model_dir=MODEL_PATH)
    corpus = write_corpus(root)
    store = open_store(settings)
    try:
        with Registry(settings.registry_path) as registry:
            indexer = Indexer(
                settings=settings,
                embedder=load_embedder(settings),
                store=store,
                registry=registry,
                raw=RawStore(settings.raw_dir),
                gazetteer=load_gazetteer(),
                parser=inline_parser,
            )
            items, _ = discover([corpus])
            assert indexer.ingest(items).counts() == {"indexed": 8}
    finally:
        store.close()
    with TestClient(create_app(settings)) as client:  # the lifespan loads the model itself
        yield client


def top_title(client: TestClient, q: str, mode: str) -> str:
    body = client.get("/search", params={"q": q, "mode": mode, "k": 10}).json()
    return str(body["results"][0]["title"])


def test_ready_with_the_real_model(model_client: TestClient) -> None:
    assert model_client.get("/readyz").json()["checks"]["model"] == "ok"


def test_dense_retrieval_understands_paraphrases_and_english(model_client: TestClient) -> None:
    assert "Ladepunkte" in top_title(model_client, "Wo kann ich mein E-Auto aufladen?", "dense")
    assert "Wasserstoff" in top_title(
        model_client, "Elektrolyse für klimafreundlichen Kraftstoff im Nahverkehr", "dense"
    )
    assert "Schwammstadt" in top_title(model_client, "Regenwasser versickern lassen", "dense")
    assert "Wasserstoff" in top_title(model_client, "hydrogen campus Gelsenkirchen", "dense")  # English query


def test_hybrid_keeps_exact_terms_and_citations(model_client: TestClient) -> None:
    body = model_client.get("/search", params={"q": "EcoTecHub Kreislaufwirtschaft Bergkamen"}).json()
    top = body["results"][0]
    assert "EcoTecHub" in top["title"] or "5-StandorteProgramm" in top["title"]
    assert body["recognised_places"] == [{"ags": "05978004", "name": "Bergkamen"}]
    assert "<mark>" in top["passages"][0]["snippet_html"]


def test_search_latency_with_the_real_model(model_client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    queries = [
        "Kreislaufwirtschaft Kreis Unna",
        "Wasserstoff Förderung Gelsenkirchen",
        "Ladepunkte Unna",
        "Transformationsbüro Herne STARK",
        "Fortschrittsbericht 5-StandorteProgramm",
    ]
    model_client.get("/search", params={"q": "Aufwärmen"})
    timings = []
    for _ in range(3):
        for q in queries:
            started = time.perf_counter()
            assert model_client.get("/search", params={"q": q}).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    with capsys.disabled():
        print(
            f"\n/search via TestClient (multilingual-e5-small, hybrid, {len(timings)} requests): "
            f"median {median:.1f} ms, max {max(timings):.1f} ms"
        )
    assert median < 2000
