"""The ranking fields held in memory (``EdgeStore.keep_summaries``) answer exactly like the engine's
payload reads: read at open, after every kind of write, and for a point the table lacks.

Each check runs the same summary queries twice on one real Edge shard, once from the table and once
with the table off (``keep_summaries(0)``: payloads read from the engine), and compares the hits whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_store_contract import DIM, POINTS, dense_of, make_edge, sparse_of

from core.models import DocInfo, DocType
from core.store import SearchFilter, StoredHit, StoreQuery
from core.store.edge import EdgeStore
from core.store.schema import to_payload
from core.store.summaries import Summaries

TEXTS = ["Wasserstoff Hafen Bergkamen", "Weiterbildung Solartechnik", "Förderquote Richtlinie"]


def summary_queries() -> list[StoreQuery]:
    out = []
    for text in TEXTS:
        dense, sparse = dense_of(text), sparse_of(text, query=True)
        out += [
            StoreQuery(limit=20, dense=dense, payload="summary"),
            StoreQuery(limit=20, sparse=sparse, payload="summary"),
            StoreQuery(limit=20, dense=dense, sparse=sparse, fusion="rrf", payload="summary"),
            StoreQuery(limit=20, dense=dense, filter=SearchFilter(place_keys=("05978",)), payload="summary"),
            StoreQuery(limit=20, sparse=sparse, filter=SearchFilter(languages=("de",)), payload="summary"),
        ]
    return out


def answers(store: EdgeStore) -> list[list[StoredHit]]:
    return store.query_batch(summary_queries())


def from_engine(store: EdgeStore) -> list[list[StoredHit]]:
    """The same queries with the table off, then on again (re-read from the engine)."""
    store.keep_summaries(0)
    try:
        return answers(store)
    finally:
        store.keep_summaries(10_000)


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeStore]:
    store = make_edge(tmp_path)
    store.ensure_collection(DIM)
    store.upsert(POINTS)
    yield store
    store.close()


def test_the_table_read_at_open_answers_like_the_engine(edge: EdgeStore) -> None:
    engine = answers(edge)
    assert edge.keep_summaries(10_000) == len(POINTS)
    table = answers(edge)
    assert table == engine
    assert sum(len(hits) for hits in table) > 3 * len(TEXTS)


def test_every_write_keeps_the_table_current(edge: EdgeStore) -> None:
    edge.keep_summaries(10_000)
    first = POINTS[0]
    changed = replace(first.passage, annotations=replace(first.passage.annotations, programs=("STARK", "REACT-EU")))
    edge.upsert([replace(first, passage=changed)])
    assert answers(edge) == from_engine(edge)

    edge.set_payload(first.doc.doc_id, {"near_duplicate_of": "doc-gelsenkirchen", "title": "Neuer Titel"})
    after = answers(edge)
    assert after == from_engine(edge)
    assert any(h.doc.title == "Neuer Titel" for hits in after for h in hits)

    edge.delete_documents([first.doc.doc_id])
    after = answers(edge)
    assert after == from_engine(edge)
    assert all(h.doc.doc_id != first.doc.doc_id for hits in after for h in hits)


def test_a_point_the_table_lacks_is_read_from_the_engine(edge: EdgeStore) -> None:
    """As when a query runs between an ingest's engine write and its table update."""
    edge.keep_summaries(10_000)
    engine = from_engine(edge)
    doc_id = POINTS[0].doc.doc_id
    assert edge._summaries is not None
    edge._summaries.drop_documents([doc_id])
    assert answers(edge) == engine
    assert edge._summaries.points_of(doc_id)  # added back


def test_not_kept_above_the_limit_and_still_answering(edge: EdgeStore) -> None:
    engine = answers(edge)
    assert edge.keep_summaries(len(POINTS) - 1) == 0
    assert answers(edge) == engine


def test_an_empty_directory_fills_the_table_as_it_is_written(tmp_path: Path) -> None:
    store = make_edge(tmp_path)
    try:
        assert store.keep_summaries(10_000) == 0  # nothing yet, but kept from here on
        store.ensure_collection(DIM)
        store.upsert(POINTS)
        assert store._summaries is not None and len(store._summaries) == len(POINTS)
        assert answers(store) == from_engine(store)
    finally:
        store.close()


def test_shared_values_are_held_once() -> None:
    table = Summaries()
    for point in POINTS:
        table.put(point.passage.passage_id, to_payload(point.passage, point.doc))
    docs = {id(table.get(p.passage.passage_id)[1]) for p in POINTS}  # type: ignore[index]
    assert len(docs) == len({p.doc.doc_id for p in POINTS})
    passage, _doc = table.get(POINTS[0].passage.passage_id)  # type: ignore[misc]
    assert (passage.text, passage.char_start, passage.page) == ("", 0, None)
    assert passage.annotations.place_keys == POINTS[0].passage.annotations.place_keys


def test_a_document_update_replaces_its_doc_info_and_drop_forgets_it() -> None:
    table = Summaries()
    doc = DocInfo("d1", "src", "Alt", DocType.PROGRESS_REPORT, "2021-01-01", "de")
    payload = to_payload(POINTS[0].passage, doc) | {"doc_id": "d1", "passage_id": "p1"}
    table.put("a", payload)
    table.put("b", payload | {"passage_id": "p2", "title": "Neu"})
    assert table.get("b")[1].title == "Neu"  # type: ignore[index]
    assert table.points_of("d1") == ("a", "b")
    table.drop_documents(["d1"])
    assert len(table) == 0 and table.points_of("d1") == () and table.get("a") is None
