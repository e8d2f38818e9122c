"""The registry: a SQLite file in the data dir that remembers every source and what became of it.

One row per source (file path or URL) with its document id, content hash, status, reason and
passage count. Ingest writes it; ``status``, the API and the crawler read it. The write order that
keeps index and registry consistent across a crash: mark ``indexing`` -> write points -> mark the
final status in one transaction; a row left ``indexing`` is redone on the next run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source       TEXT PRIMARY KEY,
    doc_id       TEXT NOT NULL,
    url          TEXT,
    source_name  TEXT,
    title        TEXT,
    media_type   TEXT,
    content_hash TEXT,
    raw_sha256   TEXT,
    status       TEXT NOT NULL,
    reason       TEXT,
    passages     INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    date         TEXT,
    signature    BLOB,
    dup_state    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_doc_id ON documents(doc_id);
CREATE INDEX IF NOT EXISTS documents_updated_at ON documents(updated_at);
CREATE TABLE IF NOT EXISTS intel (
    doc_id   TEXT PRIMARY KEY,
    version  INTEGER NOT NULL,
    data     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    summary     TEXT
);
"""

# A counter every write to the register's rows or to the documents they belong to moves (a trigger per table
# and kind of write): readers ask "has the register changed?" with one row, whatever the size of the register
# (summing its rows' lengths read every byte of it: about 55 ms at 12,500 documents).
SCHEMA += """
CREATE TABLE IF NOT EXISTS register_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    n  INTEGER NOT NULL
);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {table}_{done} AFTER {event} ON {table} BEGIN\n"
    "    INSERT INTO register_stamp (id, n) VALUES (0, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1;\nEND;\n"
    for table in ("intel", "documents")
    for event, done in (("INSERT", "inserted"), ("UPDATE", "updated"), ("DELETE", "deleted"))
)

INDEXING = "indexing"  # transient: written before the points, replaced after them


@dataclass(frozen=True)
class SourceRecord:
    source: str
    doc_id: str
    url: str | None
    source_name: str | None
    title: str | None
    media_type: str | None
    content_hash: str | None
    raw_sha256: str | None
    status: str
    reason: str | None
    passages: int
    updated_at: float
    deleted: bool


@dataclass(frozen=True)
class IntelRow:
    """One document's register rows (``data``, JSON of ``core.facts.DocIntel``) and its citation fields."""

    doc_id: str
    source: str
    url: str | None
    title: str | None
    date: str | None
    source_name: str | None
    media_type: str | None
    data: str


