"""The pages a server touched only to start are unmapped again (``core.store.pages``): they leave the
process's resident set, and nothing is lost: reads answer the same, writes after the release reach the
index, and a process killed after writing into released WAL pages leaves every write in the WAL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from test_store_contract import DIM, POINTS, make_edge, single_passage_point

from core.settings import PROJECT_ROOT
from core.store import pages
from core.store.edge import START_PAGES

MAPS = """\
7f0000000000-7f0000100000 rw-s 00000000 fd:01 11 /data/index/passages/wal/open-1
7f0000100000-7f0000200000 r--s 00000000 fd:01 12 /data/index/passages/segments/ab/payload_storage/page_0.dat
7f0000200000-7f0000300000 r--p 00000000 fd:01 13 /data/index/passages/segments/ab/payload_storage/page_1.dat
7f0000300000-7f0000400000 r--s 00000000 fd:01 14 /data/index/passages/segments/ab/vector_index-lexical/x.dat
7f0000400000-7f0000500000 r--s 00000000 fd:01 15 /data/index/passages.building/wal/open-1
7f0000500000-7f0000600000 rw-p 00000000 00:00 0
"""


def test_only_shared_mappings_of_the_named_directories_below_the_shard_are_picked() -> None:
    found = pages.shared_mappings(Path("/data/index/passages"), START_PAGES, MAPS)
    assert [path.rsplit("/", 1)[1] for _start, _end, path in found] == ["open-1", "page_0.dat"]
    assert found[0][:2] == (0x7F0000000000, 0x7F0000100000)
    # not the private mapping, not the lexical index, not the copy beside the shard, not anonymous memory


def resident_kib(root: Path, part: str) -> int:
    """Resident KiB of this process's mappings of files in ``part`` directories below ``root``."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header line
            inside = len(fields) == 6 and fields[5].startswith(f"{root.resolve()}/") and f"/{part}/" in fields[5]
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_released_pages_leave_the_process_and_reads_and_writes_go_on(tmp_path: Path) -> None:
    store = make_edge(tmp_path)
    store.ensure_collection(DIM)
    store.upsert(POINTS)
    root = store.path
    read = dict(store._summary_records(None))  # what keep_summaries reads: every payload
    assert resident_kib(root, "payload_storage") > 0 and resident_kib(root, "wal") > 0
    released = pages.release(root, START_PAGES)
    assert released > 0
    assert resident_kib(root, "payload_storage") == 0 and resident_kib(root, "wal") == 0
    assert dict(store._summary_records(None)) == read  # mapped again on demand, the same data

    more = [single_passage_point(i, f"Zeche {i} Bergkamen Wasserstoff", ("05978",)) for i in range(50)]
    store.upsert(more)  # appended to the WAL whose pages were released
    assert store.keep_summaries(10_000) == len(POINTS) + len(more)  # reads and releases again
    store.close()
    again = make_edge(tmp_path)
    assert again.count() == len(POINTS) + len(more)
    assert len(dict(again._summary_records(None))) == len(POINTS) + len(more)
    again.close()


def test_writes_into_released_wal_pages_survive_a_killed_process(tmp_path: Path) -> None:
    """Written, released, killed without a flush or close: the next load replays every write."""
    code = textwrap.dedent(
        f"""
        import os, sys
        sys.path[:0] = [{str(PROJECT_ROOT)!r}, {str(PROJECT_ROOT / "tests" / "core")!r}]
        from pathlib import Path
        from test_store_contract import DIM, POINTS, make_edge, single_passage_point
        from core.store import pages
        from core.store.edge import START_PAGES
        store = make_edge(Path(sys.argv[1]))
        store.ensure_collection(DIM)
        store.upsert(POINTS)
        assert pages.release(store.path, START_PAGES) > 0
        store.upsert([single_passage_point(i, f"Kokerei {{i}}", ("05978",)) for i in range(30)])
        assert pages.release(store.path, START_PAGES) > 0
        os._exit(0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    store = make_edge(tmp_path)
    assert store.count() == len(POINTS) + 30
    texts = {payload.get("doc_id") for _id, payload in store._summary_records(None)}
    assert {f"doc-{i}" for i in range(30)} <= texts
    store.close()
