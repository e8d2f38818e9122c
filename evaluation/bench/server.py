"""The API server as the benchmarks drive it: a free loopback port, waiting until ``/readyz`` answers,
and stopping it (``benchmark`` stage 5, ``ingest_load``; ``load`` takes the port from here too)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(client: httpx.Client, server: subprocess.Popen[str], timeout_s: float) -> None:
    """Return when ``GET /readyz`` answers 200; RuntimeError when the server exits or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the API server exited: {(server.stderr.read() if server.stderr else '')[-2000:]}")
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API server did not become ready within {timeout_s:g} s")
        time.sleep(0.5)


def stop(server: subprocess.Popen[str], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL when it has not ended within ``timeout_s``."""
    server.terminate()
    try:
        server.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
