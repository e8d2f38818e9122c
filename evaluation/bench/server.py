"""The API server as the benchmarks drive it: a free loopback port, waiting until ``/readyz`` answers,
a lean client for timing requests, and stopping it (``benchmark`` stage 5, ``ingest_load``; ``load``
takes the port from here too)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
import urllib.parse
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(client: httpx.Client, server: subprocess.Popen[str], timeout_s: float) -> None:
    """Return when ``GET /readyz`` answers 200 and the server holds its ranking fields in memory (it reads
    them in the background after the start, ``foerdersuche_summaries_loading`` in ``/metrics``): the
    steady state the latencies are measured in. RuntimeError when the server exits or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the API server exited: {(server.stderr.read() if server.stderr else '')[-2000:]}")
        try:
            if client.get("/readyz").status_code == 200 and not summaries_loading(client.get("/metrics").text):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API server did not become ready within {timeout_s:g} s")
        time.sleep(0.5)


def summaries_loading(metrics: str) -> bool:
    """Whether a ``/metrics`` text says the server is still reading its ranking fields."""
    return "foerdersuche_summaries_loading 1.0" in metrics


class LeanClient:
    """``GET`` over one keep-alive connection with the standard library: what a timed request costs the
    client is small next to the server's time. httpx, which drives everything else, spends about 1.4 ms
    of its own on a request (measured against this client on ``/healthz`` of a running server: 2.4 against
    1.0 ms), which a latency of the server should not carry."""

    def __init__(self, port: int, timeout_s: float = 30.0) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)

    def get(self, path: str, params: dict[str, Any]) -> bytes:
        """The body of ``GET path?params`` (lists repeat the key); RuntimeError unless 200."""
        self._connection.request("GET", f"{path}?{urllib.parse.urlencode(params, doseq=True)}")
        response = self._connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
        return body

    def close(self) -> None:
        self._connection.close()


def stop(server: subprocess.Popen[str], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL when it has not ended within ``timeout_s``."""
    server.terminate()
    try:
        server.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
