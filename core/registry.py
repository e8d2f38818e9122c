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
CREATE TABLE IF NOT EXISTS runs (
    run_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    summary     TEXT
);
"""

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
        for column, decl in (("date", "TEXT"), ("signature", "BLOB"), ("dup_state", "TEXT NOT NULL DEFAULT ''")):
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
