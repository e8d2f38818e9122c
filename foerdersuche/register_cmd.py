"""``foerdersuche facts`` and ``foerdersuche projects [show ID]``: the register on the command line.

Output contract (scripts rely on it): ``facts --json`` -> ``{"facts": [...], "sums": {...}}``,
``projects --json`` -> ``{"projects": [...]}``, ``projects show ID --json`` -> one project with its
``facts``; the field names are those of ``search.register`` (``to_dict``), the same as the API's.
These commands read only the registry and the raw files, never the index, so they also work while
``foerdersuche serve`` runs on the same data directory.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def euro(value: float) -> str:
    """German money format: 1.080.000 €, 150.000 €, 14,6 Mio. €."""
    if value >= 1_000_000:
        text = f"{value / 1_000_000:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", "X").replace(".", ",").replace("X", ".") + " Mio. €"
    return f"{value:,.0f}".replace(",", ".") + " €"


def _progress() -> Callable[[int, int, str], None]:
    def show(n: int, total: int, source: str) -> None:
        if n == 1:
            err.print(
                f"Register wird aus den gespeicherten Rohdaten aufgebaut ({total} Dokumente, einmalig nach einem "
                "Update; kein erneutes Crawlen, kein neues Einbetten) …"
            )
        if err.is_terminal:
            err.print(f"  {n}/{total} {escape(source)}", end="\r")

    return show


def _write_csv(rows: Iterable[list[str]]) -> None:
    writer = csv.writer(sys.stdout)
    for row in rows:
        writer.writerow(row)


def register(app: typer.Typer, settings: Callable[[], Any], fail: Callable[[Exception], typer.Exit]) -> None:
    projects_app = typer.Typer(
        help="Projects linked across documents: list, filter, export; `projects show ID` for one.",
        invoke_without_command=True,
    )
    app.add_typer(projects_app, name="projects")

    @app.command()
    def facts(
        place: Annotated[
            list[str] | None, typer.Option("--place", help="Place name or AGS key (a Kreis includes its Gemeinden).")
        ] = None,
        program: Annotated[
            list[str] | None, typer.Option("--program", help="Program, any alias (JTF, Fünf-Standorte …).")
        ] = None,
        doc: Annotated[str | None, typer.Option("--doc", help="Only facts of this document id.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object {facts, sums}.")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV with one row per fact.")] = False,
    ) -> None:
        """Funding facts: every amount tied to a project or program, cited to the character."""
        from core.errors import FoerdersucheError
        from runtime import load_register
        from search.register import facts_csv_rows, resolve_register_query, select_facts, sums

        try:
            reg, gazetteer, _ = load_register(settings(), _progress())
            q = resolve_register_query(gazetteer, places=place or (), programs=program or (), doc_id=doc)
        except FoerdersucheError as exc:
            raise fail(exc) from exc
        found = select_facts(reg, q, gazetteer)
        if as_json:
            print(
                json.dumps(
                    {"facts": [f.to_dict() for f in found], "sums": sums(found, gazetteer).to_dict()},
                    ensure_ascii=False,
                )
            )
            return
        if as_csv:
            _write_csv(facts_csv_rows(found))
            return
        if not found:
            out.print(
                "Keine Förderangaben gefunden."
                + ("" if reg.facts else " Das Register ist leer: erst `foerdersuche ingest` oder `crawl`.")
            )
            return
        table = Table("Betrag", "Art", "Vorhaben / Zweck", "Ort", "Programm", "Quelle", show_lines=False)
        for f in found:
            c = f.citation
            where = f"{c.title or c.source}" + (f", S. {c.page}" if c.page else "")
            table.add_row(
                euro(f.fact.eur), _KIND_DE[f.fact.kind.value], escape(f.fact.project or f.fact.purpose),
                escape(", ".join(p.name for p in f.fact.places)), escape(", ".join(f.fact.programs)), escape(where),
            )  # fmt: skip
        out.print(table)
        out.print(f"{len(found)} Förderangaben.")

    @projects_app.callback()
    def projects(
        ctx: typer.Context,
        place: Annotated[
            list[str] | None, typer.Option("--place", help="Place name or AGS key (a Kreis includes its Gemeinden).")
        ] = None,
        program: Annotated[list[str] | None, typer.Option("--program", help="Program, any alias.")] = None,
        query: Annotated[
            str | None, typer.Option("--query", help="Words that must occur in the project's names, places, programs.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object {projects}.")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV with one row per project.")] = False,
    ) -> None:
        """Projects: mentions of the same project in different documents linked into one."""
        if ctx.invoked_subcommand is not None:
            return
        from core.errors import FoerdersucheError
        from runtime import load_register
        from search.register import distinct_amounts, projects_csv_rows, resolve_register_query, select_projects

        try:
            reg, gazetteer, _ = load_register(settings(), _progress())
            q = resolve_register_query(gazetteer, places=place or (), programs=program or (), query=query)
        except FoerdersucheError as exc:
            raise fail(exc) from exc
        found = select_projects(reg, q, gazetteer)
        if as_json:
            print(json.dumps({"projects": [p.to_dict() for p in found]}, ensure_ascii=False))
            return
        if as_csv:
            _write_csv(projects_csv_rows(found))
            return
        if not found:
            out.print(
                "Keine Vorhaben gefunden."
                + ("" if reg.projects else " Das Register ist leer: erst `foerdersuche ingest` oder `crawl`.")
            )
            return
        table = Table("ID", "Vorhaben", "Ort", "Programm", "Förderung", "Zeitraum", "Status", "Dok.")
        for p in found:
            funding = sum(f.fact.eur for f in distinct_amounts(p.facts) if f.fact.kind.value == "funding")
            period = (
                f"{p.timeline[0].date} – {p.timeline[-1].date}"
                if len(p.timeline) > 1
                else (p.timeline[0].date if p.timeline else "")
            )
            status = _STATUS_DE.get(p.status.value if p.status else "", "")
            table.add_row(
                p.project_id, escape(p.name), escape(", ".join(x.name for x in p.places)),
                escape(", ".join(p.programs)), euro(funding) if funding else "", period, status,
                str(len({m.doc_id for m in p.mentions})),
            )  # fmt: skip
        out.print(table)
        out.print(f"{len(found)} Vorhaben. Einzelnes Vorhaben: foerdersuche projects show ID")

    @projects_app.command("show")
    def show(
        project_id: Annotated[str, typer.Argument(help="Project id from `foerdersuche projects`.")],
        as_json: Annotated[bool, typer.Option("--json", help="The project as one JSON object.")] = False,
    ) -> None:
        """One project: its mentions in the documents and its dated timeline, each cited."""
        from core.errors import FoerdersucheError, NotFound
        from runtime import load_register

        try:
            reg, _, _ = load_register(settings(), _progress())
            project = reg.by_id.get(project_id)
            if project is None:
                raise NotFound(f"kein Vorhaben mit der ID {project_id!r} (IDs zeigt `foerdersuche projects`)")
        except FoerdersucheError as exc:
            raise fail(exc) from exc
        if as_json:
            print(json.dumps(project.to_dict(with_facts=True), ensure_ascii=False))
            return
        out.print(f"[bold]{escape(project.name)}[/bold]  ({project.project_id})")
        if project.aliases:
            out.print("auch: " + escape("; ".join(project.aliases)))
        out.print("Ort: " + escape(", ".join(f"{p.name} ({p.ags})" for p in project.places) or "–"))
        out.print("Programme: " + escape(", ".join(project.programs) or "–"))
        out.print("Beteiligte: " + escape(", ".join(project.organisations) or "–"))
        out.print("Status: " + _STATUS_DE.get(project.status.value if project.status else "", "–"))
        out.print("\n[bold]Beträge[/bold]")
        for f in project.facts:
            c = f.citation
            out.print(
                f"  {euro(f.fact.eur):>16}  {_KIND_DE[f.fact.kind.value]:10} {escape(c.title or c.source)}"
                + (f", S. {c.page}" if c.page else "")
            )
        out.print("\n[bold]Zeitleiste[/bold]")
        for t in project.timeline:
            c = t.citation
            quote = " ".join(c.quote.split())[:140]
            out.print(f"  {t.date:10}  {escape(t.what):18} {escape(c.title or c.source)}: „{escape(quote)}“")
        out.print(f"\n[bold]Erwähnungen[/bold] ({len(project.mentions)})")
        for m in project.mentions:
            out.print(f"  {m.date or '–':10}  {escape(m.title or m.source)}: {escape(m.name)}")


_KIND_DE = {"funding": "Förderung", "cost": "Kosten", "budget": "Budget", "other": "sonstiges"}
_STATUS_DE = {"planned": "geplant", "approved": "bewilligt", "running": "läuft", "completed": "abgeschlossen"}
