"""Facet counts, one implementation for every front end (CLI ``--facets``, ``/search``, ``/facets``,
the web page).

* ``facet_counts``: the facets of a query, counted over its fused candidates (up to ``prefetch_limit``
  passages per retriever), one count per document, so a long report does not outweigh a short press
  release.
* ``index_facets``: index-wide counts of passages per value, one facet request to the store per
  field (the store counts on its payload indexes; the year too, no query per year).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from core.gazetteer import Gazetteer
from core.models import Hit
from core.store.base import Store

FACETS = ("place", "program", "doc_type", "year", "language", "source")
# which payload field the store counts for each facet
INDEX_FIELDS = {
    "place": "place_keys",
    "program": "programs",
    "doc_type": "doc_type",
    "year": "year",
    "language": "language",
    "source": "source_name",
}


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
        if hit.doc.source_name:
            d["source"].add(hit.doc.source_name)
    out: dict[str, list[tuple[str, int]]] = {}
    for facet in FACETS:
        counts: Counter[str] = Counter()
        for values in per_doc.values():
            counts.update(values[facet])
        out[facet] = _top(counts.items(), limit)
    return out


def index_facets(store: Store, limit: int = 50) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """(passages in the index, facet -> (value, passages) most frequent first)."""
    total = store.count()
    if not total:
        return 0, {facet: [] for facet in FACETS}
    return total, {facet: _top(store.facet(key, None, limit), limit) for facet, key in INDEX_FIELDS.items()}


def _top(items: Iterable[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:limit]
