"""The registry's register stamp (``Registry.intel_stamp``): the cache key the API rebuilds its register by,
asked once per question. It must move with every write to the register's rows or their documents, stay put
under reads, come to a registry written before it existed, and not read the register's rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.registry import Registry

# The two tables as a registry written before the stamp had them (no counter, no triggers).
OLD_SCHEMA = """
CREATE TABLE documents (
    source TEXT PRIMARY KEY, doc_id TEXT NOT NULL, url TEXT, source_name TEXT, title TEXT, media_type TEXT,
    content_hash TEXT, raw_sha256 TEXT, status TEXT NOT NULL, reason TEXT, passages INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL, deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE intel (doc_id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
INSERT INTO documents (source, doc_id, status, passages, updated_at) VALUES ('a.pdf', 'doc-a', 'indexed', 3, 1.0);
INSERT INTO intel (doc_id, version, data) VALUES ('doc-a', 1, '{"facts": []}');
"""


def test_every_write_to_the_register_or_its_documents_moves_the_stamp(tmp_path: Path) -> None:
    with Registry(tmp_path / "registry.sqlite3") as reg:
        seen = [reg.intel_stamp()]

        def moved() -> bool:
            seen.append(reg.intel_stamp())
            return seen[-1] != seen[-2]

        reg.upsert("a.pdf", doc_id="doc-a", status="indexed", passages=3, title="Bericht")
        assert moved()
        reg.put_intel("doc-a", 1, '{"facts": []}')
        assert moved()
        reg.put_intel("doc-a", 1, '{"facts": [1]}')  # the same document's rows replaced
        assert moved()
        reg.upsert("a.pdf", doc_id="doc-a", status="indexed", passages=3, title="Bericht, 2. Fassung")
        assert moved()
        reg.intel_rows()
        reg.get("a.pdf")
        assert not moved(), "reads leave the stamp as it is"
        reg.delete_intel("doc-a")
        assert moved()
        reg.put_intel("doc-a", 1, '{"facts": []}')
        reg.mark_deleted("a.pdf", "Quelle entfernt")
        assert moved()
        assert len(set(seen)) == len(seen) - 1  # never back to an earlier stamp


def test_a_registry_written_before_the_stamp_gets_it_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    with Registry(path) as reg:
        before = reg.intel_stamp()
        assert [r.doc_id for r in reg.intel_rows()] == ["doc-a"]  # its rows are all there
        reg.put_intel("doc-a", 2, '{"facts": [1]}')
        after = reg.intel_stamp()
        assert after != before
    with Registry(path) as reg:  # opening again changes nothing
        assert reg.intel_stamp() == after


def test_the_stamp_reads_two_entries_not_the_register(tmp_path: Path) -> None:
    """At 12,500 documents with the sample corpus's 4.8 KB of register rows each, summing the rows' lengths
    (the stamp before) took about 55 ms a question; the stamp is now a counter row and an index's last entry."""
    with Registry(tmp_path / "registry.sqlite3") as reg:
        for i in range(50):
            reg.upsert(f"{i}.html", doc_id=f"doc-{i}", status="indexed", passages=1)
            reg.put_intel(f"doc-{i}", 1, "x" * 5000)
        statements: list[str] = []
        reg._db.set_trace_callback(statements.append)
        stamp = reg.intel_stamp()
        reg._db.set_trace_callback(None)
        assert stamp[0] == 100 and len(statements) == 1  # 50 documents and 50 register rows written
        plan = reg._db.execute(f"EXPLAIN QUERY PLAN {statements[0]}").fetchall()
        steps = " | ".join(str(row[-1]) for row in plan)
        assert "SCAN" not in steps.replace("SCAN CONSTANT ROW", ""), steps  # lookups, no table read through
