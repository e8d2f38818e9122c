"""Server mode with the Qdrant server gone: ``/readyz`` is 503 and says why, ``/search`` answers 503 with
a clear body (never a 500 or a hang), and both recover by themselves when the server is back.

There is no Qdrant server binary on this machine, so ``QdrantEmulator`` stands in for one: a small HTTP
server on 127.0.0.1 that speaks the part of Qdrant's REST API that reading needs (collections, index
creation, count, facet, scroll, batch query), with the answers computed by qdrant-client's local mode
(the real query engine of qdrant-client in Python, holding a real index built by the real pipeline).
The API talks to it through the real ``RemoteStore`` over HTTP. What is emulated: the server process
and its HTTP layer (status codes, the response envelope); stopping it refuses connections as a dead
server does, ``failing = True`` answers 503 as an overloaded or half-started server does.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from qdrant_client import QdrantClient, models
from test_api_corpus import EMBED_DIM, write_corpus

import api.state
from api.app import create_app
from core.gazetteer import load_gazetteer
from core.model.embedding import HashingEmbedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.remote import RemoteStore
from ingest.discovery import discover
from ingest.pipeline import Indexer, inline_parser

COLLECTION = "passages"

pytestmark = [
    # the emulator's backend is qdrant-client's local mode, which says so about payload indexes and search
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect in the local Qdrant:UserWarning"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact .brute-force. search:UserWarning"),
]


class QdrantEmulator:
    """Qdrant's REST envelope over a qdrant-client local-mode instance; ``stop()``/``start()`` on one port."""

    def __init__(self, backend: QdrantClient) -> None:
        self.backend = backend
        self.failing = False
        self.requests: list[str] = []
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._server = None

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        b = self.backend
        parts = path.split("?", 1)[0].strip("/").split("/")
        if parts == ["collections"]:
            return 200, b.get_collections()
        name = parts[1] if len(parts) > 1 else ""
        rest = parts[2:]
        if not b.collection_exists(name) and rest != ["exists"]:
            return 404, {"error": f"Collection `{name}` doesn't exist!"}
        if rest == ["exists"]:
            return 200, {"exists": b.collection_exists(name)}
        if rest == [] and method == "GET":
            return 200, b.get_collection(name)
        if rest == ["index"] and method == "PUT":
            request = models.CreateFieldIndex.model_validate(body)
            return 200, b.create_payload_index(name, request.field_name, field_schema=request.field_schema)
        if rest == ["points", "count"]:
            count = models.CountRequest.model_validate(body)
            return 200, b.count(name, count_filter=count.filter, exact=bool(count.exact))
        if rest == ["facet"]:
            facet = models.FacetRequest.model_validate(body)
            return 200, b.facet(
                name, facet.key, facet_filter=facet.filter, limit=facet.limit or 10, exact=bool(facet.exact)
            )
        if rest == ["points", "scroll"]:
            scroll = models.ScrollRequest.model_validate(body)
            records, offset = b.scroll(
                name,
                scroll_filter=scroll.filter,
                limit=scroll.limit or 10,
                offset=scroll.offset,
                with_payload=scroll.with_payload if scroll.with_payload is not None else True,
                with_vectors=scroll.with_vector or False,  # type: ignore[arg-type]
            )
            return 200, {"points": records, "next_page_offset": offset}
        if rest == ["points"] and method == "POST":  # retrieve points by id
            read = models.PointRequest.model_validate(body)
            return 200, b.retrieve(
                name,
                ids=read.ids,
                with_payload=read.with_payload if read.with_payload is not None else True,
                with_vectors=read.with_vector or False,  # type: ignore[arg-type]
            )
        if rest == ["points", "query", "batch"]:
            batch = models.QueryRequestBatch.model_validate(body)
            return 200, b.query_batch_points(name, requests=batch.searches)
        return 404, {"error": f"not emulated: {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                emulator.requests.append(f"{self.command} {self.path}")
                if emulator.failing:
                    status, result = 503, {"error": "Service Unavailable: the server is starting"}
                else:
                    status, result = emulator.answer(self.command, self.path, json.loads(raw) if raw else {})
                payload = _jsonable(result)
                envelope = {"result": payload, "status": "ok", "time": 0.0} if status == 200 else {"status": payload}
                data = json.dumps(envelope).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

        return Handler


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> tuple[QdrantClient, Path]:
    """A real index of the API test corpus in qdrant-client's local mode, and its data dir (registry)."""
    root = tmp_path_factory.mktemp("remote")
    corpus = write_corpus(root)
    client = QdrantClient(":memory:")
    settings = Settings(data_dir=root / "data")
    with Registry(settings.registry_path) as registry:
        indexer = Indexer(
            settings=settings,
            embedder=HashingEmbedder(EMBED_DIM),
            store=RemoteStore(client, COLLECTION),
            registry=registry,
            raw=RawStore(settings.raw_dir),
            gazetteer=load_gazetteer(),
            parser=inline_parser,
        )
        items, _ = discover([corpus])
        assert indexer.ingest(items).passages_written > 0
    return client, root / "data"


@pytest.fixture
def emulator(backend: tuple[QdrantClient, Path]) -> Iterator[QdrantEmulator]:
    server = QdrantEmulator(backend[0])
    server.start()
    yield server
    server.stop()


def app_settings(backend: tuple[QdrantClient, Path], emulator: QdrantEmulator) -> Settings:
    return Settings(data_dir=backend[1], qdrant_url=emulator.url)


def test_the_emulator_serves_the_real_remote_store(
    backend: tuple[QdrantClient, Path], emulator: QdrantEmulator
) -> None:
    store = RemoteStore.connect(emulator.url, api_key=None, collection=COLLECTION, timeout=5)
    try:
        store.ensure_collection(EMBED_DIM)
        assert store.count() == RemoteStore(backend[0], COLLECTION).count() > 0
        assert len(list(store.iter_points())) == store.count() == store.verify()
    finally:
        store.close()


def test_server_gone_and_back(backend: tuple[QdrantClient, Path], emulator: QdrantEmulator) -> None:
    with TestClient(create_app(app_settings(backend, emulator), embedder=HashingEmbedder(EMBED_DIM))) as client:
        assert client.get("/readyz").status_code == 200
        before = client.get("/search", params={"q": "Wasserstoff Gelsenkirchen"})
        assert before.status_code == 200 and before.json()["total_documents"] > 0

        emulator.stop()  # the server dies: connections are refused
        ready = client.get("/readyz")
        assert ready.status_code == 503
        error = ready.json()["error"]
        assert error["code"] == "not_ready"
        assert "does not answer" in error["details"]["checks"]["store"]
        assert emulator.url.removeprefix("http://") in error["message"]
        search = client.get("/search", params={"q": "Wasserstoff Gelsenkirchen"})
        assert search.status_code == 503
        body = search.json()["error"]
        assert body["code"] == "store_unavailable"
        assert "does not answer" in body["message"] and "FOERDERSUCHE_QDRANT_URL" in body["message"]
        assert "Traceback" not in search.text
        page = client.get("/", params={"q": "Wasserstoff"})
        assert page.status_code == 503 and "<html" in page.text.lower()
        assert client.get("/healthz").status_code == 200, "liveness does not depend on the store"

        emulator.start()  # back: the next requests succeed without a restart of the app
        assert client.get("/readyz").status_code == 200
        after = client.get("/search", params={"q": "Wasserstoff Gelsenkirchen"})
        assert after.status_code == 200
        assert {**after.json(), "took_ms": 0} == {**before.json(), "took_ms": 0}


def test_server_answering_errors(backend: tuple[QdrantClient, Path], emulator: QdrantEmulator) -> None:
    with TestClient(create_app(app_settings(backend, emulator), embedder=HashingEmbedder(EMBED_DIM))) as client:
        emulator.failing = True
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "HTTP 503" in ready.json()["error"]["details"]["checks"]["store"]
        search = client.get("/search", params={"q": "Kreislaufwirtschaft"})
        assert search.status_code == 503 and search.json()["error"]["code"] == "store_error"
        emulator.failing = False
        assert client.get("/readyz").status_code == 200
        assert client.get("/search", params={"q": "Kreislaufwirtschaft"}).status_code == 200


def test_app_started_while_the_server_is_down(
    backend: tuple[QdrantClient, Path], emulator: QdrantEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.state, "RETRY_S", 0.0)
    emulator.stop()
    with TestClient(create_app(app_settings(backend, emulator), embedder=HashingEmbedder(EMBED_DIM))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "does not answer" in ready.json()["error"]["details"]["checks"]["store"]
        search = client.get("/search", params={"q": "Förderung"})
        assert search.status_code == 503 and search.json()["error"]["code"] == "not_ready"
        emulator.start()
        assert client.get("/readyz").status_code == 200
        assert client.get("/search", params={"q": "Förderung"}).json()["total_documents"] > 0
