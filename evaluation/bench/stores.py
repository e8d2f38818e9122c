"""Store micro-benchmark: upsert throughput and query latency of both adapters on random vectors.

    .venv/bin/python -m evaluation.bench.stores --points 20000 [--url http://localhost:6333]

Edge runs in a temporary directory (HNSW built by ``optimize`` before the queries); the remote
adapter runs on qdrant-client's ``:memory:`` mode unless ``--url`` names a server. Vectors are random
(384-d dense, ~40 non-zeros of a 30,000-term vocabulary), so only speed is measured, not quality.
Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.ids import passage_id_for
from core.models import Annotations, DocInfo, DocType, Passage
from core.store.base import IndexPoint, SearchFilter, SparseVec, Store, StoreQuery

DIM = 384
VOCAB = 30_000
DOC_TYPES = list(DocType)


def random_sparse(rng: np.random.Generator, n: int) -> SparseVec:
    # Zipf-like term ids: a few frequent terms, a long tail, as in real text.
    ids = np.unique(np.minimum(rng.zipf(1.3, size=n), VOCAB) - 1)
    return SparseVec(tuple(int(i) for i in ids), tuple(float(v) for v in rng.integers(1, 4, size=len(ids))))


def random_dense(rng: np.random.Generator) -> tuple[float, ...]:
    v = rng.normal(size=DIM).astype(np.float32)
    return tuple(float(x) for x in v / np.linalg.norm(v))


def make_points(n: int, seed: int = 0) -> list[IndexPoint]:
    rng = np.random.default_rng(seed)
    points = []
    for i in range(n):
        doc_id = f"doc{i // 8:06d}"
        doc = DocInfo(
            doc_id=doc_id,
            source=f"bench/{doc_id}.html",
            title=f"Dokument {doc_id}",
            doc_type=DOC_TYPES[(i // 8) % len(DOC_TYPES)],
            date=f"20{15 + (i // 8) % 10}-0{1 + i % 9}-15",
            language="de",
            source_name="bench",
        )
        passage = Passage(
            passage_id=passage_id_for(doc_id, i % 8),
            doc_id=doc_id,
            ordinal=i % 8,
            text="Förderung " * 60,
            char_start=0,
            char_end=600,
            annotations=Annotations(place_keys=(f"05{(i // 8) % 40:03d}",), programs=("STARK",)),
        )
        points.append(IndexPoint(passage=passage, doc=doc, dense=random_dense(rng), sparse=random_sparse(rng, 40)))
    return points


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples_ms, n=20)
    return statistics.median(samples_ms), qs[18]


def bench(name: str, store: Store, points: list[IndexPoint], n_queries: int, batch: int) -> list[str]:
    rows = []
    store.ensure_collection(DIM)
    start = time.perf_counter()
    for i in range(0, len(points), batch):
        store.upsert(points[i : i + batch])
    upsert_s = time.perf_counter() - start
    start = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - start
    rows.append(f"| {name} | upsert, {batch} points per call | {len(points) / upsert_s:,.0f} | | |")
    rows.append(f"| {name} | optimize (builds HNSW): {optimize_s:.1f} s | | | |")

    rng = np.random.default_rng(1)
    flt = SearchFilter(doc_types=(DocType.PRESS_RELEASE.value,), date_from="2018-01-01")
    kinds: dict[str, Callable[[SearchFilter | None], StoreQuery]] = {
        "dense": lambda f: StoreQuery(limit=10, dense=random_dense(rng), filter=f),
        "sparse": lambda f: StoreQuery(limit=10, sparse=random_sparse(rng, 6), filter=f),
        "fused rrf": lambda f: StoreQuery(
            limit=10, dense=random_dense(rng), sparse=random_sparse(rng, 6), filter=f, prefetch_limit=100
        ),
    }
    for kind, make in kinds.items():
        for label, f in (("no filter", None), ("filter", flt)):
            samples = []
            for _ in range(n_queries):
                q = make(f)
                t = time.perf_counter()
                store.query_batch([q])
                samples.append((time.perf_counter() - t) * 1000)
            p50, p95 = percentiles(samples)
            rows.append(f"| {name} | {kind}, {label} | | {p50:.2f} | {p95:.2f} |")
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per row (Edge, server)")
    parser.add_argument(
        "--memory-queries", type=int, default=20, help="queries per row for :memory: (brute force in Python, slow)"
    )
    parser.add_argument("--batch", type=int, default=256, help="points per upsert call")
    parser.add_argument("--url", default=None, help="Qdrant server for the remote adapter (default: :memory:)")
    args = parser.parse_args()

    from qdrant_client import QdrantClient

    from core.store.edge import EdgeStore
    from core.store.remote import RemoteStore

    points = make_points(args.points)
    rows = ["| adapter | operation | points/s | p50 ms | p95 ms |", "|---|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench("edge", EdgeStore(Path(tmp) / "bench"), points, args.queries, args.batch)
    if args.url:
        remote = RemoteStore.connect(args.url, None, "store_bench")
        label, n_queries = "server", args.queries
    else:
        remote = RemoteStore(QdrantClient(":memory:"), "store_bench")
        label, n_queries = "client :memory:", args.memory_queries
    with warnings.catch_warnings():
        # Local mode says payload indexes and search params have no effect there; expected.
        warnings.simplefilter("ignore", UserWarning)
        rows += bench(f"remote ({label})", remote, points, n_queries, args.batch)
    print(f"{args.points:,} points, {DIM}-d dense + sparse; filter: doc_type (1 of 4) and date_from\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
