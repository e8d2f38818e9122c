"""The CLI beside a running ``foerdersuche serve`` of the same data directory.

The embedded index (Qdrant Edge) admits one process per shard, so while a server holds it the CLI
cannot open it. ``serve`` therefore writes a **server record**, ``<data_dir>/server.json`` (pid, host,
port, data dir, start time), once it listens, and removes it when it stops. ``live_server`` trusts a
record only after checking it: the pid must be alive and the server at host:port must answer
``GET /cli/whoami`` with that same pid and data directory within a short timeout. A record left by a
killed server (pid gone, port closed or answered by someone else) is stale: it is ignored, and
removed when its pid is gone.

``ServerLink`` is the CLI's client of that server: the read commands go through the endpoints of
``api.local`` (the same code that prints them locally), ``ingest`` and ``crawl`` through the admin
jobs (``POST /ingest``, ``POST /crawl``, ``GET /jobs/{id}``) with the admin key of the settings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from core.errors import FoerdersucheError

RECORD_FILE = "server.json"
CHECK_TIMEOUT_S = 2.0


class ServerError(FoerdersucheError):
    """The running server refused or failed a request of the CLI (its error message)."""


@dataclass(frozen=True)
class ServerRecord:
    pid: int
    host: str
    port: int
    data_dir: str
    started: str

    @property
    def url(self) -> str:
        """Where to reach it from this machine (a wildcard bind is reached on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD_FILE


def write_record(data_dir: Path, host: str, port: int, pid: int | None = None) -> ServerRecord:
    """Write this server's record (atomically: a reader sees the old file or the new one)."""
    record = ServerRecord(
        pid=pid if pid is not None else os.getpid(),
        host=host,
        port=port,
        data_dir=str(data_dir.resolve()),
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{RECORD_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")
    tmp.replace(record_path(data_dir))
    return record


def read_record(data_dir: Path) -> ServerRecord | None:
    try:
        data = json.loads(record_path(data_dir).read_text(encoding="utf-8"))
        return ServerRecord(
            pid=int(data["pid"]),
            host=str(data["host"]),
            port=int(data["port"]),
            data_dir=str(data["data_dir"]),
            started=str(data["started"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_record(data_dir: Path, pid: int | None = None) -> None:
    """Remove the record if it is the one of ``pid`` (default: this process)."""
    record = read_record(data_dir)
    if record is not None and record.pid == (pid if pid is not None else os.getpid()):
        with contextlib.suppress(OSError):
            record_path(data_dir).unlink()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    try:  # a zombie (killed, not yet reaped by its parent) serves nothing
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def live_server(data_dir: Path, admin_key: str | None = None) -> ServerLink | None:
    """The server that holds ``data_dir``, checked as the module docstring says, or None."""
    record = read_record(data_dir)
    if record is None:
        return None
    if not pid_alive(record.pid):
        remove_record(data_dir, record.pid)  # its server is gone: the record can only mislead
        return None
    client = httpx.Client(base_url=record.url, timeout=CHECK_TIMEOUT_S, trust_env=False)
    try:
        who = client.get("/cli/whoami")
        identity = who.json() if who.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        identity = {}
    if identity.get("pid") != record.pid or identity.get("data_dir") != str(data_dir.resolve()):
        client.close()
        return None
    client.timeout = httpx.Timeout(600.0, connect=CHECK_TIMEOUT_S)
    return ServerLink(record, client, admin_key)


class ServerLink:
    """Requests of the CLI to the server of its data directory."""

    def __init__(self, record: ServerRecord, client: httpx.Client, admin_key: str | None) -> None:
        self.record = record
        self.client = client
        self.admin_key = admin_key

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ServerLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"foerdersuche serve (pid {self.record.pid}, {self.record.url})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-API-Key": self.admin_key} if self.admin_key else {}
        try:
            response = self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"Der Server {self.describe()} antwortet nicht: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") or response.text[:300]
            raise ServerError(message if response.status_code < 500 else f"{message} ({self.describe()})")
        return body

    def search(self, request: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/cli/search", json=request)
        return result

    def ask(self, question: str, k: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/cli/ask", json={"question": question, "k": k})
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/cli/status")
        return result

    def run_job(self, path: str, body: dict[str, Any], label: str, console: Console, *, quiet: bool) -> dict[str, Any]:
        """Submit an admin job (``POST path``) and poll it until it ends, with a progress bar on
        ``console`` when it is a terminal; the job's report, or ServerError."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            transient=True,
        ) as progress:
            task = progress.add_task(label, total=None)
            job = self._call("POST", path, json=body)
            delay = 0.2
            while job.get("status") in ("queued", "running"):
                done, total = (job.get("progress") or {}).get("done"), (job.get("progress") or {}).get("total")
                progress.update(task, completed=done or 0, total=total)
                time.sleep(delay)
                delay = min(delay * 1.5, 2.0)
                job = self._call("GET", f"/jobs/{job['job_id']}")
        if job.get("status") != "succeeded":
            raise ServerError(f"Der Auftrag {job.get('job_id')} endete mit {job.get('status')}: {job.get('error')}")
        report: dict[str, Any] = job.get("report") or {}
        return report


def refusal(server: ServerLink, command: str, *, delegable: bool = True) -> str:
    """Why ``command`` does not run beside ``server``, and what to do."""
    held = (
        f"{server.describe()} hält den Index von {server.record.data_dir} geöffnet "
        "(der eingebettete Index erlaubt nur einen Prozess). "
    )
    if delegable:
        return held + (
            f"Setzen Sie FOERDERSUCHE_ADMIN_KEY auf den Admin-Schlüssel des Servers, dann führt der Server "
            f"`{command}` als Auftrag aus und hier erscheint sein Fortschritt; oder beenden Sie den Server "
            f"(kill {server.record.pid}) und wiederholen Sie den Befehl."
        )
    return held + (
        f"`{command}` braucht den Index für sich allein: beenden Sie den Server (kill {server.record.pid}) und "
        "wiederholen Sie den Befehl."
    )
