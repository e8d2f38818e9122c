"""How long queries stop while the index is built after a large write (a report, not a test).

    python -m evaluation.bench.optimize_stall --data-dir DIR [--add 20000] [--modes in-place,aside]
        [--report-dir evaluation/reports/build]

``DIR`` is a kept benchmark index (``foerdersuche bench --passages 100000 --keep-index`` leaves one in
``<data_dir>/bench/index-100000``). For each mode its shard is copied into a scratch directory, opened
as the server opens it (``EdgeStore``), and ``--add`` points are written (copies of its own points
under new ids, vectors and payloads as stored: what a large ingest leaves waiting for the graph).
Then a reader thread sends the benchmark's dense queries (limit 100, summary payload) one after the
other, as requests of a server would, while the main thread runs ``store.optimize()``:

* ``in-place``: the engine's optimize in this process (what a CLI ingest does);
* ``aside``: ``EdgeStore.build_aside`` as the server sets it: the copy is built by a child process
  and swapped in under a lock that the reader takes for every query (the server's index lock).

Reported per mode: the optimize's wall time, the queries answered during it, their p50/p95/max, and
the longest gap between two answers (where a stall shows). The source is only read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from core.settings import Settings
from core.store.base import StoreQuery
from core.store.edge import EdgeStore, marker_path
from evaluation.bench.build_variants import _points, query_vectors
from evaluation.bench.queries import percentiles

PROJECT = Path(__file__).resolve().parents[2]
MODES = ("in-place", "aside")


def add_copies(store: EdgeStore, source: Path, n: int) -> int:
    """Write ``n`` copies of ``source``'s points under new ids into ``store``'s shard."""
    shard = store._writable()
    written = 0
    while written < n:
        for page in _points(source):
            points = [qe.Point(str(uuid.uuid4()), p.vector, p.payload) for p in page[: n - written]]
            shard.update(qe.UpdateOperation.upsert_points(points))
            written += len(points)
            if written >= n:
                break
    return written


def measure(shard: Path, vectors: np.ndarray, mode: str, add: int, scratch: Path) -> dict[str, Any]:
    target = scratch / mode / shard.name
    target.parent.mkdir(parents=True)
    shutil.copytree(shard, target)
    shutil.copy2(marker_path(shard), marker_path(target))
    store = EdgeStore(target)
    lock = threading.Lock()  # the server's index lock: every query reads under it, the swap takes it
    try:
        store.ensure_collection(int(vectors.shape[1]))
        added = add_copies(store, shard, add)
        pending = store.pending_points()
        if mode == "aside":
            store.build_aside(lambda: lock)
        answered: list[tuple[float, float]] = []  # (finished at, ms)
        done = threading.Event()

        def reader() -> None:
            i = 0
            while not done.is_set():
                dense = tuple(float(x) for x in vectors[i % len(vectors)])
                started = time.perf_counter()
                with lock:
                    store.query_batch([StoreQuery(limit=100, dense=dense, payload="summary")])
                now = time.perf_counter()
                answered.append((now, (now - started) * 1000))
                i += 1

        thread = threading.Thread(target=reader, name="reader")
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        thread.start()
        store.optimize()
        finished = time.perf_counter()
        done.set()
        thread.join()
        during = [ms for at, ms in answered if at <= finished]
        stamps = [started] + [at for at, _ms in answered if at <= finished] + [finished]
        return {
            "mode": mode,
            "points": store.count(),
            "added": added,
            "pending_before": pending,
            "pending_after": store.pending_points(),
            "optimize_seconds": round(finished - started, 1),
            "queries_during": len(during),
            "latency_ms": percentiles(during) if len(during) >= 2 else {"n": len(during)},
            "max_ms": round(max(during), 1) if during else None,
            "aside": store.last_aside,
            "longest_gap_ms": round(max(b - a for a, b in itertools.pairwise(stamps)) * 1000, 1),
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    finally:
        store.close()
        shutil.rmtree(target.parent)


def run(data_dir: Path, modes: Sequence[str], add: int, vectors: np.ndarray) -> dict[str, Any]:
    shard = data_dir / "index" / "passages"
    if not (shard / "edge_config.json").exists():
        raise SystemExit(f"no Qdrant Edge shard at {shard}: give a kept benchmark index or a data dir")
    rows = []
    with tempfile.TemporaryDirectory(prefix="optimize-stall-", dir=data_dir.parent) as scratch:
        for mode in modes:
            print(f"{mode}: copying, adding {add} points, building", file=sys.stderr, flush=True)
            rows.append(measure(shard, vectors, mode, add, Path(scratch)))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "source": str(data_dir),
        "cpus": os.cpu_count(),
        "rows": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Queries while the index is built after a large write",
        "",
        f"{report['date']}, source `{report['source']}`, {report['cpus']} CPUs; dense queries (limit 100) "
        "one after the other during `optimize()`.",
        "",
        "| mode | points | waiting for the graph | optimize (copy / build / swap) | queries during | "
        "p50 / p95 / max | longest gap | load |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in report["rows"]:
        lat = r["latency_ms"]
        spread = f"{lat.get('p50', '-')} / {lat.get('p95', '-')} / {r['max_ms']} ms"
        parts = r.get("aside")
        steps = f" ({parts['copy_seconds']} / {parts['build_seconds']} / {parts['swap_seconds']} s)" if parts else ""
        lines.append(
            f"| {r['mode']} | {r['points']:,} | {r['pending_before']:,} | {r['optimize_seconds']} s{steps} | "
            f"{r['queries_during']:,} | {spread} | {r['longest_gap_ms']} ms | {r['load'][0]} / {r['load'][1]} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--add", type=int, default=20000)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--report-dir", type=Path, default=PROJECT / "evaluation" / "reports" / "build")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    report = run(args.data_dir, modes, args.add, query_vectors(Settings()))
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "optimize_stall.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (args.report_dir / "optimize_stall.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
