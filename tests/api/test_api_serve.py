"""``foerdersuche serve``: the real command, a real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("foerdersuche")


def test_serve_help_names_the_defaults() -> None:
    proc = subprocess.run(
        [str(CLI), "serve", "--help"], capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "--host" in proc.stdout and "--port" in proc.stdout
    assert "127.0.0.1" in proc.stdout and "8000" in proc.stdout


def test_serve_starts_degraded_without_a_model_and_stops_cleanly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "FOERDERSUCHE_MODEL_NAME": str(tmp_path / "kein-modell"),  # not provisioned: the app starts, not ready
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.Popen(
        [str(CLI), "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                health = httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(base + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["error"]["details"]["checks"]["model"] != "ok"
        assert httpx.get(base + "/", timeout=10).status_code == 200, "the page answers without a model"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert proc.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal after a clean stop
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output
    assert "Application shutdown complete." in output
    assert "WARNING:  not ready: model: Cannot load the embedding model" in output
