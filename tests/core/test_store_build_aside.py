"""``EdgeStore.build_aside``: a serving process builds the graph in a child process on a copy of its
shard and swaps the built copy in under its lock; what a crash leaves is repaired when the store opens.

Real shards and a real child process (``python -m core.store.build``). The engine builds a graph only
for segments above its indexing threshold (megabytes), so these shards lower it to 1 KB, as the
contract's engine-path test does, to get a graph from a few hundred points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from test_store_contract import DIM, dense_of, lower_indexing_threshold, single_passage_point

from core.errors import StoreError
from core.ids import point_id_for
from core.store import StoreQuery, edge, schema
from core.store.edge import EdgeStore, aside_paths, run_build

WORDS = [f"begriff{i}" for i in range(300)]


def point(i: int) -> Any:
    text = " ".join(WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(10)) + f" eintrag{i}"
    return single_passage_point(i, text, ("05978",))


@pytest.fixture(autouse=True)
def small_indexing_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    lower_indexing_threshold(monkeypatch)
    monkeypatch.setattr(edge, "ASIDE_MIN_PENDING", 100)


def shard_dir(tmp_path: Path) -> Path:
    return tmp_path / "index" / "passages"


def built_store(tmp_path: Path, n: int) -> EdgeStore:
    """A shard of ``n`` points with its graph built (in place)."""
    store = EdgeStore(shard_dir(tmp_path))
    store.ensure_collection(DIM)
    store.upsert([point(i) for i in range(n)])
    store.optimize()
    assert store.pending_points() == 0
    return store


class Guard:
    """The server's lock as the store sees it: counts the swaps and checks that no reader is inside."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entered = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            self.entered += 1
            yield


def beside(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in shard_dir(tmp_path).parent.iterdir())


def test_a_served_store_builds_the_graph_in_a_child_process_and_swaps_the_copy_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = built_store(tmp_path, 300)
    guard = Guard()
    store.build_aside(guard)
    builds: list[dict[str, Any]] = []

    def recorded(shard: Path) -> dict[str, Any]:
        assert shard == aside_paths(store.path)[0] and shard.is_dir()
        assert not guard.lock.locked(), "queries go on while the copy is built"
        # the served shard still answers during the build
        assert store.query_batch([StoreQuery(limit=3, dense=dense_of(point(5).passage.text))])[0]
        report = run_build(shard)
        builds.append(report)
        return report

    monkeypatch.setattr(edge, "run_build", recorded)
    store.upsert([point(i) for i in range(300, 600)])
    assert store.pending_points() == 300
    store.optimize()
    assert len(builds) == 1 and builds[0]["points"] == 600
    assert builds[0]["pid"] != os.getpid()
    assert guard.entered == 1
    assert store.pending_points() == 0, "the swapped-in shard has every point in its graph"
    assert store.count() == 600
    for i in (0, 299, 300, 599):
        p = point(i)
        hit = store.query_batch([StoreQuery(limit=1, dense=p.dense)])[0][0]
        assert hit.passage.passage_id == p.passage.passage_id
        assert store.fetch([point_id_for(p.passage.passage_id)])[point_id_for(p.passage.passage_id)][0].text == (
            p.passage.text
        )
    assert beside(tmp_path) == ["passages", "passages.schema.json"]
    store.upsert([point(600)])  # the swapped-in shard takes writes and survives a reopen
    store.close()
    reopened = EdgeStore(shard_dir(tmp_path))
    assert reopened.count() == 601
    reopened.close()


def test_below_the_threshold_and_without_a_lock_the_store_optimizes_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(shard: Path) -> dict[str, Any]:
        raise AssertionError("no build aside expected")

    monkeypatch.setattr(edge, "run_build", refuse)
    store = built_store(tmp_path, 300)  # no build_aside: in place (the CLI)
    store.upsert([point(i) for i in range(300, 500)])
    store.optimize()
    assert store.pending_points() == 0
    store.build_aside(Guard())
    store.upsert([point(i) for i in range(500, 550)])  # 50 < ASIDE_MIN_PENDING
    store.optimize()
    assert store.count() == 550
    store.close()


