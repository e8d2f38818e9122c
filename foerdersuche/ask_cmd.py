"""The ``ask`` command: a German question answered with one value and its cited sentence, or not at all.

``foerdersuche ask "Wie viel Geld gibt das Land für die EcoTecHub-Vorstudie?" [--json]`` runs the hybrid
search with the question, reads candidate values from the best passages and the register
(``search.answer``) and prints the answer with its citation, then the passages as ``search`` does.
``--json`` prints ``{"question", "answer": null | {"text", "kind", "value", "citation": {...}}, "hits"}``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import FoerdersucheError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def ask_command(
    question: Annotated[str, typer.Argument(help="The question (German), e.g. „Wann wurde … bewilligt?“")],
    k: Annotated[int, typer.Option("-k", help="Passages shown (and searched for the answer).", min=1, max=200)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Answer a "wie viel / wann / wie viele / wer / wo" question with a cited value, or say there is none."""
    from foerdersuche.context import settings
    from foerdersuche.hits import hit_json, print_hits
    from foerdersuche.runtime import open_runtime
    from ingest.reconcile import missing_index
    from search.answer import AnswerOptions, ask
    from search.engine import SearchRequest

    try:
        with open_runtime(settings()) as rt:
            lost = missing_index(rt.store, rt.registry)
            if lost is not None:
                raise lost
            options = AnswerOptions()
            request = SearchRequest(query=question, k=max(k, options.passages), options=rt.search_options())
            result, found = ask(question, rt.searcher, rt.register(), request, options)
    except (FoerdersucheError, OSError) as exc:
        err.print(f"[red]Fehler:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    answer = result.answer
    if as_json:
        body: dict[str, Any] = {
            "question": question,
            "answer": answer.to_dict() if answer else None,
            "hits": [hit_json(found, h) for h in found.hits[:k]],
        }
        print(json.dumps(body, ensure_ascii=False, indent=1))
        return
    if answer is None:
        out.print("[bold]Keine direkte Antwort[/bold] – die passendsten Textstellen:")
    else:
        c = answer.citation
        rel_start, rel_end = answer.value_start - c.char_start, answer.value_end - c.char_start
        quote = " ".join(c.quote.split())
        sentence = (
            escape(c.quote[:rel_start])
            + "[bold]"
            + escape(c.quote[rel_start:rel_end])
            + "[/bold]"
            + escape(c.quote[rel_end:])
            if 0 <= rel_start < rel_end <= len(c.quote)
            else escape(quote)
        )
        out.print(f"[bold green]{escape(answer.text)}[/bold green]  ({escape(str(answer.to_dict()['value']))})")
        out.print("„" + " ".join(sentence.split()) + "“")
        where = c.url or c.source
        page = f", S. {c.page}" if c.page else ""
        out.print(f"[dim]{escape(c.title or '')} – {escape(where)}{page}, Zeichen {c.char_start}–{c.char_end}[/dim]")
        out.print()
    from dataclasses import replace

    print_hits(replace(found, hits=found.hits[:k]))


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
