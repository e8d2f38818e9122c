"""What the index build costs, per choice of graph links (a report, not a test).

    python -m evaluation.bench.build_variants --data-dir DIR [--variants current,all,none] [--m 16,32]
        [--quantization on,off] [--report-dir evaluation/reports/build]

``DIR`` is a kept benchmark index (``foerdersuche bench --passages 100000 --keep-index`` leaves one in
``<data_dir>/bench/index-100000``) or any data dir. Its points (vectors and payloads as stored) are
copied into a fresh Qdrant Edge shard per variant, the shard is optimized (the timed HNSW build), and
its HNSW recall@10 against exact search is measured with the benchmark's query embeddings, unfiltered
and with the benchmark's two filters (``evaluation.bench.queries.FILTERS``). The source is only read.

Variants say which payload fields get graph links of their own (the engine's payload-aware HNSW):
``current`` the store's choice (``core.store.edge.LINKED_FIELDS``), ``all`` every indexed field (the
engine's default, the store's choice before), ``none`` no field. Each runs with every ``--m``
(links per point of the main graph) and every ``--quantization`` (``on``: the dense vectors walked as
int8 copies, the originals on disk for rescoring, the store's choice; ``off``: float16 vectors only).
After the recall, the dense query as the Searcher sends it (limit 100, the summary payload read from
the engine, as without the server's table of candidates) is timed over the query embeddings,
unfiltered and with the broad filter (p50 / p95 ms). The variants run one after the other in this
process; the machine's load at start and end of each build is in the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

import runtime
from core.settings import Settings
from core.store import edge, schema
from core.store.base import SearchFilter, StoreQuery
from evaluation.bench.benchmark import bench_ingest, query_texts
from evaluation.bench.queries import FILTER, FILTERS, hnsw_recall, percentiles

PROJECT = Path(__file__).resolve().parents[2]
VARIANTS = ("current", "all", "none")
QUANTIZATION = {"on": True, "off": False}
LATENCY = {"unfiltered": SearchFilter(), "broad": FILTER}
_COPY_PAGE = 512
Progress = Callable[[str], None]


def linked_fields(variant: str) -> frozenset[str] | None:
    """The fields a variant links; ``None``: every field (the engine's default)."""
    if variant == "current":
        return edge.LINKED_FIELDS
    if variant == "all":
        return None
    if variant == "none":
        return frozenset()
    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")


def _points(shard: Path) -> Iterator[list[qe.Point]]:
    source = qe.EdgeShard.load(str(shard), None)
    try:
        offset: Any = None
        while True:
            request = qe.ScrollRequest(offset=offset, limit=_COPY_PAGE, with_payload=True, with_vector=True)
            records, offset = source.scroll(request)
            yield [qe.Point(r.id, r.vector or {}, r.payload) for r in records]
            if offset is None:
                return
    finally:
        source.close()


def _create(path: Path, dim: int, m: int, linked: frozenset[str] | None, quantized: bool) -> qe.EdgeShard:
    """A new shard with the store's configuration but ``m``, the links of ``linked`` and ``quantized``."""
    shard = qe.EdgeShard.create(str(path), edge._edge_config(dim, m=m, quantized=quantized))
    edge.write_marker(path)
    for name in edge.INDEXED_FIELDS:
        shard.update(qe.UpdateOperation.create_field_index(name, edge.index_params(name, linked)))
    return shard


def dense_latency(store: edge.EdgeStore, vectors: np.ndarray, flt: SearchFilter | None) -> dict[str, float]:
    """p50 / p95 ms of the dense query the Searcher sends (limit 100, summary payload), two rounds."""
    samples = []
    for _round in range(2):
        for v in vectors:
            query = StoreQuery(limit=100, dense=tuple(float(x) for x in v), filter=flt, payload="summary")
            started = time.perf_counter()
            store.query_batch([query])
            samples.append((time.perf_counter() - started) * 1000)
    measured = percentiles(samples)
    return {"p50": measured["p50"], "p95": measured["p95"]}


def build(
    source: Path, target: Path, variant: str, m: int, vectors: np.ndarray, quantized: bool = True
) -> dict[str, Any]:
    """Copy ``source``'s points into a new shard at ``target``, optimize it (timed), measure recall
    and the dense query's latency."""
    dim = int(vectors.shape[1])
    linked = linked_fields(variant)
    shard = _create(target, dim, m, linked, quantized)
    started = time.perf_counter()
    points = 0
    try:
        for page in _points(source):
            shard.update(qe.UpdateOperation.upsert_points(page))
            points += len(page)
    finally:
        shard.close()
    copy_s = time.perf_counter() - started
    store = edge.EdgeStore(target)
    try:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        recalls = {
            label: hnsw_recall(store, vectors, None if flt.is_empty() else flt)["recall@10"]
            for label, flt in FILTERS.items()
        }
        latency = {
            label: dense_latency(store, vectors, None if flt.is_empty() else flt) for label, flt in LATENCY.items()
        }
    finally:
        store.close()
    return {
        "variant": variant,
        "m": m,
        "quantized": quantized,
        "dense_ms": latency,
        "linked": "all" if linked is None else sorted(linked),
        "points": points,
        "copy_seconds": round(copy_s, 1),
        "optimize_seconds": round(optimize_s, 1),
        "load": [round(load_before, 2), round(load_after, 2)],
        "recall@10": recalls,
    }


def query_vectors(settings: Settings) -> np.ndarray:
    """The benchmark's recall queries (domain queries, then first sentences of the sample passages),
    embedded as queries by the serving embedder."""
    _ingest, base = bench_ingest(repeats=1)
    embedder = runtime.build_embedder(settings, serving=True)
    return np.asarray(embedder.embed_queries(query_texts(base)[1]), dtype=np.float32)


def run(
    data_dir: Path,
    variants: Sequence[str],
    ms: Sequence[int],
    vectors: np.ndarray,
    progress: Progress,
    quantizations: Sequence[bool] = (True,),
) -> dict[str, Any]:
    source = data_dir / "index" / "passages"
    if not (source / "edge_config.json").exists():
        raise SystemExit(f"no Qdrant Edge shard at {source}: give a kept benchmark index or a data dir")
    rows = []
    with tempfile.TemporaryDirectory(prefix="build-variants-", dir=data_dir.parent) as scratch:
        for variant in variants:
            for m in ms:
                for quantized in quantizations:
                    progress(f"{variant}, m {m}, quantized {quantized}: copying and building")
                    target = Path(scratch) / f"{variant}-{m}-{'q' if quantized else 'f'}"
                    rows.append(build(source, target, variant, m, vectors, quantized))
                    shutil.rmtree(target)
                    progress(json.dumps(rows[-1]))
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "source": str(data_dir),
        "cpus": os.cpu_count(),
        "queries": int(vectors.shape[0]),
        "filters": {label: str(flt) for label, flt in FILTERS.items()},
        "rows": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Index build per choice of graph links",
        "",
        f"{report['date']}, source `{report['source']}`, {report['cpus']} CPUs, "
        f"recall over {report['queries']} query embeddings against exact search.",
        "",
        "| variant | m | int8 | points | optimize | load start / end | recall@10 unfiltered / broad / narrow "
        "| dense query (limit 100, summary payload) p50 / p95 unfiltered, broad |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for r in report["rows"]:
        rec = r["recall@10"]
        lat = r.get("dense_ms", {})
        timing = ", ".join(f"{lat[k]['p50']} / {lat[k]['p95']} ms" for k in LATENCY if k in lat)
        lines.append(
            f"| {r['variant']} | {r['m']} | {'yes' if r.get('quantized', False) else 'no'} | {r['points']:,} | "
            f"{r['optimize_seconds']} s | {r['load'][0]} / {r['load'][1]} | "
            f"{rec['unfiltered']} / {rec['filtered']} / {rec['filtered-narrow']} | {timing} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--variants", default="current,all,none")
    parser.add_argument("--m", default=f"{schema.HNSW_M}")
    parser.add_argument("--quantization", default="on", help="on, off or on,off")
    parser.add_argument("--report-dir", type=Path, default=PROJECT / "evaluation" / "reports" / "build")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        linked_fields(v)  # unknown names fail before any work
    ms = [int(x) for x in args.m.split(",")]
    names = [q.strip() for q in args.quantization.split(",") if q.strip()]
    if not names or any(q not in QUANTIZATION for q in names):
        raise SystemExit(f"--quantization takes {', '.join(QUANTIZATION)} (comma-separated)")
    settings = Settings()

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    report = run(args.data_dir, variants, ms, query_vectors(settings), progress, [QUANTIZATION[q] for q in names])
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "build_variants.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (args.report_dir / "build_variants.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
