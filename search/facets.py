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
from itertools import chain

from core.gazetteer import Gazetteer
from core.models import DocInfo, Hit
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
    docs: dict[str, DocInfo] = {}
    places: dict[str, set[str]] = {}
    programs: dict[str, set[str]] = {}
    local = gazetteer.local_keys
    for hit in hits:  # a few hundred candidates per query: the values of each document gathered once
        doc_id = hit.doc.doc_id
        if doc_id not in docs:
            docs[doc_id] = hit.doc
            places[doc_id] = set()
            programs[doc_id] = set()
        annotations = hit.passage.annotations
        if annotations.place_keys:
            places[doc_id].update(local.intersection(annotations.place_keys))
        if annotations.programs:
            programs[doc_id].update(annotations.programs)
    counts: dict[str, Counter[str]] = {
        "place": Counter(chain.from_iterable(places.values())),
        "program": Counter(chain.from_iterable(programs.values())),
        "doc_type": Counter(d.doc_type.value for d in docs.values()),
        "year": Counter(d.date[:4] for d in docs.values() if d.date and d.date[:4].isdigit()),
        "language": Counter(d.language for d in docs.values() if d.language),
        "source": Counter(d.source_name for d in docs.values() if d.source_name),
    }
    return {facet: _top(counts[facet].items(), limit) for facet in FACETS}


def index_facets(store: Store, limit: int = 50) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """(passages in the index, facet -> (value, passages) most frequent first)."""
    total = store.count()
    if not total:
        return 0, {facet: [] for facet in FACETS}
    return total, {facet: _top(store.facet(key, None, limit), limit) for facet, key in INDEX_FIELDS.items()}


def _top(items: Iterable[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    return sorted(items, key=lambda kv: (-kv[1], kv[0]))[:limit]
