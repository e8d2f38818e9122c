"""Security checks that the API and crawler tests do not already make.

Covered elsewhere (not repeated here): missing, wrong, prefixed and non-ASCII admin keys, the
constant-time comparison (tests/api/test_api_admin.py), ``..``, absolute, NUL and symlinked ingest paths
(test_api_admin.py), malformed document ids through the test client (tests/api/test_api_documents.py),
markup in titles and snippets shown as text (tests/api/test_web.py, tests/system/test_web_browser.py), SSRF by
redirects to private addresses and by names resolving to loopback (tests/ingest/test_crawl_netguard.py), the
413 body limit (test_api_admin.py).

Here: traversal sent byte for byte over a raw socket to a real uvicorn server (an HTTP client would
normalise ``..`` away), encoded traversal in ingest paths, numeric spellings of loopback for the SSRF
guard, the per-client search rate limit, request size limits of the query, and that no key reaches a
log line, an error body or a ``repr``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from test_api_corpus import ADMIN_KEY, EMBED_DIM, make_env

from api.app import create_app
from api.ratelimit import TokenBuckets
from core.errors import StoreError
from core.model.embedding import HashingEmbedder
from core.settings import PROJECT_ROOT, Settings
from core.store.remote import RemoteStore
from ingest.crawl.netguard import AddressPolicy, BlockedAddress, checked_addresses

KEY = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Settings]]:
    """The app under a real uvicorn on 127.0.0.1 (a free port held from the start)."""
    env = make_env(tmp_path_factory.mktemp("security"))
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="debug", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port, env.settings
    srv.should_exit = True
    thread.join(30)
    sock.close()


def raw_get(host: str, port: int, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client-side normalisation of ``..`` or %-escapes)."""
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


SECRET_FILES = {
    "settings.py": b"class Settings(BaseSettings)",
    "registry.sqlite3": b"SQLite format 3",
    "passwd": b"root:x:0:0",
    "pyproject.toml": b"[build-system]",
}


@pytest.mark.parametrize(
    "target",
    [
        "/static/../../core/settings.py",
        "/static/..%2f..%2fcore%2fsettings.py",
        "/static/%2e%2e/%2e%2e/core/settings.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/....//....//pyproject.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/documents/../../../../etc/passwd",
        "/documents/..%2f..%2fregistry.sqlite3/original",
        "/documents/%2e%2e%2f%2e%2e%2fregistry.sqlite3/original",
        "/documents/0123456789abcdef/../../../../etc/passwd",
        "/dokument/..%2f..%2fregistry.sqlite3",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_traversal_over_a_raw_socket_reads_no_file(server: tuple[str, int, Settings], target: str) -> None:
    host, port, _ = server
    status, body = raw_get(host, port, target)
    assert status in (400, 404, 422), (target, status, body[:200])
    for name, marker in SECRET_FILES.items():
        assert marker not in body, f"{target} leaked {name}"


@pytest.mark.parametrize(
    "path",
    ["%2e%2e/%2e%2e/etc", "corpus/%2e%2e/%2e%2e/etc/passwd", "..\\..\\etc\\passwd", "corpus/..\\..\\..\\etc", "~root"],
)
def test_encoded_and_windows_traversal_in_ingest_paths(server: tuple[str, int, Settings], path: str) -> None:
    host, port, _ = server
    response = httpx.post(f"http://{host}:{port}/ingest", json={"paths": [path]}, headers=KEY, timeout=30)
    assert response.status_code == 400, response.text
    problem = response.json()["error"]["details"]["problems"][0]
    assert problem["reason"] in (
        "path traversal ('..') is not allowed",
        "outside the allowed folders",
        "no such file or directory",
    )
    assert not (PROJECT_ROOT / "%2e%2e").exists()


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "127.1",
        "0177.0.0.1",
        "017700000001",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "0",
        "LOCALHOST",
    ],
)
def test_numeric_and_odd_spellings_of_loopback_are_refused(host: str) -> None:
    with pytest.raises(BlockedAddress, match=r"loopback|unspecified"):
        checked_addresses(host, 80, AddressPolicy())


# ----------------------------------------------------------------------------- limits


