"""The build-variants measurement copies a kept index into shards with other graph links, reads the
links back from the engine and measures recall; the source stays as it was (no timing asserts)."""

import json
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from core.settings import Settings
from core.store.edge import LINKED_FIELDS, EdgeStore
from evaluation.bench import build_variants
from evaluation.bench.benchmark import build_index

BASE = [
    "Der Kreis Unna fördert das Projekt EcoTecHub in Bergkamen mit 2,5 Millionen Euro. Die Förderung läuft bis 2027.",
    "In Dortmund entsteht ein Zentrum für Kreislaufwirtschaft. Das Land stellt dafür 4 Millionen Euro bereit.",
    "Die Stadt Hamm plant einen Gewerbepark auf einer früheren Zechenfläche. Der Bund trägt 80 Prozent der Kosten.",
]


def kept_index(tmp_path: Path, points: int, n_vectors: int, seed: int) -> tuple[Path, np.ndarray]:
    """A benchmark index of ``points`` passages kept in ``tmp_path/kept`` (as ``bench --keep-index``
    leaves one), built by the bench's own ``build_index`` from random unit vectors; and the vectors."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n_vectors, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    source_dir = tmp_path / "kept"
    built = build_index(Settings(data_dir=tmp_path / "data", qdrant_url=None), BASE, points, vectors, source_dir, None)
    assert built["points"] == points
    return source_dir, vectors


def test_variants_copy_every_point_link_what_they_say_and_leave_the_source(tmp_path: Path) -> None:
    source_dir, vectors = kept_index(tmp_path, 300, 40, 3)
    source = source_dir / "index" / "passages"
    before = sorted(p.name for p in source.rglob("*"))

    rows = {}
    for variant in build_variants.VARIANTS:
        target = tmp_path / f"shard-{variant}"
        rows[variant] = build_variants.build(source, target, variant, 16, vectors[:5])
        shard = qe.EdgeShard.load(str(target), None)
        try:
            linked = {name for name, index in shard.info().payload_schema.items() if index.params.enable_hnsw}
            assert shard.info().points_count == 300
        finally:
            shard.close()
        expected = {"current": set(LINKED_FIELDS), "none": set()}.get(variant)
        if expected is None:  # "all": every indexed field
            assert len(linked) == 14
        else:
            assert linked == expected
    for row in rows.values():
        assert row["points"] == 300 and row["optimize_seconds"] >= 0 and row["quantized"] is True
        assert set(row["dense_ms"]) == {"unfiltered", "broad"}
        assert all(0.0 <= r <= 1.0 for r in row["recall@10"].values())
    # exact search agrees with itself on 300 points below every threshold: full recall
    assert rows["current"]["recall@10"]["unfiltered"] == 1.0
    assert sorted(p.name for p in source.rglob("*")) == before
    store = EdgeStore(source)
    try:
        assert store.count() == 300
    finally:
        store.close()
    assert "| current | 16 | yes | 300 |" in build_variants.markdown(
        {"date": "d", "source": "s", "cpus": 2, "queries": 5, "rows": list(rows.values())}
    )


def test_a_variant_without_quantization_stores_float16_vectors_only(tmp_path: Path) -> None:
    source_dir, vectors = kept_index(tmp_path, 120, 20, 4)
    source = source_dir / "index" / "passages"
    configs = {}
    for quantized in (True, False):
        target = tmp_path / f"shard-{quantized}"
        row = build_variants.build(source, target, "current", 16, vectors[:3], quantized)
        assert row["quantized"] is quantized and row["points"] == 120
        configs[quantized] = json.loads((target / "edge_config.json").read_text(encoding="utf-8"))["vectors"]["dense"]
    assert configs[True]["quantization_config"]["scalar"]["type"] == "int8" and configs[True]["on_disk"] is True
    assert "quantization_config" not in configs[False] and not configs[False].get("on_disk")