def test_writes_during_the_build_discard_the_copy_and_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = built_store(tmp_path, 300)
    guard = Guard()
    store.build_aside(guard)

    def build_then_write(shard: Path) -> dict[str, Any]:
        report = run_build(shard)
        store.upsert([point(999)])  # arrives while the copy is built
        return report

    monkeypatch.setattr(edge, "run_build", build_then_write)
    store.upsert([point(i) for i in range(300, 500)])
    store.optimize()
    assert guard.entered == 0, "the copy lacks a write: never swapped in"
    assert store.count() == 501
    assert store.pending_points() > 0
    assert beside(tmp_path) == ["passages", "passages.schema.json"]
    store.close()


def test_a_failing_build_leaves_the_index_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = built_store(tmp_path, 300)
    store.build_aside(Guard())
    store.upsert([point(i) for i in range(300, 500)])
    with monkeypatch.context() as patch:
        patch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
        with pytest.raises(StoreError, match="the index is unchanged"):
            store.optimize()
    assert store.count() == 500 and store.pending_points() == 200
    assert beside(tmp_path) == ["passages", "passages.schema.json"]
    store.close()


def test_the_build_process_reports_what_it_cannot_build(tmp_path: Path) -> None:
    (tmp_path / "not-a-shard").mkdir()
    with pytest.raises(StoreError, match=r"Building the index beside the served one failed .*; the index is unchanged"):
        run_build(tmp_path / "not-a-shard")


def test_with_too_little_disk_for_a_copy_it_builds_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = built_store(tmp_path, 300)
    store.build_aside(Guard())
    store.upsert([point(i) for i in range(300, 500)])
    stat = os.statvfs(tmp_path)
    room = stat.f_bavail * stat.f_frsize - store.min_free_bytes
    monkeypatch.setattr(edge, "_disk_usage", lambda path: int(room * 0.7))  # fits once, not twice

    def refuse(shard: Path) -> dict[str, Any]:
        raise AssertionError("no copy expected")

    monkeypatch.setattr(edge, "run_build", refuse)
    store.optimize()
    assert store.pending_points() == 0
    store.close()


# --- what a killed server leaves beside the shard


def two_shards(tmp_path: Path) -> tuple[Path, Path]:
    """A closed shard of 300 points at the shard's place and a built one of 320 in ``built``."""
    store = built_store(tmp_path, 300)
    store.close()
    other = tmp_path / "other"
    bigger = EdgeStore(other / "index" / "passages")
    bigger.ensure_collection(DIM)
    bigger.upsert([point(i) for i in range(320)])
    bigger.optimize()
    bigger.close()
    return shard_dir(tmp_path), other / "index" / "passages"


def count_of(shard: Path) -> int:
    store = EdgeStore(shard)
    try:
        return store.count()
    finally:
        store.close()


def test_a_copy_not_built_yet_is_removed(tmp_path: Path) -> None:
    shard, built = two_shards(tmp_path)
    building, _done, _previous = aside_paths(shard)
    shutil.copytree(built, building)  # killed during the build: no done file
    assert count_of(shard) == 300
    assert beside(tmp_path) == ["passages", "passages.schema.json"]


def test_a_swap_cut_after_the_first_rename_is_completed_with_the_built_copy(tmp_path: Path) -> None:
    shard, built = two_shards(tmp_path)
    building, done, previous = aside_paths(shard)
    shutil.copytree(built, building)
    done.write_text("{}", encoding="utf-8")
    os.rename(shard, previous)
    assert count_of(shard) == 320
    assert beside(tmp_path) == ["passages", "passages.schema.json"]


def test_a_swap_cut_without_a_built_copy_restores_the_shard_as_it_was(tmp_path: Path) -> None:
    shard, _built = two_shards(tmp_path)
    _building, _done, previous = aside_paths(shard)
    os.rename(shard, previous)
    assert count_of(shard) == 300
    assert beside(tmp_path) == ["passages", "passages.schema.json"]


