"""A short version of ``python -m evaluation.bench.load``: concurrent clients with the German query mix
against `foerdersuche serve` (a real uvicorn process on 127.0.0.1, hashing embedder), a few seconds
per phase: zero errors, and the server's RSS after the run within the margin of its RSS after the
warm-up. The full run with the real model and its numbers: evaluation/reports/load/load.md."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_fault_support import SUPPORT, driver_env, make_corpus, run_cli

from core.settings import PROJECT_ROOT
from evaluation.bench.load import free_port, run_load, wait_ready, write_report


def test_concurrent_clients_get_no_errors_and_memory_stays_flat(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "ingest", str(make_corpus(tmp_path / "corpus"))).returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SUPPORT), "cli", "--data-dir", str(data), "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=driver_env(FOERDERSUCHE_SEARCH_RATE_LIMIT="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc, timeout_s=120)  # type: ignore[arg-type]
        report = run_load(base, proc.pid, [4, 16], seconds=4, warmup_s=3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    json_path, md_path = write_report(report, tmp_path / "report")
    assert json.loads(json_path.read_text())["errors"] == 0
    assert "| 16 |" in md_path.read_text()
    for phase in report.phases:
        assert phase.errors == 0, phase.error_examples
        assert phase.requests > 20 and phase.p95_ms > 0
        assert {"search", "page", "document"} <= set(phase.by_kind)
    assert report.memory_flat, report.to_dict()


def test_python_dash_m_serve_serves_the_given_data_dir(tmp_path: Path) -> None:
    """Regression: under `python -m foerdersuche.cli --data-dir D serve` the serve command used to read
    the settings from a second copy of the CLI module and served the default data dir instead of D."""
    import httpx

    data = tmp_path / "data"
    assert run_cli(data, "ingest", str(make_corpus(tmp_path / "corpus"))).returncode == 0
    port = free_port()
    env = driver_env(FOERDERSUCHE_MODEL_NAME=str(tmp_path / "kein-modell"), HF_HUB_OFFLINE="1")  # starts fast, degraded
    proc = subprocess.Popen(
        [sys.executable, "-m", "foerdersuche.cli", "--data-dir", str(data), "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None
            try:
                sources = httpx.get(f"http://127.0.0.1:{port}/sources", timeout=5, trust_env=False)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
        assert sources.status_code == 200 and sources.json()["documents"] == 12
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
