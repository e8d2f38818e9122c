"""The whole ingest pipeline (isolated parser workers, chunking, enrichment, index) over 118 real,
partly hostile files from ../shared/realworld: no crash, no hang, every file gets a status and a
reason, and a second run changes nothing. The hashing embedder keeps it fast; parsing is real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.model.embedding import HashingEmbedder
from core.models import FileStatus
from core.settings import PROJECT_ROOT, Settings
from ingest.discovery import discover
from runtime import open_runtime

REALWORLD = PROJECT_ROOT.parent / "shared" / "realworld"

pytestmark = pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld not present")


def test_every_realworld_file_gets_a_status_and_nothing_is_lost(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", parse_timeout_s=30.0, parse_memory_mb=1536)
    items, skipped = discover([REALWORLD / "pdf", REALWORLD / "html"])
    manifest = json.loads((REALWORLD / "manifest.json").read_text(encoding="utf-8"))
    expected = len(manifest["pdf"]) + len(manifest["html"])
    with open_runtime(settings, embedder=HashingEmbedder(64)) as rt:
        report = rt.indexer.ingest(items)
        files = list(skipped) + list(report.files)
        assert len(files) == expected
        for f in files:
            assert f.status in FileStatus
            assert (f.reason is None) == (f.status == FileStatus.INDEXED), f
        counts = report.counts()
        assert counts.get("indexed", 0) >= expected * 0.6, counts
        assert counts.get("encrypted", 0) >= 1 and counts.get("needs_ocr", 0) >= 1, counts
        # index and registry agree: every indexed source has exactly its passages in the store
        _, passages = rt.registry.totals()
        assert passages == rt.store.count() == report.passages_written
        again = rt.indexer.ingest(items)
        assert again.passages_written == 0
        assert rt.store.count() == passages
        second_run = {f.source: f for f in again.files}
        assert second_run.keys() == {f.source for f in report.files}
        for first in report.files:
            second = second_run[first.source]
            if first.status is FileStatus.INDEXED:
                assert second.status is FileStatus.UNCHANGED
            else:  # a file that failed is tried again, with the same verdict
                assert second.status is first.status, (first, second)
