"""A full disk while ingesting: a clear error, nothing half-committed, and the next run (with space
again) finishes. The data dir lives on a small ext4 file system loop-mounted for the test (needs
root; skipped with the reason otherwise).

Why the free-space guard (``Settings.min_free_disk_mb``) exists: Qdrant Edge writes its WAL and
segments through memory-mapped sparse files, and on a full file system the process dies with SIGBUS
(measured on tmpfs with the guard off: exit code -7, no message, see docs/RELIABILITY.md). With the guard
a write is refused before the engine touches the disk; the registry and the raw store fail with
ENOSPC / "database or disk is full", which the pipeline turns into the same kind of error.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_fault_support import consistency_problems, make_corpus, registry_rows, run_cli

from core.errors import StoreError
from core.model.embedding import HashingEmbedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from ingest.discovery import discover
from ingest.pipeline import inline_parser
from runtime import open_runtime

MARGIN_MB = 48


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 160 MB ext4 file system in a sparse image file, loop-mounted (a real disk's semantics: tmpfs
    would allocate the index's sparse files even on reads)."""
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("mount", "umount", "mkfs.ext4")):
        pytest.skip("a loop-mounted file system needs root, mount(8) and mkfs.ext4")
    image, mount_point = tmp_path / "klein.img", tmp_path / "klein"
    mount_point.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(160 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], capture_output=True, text=True)
    if made.returncode != 0 or mounted.returncode != 0:
        pytest.skip(f"cannot loop-mount a file system here: {made.stderr.strip()} {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """A file that leaves ``leave`` bytes free on ``disk``."""
    filler = disk / "fueller.bin"
    size = max(0, free_bytes(disk) - leave)
    with open(filler, "wb") as handle:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            handle.write(chunk[: min(size, len(chunk))])
            size -= len(chunk)
    return filler


def clear(message: str) -> str:
    return " ".join(message.split())


def test_a_full_disk_stops_the_ingest_cleanly_and_the_next_run_finishes(small_disk: Path, tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    first_half = tmp_path / "erste"
    first_half.mkdir()
    for path in sorted(corpus.iterdir())[:6]:
        shutil.copy2(path, first_half / path.name)
    data = small_disk / "data"
    settings = Settings(data_dir=data, min_free_disk_mb=MARGIN_MB)
    env = {"FOERDERSUCHE_MIN_FREE_DISK_MB": str(MARGIN_MB)}

    assert run_cli(data, "ingest", str(first_half), **env).returncode == 0
    indexed_before = {s for s, (_, st, _) in registry_rows(data).items() if st == "indexed"}

    # 1. less free space than the margin: the index refuses to write, the run stops with a clear message
    filler = fill(small_disk, leave=(MARGIN_MB - 16) << 20)
    low = run_cli(data, "ingest", str(corpus), "--json", **env)
    assert low.returncode == 1, (low.returncode, low.stderr)  # not -7 (SIGBUS)
    message = clear(low.stderr)
    assert message.startswith("Fehler:") and "Not enough free disk space" in message and "Traceback" not in message
    assert "Nothing was written" in message and "FOERDERSUCHE_MIN_FREE_DISK_MB" in message
    assert {s for s, (_, st, _) in registry_rows(data).items() if st == "indexed"} == indexed_before

    # 2. the disk completely full: the raw store or the registry hits ENOSPC first, reported as clearly
    filler.unlink()
    filler = fill(small_disk, leave=0)
    full = run_cli(data, "ingest", str(corpus), "--json", **env)
    assert full.returncode == 1, (full.returncode, full.stderr)
    message = clear(full.stderr)
    assert message.startswith("Fehler:") and ("is full" in message or "Not enough free disk space" in message), message
    assert "Traceback" not in message

    # 3. space again: the index is consistent, and the same ingest finishes
    filler.unlink()
    doctor = run_cli(data, "doctor", "--json", **env)
    assert doctor.returncode == 0, doctor.stderr
    assert consistency_problems(settings) == []
    done = run_cli(data, "ingest", str(corpus), "--json", **env)
    assert done.returncode == 0, done.stderr
    statuses = {f["source"]: f["status"] for f in json.loads(done.stdout)["files"]}
    assert set(statuses.values()) <= {"indexed", "unchanged"} and len(statuses) == len(list(corpus.iterdir()))
    assert consistency_problems(settings) == []
    assert all(st == "indexed" for _, st, _ in registry_rows(data).values())


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(OSError(errno.ENOSPC, "No space left on device"), id="raw-store-ENOSPC"),
        pytest.param(sqlite3.OperationalError("database or disk is full"), id="registry-full"),
    ],
)
def test_enospc_from_the_raw_store_or_the_registry_is_a_clear_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """Below the guard: a file system that fills up between the check and the write (another process)."""
    settings = Settings(data_dir=tmp_path / "data")
    corpus = make_corpus(tmp_path / "corpus")
    items, _ = discover([corpus])
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        rt.indexer.parser = inline_parser
        rt.indexer.ingest(items[:3])

        def full(*_args: object, **_kwargs: object) -> None:
            raise failure

        if isinstance(failure, sqlite3.OperationalError):
            monkeypatch.setattr(Registry, "upsert", full)
        else:
            monkeypatch.setattr(RawStore, "put", full)
        with pytest.raises(StoreError, match="is full") as info:
            rt.indexer.ingest(items)
        assert "run it again" in str(info.value)
    monkeypatch.undo()
    assert consistency_problems(settings) == []
