"""The ``crawl`` and ``reindex`` commands (registered on the main app by ``foerdersuche.cli``).

    foerdersuche crawl                        crawl corpus/sources.toml, ingest what changed
    foerdersuche crawl --source ecotechub     one source (repeatable)
    foerdersuche crawl --dry-run              what would be fetched (no request is made)
    foerdersuche crawl --sources FILE --json  another sources file; the report as one JSON object
    foerdersuche reindex [--json]             re-parse every live document from its raw bytes

Only typer and rich are imported here at import time; the crawler and the runtime load inside the
commands. The global ``--data-dir`` is read from the click context, so this module needs nothing from
``foerdersuche.cli``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import FoerdersucheError
from core.settings import PROJECT_ROOT, Settings

DEFAULT_SOURCES = PROJECT_ROOT / "corpus" / "sources.toml"

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False)


def _settings(ctx: typer.Context) -> Settings:
    data_dir = ctx.find_root().params.get("data_dir")
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    _err.print(f"[red]Fehler:[/red] {escape(str(exc))}")
    return typer.Exit(code)


def crawl(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option("--source", help="Crawl only this source (repeatable).")] = None,
    sources_file: Annotated[Path, typer.Option("--sources", help="The sources file (TOML).")] = DEFAULT_SOURCES,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be fetched; no request is made.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Crawl the sources (robots.txt, sitemaps, politeness, SSRF guard), then index what changed.

    An interrupted crawl continues where it stopped. Private and loopback addresses are refused unless
    FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS=1 and the source sets allow_private = true.
    """
    from ingest.crawl.crawler import guard_policy, plan
    from ingest.crawl.frontier import Frontier
    from ingest.crawl.netguard import guarded_client
    from ingest.crawl.sources import load_sources
    from ingest.crawl.status import frontier_path

    s = _settings(ctx)
    try:
        config = load_sources(sources_file)
        selected = config.select(tuple(source or ()))
    except FoerdersucheError as exc:
        raise _fail(exc, 2) from exc
    state_path = frontier_path(s.data_dir)

    if dry_run:
        if state_path.is_file():
            with Frontier(state_path) as frontier:
                planned = plan(
                    selected, frontier, sources_file=str(sources_file), allow_private_networks=s.allow_private_networks
                )
        else:
            planned = plan(
                selected, None, sources_file=str(sources_file), allow_private_networks=s.allow_private_networks
            )
        if as_json:
            print(planned.to_json())
        else:
            _print_plan(planned)
        return

    from foerdersuche.server_link import live_server, refusal

    server = live_server(s.data_dir, s.admin_key)
    if server is not None:  # it holds the index: it crawls as an admin job, with its own sources file
        with server:
            if not s.admin_key:
                raise _fail(FoerdersucheError(refusal(server, "crawl")))
            if sources_file.resolve() != DEFAULT_SOURCES.resolve():
                raise _fail(
                    FoerdersucheError(
                        f"{server.describe()} crawlt die Quellen seiner eigenen Quellendatei "
                        "(FOERDERSUCHE_SOURCES_FILE); "
                        "--sources gilt nur ohne laufenden Server."
                    )
                )
            try:
                body = {"sources": [src.name for src in selected]}
                result = server.run_job("/crawl", body, "Crawl (Server)", _err, quiet=as_json)
            except FoerdersucheError as exc:
                raise _fail(exc) from exc
        _show_report(result, as_json)
        return

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ingest.crawl.crawler import CrawlEvent
    from runtime import build_crawler, open_runtime

    policy = guard_policy(selected, s.allow_private_networks)
    counts: dict[str, int] = {}
    try:
        with (
            open_runtime(s) as rt,
            Frontier(state_path) as frontier,
            guarded_client(policy, user_agent=s.user_agent, timeout_s=config.options.timeout_s) as client,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=_err,
                disable=as_json or not _err.is_terminal,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task("Crawl startet …")

            def on_event(event: CrawlEvent) -> None:
                counts[event.what] = counts.get(event.what, 0) + 1
                summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
                progress.update(
                    task,
                    description=f"[bold]{escape(event.source)}[/bold] {summary}  [dim]{escape(event.url[-70:])}[/dim]",
                )

            crawler = build_crawler(s, rt.indexer, frontier, client, config.options, on_event)
            report = crawler.crawl(selected)
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    _show_report(report.to_dict(), as_json)


def _print_plan(planned: Any) -> None:
    _out.print(f"Quellen aus {escape(planned.sources_file)} (Probelauf, keine Anfrage):")
    for p in planned.sources:
        mode = "setzt unterbrochenen Crawl fort" if p.resumes_unfinished_crawl else "neuer Crawl"
        _out.print(f"\n[bold]{escape(p.name)}[/bold] ({mode}; Tiefe ≤ {p.max_depth}, ≤ {p.max_pages} Seiten)")
        _out.print(f"  Hosts: {escape(', '.join(p.allowed_hosts))}")
        if p.include:
            _out.print(f"  nur: {escape(' | '.join(p.include))}")
        if p.exclude:
            _out.print(f"  nie: {escape(' | '.join(p.exclude))}")
        if p.allow_private:
            state = "erlaubt" if p.private_allowed_now else "verweigert (FOERDERSUCHE_ALLOW_PRIVATE_NETWORKS fehlt)"
            _out.print(f"  private Adressen: {state}")
        _out.print(f"  bekannte URLs: {p.known_urls} ({p.conditional} mit ETag/Last-Modified)")
        for url in p.would_fetch:
            _out.print(f"  → {escape(url)}")
    _out.print(f"\n[dim]{escape(planned.robots_and_sitemaps)}[/dim]")


def _show_report(report: dict[str, Any], as_json: bool) -> None:
    """The crawl report (``CrawlReport.to_dict``, from this process or the server's job)."""
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    totals = report["totals"]
    _out.print(
        f"Crawl in {report['seconds']:.1f} s: {totals['fetched']} geladen, {totals['not_modified']} unverändert, "
        f"{totals['new']} neu, {totals['changed']} geändert, {totals['deleted']} gelöscht, "
        f"{totals['skipped']} übersprungen (davon robots.txt {totals['skipped_by_robots']}), "
        f"{totals['failed']} Fehler; {totals['passages_written']} Passagen geschrieben"
    )
    for src in report["sources"]:
        skipped = ", ".join(f"{why} {n}" for why, n in src["skipped"].items()) or "-"
        resumed = " (fortgesetzt)" if src["resumed"] else ""
        _out.print(
            f"\n[bold]{escape(src['name'])}[/bold]{resumed}: {src['fetched']} geladen, "
            f"{src['not_modified']} unverändert, {src['new']} neu, {src['changed']} geändert, "
            f"{src['deleted']} gelöscht; übersprungen: {escape(skipped)}"
        )
        for note in src["notes"]:
            _out.print(f"  [dim]{escape(note)}[/dim]")
        for problem in src["failed"]:
            _out.print(f"  [yellow]{problem['stage']:5}[/yellow] {escape(problem['url'])}: {escape(problem['reason'])}")


def reindex(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Re-parse every live document from its kept raw bytes and index it again (no fetching)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.reindex import reindex as run_reindex
    from ingest.reindex import reindex_plan
    from runtime import open_runtime

    s = _settings(ctx)
    from foerdersuche.server_link import live_server, refusal

    server = live_server(s.data_dir, s.admin_key)
    if server is not None:
        with server:
            raise _fail(FoerdersucheError(refusal(server, "reindex", delegable=False)))
    try:
        moved = _set_aside_damaged_index(s)
        if moved is not None:
            _err.print(
                f"[yellow]Der bisherige Index (beschädigt oder von einer älteren Version) wurde nach "
                f"{escape(str(moved))} verschoben; er wird aus den gespeicherten Rohdaten neu aufgebaut.[/yellow]"
            )
        with open_runtime(s) as rt:
            ready, missing = reindex_plan(rt.registry, rt.raw)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=_err,
                disable=as_json or not _err.is_terminal,
                transient=True,
            ) as progress:
                task = progress.add_task("Reindex", total=len(ready) + len(missing))
                report = run_reindex(rt.indexer, on_result=lambda _r: progress.advance(task))
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(report.to_json())
        return
    counts = report.counts()
    _out.print(
        f"{len(report.files)} Dokumente neu eingelesen in {report.seconds:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f"; {report.passages_written} Passagen geschrieben"
    )
    for f in report.files:
        if f.status.value not in ("indexed", "unchanged"):
            _out.print(f"  [yellow]{f.status.value:9}[/yellow] {escape(f.source)}: {escape(f.reason or '')}")


def _set_aside_damaged_index(s: Settings) -> Path | None:
    """The embedded index cannot be loaded or read, or an earlier version wrote it: move it aside
    (``index.corrupt-<timestamp>``, ``index.outdated-<timestamp>``) so that reindex rebuilds it from the
    raw bytes. A Qdrant server, a sound index or one locked by another process is left alone (None)."""
    from core.errors import OutdatedIndex, StoreCorrupted
    from core.store.edge import EdgeStore
    from ingest.reconcile import quarantine_index

    if s.qdrant_url:
        return None
    try:
        store = EdgeStore.open(s)
    except OutdatedIndex:
        return quarantine_index(s, label="outdated")
    except StoreCorrupted:
        return quarantine_index(s)
    try:
        store.verify()
    except StoreCorrupted:
        with contextlib.suppress(FoerdersucheError):  # flushing a damaged shard may fail too
            store.close()
        return quarantine_index(s)
    store.close()
    return None


def crawl_status_lines(data: list[dict[str, Any]]) -> list[str]:
    """Human-readable lines of ``ingest.crawl.status.status_dict`` for ``foerdersuche status``."""
    lines = []
    for entry in data:
        docs = ", ".join(f"{n} {st}" for st, n in sorted(entry["documents"].items())) or "keine Dokumente"
        line = f"  {entry['name']}: {docs}; {entry['passages']} Passagen"
        crawl_info = entry.get("last_crawl")
        if crawl_info:
            started = dt.datetime.fromtimestamp(crawl_info["started_at"]).strftime("%Y-%m-%d %H:%M")
            state = "abgeschlossen" if crawl_info["finished_at"] else "unterbrochen (wird fortgesetzt)"
            line += f"; letzter Crawl {started} {state}"
        lines.append(line)
        for url, outcome, reason in entry.get("errors", ()):
            lines.append(f"      {outcome}: {url}: {reason or ''}")
    return lines


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)
    app.command("reindex")(reindex)
