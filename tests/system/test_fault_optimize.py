"""kill -9 in the middle of ``EdgeStore.optimize`` (segments being rewritten, HNSW being built): the
index loads again with every point readable, agrees with the registry, and the optimisation can run
again. The writer is tests/system/test_fault_support.py's driver (points written the way the Indexer writes
them: registry row ``indexing``, one upsert, row ``indexed``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from test_fault_support import SUPPORT, consistency_problems, driver_env, kill_group

from core.registry import Registry
from core.settings import PROJECT_ROOT, Settings
from core.store.base import StoreQuery
from core.store.edge import EdgeStore
from ingest.reconcile import reconcile

OPTIMIZE_POINTS = 30_000  # 22 MB of float16 vectors, above the engine's indexing threshold (10 MB): HNSW is built


def test_killed_during_the_index_optimisation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    # the context closes the pipes even when an assertion fails (no unclosed file left to the GC)
    with subprocess.Popen(
        [sys.executable, str(SUPPORT), "optimize", str(data), str(OPTIMIZE_POINTS)],
        cwd=PROJECT_ROOT,
        env=driver_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "optimizing", proc.stderr.read() if proc.stderr else ""
        time.sleep(0.8)
        assert proc.poll() is None, "optimize finished before the kill: make OPTIMIZE_POINTS larger"
        out, _ = kill_group(proc)
        assert "optimized" not in out

    assert consistency_problems(settings) == []
    store = EdgeStore.open(settings)
    try:
        assert store.count() == OPTIMIZE_POINTS
        assert store.verify() == OPTIMIZE_POINTS  # every payload and vector readable
        hits = store.query_batch([StoreQuery(limit=3, dense=tuple([1.0] + [0.0] * 383))])[0]
        assert len(hits) == 3
        with Registry(settings.registry_path) as registry:
            assert reconcile(store, registry, deep=True).consistent
        store.optimize()  # the interrupted work, done again
        assert store.count() == OPTIMIZE_POINTS
    finally:
        store.close()
    assert consistency_problems(settings) == []
