"""Admin work behind ``POST /ingest`` and ``POST /crawl``: which paths may be read, and the jobs.

Ingest reads only below the allowed roots (``Settings.ingest_roots``; default ``<project>/corpus``
and ``<data_dir>/inbox``). A requested path must not contain ``..``; relative paths are taken
relative to the project folder; after resolving symlinks it must lie inside a root. Files found
inside a requested folder are checked again (a symlink inside a root must not lead out of it).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import Any

import runtime
from api.errors import ApiError
from api.jobs import Progress
from api.state import AppState
from core.models import FileStatus
from core.registry import Registry
from core.settings import PROJECT_ROOT, Settings
from ingest.discovery import SourceItem, discover
from ingest.pipeline import Indexer, Parser
from ingest.report import FileResult, IngestReport


def allowed_roots(settings: Settings) -> list[Path]:
    roots = list(settings.ingest_roots) or [PROJECT_ROOT / "corpus", settings.data_dir / "inbox"]
    return [Path(r).expanduser().resolve() for r in roots]


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def resolve_ingest_paths(raw_paths: list[str], settings: Settings) -> list[Path]:
    """The requested paths, resolved and checked; one 400 naming every refused path otherwise."""
    roots = allowed_roots(settings)
    resolved: list[Path] = []
    problems: list[dict[str, str]] = []
    for raw in raw_paths:
        reason = None
        if "\x00" in raw:
            reason = "contains a NUL byte"
        elif ".." in PurePosixPath(raw.replace("\\", "/")).parts:
            reason = "path traversal ('..') is not allowed"
        else:
            path = Path(raw)  # no "~" expansion: a request names server paths literally
            path = (path if path.is_absolute() else PROJECT_ROOT / path).resolve()
            if not _inside(path, roots):
                reason = "outside the allowed folders"
            elif not path.exists():
                reason = "no such file or directory"
            else:
                resolved.append(path)
        if reason:
            problems.append({"path": raw, "reason": reason})
    if problems:
        raise ApiError(
            400,
            "path_not_allowed",
            "Some paths cannot be ingested: " + "; ".join(f"{p['path']!r}: {p['reason']}" for p in problems),
            {"problems": problems, "allowed_roots": [str(r) for r in roots]},
        )
    return resolved


def confine(items: list[SourceItem], roots: list[Path]) -> tuple[list[SourceItem], list[FileResult]]:
    """Drop discovered files whose real location is outside the roots (symlinks leading out)."""
    kept, refused = [], []
    for item in items:
        if item.path is not None and not _inside(item.path.resolve(), roots):
            refused.append(FileResult(item.source, FileStatus.SKIPPED, "outside the allowed folders (symlink)"))
        else:
            kept.append(item)
    return kept, refused


def open_parser(settings: Settings, stack: ExitStack) -> Parser:
    """The isolated parser of a job: worker processes under the time and memory limits of the
    settings, stopped with ``stack`` (a crashing PDF must not take the API server down)."""
    return runtime.build_parser(settings, stack)


def job_indexer(state: AppState, registry: Registry, stack: ExitStack) -> Indexer:
    """An Indexer over the app's own store (Edge allows one opener per process)."""
    store = state.require_store()
    embedder = state.embedder
    gazetteer = state.gazetteer
    if embedder is None or gazetteer is None:
        raise state.not_ready()
    parser = (state.parser_factory or open_parser)(state.settings, stack)
    with state.index_lock.write():  # Indexer construction calls ensure_collection, which may reopen the shard
        return runtime.build_indexer(state.settings, embedder, store, registry, state.raw, gazetteer, parser)


def ingest_job(
    state: AppState, paths: list[Path], force: bool
) -> Callable[[Progress, Callable[[], bool]], dict[str, Any]]:
    roots = allowed_roots(state.settings)

    def run(progress: Progress, cancelled: Callable[[], bool]) -> dict[str, Any]:
        items, skipped = discover(paths)
        items, refused = confine(items, roots)
        total = len(items)
        progress(0, total)
        done = 0

        def on_result(_result: FileResult) -> None:
            nonlocal done
            done += 1
            progress(done, total)

        with ExitStack() as stack:
            registry = stack.enter_context(Registry(state.settings.registry_path))
            indexer = job_indexer(state, registry, stack)
            report = indexer.ingest(items, force=force, on_result=on_result)
        full = IngestReport(
            files=tuple(skipped) + tuple(refused) + report.files,
            seconds=report.seconds,
            passages_written=report.passages_written,
        )
        return full.to_dict()

    return run


# ----------------------------------------------------------------------------- crawl


def sources_path(settings: Settings) -> Path:
    return settings.sources_file or PROJECT_ROOT / "corpus" / "sources.toml"


def crawl_job(state: AppState, names: list[str]) -> Callable[[Progress, Callable[[], bool]], dict[str, Any]]:
    """The crawl of the named sources; unknown names or a bad sources file fail here (CrawlError -> 400)."""
    from ingest.crawl.sources import load_sources

    sources_file = load_sources(sources_path(state.settings))
    selected = sources_file.select(names)
    settings = state.settings

    def run(progress: Progress, cancelled: Callable[[], bool]) -> dict[str, Any]:
        from ingest.crawl.crawler import CrawlEvent, guard_policy
        from ingest.crawl.frontier import Frontier
        from ingest.crawl.netguard import guarded_client
        from ingest.crawl.status import frontier_path

        budget = sum(s.max_pages for s in selected)
        handled = 0
        progress(0, budget)

        def on_event(_event: CrawlEvent) -> None:
            nonlocal handled
            handled += 1
            progress(handled, max(budget, handled))

        options = sources_file.options
        with ExitStack() as stack:
            registry = stack.enter_context(Registry(settings.registry_path))
            indexer = job_indexer(state, registry, stack)
            frontier = stack.enter_context(Frontier(frontier_path(settings.data_dir)))
            client = stack.enter_context(
                guarded_client(
                    guard_policy(selected, settings.allow_private_networks),
                    user_agent=settings.user_agent,
                    timeout_s=options.timeout_s,
                )
            )
            crawler = runtime.build_crawler(settings, indexer, frontier, client, options, on_event)
            report = crawler.crawl(selected)
        return report.to_dict()

    return run
