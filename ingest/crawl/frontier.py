"""Crawl state in SQLite (``<data_dir>/crawl.sqlite3``): the frontier and what each URL gave.

Why a file of its own and not tables in the registry: the registry is the index's ledger, written by
the Indexer through its own connection; the frontier is high-churn working state written from the
crawler's threads. Separate files keep their write locks apart, and deleting ``crawl.sqlite3`` only
forgets crawl progress (the next crawl refetches without conditional requests; the registry's hashes
still keep unchanged documents from being re-embedded).

One row per canonical URL, owned by the source that found it first. A crawl of a source is a row in
``crawls``; it is *resumed* while ``finished_at`` is NULL. Starting a new crawl re-queues every URL the
source knows (except those already gone), so known documents are revisited with conditional requests
and deleted ones are noticed. URL states: ``queued`` -> ``fetching`` (claimed by a worker, or
fetched and waiting for the Indexer) -> ``done`` with an ``outcome``. After a crash, ``fetching``
goes back to ``queued``; ``done`` URLs are never fetched again in the same crawl.

Written under WAL with a commit per change, so ``kill -9`` loses at most the requests in flight: a
URL whose bytes were fetched is ``fetching`` with outcome ``pending`` and its content hash, its bytes
are already in the raw store, and a resumed crawl hands them to the Indexer again without a request.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.crawl.fetch import Validators

SCHEMA = """
CREATE TABLE IF NOT EXISTS crawls (
    crawl_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    source_name TEXT NOT NULL,
    started_at  REAL NOT NULL,
    finished_at REAL,
    seeded      INTEGER NOT NULL DEFAULT 0,
    summary     TEXT
);
CREATE INDEX IF NOT EXISTS crawls_source ON crawls(source_name, crawl_id);
CREATE TABLE IF NOT EXISTS urls (
    url           TEXT PRIMARY KEY,
    fetch_url     TEXT NOT NULL,
    source_name   TEXT NOT NULL,
    host          TEXT NOT NULL,
    depth         INTEGER NOT NULL,
    crawl_id      INTEGER NOT NULL,
    state         TEXT NOT NULL,
    fetched       INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    reason        TEXT,
    http_status   INTEGER,
    etag          TEXT,
    last_modified TEXT,
    content_hash  TEXT,
    content_type  TEXT,
    final_url     TEXT,
    updated_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS urls_queue ON urls(crawl_id, state, depth);
CREATE INDEX IF NOT EXISTS urls_hash ON urls(content_hash);
CREATE INDEX IF NOT EXISTS urls_source ON urls(source_name, outcome);
"""

QUEUED, FETCHING, DONE = "queued", "fetching", "done"

# Outcomes whose content is in the index (or waiting for it): their hash marks duplicates and their
# validators may be sent.
LIVE_OUTCOMES = ("indexed", "unchanged", "not_modified", "pending")
# Outcomes not revisited by the next crawl unless a link finds them again: documents that disappeared
# (404 / 410 on a known URL) and broken links.
FORGOTTEN_OUTCOMES = ("gone", "broken")
_LIVE_MARKS = ",".join("?" * len(LIVE_OUTCOMES))


@dataclass(frozen=True)
class UrlRow:
    url: str  # canonical
    fetch_url: str
    source_name: str
    host: str
    depth: int
    crawl_id: int
    state: str
    outcome: str | None
    reason: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    content_type: str | None


@dataclass(frozen=True)
class CrawlRun:
    crawl_id: int
    source_name: str
    started_at: float
    finished_at: float | None
    summary: str | None


_ROW = (
    "url, fetch_url, source_name, host, depth, crawl_id, state, outcome, reason, etag, last_modified, content_hash, "
    "content_type"
)


class Frontier:
    """Thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Frontier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        with self._lock:
            cur = self._db.execute(sql, params)
            return cur.rowcount

    # ------------------------------------------------------------- crawls

    def open_crawl(self, source_name: str) -> tuple[int, bool]:
        """(crawl id, resumed): the unfinished crawl of the source, or a new one."""
        with self._lock:
            row = self._db.execute(
                "SELECT crawl_id FROM crawls WHERE source_name = ? AND finished_at IS NULL "
                "ORDER BY crawl_id DESC LIMIT 1",
                (source_name,),
            ).fetchone()
            if row is not None:
                crawl_id = int(row[0])
                # claimed but not fetched: fetch again; fetched and kept ('pending'): re-handed from raw bytes
                self._db.execute(
                    "UPDATE urls SET state = ? WHERE crawl_id = ? AND state = ? AND COALESCE(outcome, '') != 'pending'",
                    (QUEUED, crawl_id, FETCHING),
                )
                return crawl_id, True
            cur = self._db.execute(
                "INSERT INTO crawls (source_name, started_at) VALUES (?, ?)", (source_name, time.time())
            )
            return int(cur.lastrowid or 0), False

    def is_seeded(self, crawl_id: int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT seeded FROM crawls WHERE crawl_id = ?", (crawl_id,)).fetchone()
        return bool(row and row[0])

    def mark_seeded(self, crawl_id: int) -> None:
        self._write("UPDATE crawls SET seeded = 1 WHERE crawl_id = ?", (crawl_id,))

    def finish_crawl(self, crawl_id: int, summary: str) -> None:
        self._write(
            "UPDATE crawls SET finished_at = ?, summary = ? WHERE crawl_id = ?", (time.time(), summary, crawl_id)
        )

    def requeue_known(self, source_name: str, crawl_id: int) -> int:
        """Queue every URL the source knows for a revisit in crawl ``crawl_id``; returns how many."""
        marks = ",".join("?" * len(FORGOTTEN_OUTCOMES))
        return self._write(
            f"UPDATE urls SET state = ?, crawl_id = ?, fetched = 0, updated_at = ? WHERE source_name = ? "
            f"AND crawl_id != ? AND COALESCE(outcome, '') NOT IN ({marks})",
            (QUEUED, crawl_id, time.time(), source_name, crawl_id, *FORGOTTEN_OUTCOMES),
        )

    def runs(self, source_name: str | None = None, limit: int = 1) -> list[CrawlRun]:
        """The latest ``limit`` crawls (of one source, or of each source when ``source_name`` is None)."""
        with self._lock:
            if source_name is not None:
                rows = self._db.execute(
                    "SELECT crawl_id, source_name, started_at, finished_at, summary FROM crawls "
                    "WHERE source_name = ? ORDER BY crawl_id DESC LIMIT ?",
                    (source_name, limit),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT c.crawl_id, c.source_name, c.started_at, c.finished_at, c.summary FROM crawls c "
                    "WHERE c.crawl_id IN (SELECT MAX(crawl_id) FROM crawls GROUP BY source_name) ORDER BY source_name"
                ).fetchall()
        return [CrawlRun(*row) for row in rows]

    # ------------------------------------------------------------- urls

    def add(self, url: str, fetch_url: str, source_name: str, host: str, depth: int, crawl_id: int) -> bool:
        """Queue a discovered URL for this crawl; False if it is already known to this crawl (or to another
        source). A URL known from an earlier crawl of the same source is queued again."""
        return (
            self._write(
                """INSERT INTO urls (url, fetch_url, source_name, host, depth, crawl_id, state, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(url) DO UPDATE SET state = excluded.state, crawl_id = excluded.crawl_id,
                   depth = excluded.depth, fetch_url = excluded.fetch_url, fetched = 0, updated_at = excluded.updated_at
               WHERE urls.source_name = excluded.source_name AND (urls.crawl_id != excluded.crawl_id
                   OR (urls.state = 'queued' AND excluded.depth < urls.depth))""",
                (url, fetch_url, source_name, host, depth, crawl_id, QUEUED, time.time()),
            )
            > 0
        )

    def claim(self, crawl_id: int, limit: int, busy_hosts: Sequence[str] = ()) -> list[UrlRow]:
        """Up to ``limit`` queued URLs of the crawl (shallowest first, in discovery order) whose host is
        not busy; they become ``fetching``."""
        if limit <= 0:
            return []
        marks = ",".join("?" * len(busy_hosts))
        busy = f"AND host NOT IN ({marks})" if busy_hosts else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ROW} FROM urls WHERE crawl_id = ? AND state = ? {busy} ORDER BY depth, rowid LIMIT ?",
                (crawl_id, QUEUED, *busy_hosts, limit),
            ).fetchall()
            self._db.executemany(
                "UPDATE urls SET state = ?, updated_at = ? WHERE url = ?", [(FETCHING, time.time(), r[0]) for r in rows]
            )
        return [UrlRow(*r) for r in rows]

    def pending(self, crawl_id: int) -> list[UrlRow]:
        """URLs fetched (bytes kept in the raw store) but not yet confirmed by the Indexer."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ROW} FROM urls WHERE crawl_id = ? AND state = ? AND outcome = 'pending' "
                "ORDER BY depth, rowid",
                (crawl_id, FETCHING),
            ).fetchall()
        return [UrlRow(*r) for r in rows]

    def queued_hosts(self, crawl_id: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT host FROM urls WHERE crawl_id = ? AND state = ?", (crawl_id, QUEUED)
            ).fetchall()
        return [r[0] for r in rows]

    def get(self, url: str) -> UrlRow | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_ROW} FROM urls WHERE url = ?", (url,)).fetchone()
        return UrlRow(*row) if row else None

    def validators(self, url: str) -> Validators | None:
        """The ETag / Last-Modified of a URL whose content is in the index (None otherwise)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT etag, last_modified FROM urls WHERE url = ? AND outcome IN ({_LIVE_MARKS})",
                (url, *LIVE_OUTCOMES),
            ).fetchone()
        if row is None or not (row[0] or row[1]):
            return None
        return Validators(etag=row[0], last_modified=row[1])

    def duplicate_of(self, content_hash: str, url: str) -> str | None:
        """Another URL whose identical content is in the index (or on its way there)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT url FROM urls WHERE content_hash = ? AND url != ? "
                f"AND outcome IN ({_LIVE_MARKS}) ORDER BY rowid LIMIT 1",
                (content_hash, url, *LIVE_OUTCOMES),
            ).fetchone()
        return row[0] if row else None

    def claim_target(self, url: str, fetch_url: str, source_name: str, host: str, depth: int, crawl_id: int) -> None:
        """A redirect led to ``url``: it is being handled in this crawl, so nobody fetches it again."""
        self._write(
            """INSERT INTO urls (url, fetch_url, source_name, host, depth, crawl_id, state, fetched, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
               ON CONFLICT(url) DO UPDATE SET state = excluded.state, crawl_id = excluded.crawl_id, fetched = 1,
                   updated_at = excluded.updated_at""",
            (url, fetch_url, source_name, host, depth, crawl_id, FETCHING, time.time()),
        )

    def record(
        self,
        url: str,
        *,
        state: str,
        outcome: str,
        reason: str | None = None,
        http_status: int | None = None,
        fetched: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        content_hash: str | None = None,
        content_type: str | None = None,
        final_url: str | None = None,
        keep_validators: bool = False,
    ) -> None:
        """Set what became of a URL. ``keep_validators`` keeps the stored ETag / Last-Modified / hash /
        content type (a 304 answers without new ones; the Indexer's verdict adds none)."""
        if keep_validators:
            self._write(
                "UPDATE urls SET state = ?, outcome = ?, reason = ?, http_status = COALESCE(?, http_status), "
                "fetched = MAX(fetched, ?), etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
                "final_url = COALESCE(?, final_url), updated_at = ? WHERE url = ?",
                (state, outcome, reason, http_status, int(fetched), etag, last_modified, final_url, time.time(), url),
            )
        else:
            self._write(
                "UPDATE urls SET state = ?, outcome = ?, reason = ?, http_status = ?, fetched = MAX(fetched, ?), "
                "etag = ?, last_modified = ?, content_hash = ?, content_type = ?, final_url = ?, updated_at = ? "
                "WHERE url = ?",
                (
                    state,
                    outcome,
                    reason,
                    http_status,
                    int(fetched),
                    etag,
                    last_modified,
                    content_hash,
                    content_type,
                    final_url,
                    time.time(),
                    url,
                ),
            )

    def pages_fetched(self, crawl_id: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM urls WHERE crawl_id = ? AND fetched = 1", (crawl_id,)
            ).fetchone()
        return int(row[0])

    def urls_of(self, source_name: str) -> Iterator[UrlRow]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ROW} FROM urls WHERE source_name = ? ORDER BY depth, rowid", (source_name,)
            ).fetchall()
        for row in rows:
            yield UrlRow(*row)

    def count_state(self, crawl_id: int, state: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM urls WHERE crawl_id = ? AND state = ?", (crawl_id, state)
            ).fetchone()
        return int(row[0])

    def outcome_counts(self, crawl_id: int) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT COALESCE(outcome, state), COUNT(*) FROM urls WHERE crawl_id = ? GROUP BY 1", (crawl_id,)
            ).fetchall()
        return {k: int(n) for k, n in rows}

    def problems(self, crawl_id: int, limit: int = 20) -> list[tuple[str, str, str | None]]:
        """(url, outcome, reason) of the URLs of a crawl that failed, were refused or are broken links."""
        with self._lock:
            rows = self._db.execute(
                "SELECT url, outcome, reason FROM urls WHERE crawl_id = ? "
                "AND outcome IN ('failed', 'refused', 'broken') ORDER BY rowid LIMIT ?",
                (crawl_id, limit),
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]