def test_leftovers_stay_while_another_process_holds_the_shard(tmp_path: Path) -> None:
    """A second opener (a CLI command beside a running server) must not remove the server's copy in
    the making: it fails on the shard's lock before it touches anything beside the shard."""
    store = built_store(tmp_path, 300)
    building, _done, _previous = aside_paths(shard_dir(tmp_path))
    shutil.copytree(shard_dir(tmp_path), building)
    code = (
        "import sys; from pathlib import Path; from core.store.edge import EdgeStore\n"
        "try:\n    EdgeStore(Path(sys.argv[1]))\nexcept Exception as e:\n    print(type(e).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(shard_dir(tmp_path))], capture_output=True, text=True)
    assert out.stdout.strip() == "StoreError", out.stderr
    assert building.is_dir()
    store.close()


def test_the_shard_as_it_was_is_removed_once_the_built_one_is_in_place(tmp_path: Path) -> None:
    shard, built = two_shards(tmp_path)
    _building, done, previous = aside_paths(shard)
    shutil.copytree(built, previous)
    done.write_text("{}", encoding="utf-8")  # the swap died before removing the done file
    assert count_of(shard) == 300
    assert beside(tmp_path) == ["passages", "passages.schema.json"]


def test_a_shard_built_by_an_older_version_is_rebuilt_aside_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine rebuilds a shard whose stored configuration changed (an update of foerdersuche) at its
    next optimize, even without new points: in the server that build goes aside too, and the marker
    then records the current build version, so the next small ingest optimizes in place again."""
    store = built_store(tmp_path, 300)
    marker = edge.marker_path(shard_dir(tmp_path))
    marker.write_text(json.dumps({"schema": schema.SCHEMA_VERSION}), encoding="utf-8")  # before build versions
    assert edge.build_version(shard_dir(tmp_path)) == 1
    guard = Guard()
    store.build_aside(guard)
    builds: list[dict[str, Any]] = []

    def recorded(shard: Path) -> dict[str, Any]:
        builds.append(run_build(shard))
        return builds[-1]

    monkeypatch.setattr(edge, "run_build", recorded)
    store.upsert([point(300)])  # far below ASIDE_MIN_PENDING
    store.optimize()
    assert len(builds) == 1 and guard.entered == 1
    assert edge.build_version(shard_dir(tmp_path)) == edge.BUILD_VERSION
    store.upsert([point(301)])
    store.optimize()
    assert len(builds) == 1, "built with the current version: in place"
    assert store.count() == 302
    store.close()


def test_an_optimize_in_place_records_the_build_version(tmp_path: Path) -> None:
    store = built_store(tmp_path, 300)
    edge.marker_path(shard_dir(tmp_path)).write_text(json.dumps({"schema": schema.SCHEMA_VERSION}), encoding="utf-8")
    store.optimize()
    assert edge.build_version(shard_dir(tmp_path)) == edge.BUILD_VERSION
    assert edge.schema_version(shard_dir(tmp_path)) == schema.SCHEMA_VERSION
    store.close()


def test_a_swap_that_cannot_rename_keeps_the_shard_as_it_was_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = built_store(tmp_path, 300)
    store.build_aside(Guard())
    store.upsert([point(i) for i in range(300, 500)])
    real_rename = os.rename

    def refuse_the_second(src: Any, dst: Any) -> None:
        if Path(src).name.endswith(".building"):
            raise PermissionError("read-only here")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", refuse_the_second)
    with pytest.raises(StoreError, match="Cannot swap the index built aside in"):
        store.optimize()
    monkeypatch.setattr(os, "rename", real_rename)
    assert store.count() == 500, "the shard as it was is back in place and open"
    assert shard_dir(tmp_path).is_dir()
    store.close()
    reopened = EdgeStore(shard_dir(tmp_path))  # the next open removes the unused copy
    assert reopened.count() == 500
    reopened.close()
    assert beside(tmp_path) == ["passages", "passages.schema.json"]
