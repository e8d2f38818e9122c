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
    from foerdersuche.hits import print_body
    from foerdersuche.server_link import live_server
    from search.engine import query_text

    question = query_text(question)  # undecodable bytes of the command line: U+FFFD (also on the way to a server)
    s = settings()
    try:
        server = live_server(s.data_dir, s.admin_key)
        if server is not None:  # the server holds the index: it answers through the same ask_payload
            with server:
                payload = server.ask(question, k)
        else:
            from ingest.reconcile import missing_index
            from runtime import open_runtime

            with open_runtime(s) as rt:
                lost = missing_index(rt.store, rt.registry)
                if lost is not None:
                    raise lost
                payload = ask_payload(question, k, rt.searcher, rt.register(), rt.search_options())
    except (FoerdersucheError, OSError) as exc:
        err.print(f"[red]Fehler:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    answer = payload["answer"]
    if as_json:
        body: dict[str, Any] = {"question": question, "answer": answer, "hits": payload["hits"]}
        print(json.dumps(body, ensure_ascii=False, indent=1))
        return
    if answer is None:
        out.print("[bold]Keine direkte Antwort[/bold] – die passendsten Textstellen:")
    else:
        c = answer["citation"]
        rel_start, rel_end = answer["value_start"] - c["char_start"], answer["value_end"] - c["char_start"]
        quote = " ".join(c["quote"].split())
        sentence = (
            escape(c["quote"][:rel_start])
            + "[bold]"
            + escape(c["quote"][rel_start:rel_end])
            + "[/bold]"
            + escape(c["quote"][rel_end:])
            if 0 <= rel_start < rel_end <= len(c["quote"])
            else escape(quote)
        )
        out.print(f"[bold green]{escape(answer['text'])}[/bold green]  ({escape(str(answer['value']))})")
        out.print("„" + " ".join(sentence.split()) + "“")
        where = c["url"] or c["source"]
        page = f", S. {c['page']}" if c["page"] else ""
        out.print(
            f"[dim]{escape(c['title'] or '')} – {escape(where)}{page}, Zeichen {c['char_start']}–{c['char_end']}[/dim]"
        )
        out.print()
    print_body(payload, group=False)


def ask_payload(question: str, k: int, searcher: Any, register: Any, defaults: Any) -> dict[str, Any]:
    """What ``ask`` prints: the answer (or None), the places found in the question and the ``k`` best
    hits (``hit_json``); computed here or in the server of the data dir (``foerdersuche.remote``)."""
    from foerdersuche.hits import hit_json
    from search.answer import AnswerOptions, ask
    from search.engine import SearchRequest, query_text

    options = AnswerOptions()
    question = query_text(question)  # a server's request may carry a "\ud800" escape
    request = SearchRequest(query=question, k=max(k, options.passages), options=defaults)
    result, found = ask(question, searcher, register, request, options)
    return {
        "answer": result.answer.to_dict() if result.answer else None,
        "places_in_query": [{"ags": p.ags, "name": p.name} for p in found.plan.places],
        "hits": [hit_json(found, h) for h in found.hits[:k]],
    }


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
