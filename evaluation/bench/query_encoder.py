"""The query path of a serving process, ONNX Runtime against torch: ``python -m evaluation.bench.query_encoder``
(also a stage of ``foerdersuche bench``).

Each backend runs in a process of its own, as it would serve: the process loads the query embedder
(``core.model.embedding.load_runtime_embedder`` with ``query_backend`` set, passages never loaded), embeds the
domain collection's queries one at a time after a warm-up, and reports the time of each, its load
time, its resident memory (now and peak) and whether torch was imported. Processes of the two
backends alternate, ``rounds`` times, in rotating order, so a drift of the host's load falls on both;
per backend and query the median over rounds is kept, and the paired ratio (median over queries of
ONNX time / torch time, bootstrap 95% interval) is the figure to quote on this shared machine. A
repeated query is answered by the query cache: its time is measured too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.settings import Settings

BACKENDS = ("onnx-int8", "torch")  # "torch" = what the embed backend "auto" resolves to (torch-bf16 here)
WARMUP = 5


def _child(model_dir: Path | None, backend: str, texts: Sequence[str]) -> dict[str, Any]:
    from core.model.embedding import RuntimeEmbedder, load_runtime_embedder
    from evaluation.bench.queries import memory

    query_backend = "same" if backend == "torch" else backend
    settings = Settings(model_dir=model_dir, query_backend=query_backend, query_cache_size=0)  # type: ignore[arg-type]
    started = time.perf_counter()
    embedder = load_runtime_embedder(settings)
    load_s = time.perf_counter() - started
    for t in texts[:WARMUP]:
        embedder.embed_queries([t])
    times = []
    for t in texts:
        t0 = time.perf_counter()
        embedder.embed_queries([t])
        times.append((time.perf_counter() - t0) * 1000)
    # a repeated query through the query cache (a page turned, facets, an export of the same query)
    with_cache = RuntimeEmbedder(embedder.queries, passages=embedder.queries, cache_size=16)
    with_cache.embed_queries([texts[0]])
    t0 = time.perf_counter()
    for _ in range(100):
        with_cache.embed_queries([texts[0]])
    cache_hit_ms = (time.perf_counter() - t0) * 1000 / 100
    return {
        "backend": embedder.query_backend,
        "load_seconds": round(load_s, 2),
        "times_ms": times,
        "cache_hit_ms": round(cache_hit_ms, 4),
        "torch_imported": "torch" in sys.modules,
        "memory": memory(),
    }


def _run_child(model_dir: Path | None, backend: str, texts_file: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "evaluation.bench.query_encoder", "--child", backend, "--texts", str(texts_file)]
    if model_dir is not None:
        cmd += ["--model-dir", str(model_dir)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"the query encoder benchmark ({backend}) failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure(settings: Settings, texts: Sequence[str], rounds: int = 3, workdir: Path | None = None) -> dict[str, Any]:
    """Both backends, ``rounds`` processes each, alternating; per query the median over rounds."""
    from evaluation.bench.queries import paired_ratio, percentiles

    workdir = workdir or settings.data_dir / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    texts_file = workdir / "query_encoder_texts.json"
    texts_file.write_text(json.dumps(list(texts), ensure_ascii=False), encoding="utf-8")
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
    for r in range(rounds):
        order = BACKENDS if r % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            runs[backend].append(_run_child(settings.model_path, backend, texts_file))
    out: dict[str, Any] = {"queries": len(texts), "rounds": rounds, "backends": {}}
    medians: dict[str, list[float]] = {}
    for backend, results in runs.items():
        per_query = [statistics.median(run["times_ms"][i] for run in results) for i in range(len(texts))]
        medians[backend] = per_query
        out["backends"][backend] = {
            "ran": results[0]["backend"],
            "latency_ms": percentiles(per_query),
            "p50_per_round_ms": [round(statistics.median(run["times_ms"]), 2) for run in results],
            "load_seconds": statistics.median(run["load_seconds"] for run in results),
            "rss_mib": statistics.median(run["memory"]["rss_mib"] for run in results),
            "peak_rss_mib": statistics.median(run["memory"]["peak_rss_mib"] for run in results),
            "torch_imported": any(run["torch_imported"] for run in results),
            "cache_hit_ms": statistics.median(run["cache_hit_ms"] for run in results),
        }
    out["onnx_over_torch"] = paired_ratio(medians["onnx-int8"], medians["torch"])
    return out


def domain_queries() -> list[str]:
    from evaluation.quality.collection import load_domain

    return [q.text for q in load_domain().queries]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--child", choices=BACKENDS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Write the JSON here too.")
    args = parser.parse_args(argv)
    if args.child:
        texts = json.loads(args.texts.read_text(encoding="utf-8"))
        print(json.dumps(_child(args.model_dir, args.child, texts)))
        return 0
    settings = Settings(model_dir=args.model_dir) if args.model_dir else Settings()
    result = measure(settings, domain_queries(), args.rounds)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
