"""Search latency through HTTP while an ingest runs beside the server (a report, not a test).

    python -m evaluation.bench.ingest_load --data-dir DIR [--queries 200] [--report-dir evaluation/reports/ingest_load]

A real ``foerdersuche serve`` over the index in ``DIR`` (a kept benchmark index, or any data dir with
its registry), admin key set, query cache off (every request embeds its query). One client sends the
domain collection's queries, hybrid, one at a time, over a keep-alive connection, in four phases:

1. ``quiet``: nothing else runs in the server;
2. ``admin-job``: ``POST /ingest`` of ``corpus/sample`` (``force``: every file parsed, embedded and
   written again, then the index optimized), queries until the job has finished;
3. ``cli-ingest``: ``foerdersuche ingest corpus/sample --force`` in another process, which finds the
   running server through its server record and runs the same job there (``foerdersuche.server_link``);
4. ``quiet-after``: nothing runs again (the index now holds the re-ingested passages too).

Each phase reports p50/p95/p99/max of the queries it timed and the longest gap between two answers
(a stall shows there, where a percentile may hide it); the verdict compares the p95 of each ingest
phase with the lower p95 of the two quiet phases (the issue's target: at most 3x). The phases run one
after the other, so the machine's load (reported at each phase) weighs on them as it changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from evaluation.bench.queries import percentiles
from evaluation.bench.server import free_port, stop, wait_ready
from evaluation.quality.collection import load_domain

PROJECT = Path(__file__).resolve().parents[2]
INGEST_PATH = "corpus/sample"
ADMIN_KEY = "ingest-load-benchmark"
TARGET_RATIO = 3.0
QUIET_QUERIES = 200


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def server_env(data_dir: Path, model_dir: Path | None) -> dict[str, str]:
    env = {
        **os.environ,
        "FOERDERSUCHE_DATA_DIR": str(data_dir),
        "FOERDERSUCHE_ADMIN_KEY": ADMIN_KEY,
        "FOERDERSUCHE_QUERY_CACHE_SIZE": "0",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": str(PROJECT),
    }
    if model_dir is not None:
        env["FOERDERSUCHE_MODEL_DIR"] = str(model_dir)
    return env


def query_phase(
    client: httpx.Client, texts: list[str], running: Callable[[], bool], at_least: int = 0
) -> dict[str, Any]:
    """Hybrid queries one at a time while ``running()`` (and at least ``at_least`` of them)."""
    times: list[float] = []
    gaps: list[float] = []
    errors = 0
    started = time.perf_counter()
    last = started
    i = 0
    while running() or i < at_least:
        t = time.perf_counter()
        response = client.get("/search", params={"q": texts[i % len(texts)], "mode": "hybrid", "k": 10})
        done = time.perf_counter()
        errors += response.status_code != 200
        times.append((done - t) * 1000)
        gaps.append((done - last) * 1000)
        last = done
        i += 1
    row: dict[str, Any] = percentiles(times) if len(times) >= 2 else {"n": len(times)}
    row.update(
        {
            "max": round(max(times), 1) if times else None,
            "longest_gap_ms": round(max(gaps), 1) if gaps else None,
            "seconds": round(time.perf_counter() - started, 1),
            "errors": errors,
            "load": _load(),
        }
    )
    return row


def run(data_dir: Path, model_dir: Path | None, queries: int) -> dict[str, Any]:
    texts = [q.text for q in load_domain().queries]
    port = free_port()
    env = server_env(data_dir, model_dir)
    command = [sys.executable, "-m", "foerdersuche.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    report: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_dir": str(data_dir),
        "load_start": _load(),
        "phases": {},
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600.0) as client:
            wait_ready(client, server, timeout_s=600)
            report["passages"] = int(client.get("/facets").json()["total_passages"])
            query_phase(client, texts, lambda: False, len(texts))  # warm-up: one pass over the queries
            report["phases"]["quiet"] = query_phase(client, texts, lambda: False, queries)

            headers = {"X-API-Key": ADMIN_KEY}
            job = client.post("/ingest", json={"paths": [INGEST_PATH], "force": True}, headers=headers)
            job.raise_for_status()
            job_id = job.json()["job_id"]
            state: dict[str, Any] = {}

            def job_running() -> bool:
                state.update(client.get(f"/jobs/{job_id}", headers=headers).json())
                return state["status"] in ("queued", "running")

            started = time.perf_counter()
            phase = query_phase(client, texts, job_running)
            phase["ingest_seconds"] = round(time.perf_counter() - started, 1)
            phase["job_status"] = state.get("status")
            phase["passages_written"] = (state.get("report") or {}).get("passages_written")
            report["phases"]["admin-job"] = phase

            cli = subprocess.Popen(
                [sys.executable, "-m", "foerdersuche.cli", "ingest", INGEST_PATH, "--force"],
                env=env,
                cwd=PROJECT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            started = time.perf_counter()
            phase = query_phase(client, texts, lambda: cli.poll() is None)
            phase["ingest_seconds"] = round(time.perf_counter() - started, 1)
            phase["cli_exit"] = cli.returncode
            if cli.returncode != 0 and cli.stderr is not None:
                phase["cli_stderr"] = cli.stderr.read()[-2000:]
            report["phases"]["cli-ingest"] = phase

            report["phases"]["quiet-after"] = query_phase(client, texts, lambda: False, queries)
    finally:
        stop(server, timeout_s=60)
    report["verdict"] = verdict(report["phases"])
    report["load_end"] = _load()
    return report


def verdict(phases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ingest phase's p95 against the lower p95 of the two quiet phases (the host's other load
    varies); a phase whose ingest did not succeed measured no ingest and does not meet the target."""
    quiet = min(phases["quiet"]["p95"], phases["quiet-after"]["p95"])
    out = []
    for name in ("admin-job", "cli-ingest"):
        phase = phases[name]
        failed = phase.get("job_status", "succeeded") != "succeeded" or phase.get("cli_exit", 0) != 0
        p95 = phase.get("p95")
        out.append(
            {
                "phase": name,
                "p95_ms": p95,
                "quiet_p95_ms": quiet,
                "ratio": round(p95 / quiet, 2) if p95 is not None else None,
                "ingest_failed": failed,
                "met": p95 is not None and not failed and p95 <= TARGET_RATIO * quiet,
            }
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Search during an ingest",
        "",
        f"- created {report['created']}; {report.get('passages')} passages served; load average at start "
        f"{report['load_start']}, at end {report['load_end']}",
        "- `GET /search` hybrid, k 10, one client, query cache off; an ingest of `corpus/sample` (force) as an "
        "admin job, then through the CLI in another process (`python -m evaluation.bench.ingest_load`)",
        "",
        "| phase | queries | p50 ms | p95 ms | p99 ms | max ms | longest gap ms | ingest s | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in report["phases"].items():
        lines.append(
            f"| {name} | {row.get('n')} | {row.get('p50', '')} | {row.get('p95', '')} | {row.get('p99', '')} | "
            f"{row.get('max')} | {row.get('longest_gap_ms')} | {row.get('ingest_seconds', '')} | {row['load']} |"
        )
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for v in report["verdict"]:
        lines.append(
            f"| hybrid p95 during the {v['phase']} <= {TARGET_RATIO:g}x quiet | "
            f"{v['p95_ms']} vs {v['quiet_p95_ms']} ms ({v['ratio']}x)"
            f"{' (the ingest failed: no measurement)' if v.get('ingest_failed') else ''} | "
            f"{'yes' if v['met'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=QUIET_QUERIES)
    parser.add_argument("--report-dir", type=Path, default=PROJECT / "evaluation" / "reports" / "ingest_load")
    args = parser.parse_args(argv)
    report = run(args.data_dir.resolve(), args.model_dir, args.queries)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "ingest_load.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    (args.report_dir / "ingest_load.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
