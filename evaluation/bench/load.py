"""Load test of the HTTP API: N concurrent clients with a German query mix, bounded in time and count.

    .venv/bin/python -m evaluation.bench.load --clients 8,32 --seconds 20

Without ``--url`` it builds everything itself: a fresh data dir with the sample corpus ingested
(`foerdersuche ingest`, the real model), then `foerdersuche serve` on 127.0.0.1 at a free port, and
stops the server at the end. With ``--url`` and ``--pid`` it drives a server that is already running.

Per phase (one per client count) it reports requests, errors, throughput and latency percentiles, and
the server's resident memory (``VmRSS`` from ``/proc/<pid>/status``) at the start, the end and its
maximum; memory is "flat" when the RSS at the end of the last phase exceeds the RSS after the warm-up by
at most ``max(RSS_MARGIN_MB, RSS_MARGIN_SHARE * RSS after warm-up)``. Traffic goes to 127.0.0.1 only;
every client loop stops by itself after ``--seconds`` or ``--max-requests``.
Results: ``load.json`` and ``load.md`` in ``--report-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.settings import PROJECT_ROOT, Settings
from evaluation.bench.server import free_port, summaries_loading

RSS_MARGIN_MB = 30.0
RSS_MARGIN_SHARE = 0.10
DEFAULT_REPORT_DIR = PROJECT_ROOT / "evaluation" / "reports" / "load"

# What people ask a search over funding texts of the Ruhr area's structural change.
QUERIES = (
    "Projekte Kreislaufwirtschaft Kreis Unna",
    "Wasserstoff Duisburg",
    "Förderung Elektromobilität Ladepunkte",
    "EcoTecHub Bergkamen Vorstudie",
    "5-StandorteProgramm Fortschrittsbericht",
    "Transformationsbüro Herne STARK",
    "Kraftwerksgelände Nachnutzung Voerde",
    "Just Transition Fund Gelsenkirchen",
    "Qualifizierung Beschäftigte Strukturwandel",
    "Schwammstadt Klimaanpassung Kamen",
    "Machbarkeitsstudie Gersteinwerk Werne",
    "Fördermittel Millionen Euro Bewilligung",
    "Ruhr-Konferenz Klimaresilienz",
    "Wasserstoffzentrum Hamm Uentrop",
    "Mobilstationen Selm",
    "Grüner Lückenschluss Ruhrtal Schwerte",
    "Flächenpool Walsum",
    "Hochvolt Kompetenzzentrum Dortmund",
    "Förderaufruf EFRE JTF Emscher-Lippe",
    "Kohleausstieg Arbeitsplätze Region",
    "§ 4 Abs. 2 Förderrichtlinie",
    "Investitionen Gewerbeflächen Lünen",
)
PLACES = ("Kreis Unna", "Bergkamen", "Gelsenkirchen", "Herne", "Hamm", "Duisburg")
PROGRAMS = ("5-StandorteProgramm", "STARK")
DOC_TYPES = ("press_release", "project_page", "progress_report")


def request_for(rng: random.Random, doc_ids: list[str]) -> tuple[str, str, dict[str, Any]]:
    """(kind, path, params) of one request of the mix: mostly /search with varying modes and filters,
    some web page searches and document views."""
    roll = rng.random()
    if roll < 0.08 and doc_ids:
        return "document", f"/documents/{rng.choice(doc_ids)}", {}
    query = rng.choice(QUERIES)
    if roll < 0.18:
        return "page", "/", {"q": query}
    params: dict[str, Any] = {"q": query, "mode": rng.choice(("hybrid", "hybrid", "dense", "lexical"))}
    extra = rng.random()
    if extra < 0.15:
        params["place"] = rng.choice(PLACES)
    elif extra < 0.25:
        params["program"] = rng.choice(PROGRAMS)
    elif extra < 0.35:
        params["doc_type"] = rng.choice(DOC_TYPES)
    elif extra < 0.45:
        params["date_from"], params["date_to"] = "2021-01-01", "2024-12-31"
    elif extra < 0.50:
        params["language"] = "de"
    if rng.random() < 0.1:
        params["page"] = 2
    return "search", "/search", params


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


@dataclass
class Phase:
    clients: int
    seconds: float
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rss_start_mb: float
    rss_end_mb: float
    rss_max_mb: float
    by_kind: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    base_url: str
    pid: int
    rss_after_warmup_mb: float
    rss_end_mb: float
    rss_growth_mb: float
    rss_allowed_growth_mb: float
    memory_flat: bool
    phases: list[Phase]
    started_at: str
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(p.errors for p in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}

    def markdown(self) -> str:
        lines = [
            f"# Load test ({self.started_at})",
            "",
            f"Server {self.base_url} (pid {self.pid}); `python -m evaluation.bench.load`. Memory: RSS after warm-up "
            f"{self.rss_after_warmup_mb:.1f} MB, at the end {self.rss_end_mb:.1f} MB "
            f"(growth {self.rss_growth_mb:+.1f} MB, allowed {self.rss_allowed_growth_mb:.1f} MB): "
            f"**{'flat' if self.memory_flat else 'NOT flat'}**.",
            "",
            "| clients | seconds | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms | max ms "
            "| RSS start MB | RSS end MB | RSS max MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in self.phases:
            lines.append(
                f"| {p.clients} | {p.seconds:.1f} | {p.requests} | {p.errors} | {p.throughput_rps:.1f} "
                f"| {p.p50_ms:.0f} | {p.p95_ms:.0f} | {p.p99_ms:.0f} | {p.max_ms:.0f} | {p.rss_start_mb:.1f} "
                f"| {p.rss_end_mb:.1f} "
                f"| {p.rss_max_mb:.1f} |"
            )
        lines += [
            "",
            "Request mix per phase: "
            + "; ".join(
                f"{p.clients} clients: " + ", ".join(f"{k} {n}" for k, n in sorted(p.by_kind.items()))
                for p in self.phases
            ),
        ]
        for p in self.phases:
            for example in p.error_examples:
                lines.append(f"- error ({p.clients} clients): {example}")
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _check_local(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {base_url}: only 127.0.0.1 is a target")


def _client_loop(
    base_url: str,
    seed: int,
    deadline: float,
    max_requests: int,
    doc_ids: list[str],
    out: list[tuple[str, float, str | None]],
) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as client:
        for _ in range(max_requests):
            if time.monotonic() >= deadline:
                return
            kind, path, params = request_for(rng, doc_ids)
            started = time.perf_counter()
            error = None
            try:
                response = client.get(path, params=params)
                if response.status_code != 200:
                    error = f"{path} {params} -> HTTP {response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                error = f"{path} {params} -> {type(exc).__name__}: {exc}"
            out.append((kind, (time.perf_counter() - started) * 1000, error))


def run_phase(
    base_url: str,
    pid: int,
    clients: int,
    seconds: float,
    doc_ids: list[str],
    *,
    seed: int = 0,
    max_requests: int = 100_000,
) -> Phase:
    """``clients`` threads, each with its own connection, for ``seconds`` (or ``max_requests`` each)."""
    _check_local(base_url)
    results: list[list[tuple[str, float, str | None]]] = [[] for _ in range(clients)]
    rss_start = rss_mb(pid)
    rss_max = rss_start
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(base_url, seed * 1000 + i, deadline, max_requests, doc_ids, results[i]),
            daemon=True,
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        rss_max = max(rss_max, rss_mb(pid))
        for t in threads:
            t.join(0.25 / max(1, clients))
        if time.monotonic() > deadline + 120:
            break  # a request hangs beyond its own timeout: report what we have
    elapsed = time.monotonic() - started
    rows = [r for per_client in results for r in per_client]
    latencies = [ms for _, ms, _ in rows]
    errors = [e for _, _, e in rows if e]
    rss_end = rss_mb(pid)
    return Phase(
        clients=clients,
        seconds=round(elapsed, 2),
        requests=len(rows),
        errors=len(errors),
        throughput_rps=round(len(rows) / elapsed, 2) if elapsed else 0.0,
        p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(percentile(latencies, 0.95), 1),
        p99_ms=round(percentile(latencies, 0.99), 1),
        max_ms=round(max(latencies, default=0.0), 1),
        rss_start_mb=round(rss_start, 1),
        rss_end_mb=round(rss_end, 1),
        rss_max_mb=round(max(rss_max, rss_end), 1),
        by_kind=dict(Counter(kind for kind, _, _ in rows)),
        error_examples=errors[:5],
    )


def collect_doc_ids(base_url: str) -> list[str]:
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as client:
        ids: list[str] = []
        for query in QUERIES[:6]:
            body = client.get("/search", params={"q": query, "page_size": 10}).json()
            ids += [group["doc_id"] for group in body.get("results", [])]
    return sorted(set(ids))


def run_load(
    base_url: str, pid: int, clients: list[int], seconds: float, *, warmup_s: float = 5.0, max_requests: int = 100_000
) -> LoadReport:
    """Warm up, then one phase per client count; the memory verdict compares RSS after the warm-up
    with RSS after the last phase."""
    _check_local(base_url)
    started_at = time.strftime("%Y-%m-%d %H:%M:%S")
    doc_ids = collect_doc_ids(base_url)
    run_phase(base_url, pid, max(clients), warmup_s, doc_ids, seed=99, max_requests=max_requests)
    rss_warm = rss_mb(pid)
    phases = [
        run_phase(base_url, pid, n, seconds, doc_ids, seed=i, max_requests=max_requests) for i, n in enumerate(clients)
    ]
    rss_end = rss_mb(pid)
    allowed = max(RSS_MARGIN_MB, RSS_MARGIN_SHARE * rss_warm)
    return LoadReport(
        base_url=base_url,
        pid=pid,
        rss_after_warmup_mb=round(rss_warm, 1),
        rss_end_mb=round(rss_end, 1),
        rss_growth_mb=round(rss_end - rss_warm, 1),
        rss_allowed_growth_mb=round(allowed, 1),
        memory_flat=rss_end - rss_warm <= allowed,
        phases=phases,
        started_at=started_at,
        notes=[
            f"{len(doc_ids)} documents in the document-view mix; warm-up {warmup_s:g} s with {max(clients)} clients"
        ],
    )


def write_report(report: LoadReport, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "load.json", folder / "load.md"
    json_path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(report.markdown(), encoding="utf-8")
    return json_path, md_path


# ----------------------------------------------------------------------------- the server


def _env(model_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOERDERSUCHE_")}
    env["FOERDERSUCHE_MODEL_DIR"] = str(model_dir)
    env["FOERDERSUCHE_SEARCH_RATE_LIMIT"] = "0"  # every client comes from 127.0.0.1
    return env


def ingest_sample(data_dir: Path, model_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "foerdersuche.cli",
        "--data-dir",
        str(data_dir),
        "ingest",
        str(PROJECT_ROOT / "corpus" / "sample"),
        "--json",
    ]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=_env(model_dir), capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"ingest failed: {done.stderr[-2000:]}")


def start_server(data_dir: Path, model_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "foerdersuche.cli", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=_env(model_dir), stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            ready = httpx.get(base_url + "/readyz", timeout=5, trust_env=False).status_code == 200
            if ready and not summaries_loading(httpx.get(base_url + "/metrics", timeout=5, trust_env=False).text):
                return  # the steady state: the ranking fields read into memory
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server at {base_url} was not ready after {timeout_s:g} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="8,32", help="Comma-separated client counts, one phase each.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of each phase.")
    parser.add_argument("--warmup-seconds", type=float, default=5.0)
    parser.add_argument(
        "--max-requests", type=int, default=100_000, help="Upper bound of requests per client and phase."
    )
    parser.add_argument("--url", help="Drive a running server (127.0.0.1 only); needs --pid.")
    parser.add_argument("--pid", type=int, help="Process id of that server (for its RSS).")
    parser.add_argument("--data-dir", type=Path, help="Data dir to serve; ingested with the sample corpus if empty.")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]

    proc = None
    scratch = None
    try:
        if args.url:
            if not args.pid:
                parser.error("--url needs --pid")
            base_url, pid = args.url.rstrip("/"), args.pid
        else:
            model_dir = Settings().model_path
            if args.data_dir is None:
                scratch = Path(tempfile.mkdtemp(prefix="foerdersuche-load-"))
                data_dir = scratch / "data"
            else:
                data_dir = args.data_dir
            data_dir.mkdir(parents=True, exist_ok=True)
            if not (data_dir / "registry.sqlite3").exists():
                print(f"ingesting corpus/sample into {data_dir} ...", file=sys.stderr, flush=True)
                ingest_sample(data_dir, model_dir)
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            proc = start_server(data_dir, model_dir, port)
            wait_ready(base_url, proc)
            pid = proc.pid
        print(f"load on {base_url}: clients {clients}, {args.seconds:g} s each", file=sys.stderr, flush=True)
        report = run_load(
            base_url, pid, clients, args.seconds, warmup_s=args.warmup_seconds, max_requests=args.max_requests
        )
    finally:
        if proc is not None:
            stop_server(proc)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    json_path, md_path = write_report(report, args.report_dir)
    print(report.markdown())
    print(f"written: {json_path} {md_path}", file=sys.stderr)
    return 0 if report.errors == 0 and report.memory_flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
