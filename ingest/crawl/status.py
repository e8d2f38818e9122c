"""Per-source status for ``foerdersuche status``: documents per source name and status (registry),
the last crawl of each source and its problems (frontier)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.registry import Registry
from ingest.crawl.frontier import Frontier

FRONTIER_FILE = "crawl.sqlite3"


def frontier_path(data_dir: Path) -> Path:
    return data_dir / FRONTIER_FILE


@dataclass(frozen=True)
class LastCrawl:
    started_at: float
    finished_at: float | None  # None: interrupted; the next `foerdersuche crawl` resumes it
    counts: dict[str, object]  # the source's crawl report (fetched, new, changed, deleted, ...)


@dataclass(frozen=True)
class SourceStatus:
    name: str  # "(dateien)" for documents ingested from files
    documents: dict[str, int]  # live documents per registry status
    passages: int
    last_crawl: LastCrawl | None = None
    errors: tuple[tuple[str, str, str | None], ...] = ()  # (url, outcome, reason) of the last crawl


FILES = "(dateien)"


def source_status(registry: Registry, data_dir: Path, *, max_errors: int = 10) -> list[SourceStatus]:
    """One entry per source name known to the registry or the frontier; reads, never writes state."""
    docs: dict[str, dict[str, int]] = {}
    passages: dict[str, int] = {}
    for name, status, n, p in registry.counts_by_source():
        key = name or FILES
        docs.setdefault(key, {})[status] = n
        passages[key] = passages.get(key, 0) + p
    crawls: dict[str, tuple[LastCrawl, tuple[tuple[str, str, str | None], ...]]] = {}
    path = frontier_path(data_dir)
    if path.is_file():
        with Frontier(path) as frontier:
            for run in frontier.runs():
                counts = json.loads(run.summary) if run.summary else {}
                crawls[run.source_name] = (
                    LastCrawl(run.started_at, run.finished_at, counts),
                    tuple(frontier.problems(run.crawl_id, max_errors)),
                )
    names = sorted(set(docs) | set(crawls), key=lambda n: (n == FILES, n))
    return [
        SourceStatus(
            name=name,
            documents=docs.get(name, {}),
            passages=passages.get(name, 0),
            last_crawl=crawls[name][0] if name in crawls else None,
            errors=crawls[name][1] if name in crawls else (),
        )
        for name in names
    ]


def status_dict(entries: list[SourceStatus]) -> list[dict[str, object]]:
    return [asdict(e) for e in entries]
