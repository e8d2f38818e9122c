"""The benchmark runs at a tiny size with the hashing embedder and writes its report (no timing asserts)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from foerdersuche.cli import app


def test_bench_writes_the_report_with_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(tmp_path / "data"),
            "bench",
            "--passages",
            "500",
            "--embedder",
            "hashing",
            "--queries",
            "10",
            "--report-dir",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {"bench.json", "bench.md", "latency.png"} <= {p.name for p in out.iterdir()}
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert {"meta", "ingest", "embedding", "sizes", "verdict", "targets"} <= set(report)
    assert report["ingest"]["documents_per_s"] > 0 and report["embedding"]["tokens_per_s"] > 0
    entry = report["sizes"]["500"]
    assert entry["index"]["points"] == 500
    search = entry["search"]
    assert entry["index"]["documents"] > 0
    for mode in ("lexical", "dense", "hybrid", "hybrid-rrf", "hybrid-dbsf"):
        for flt in ("unfiltered", "filtered", "filtered-narrow"):
            row = search["latency_ms"][f"{mode}/{flt}"]
            assert {"p50", "p95", "p99"} <= set(row)
            assert row["hits_mean"] > 0, f"{mode}/{flt} timed queries that found nothing"
    filters = search["filters"]
    assert 0 < filters["filtered-narrow"]["matching_points"] < filters["filtered"]["matching_points"] < 500
    assert [t["clients"] for t in search["throughput"]] == [1, 4]
    assert 0.0 <= search["hnsw"]["unfiltered"]["recall@10"] <= 1.0
    assert search["memory"]["peak_rss_mib"] > 0
    if entry["http"] is not None:  # the API is installed: measured through HTTP too
        http = entry["http"]
        # the server keeps the synthetic documents (registered as indexed) instead of reconciling them away
        assert http["served_passages"] == 500
        assert http["throughput"][0]["errors"] == 0
        for key, row in http["latency_ms"].items():
            assert row["hits_mean"] > 0, f"HTTP {key} timed queries that found nothing"
    assert {v["met"] for v in report["verdict"]} <= {True, False}
    assert "Bericht:" in result.output
    assert not (tmp_path / "data" / "bench" / "index-500").exists()  # the synthetic index is removed
