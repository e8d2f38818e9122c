"""Facet counts for the current query: how many of the matching documents fall in each value.

Counted over the query's fused candidates (up to ``prefetch_limit`` passages per retriever), one
count per document, so a long report does not outweigh a short press release.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from core.gazetteer import Gazetteer
from core.models import Hit

FACETS = ("place", "program", "doc_type", "year", "language")


def facet_counts(hits: Sequence[Hit], gazetteer: Gazetteer, limit: int = 20) -> dict[str, list[tuple[str, int]]]:
    per_doc: dict[str, dict[str, set[str]]] = {}
    for hit in hits:
        d = per_doc.setdefault(hit.doc.doc_id, {f: set() for f in FACETS})
        d["place"].update(gazetteer.local_keys.intersection(hit.passage.annotations.place_keys))
        d["program"].update(hit.passage.annotations.programs)
        d["doc_type"].add(hit.doc.doc_type.value)
        if hit.doc.date and hit.doc.date[:4].isdigit():
            d["year"].add(hit.doc.date[:4])
        if hit.doc.language:
            d["language"].add(hit.doc.language)
    out: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        counts: Counter[str] = Counter()
        for values in per_doc.values():
            counts.update(values[facet])
        out[facet] = _top(counts.items(), limit)
    return out


def _top(items: Iterable[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:limit]
