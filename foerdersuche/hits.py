"""How the CLI shows search hits: the ``search --json`` contract (``hit_json``), the grouped and facet
JSON, and the human-readable list with citations and highlighted snippets. Used by ``search`` and
``ask``."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from foerdersuche.context import out


def hit_json(result: Any, hit: Any) -> dict[str, Any]:
    p, d = hit.passage, hit.doc
    return {
        "doc_id": d.doc_id,
        "passage_id": p.passage_id,
        "source": d.source,
        "url": d.url,
        "title": d.title,
        "page": p.page,
        "date": d.date,
        "doc_type": d.doc_type.value,
        "language": d.language,
        "score": hit.score,
        "ranks": dict(hit.ranks),
        "text": p.text,
        "char_start": p.char_start,
        "char_end": p.char_end,
        "heading_path": list(p.heading_path),
        "highlights": [list(s) for s in result.highlights(hit)],
        "places": list(p.annotations.places),
        "programs": list(p.annotations.programs),
        "ocr": None if p.ocr is None else {"confidence": p.ocr.confidence, "flagged": p.ocr.flagged},
    }


def print_body(body: dict[str, Any], group: bool) -> None:
    """The text list of one query's hits from its JSON (``extended_json`` with the flat ``hits``)."""
    if not body["hits"]:
        out.print("Keine Treffer.")
        return
    if body["places_in_query"]:
        out.print("Ort erkannt: " + ", ".join(f"{p['name']} ({p['ags']})" for p in body["places_in_query"]))
    if not group:
        for i, hit in enumerate(body["hits"], 1):
            print_hit(hit, f"{i}. ")
        return
    for i, g in enumerate(body["groups"], 1):
        for j, hit in enumerate(g["passages"]):
            print_hit(hit, f"{i}. " if j == 0 else "   ", show_title=j == 0)
        if g["also_published_at"]:
            out.print("   [dim]auch veröffentlicht unter: " + escape(", ".join(g["also_published_at"])) + "[/dim]")


def print_hit(hit: dict[str, Any], prefix: str, show_title: bool = True) -> None:
    """One hit (``hit_json``) with its citation and its snippet, the query's words highlighted."""
    from search.highlight import snippet_window

    text: str = hit["text"]
    cite = [hit["url"] or hit["source"]]
    if hit["page"] is not None:
        cite.append(f"S. {hit['page']}" + (" (Text per Texterkennung)" if hit["ocr"] is not None else ""))
    if hit["date"]:
        cite.append(hit["date"])
    if show_title:
        out.print(f"\n[bold]{prefix}{escape(hit['title'] or '(ohne Titel)')}[/bold]  [dim]{hit['score']:.3f}[/dim]")
    score = "" if show_title else f"  [dim]{hit['score']:.3f}[/dim]"
    out.print(f"   [cyan]{escape(' · '.join(cite))}[/cyan]{score}")
    spans = [(int(x), int(y)) for x, y in hit["highlights"]]
    a, b = snippet_window(text, spans)
    parts, pos = [], a
    for x, y in spans:
        if x < a or y > b:
            continue
        parts.append(escape(text[pos:x]) + "[bold yellow]" + escape(text[x:y]) + "[/bold yellow]")
        pos = y
    parts.append(escape(text[pos:b]))
    snippet = "".join(parts).replace("\n", " ")
    out.print("   " + ("… " if a > 0 else "") + snippet + (" …" if b < len(text) else ""))


def extended_json(result: Any, gazetteer: Any, group: bool, per_doc: int, facets: bool) -> dict[str, Any]:
    from search.facets import facet_counts
    from search.group import group_hits

    body: dict[str, Any] = {
        "query": result.request.query,
        "places_in_query": [{"ags": p.ags, "name": p.name} for p in result.plan.places],
    }
    if group:
        body["groups"] = [
            {
                "doc_id": g.doc.doc_id,
                "title": g.doc.title,
                "source": g.doc.source,
                "url": g.doc.url,
                "date": g.doc.date,
                "score": g.score,
                "also_published_at": list(g.also_published_at),
                "passages": [hit_json(result, h) for h in g.hits],
                "more_passages": g.total_hits - len(g.hits),
            }
            for g in group_hits(result.hits, per_doc)
        ]
    else:
        body["hits"] = [hit_json(result, h) for h in result.hits]
    if facets and gazetteer is not None:
        counts = facet_counts(result.candidates, gazetteer)
        body["facets"] = {k: [[v, n] for v, n in vals] for k, vals in counts.items()}
    return body


def print_facets(body: dict[str, Any]) -> None:
    """The facet counts of one query's JSON body (place keys named by its ``facet_labels``)."""
    labels = body.get("facet_labels", {})
    for name, values in body.get("facets", {}).items():
        if values:
            shown = ", ".join(f"{labels.get(v, v) if name == 'place' else v} ({n})" for v, n in values[:10])
            out.print(f"[dim]{name}:[/dim] {escape(shown)}")


# ---------------------------------------------------------------- status