def test_the_search_rate_limit_answers_429_per_client(tmp_path: Path) -> None:
    # One token per 1,000 s: no refill can happen while the test runs, however slow the machine is
    # (at 1/s, a cold first search on a busy CI host refilled a token and the 4th request passed).
    env = make_env(tmp_path, search_rate_limit=0.001, search_rate_burst=3)
    app = create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))
    with TestClient(app, client=("198.51.100.7", 4000)) as one, TestClient(app, client=("198.51.100.8", 4000)) as two:
        codes = [one.get("/search", params={"q": "Förderung"}).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = one.get("/export.json", params={"q": "Förderung"})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "too_many_requests"
        assert int(limited.headers["Retry-After"]) >= 1
        assert one.get("/", params={"q": "Förderung"}).status_code == 429, "the web page's search counts too"
        assert one.get("/").status_code == 200, "the landing page is not a search"
        assert one.get("/healthz").status_code == 200 and one.get("/sources").status_code == 200
        assert two.get("/search", params={"q": "Förderung"}).status_code == 200, "another client has its own bucket"
        metrics = one.get("/metrics").text
        assert 'route="unmatched",status="429"' in metrics or 'status="429"' in metrics


def test_token_buckets_refill_and_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=2, max_clients=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # 1 token missing at 2 per second
    now[0] += 0.5  # the failed attempt took nothing; half a second brings one token
    assert buckets.take("a") == 0.0
    for client in "bcdef":
        buckets.take(client)
    assert len(buckets) == 3  # least recently seen clients are dropped (they start full again)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "Förderung " * 200},  # longer than MAX_QUERY_CHARS
        {"q": "x", "place": ["Unna"] * 21},  # more filter values than allowed
        {"q": "x", "k": 100_000},
        {"q": "x", "page_size": 10_000},
    ],
)
def test_oversized_queries_are_refused(server: tuple[str, int, Settings], params: dict) -> None:  # type: ignore[type-arg]
    host, port, _ = server
    response = httpx.get(f"http://{host}:{port}/search", params=params, timeout=30)
    assert response.status_code == 422, response.text[:300]


def test_a_huge_request_line_is_refused_by_the_server(server: tuple[str, int, Settings]) -> None:
    host, port, _ = server
    try:
        status, _ = raw_get(host, port, "/search?q=" + "a" * 200_000)
    except ConnectionResetError:  # h11 answers 400 and closes before reading the rest
        status = 400
    assert status in (400, 414, 422, 431)
    assert httpx.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200


# ----------------------------------------------------------------------------- secrets


def test_the_admin_key_never_reaches_a_log_line(
    server: tuple[str, int, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    host, port, settings = server
    with caplog.at_level(logging.DEBUG):
        base = f"http://{host}:{port}"
        httpx.get(f"{base}/jobs/{'0' * 32}", headers=KEY, timeout=30)
        httpx.get(f"{base}/jobs/{'0' * 32}", headers={"X-API-Key": ADMIN_KEY + "falsch"}, timeout=30)
        httpx.post(f"{base}/ingest", json={"paths": ["../x"]}, headers=KEY, timeout=30)
        time.sleep(0.2)  # the access log is written after the response
    assert caplog.records, "the server logs at debug level"
    assert ADMIN_KEY not in caplog.text
    assert ADMIN_KEY not in repr(settings) and ADMIN_KEY not in str(settings)


def test_the_qdrant_api_key_never_reaches_a_message_or_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "qdrant-geheim-0123456789"

    # a server that rejects the key, and one that does not answer: neither error may show the key
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.listen()
        accept = threading.Thread(target=lambda: _reject_401(sock), daemon=True)
        accept.start()
        with (
            caplog.at_level(logging.DEBUG),
            pytest.warns(UserWarning, match=r"insecure connection"),  # qdrant-client, rightly, about http
            pytest.raises(StoreError) as rejected,
        ):
            RemoteStore.connect(f"http://127.0.0.1:{port}", api_key=secret, collection="passages", timeout=5)
        accept.join(5)
    assert "rejected the API key" in str(rejected.value)
    settings = Settings(data_dir=tmp_path / "data", qdrant_url=f"https://127.0.0.1:{port}", qdrant_api_key=secret)
    with caplog.at_level(logging.DEBUG), TestClient(create_app(settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        ready = c.get("/readyz")
        search = c.get("/search", params={"q": "Förderung"})
    assert ready.status_code == 503 and search.status_code == 503
    for text in (str(rejected.value), ready.text, search.text, caplog.text, repr(settings)):
        assert secret not in text


def _reject_401(sock: socket.socket) -> None:
    """Answer every request on ``sock`` with 401 (a Qdrant server with another API key)."""
    sock.settimeout(5)
    try:
        while True:
            conn, _ = sock.accept()
            with conn:
                conn.recv(65536)
                body = b'{"status":{"error":"Unauthorized"}}'
                conn.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n%s" % (len(body), body)
                )
    except OSError:
        return
