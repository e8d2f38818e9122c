"""The optimize-stall measurement writes copies of a kept index's points into a scratch shard and
builds it in place or aside while a reader queries; the source stays as it was (no timing asserts)."""

from pathlib import Path

import pytest
from test_build_variants import kept_index

from core.store import edge
from core.store.edge import EdgeStore
from evaluation.bench import optimize_stall


def test_both_modes_build_every_added_point_and_leave_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edge, "ASIDE_MIN_PENDING", 50)
    source_dir, vectors = kept_index(tmp_path, 200, 30, 5)
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
