"""Admin endpoints: the API key, path confinement, and real ingest and crawl jobs in the background."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from test_api_corpus import ADMIN_KEY, EMBED_DIM, ApiEnv, make_env

from api.app import create_app
from api.schemas import JobOut
from core.model.embedding import HashingEmbedder

KEY = {"X-API-Key": ADMIN_KEY}

NEW_DOC = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>Pressemitteilung: Zauberwürfel-Werkstatt in Lünen eröffnet</title></head>
<body><main><article><h1>Zauberwürfel-Werkstatt in Lünen eröffnet</h1>
<p>Lünen, 2. Februar 2024. In Lünen eröffnet eine Werkstatt, in der Jugendliche Zauberwürfel und andere
Denkspiele aus recyceltem Kunststoff herstellen. Das Vorhaben wird aus dem 5-StandorteProgramm gefördert.</p>
<p>Die Werkstatt arbeitet mit Schulen im Kreis Unna zusammen und zeigt, wie Kreislaufwirtschaft im Alltag
funktioniert.</p></article></main></body></html>
"""
CRAWLED_PAGE = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>Pressemitteilung: Bienenweide auf der Halde in Werne</title></head>
<body><main><article><h1>Bienenweide auf der Halde in Werne</h1>
<p>Werne, 5. Juni 2024. Auf der ehemaligen Bergehalde in Werne entsteht eine Bienenweide mit heimischen
Wildblumen. Die Stadt Werne und ein Imkerverein pflegen die Fläche gemeinsam mit Schulklassen.</p>
<p>Die Maßnahme gehört zum Programm Grüne Infrastruktur und wird vom Land gefördert.</p>
</article></main></body></html>
"""


class _Site(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {"/presse/bienenweide.html": CRAWLED_PAGE}

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def admin_env(tmp_path_factory: pytest.TempPathFactory, site: str) -> ApiEnv:
    root = tmp_path_factory.mktemp("admin")
    host = site.removeprefix("http://")
    sources = root / "sources.toml"
    sources.write_text(
        f"""[crawler]
delay_s = 0.0
max_retries = 0

