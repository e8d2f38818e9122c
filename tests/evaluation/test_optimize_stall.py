"""The optimize-stall measurement writes copies of a kept index's points into a scratch shard and
builds it in place or aside while a reader queries; the source stays as it was (no timing asserts)."""

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from core.store import edge
from core.store.edge import EdgeStore
from evaluation.bench import optimize_stall
from evaluation.bench.benchmark import build_index

BASE = [
    "Der Kreis Unna fördert das Projekt EcoTecHub in Bergkamen mit 2,5 Millionen Euro. Die Förderung läuft bis 2027.",
    "In Dortmund entsteht ein Zentrum für Kreislaufwirtschaft. Das Land stellt dafür 4 Millionen Euro bereit.",
]


def test_both_modes_build_every_added_point_and_leave_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edge, "ASIDE_MIN_PENDING", 50)
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(30, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    source_dir = tmp_path / "kept"
    build_index(Settings(data_dir=tmp_path / "data", qdrant_url=None), BASE, 200, vectors, source_dir, None)
    shard = source_dir / "index" / "passages"
    before = sorted(p.name for p in shard.rglob("*"))

    report = optimize_stall.run(source_dir, optimize_stall.MODES, 450, vectors[:5])
    rows = {r["mode"]: r for r in report["rows"]}
    assert set(rows) == {"in-place", "aside"}
    for row in rows.values():
        assert row["points"] == 650 and row["added"] == 450 and row["pending_before"] >= 450
        assert row["optimize_seconds"] >= 0 and row["longest_gap_ms"] >= 0
    assert rows["in-place"]["aside"] is None
    assert rows["aside"]["aside"]["points"] == 650, "the child built the copy that was swapped in"
    assert sorted(p.name for p in shard.rglob("*")) == before
    assert [p.name for p in source_dir.parent.iterdir() if p.name.startswith("optimize-stall-")] == []
    store = EdgeStore(shard)
    try:
        assert store.count() == 200
    finally:
        store.close()
    assert "| aside | 650 |" in optimize_stall.markdown(report)
