"""A real ``foerdersuche serve`` process on 127.0.0.1 for tests: started on a free port over a data
dir, waited for until it answers ``/healthz``, stopped with SIGTERM (its output kept for asserts)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("foerdersuche")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    client: httpx.Client
    output: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(extra or {})}


@contextmanager
def running_server(
    data_dir: Path, *, env: Mapping[str, str] | None = None, ready: bool = True, timeout: float = 240
) -> Iterator[Server]:
    """``foerdersuche --data-dir DATA_DIR serve`` until the block ends; with ``ready`` also waits for
    ``/readyz`` (model and index open)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(CLI), "--data-dir", str(data_dir), "serve", "--port", str(port)],
        cwd=ROOT,
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(proc, port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60))
    try:
        deadline = time.monotonic() + timeout
        path = "/readyz" if ready else "/healthz"
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if server.client.get(path, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve did not answer {path} in {timeout} s"
            time.sleep(0.3)
        yield server
    finally:
        server.client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        server.output.append(output or "")