class Registry:
    """Thin typed access to the registry database. Not shared between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        for column, decl in (
            ("date", "TEXT"),
            ("signature", "BLOB"),
            ("dup_state", "TEXT NOT NULL DEFAULT ''"),
            ("ocr", "TEXT"),  # the pages OCR read, ``ingest.ocr.ocr_pages_json``
        ):
            if column not in have:  # registries written by an older version
                self._db.execute(f"ALTER TABLE documents ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _record(row: tuple[Any, ...]) -> SourceRecord:
        values = list(row)
        values[-1] = bool(values[-1])  # ``deleted`` is stored as 0/1
        return SourceRecord(*values)

    _COLUMNS = (
        "source, doc_id, url, source_name, title, media_type, content_hash, raw_sha256, status, reason, "
        "passages, updated_at, deleted"
    )

    def get(self, source: str) -> SourceRecord | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM documents WHERE source = ?", (source,)).fetchone()
        return self._record(row) if row else None

    def by_doc_id(self, doc_id: str) -> SourceRecord | None:
        row = self._db.execute(
            f"SELECT {self._COLUMNS} FROM documents WHERE doc_id = ? ORDER BY deleted, updated_at DESC", (doc_id,)
        ).fetchone()
        return self._record(row) if row else None

    def all(self, include_deleted: bool = False) -> Iterator[SourceRecord]:
        where = "" if include_deleted else "WHERE deleted = 0"
        for row in self._db.execute(f"SELECT {self._COLUMNS} FROM documents {where} ORDER BY source"):
            yield self._record(row)

    def upsert(
        self,
        source: str,
        *,
        doc_id: str,
        status: str,
        reason: str | None = None,
        passages: int = 0,
        url: str | None = None,
        source_name: str | None = None,
        title: str | None = None,
        media_type: str | None = None,
        content_hash: str | None = None,
        raw_sha256: str | None = None,
    ) -> None:
        with self._db:
            self._db.execute(
                """INSERT INTO documents (source, doc_id, url, source_name, title, media_type, content_hash,
                       raw_sha256, status, reason, passages, updated_at, deleted)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                   ON CONFLICT(source) DO UPDATE SET doc_id=excluded.doc_id, url=excluded.url,
                       source_name=excluded.source_name, title=excluded.title, media_type=excluded.media_type,
                       content_hash=excluded.content_hash, raw_sha256=excluded.raw_sha256, status=excluded.status,
                       reason=excluded.reason, passages=excluded.passages, updated_at=excluded.updated_at,
                       deleted=0""",
                (
                    source,
                    doc_id,
                    url,
                    source_name,
                    title,
                    media_type,
                    content_hash,
                    raw_sha256,
                    status,
                    reason,
                    passages,
                    time.time(),
                ),
            )

    def set_signature(self, source: str, date: str | None, signature: bytes) -> None:
        """Remember a document's near-duplicate signature; its duplicate marks must be recomputed."""
        with self._db:
            self._db.execute(
                "UPDATE documents SET date = ?, signature = ?, dup_state = '' WHERE source = ?",
                (date, signature, source),
            )

    def signatures(self) -> list[tuple[str, str, str | None, str | None, bytes, str]]:
        """(doc_id, source, url, date, signature, dup_state) of every live indexed document."""
        rows = self._db.execute(
            "SELECT doc_id, source, url, date, signature, dup_state FROM documents "
            "WHERE deleted = 0 AND passages > 0 AND signature IS NOT NULL ORDER BY source"
        )
        return [(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]

    def set_ocr(self, source: str, pages: str | None) -> None:
        """Remember which pages of an indexed source OCR read (JSON), or that none did (None)."""
        with self._db:
            self._db.execute("UPDATE documents SET ocr = ? WHERE source = ?", (pages, source))

    def ocr_pages(self) -> list[tuple[str, str]]:
        """(source, OCR pages as JSON) of every live indexed source with pages read by OCR."""
        rows = self._db.execute(
            "SELECT source, ocr FROM documents WHERE deleted = 0 AND status = 'indexed' AND ocr IS NOT NULL "
            "ORDER BY source"
        )
        return [(r[0], r[1]) for r in rows]

    def set_dup_state(self, doc_id: str, state: str) -> None:
        with self._db:
            self._db.execute("UPDATE documents SET dup_state = ? WHERE doc_id = ? AND deleted = 0", (state, doc_id))

    def mark_unfinished(self, source: str, reason: str) -> None:
        """Set a source back to ``indexing`` without passages: its points are gone and the next ingest
        (or ``foerdersuche reindex``) redoes it (``ingest.reconcile``)."""
        with self._db:
            self._db.execute(
                "UPDATE documents SET status = ?, reason = ?, passages = 0, dup_state = '', updated_at = ? "
                "WHERE source = ?",
                (INDEXING, reason, time.time(), source),
            )

    def mark_deleted(self, source: str, reason: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE documents SET deleted = 1, passages = 0, reason = ?, updated_at = ? WHERE source = ?",
                (reason, time.time(), source),
            )
            self._db.execute(
                "DELETE FROM intel WHERE doc_id IN (SELECT doc_id FROM documents WHERE source = ?) "
                "AND doc_id NOT IN (SELECT doc_id FROM documents WHERE deleted = 0 AND passages > 0)",
                (source,),
            )

    # --- the register (funding facts and project mentions per document, as JSON; see core.facts)

    def put_intel(self, doc_id: str, version: int, data: str) -> None:
        """Replace what the register holds of ``doc_id``."""
        with self._db:
            self._db.execute(
                "INSERT INTO intel (doc_id, version, data) VALUES (?, ?, ?) "
                "ON CONFLICT(doc_id) DO UPDATE SET version = excluded.version, data = excluded.data",
                (doc_id, version, data),
            )

    def delete_intel(self, doc_id: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM intel WHERE doc_id = ?", (doc_id,))

    def intel_rows(self) -> list[IntelRow]:
        """The register rows of every live indexed document, with what a citation needs."""
        rows = self._db.execute(
            "SELECT d.doc_id, d.source, d.url, d.title, d.date, d.source_name, d.media_type, i.data "
            "FROM documents d JOIN intel i ON i.doc_id = d.doc_id "
            "WHERE d.deleted = 0 AND d.passages > 0 ORDER BY d.source"
        )
        return [IntelRow(*row) for row in rows]

    def intel_stamp(self) -> tuple[int, float]:
        """Changes whenever the register's rows or the documents they belong to change (a cache key): the
        count of writes to them since the registry got its counter (0 before the first), and the latest
        document change (so a registry file made anew does not repeat an older one's stamp). Two lookups,
        whatever the size of the register."""
        row = self._db.execute(
            "SELECT (SELECT n FROM register_stamp WHERE id = 0), (SELECT MAX(updated_at) FROM documents)"
        ).fetchone()
        return int(row[0] or 0), float(row[1] or 0.0)

    def stale_intel(self, version: int) -> list[tuple[str, str, str | None]]:
        """(source, doc_id, raw_sha256) of live indexed documents whose register rows are missing or
        were written by older extraction rules than ``version``."""
        rows = self._db.execute(
            "SELECT d.source, d.doc_id, d.raw_sha256 FROM documents d LEFT JOIN intel i ON i.doc_id = d.doc_id "
            "WHERE d.deleted = 0 AND d.passages > 0 AND (i.doc_id IS NULL OR i.version < ?) ORDER BY d.source",
            (version,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def counts_by_status(self) -> dict[str, int]:
        rows = self._db.execute("SELECT status, COUNT(*) FROM documents WHERE deleted = 0 GROUP BY status")
        return dict(rows)

    def counts_by_source(self) -> list[tuple[str | None, str, int, int]]:
        """(source name, status, live documents, passages) per crawl source and status; files ingested
        without a source name have None."""
        rows = self._db.execute(
            "SELECT source_name, status, COUNT(*), COALESCE(SUM(passages), 0) FROM documents WHERE deleted = 0 "
            "GROUP BY source_name, status ORDER BY source_name, status"
        )
        return [(name, status, int(n), int(p)) for name, status, n, p in rows]

    def totals(self) -> tuple[int, int]:
        """(documents with indexed passages, passages) over live sources."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(passages), 0) FROM documents WHERE deleted = 0 AND passages > 0"
        ).fetchone()
        return int(row[0]), int(row[1])

    def start_run(self, kind: str) -> int:
        with self._db:
            cur = self._db.execute("INSERT INTO runs (kind, started_at) VALUES (?, ?)", (kind, time.time()))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, summary: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?", (time.time(), summary, run_id)
            )

    def last_run(self, kind: str) -> tuple[float, float | None, str | None] | None:
        row = self._db.execute(
            "SELECT started_at, finished_at, summary FROM runs WHERE kind = ? ORDER BY run_id DESC LIMIT 1", (kind,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None