[[sources]]
name = "testsite"
start_urls = ["{site}/presse/bienenweide.html"]
allowed_hosts = ["{host}"]
max_depth = 1
max_pages = 5
allow_private = true
""",
        encoding="utf-8",
    )
    return make_env(root, allow_private_networks=True, sources_file=sources)


@pytest.fixture(scope="module")
def admin(admin_env: ApiEnv) -> Iterator[TestClient]:
    with TestClient(create_app(admin_env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        yield c


def wait_for(client: TestClient, job_id: str, timeout_s: float = 120.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(f"/jobs/{job_id}", headers=KEY)
        assert response.status_code == 200, response.text
        job = response.json()
        JobOut.model_validate(job)
        if job["finished_at"] is not None:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


# ----------------------------------------------------------------------------- the key


ADMIN_CALLS = [
    ("post", "/ingest", {"paths": ["x"]}),
    ("post", "/crawl", {"sources": ["testsite"]}),
    ("get", "/jobs/" + "0" * 32, None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_missing_or_wrong_key_is_401(admin: TestClient, method: str, path: str, body: dict | None) -> None:  # type: ignore[type-arg]
    for value in (None, "wrong", ADMIN_KEY + "x", ADMIN_KEY[:-1], "", "ä"):
        headers = {} if value is None else {b"X-API-Key": value.encode("latin-1")}
        response = admin.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize("configured", [None, ""])
def test_admin_is_disabled_without_a_configured_key(tmp_path: Path, configured: str | None) -> None:
    env = make_env(tmp_path, admin_key=configured)
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        for method, path, body in ADMIN_CALLS:
            for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "anything"}):
                response = c.request(method, path, json=body, headers=headers)
                assert response.status_code == 403, (path, headers)
                error = response.json()["error"]
                assert error["code"] == "admin_disabled" and "FOERDERSUCHE_ADMIN_KEY" in error["message"]
        assert c.get("/search", params={"q": "Förderung"}).status_code == 200, "the rest keeps working"


def test_the_key_is_compared_in_constant_time() -> None:
    import inspect

    from api import deps

    assert "hmac.compare_digest" in inspect.getsource(deps.require_admin)


# ----------------------------------------------------------------------------- ingest


def test_ingest_job_indexes_a_new_file_and_reports(admin: TestClient, admin_env: ApiEnv) -> None:
    (admin_env.inbox / "pm-zauberwuerfel-luenen.html").write_text(NEW_DOC, encoding="utf-8")
    (admin_env.inbox / "notiz.docx").write_bytes(b"PK\x03\x04 not really a docx")
    assert "Zauberwürfel" not in str(admin.get("/search", params={"q": "Zauberwürfel"}).json()["results"])
    response = admin.post("/ingest", json={"paths": [str(admin_env.inbox)]}, headers=KEY)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "ingest" and job["status"] in ("queued", "running")
    assert job["params"]["paths"] == [str(admin_env.inbox.resolve())]
    done = wait_for(admin, job["job_id"])
    assert done["status"] == "succeeded", done
    report = done["report"]
    assert report["counts"] == {"indexed": 1, "skipped": 1}
    skipped = next(f for f in report["files"] if f["status"] == "skipped")
    assert skipped["reason"] and "docx" in skipped["source"]
    assert done["progress"] == {"done": 1, "total": 1}
    found = admin.get("/search", params={"q": "Zauberwürfel Werkstatt Lünen"}).json()
    assert "Zauberwürfel-Werkstatt in Lünen" in found["results"][0]["title"]
    assert admin.get("/sources").json()["documents"] == 9
    metrics = admin.get("/metrics").text
    assert 'foerdersuche_jobs{status="succeeded"}' in metrics
    assert "foerdersuche_last_ingest_timestamp_seconds" in metrics


def test_ingesting_again_reports_unchanged(admin: TestClient, admin_env: ApiEnv) -> None:
    target = admin_env.inbox / "again" / "notiz.md"
    target.parent.mkdir()
    target.write_text("# Notiz\n\nDie Halde in Marl wird zum Solarpark mit Förderung des Landes.\n", encoding="utf-8")
    counts = []
    for force in (False, False, True):
        body = {"paths": [str(target)], "force": force}
        job = wait_for(admin, admin.post("/ingest", json=body, headers=KEY).json()["job_id"])
        assert job["status"] == "succeeded"
        counts.append(job["report"]["counts"])
    assert counts == [{"indexed": 1}, {"unchanged": 1}, {"indexed": 1}]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../etc/passwd", "traversal"),
        ("corpus/../../../etc", "traversal"),
        ("/etc/passwd", "outside"),
        ("/", "outside"),
        ("README.md", "outside"),
        ("nul\x00byte", "NUL"),
    ],
)
def test_paths_outside_the_roots_are_refused(admin: TestClient, path: str, reason: str) -> None:
    response = admin.post("/ingest", json={"paths": [path]}, headers=KEY)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "path_not_allowed"
    assert reason in error["details"]["problems"][0]["reason"]
    assert error["details"]["allowed_roots"]


def test_a_missing_path_inside_a_root_is_refused(admin: TestClient, admin_env: ApiEnv) -> None:
    response = admin.post("/ingest", json={"paths": [str(admin_env.inbox / "gibt-es-nicht.html")]}, headers=KEY)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["problems"][0]["reason"] == "no such file or directory"


def test_symlinks_cannot_lead_out_of_a_root(admin: TestClient, admin_env: ApiEnv, tmp_path: Path) -> None:
    outside = tmp_path / "geheim"
    outside.mkdir()
    (outside / "geheim.txt").write_text("Geheimer Text über Fördermittel, der nie in den Index darf.", encoding="utf-8")
    link_dir = admin_env.inbox / "link-zu-geheim"
    os.symlink(outside, link_dir)
    response = admin.post("/ingest", json={"paths": [str(link_dir)]}, headers=KEY)
    assert response.status_code == 400 and "outside" in response.text
    # a symlinked file inside an allowed folder is skipped by the job
    sub = admin_env.inbox / "mit-link"
    sub.mkdir()
    os.symlink(outside / "geheim.txt", sub / "geheim.txt")
    job = wait_for(admin, admin.post("/ingest", json={"paths": [str(sub)]}, headers=KEY).json()["job_id"])
    assert job["status"] == "succeeded"
    assert job["report"]["counts"] == {"skipped": 1}
    assert "outside" in job["report"]["files"][0]["reason"]
    results = admin.get("/search", params={"q": "Geheimer Text", "k": 200}).json()["results"]
    assert all("geheim" not in g["source"] for g in results)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"paths": []},
        {"paths": "corpus"},
        {"paths": ["x"] * 101},
        {"paths": ["x"], "force": "ja"},
        {"paths": ["x"], "extra": 1},
        {"paths": ["x" * 5000]},
    ],
)
def test_malformed_ingest_bodies_are_422(admin: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    response = admin.post("/ingest", json=body, headers=KEY)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_non_json_and_oversized_bodies(admin: TestClient) -> None:
    broken = admin.post("/ingest", content=b"{not json", headers={**KEY, "Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "validation_error"
    big = admin.post(
        "/ingest", content=b"{" + b" " * 70_000 + b"}", headers={**KEY, "Content-Type": "application/json"}
    )
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        yield b'{"paths": ["'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"]}'

    streamed = admin.post("/ingest", content=chunks(), headers={**KEY, "Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"


# ----------------------------------------------------------------------------- crawl


def test_crawl_of_an_unknown_source_is_400(admin: TestClient) -> None:
    response = admin.post("/crawl", json={"sources": ["gibt-es-nicht"]}, headers=KEY)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "crawl_error" and "testsite" in error["message"]


def test_crawl_job_fetches_and_indexes_a_source(admin: TestClient) -> None:
    response = admin.post("/crawl", json={"sources": ["testsite"]}, headers=KEY)
    assert response.status_code == 202, response.text
    job = wait_for(admin, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    source = job["report"]["sources"][0]
    assert source["name"] == "testsite" and source["new"] == 1, job["report"]
    found = admin.get("/search", params={"q": "Bienenweide Halde Werne"}).json()
    top = found["results"][0]
    assert "Bienenweide auf der Halde in Werne" in top["title"]
    assert top["source_name"] == "testsite" and top["url"].endswith("/presse/bienenweide.html")
    sources = {s["name"]: s for s in admin.get("/sources").json()["sources"]}
    assert sources["testsite"]["indexed_documents"] == 1


def test_unknown_jobs(admin: TestClient) -> None:
    assert admin.get("/jobs/" + "a" * 32, headers=KEY).status_code == 404
    assert admin.get("/jobs/not-a-job", headers=KEY).status_code == 422


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread niceness is Linux's")
def test_a_job_runs_at_a_lower_priority_and_so_do_the_processes_it_starts() -> None:
    """The job's thread is niced (``JOB_NICENESS``), the requests' threads are not, and a process the
    job starts (a parser worker, torch's threads) inherits the job's priority: measured in a real
    child process."""
    import subprocess
    import sys

    from api.jobs import JOB_NICENESS, JobManager

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}

    def job(progress: object, cancelled: object) -> dict[str, int]:
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True, check=True
        )
        seen["child"] = int(child.stdout)
        return {}

    jobs = JobManager()
    job_id = jobs.submit("ingest", {}, job)["job_id"]
    deadline = time.monotonic() + 30
    while (jobs.get(job_id) or {}).get("status") in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.02)
    jobs.shutdown()
    assert (jobs.get(job_id) or {}).get("status") == "succeeded"
    expected = min(19, before + JOB_NICENESS)
    assert seen == {"thread": expected, "child": expected}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the caller's thread is not


def test_an_ingest_job_builds_the_index_aside_and_search_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server lets its store build the graph in a child process (``EdgeStore.build_aside``) and swap
    it in under the index lock; here every ingest crosses the (lowered) threshold."""
    from core.store import edge

    builds: list[dict] = []  # type: ignore[type-arg]
    real_build = edge.run_build

    def recorded(shard: Path) -> dict:  # type: ignore[type-arg]
        report = real_build(shard)
        builds.append(report)
        return report

    monkeypatch.setattr(edge, "ASIDE_MIN_PENDING", 1)
    monkeypatch.setattr(edge, "run_build", recorded)
    env = make_env(tmp_path)
    (env.inbox / "pm-zauberwuerfel-luenen.html").write_text(NEW_DOC, encoding="utf-8")
    with TestClient(create_app(env.settings, embedder=HashingEmbedder(EMBED_DIM))) as c:
        before = c.get("/sources").json()["documents"]
        job = wait_for(c, c.post("/ingest", json={"paths": [str(env.inbox)]}, headers=KEY).json()["job_id"])
        assert job["status"] == "succeeded", job
        assert len(builds) == 1 and builds[0]["pid"] != os.getpid()
        found = c.get("/search", params={"q": "Zauberwürfel Werkstatt Lünen"}).json()
        assert "Zauberwürfel-Werkstatt in Lünen" in found["results"][0]["title"]
        assert c.get("/sources").json()["documents"] == before + 1
    index_dir = env.settings.index_dir
    assert sorted(p.name for p in index_dir.iterdir()) == ["passages", "passages.schema.json"]
