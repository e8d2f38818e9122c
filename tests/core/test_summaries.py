"""The ranking fields held in memory (``EdgeStore.keep_summaries``) answer exactly like the engine's
payload reads: read at open, after every kind of write, and for a point the table lacks.

Each check runs the same summary queries twice on one real Edge shard, once from the table and once
with the table off (``keep_summaries(0)``: payloads read from the engine), and compares the hits whole.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_store_contract import DIM, POINTS, dense_of, make_edge, sparse_of

from core.ids import passage_id_for, point_id_for
from core.models import DocInfo, DocType
from core.store import SearchFilter, StoredHit, StoreQuery, summaries
from core.store import edge as edge_module
from core.store import pages as store_pages
from core.store.edge import EdgeStore
from core.store.schema import from_payload, to_payload
from core.store.summaries import Summaries, summary_payload

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


# ----------------------------------------------------------------------------- the columns


def _payload(doc_id: str, ordinal: int, title: str = "T", places: tuple[str, ...] = ("05978",)) -> dict[str, object]:
    doc = DocInfo(doc_id, f"src/{doc_id}", title, DocType.PRESS_RELEASE, "2024-02-01", "de")
    passage = replace(POINTS[0].passage, passage_id=passage_id_for(doc_id, ordinal), doc_id=doc_id, ordinal=ordinal)
    passage = replace(passage, annotations=replace(passage.annotations, place_keys=places))
    return to_payload(passage, doc)


def _expected(payload: dict[str, object]) -> tuple[object, ...]:
    passage, doc = from_payload(summary_payload(payload))
    return passage, doc


def test_the_columns_answer_like_a_dict_through_random_writes_and_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model check: random puts, replacements and document drops, with the overlay merged into the
    columns many times (``MERGE_AT`` lowered), against a plain dict of the expected summaries."""
    monkeypatch.setattr(summaries, "MERGE_AT", 16)
    rng = random.Random(7)
    table = Summaries()
    model: dict[str, tuple[str, dict[str, object]]] = {}
    latest: dict[str, dict[str, object]] = {}  # a document's fields are its last write's, for all its points
    docs = [f"doc-{i}" for i in range(40)]
    for step in range(1500):
        doc_id = rng.choice(docs)
        if rng.random() < 0.08:
            table.drop_documents([doc_id])
            model = {k: v for k, v in model.items() if v[0] != doc_id}
            continue
        ordinal = rng.randrange(12)
        payload = _payload(doc_id, ordinal, title=f"T{step % 3}", places=rng.choice([(), ("05978",), ("05978", "05")]))
        point_id = point_id_for(passage_id_for(doc_id, ordinal))
        table.put_all([(point_id, payload)])
        model[point_id] = (doc_id, payload)
        latest[doc_id] = payload
    assert len(table) == len(model)
    ids = sorted(model)
    got = table.get_many(ids)
    for point_id, found in zip(ids, got, strict=True):
        doc_id, payload = model[point_id]
        assert found == (_expected(payload)[0], _expected(latest[doc_id])[1])
    for doc_id in docs:
        assert sorted(table.points_of(doc_id)) == sorted(k for k, v in model.items() if v[0] == doc_id)
    assert table.get(point_id_for("gibt es nicht")) is None


def test_two_ids_with_the_same_upper_half_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summaries, "MERGE_AT", 1)  # every write merged into the columns
    table = Summaries()
    upper = "0123456789abcdef"
    ids = [str(uuid.UUID(upper + lower)) for lower in ("0000000000000001", "0000000000000002", "ffffffffffffffff")]
    for ordinal, point_id in enumerate(ids):
        table.put_all([(point_id, _payload("d1", ordinal))])
    assert not table._overlay
    assert [found[0].ordinal for found in table.get_many(ids)] == [0, 1, 2]  # type: ignore[index]
    assert table.get(str(uuid.UUID(upper + "0000000000000003"))) is None


def test_a_write_during_the_first_read_is_not_undone_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The read (a generator here, taken in one point at a time) returns a document's old payload
    after a newer write of it, and a deleted document before and after its deletion: the writes stand
    at the end."""
    monkeypatch.setattr(summaries, "_LOAD_PAGE", 1)
    table = Summaries()
    old = {point_id_for(passage_id_for(d, 0)): _payload(d, 0, title="alt") for d in ("d1", "d2", "d3")}
    table.start_load()
    assert not table.ready

    def read() -> Iterator[tuple[str, dict[str, object]]]:
        first, second, third = old.items()
        yield first  # d1 and d3, read before the writes
        yield third
        yield first  # (the next page: the two before are taken in)
        table.put_all([(point_id_for(passage_id_for("d2", 0)), _payload("d2", 0, title="neu"))])
        table.put_all([(point_id_for(passage_id_for("d1", 0)), _payload("d1", 0, title="neu"))])
        table.drop_documents(["d3"])
        yield second  # d2 and d3 as they were before
        yield third

    assert table.load(read())
    assert table.ready and len(table) == 2
    titles = {found[1].doc_id: found[1].title for found in table.get_many(list(old)) if found}
    assert titles == {"d1": "neu", "d2": "neu"}


def test_a_stopped_read_keeps_nothing_of_it() -> None:
    table = Summaries()
    stop = threading.Event()
    stop.set()
    records = [(point_id_for(passage_id_for("d", i)), _payload("d", i)) for i in range(3000)]
    assert not table.load(records, stop)
    assert not table.ready and len(table) == 0


def test_the_server_reads_the_table_in_the_background(edge: EdgeStore) -> None:
    engine = answers(edge)
    assert edge.keep_summaries(10_000, background=True) in (0, len(POINTS))
    assert edge._loader is not None
    edge._loader.join(timeout=60)
    assert edge.summaries_held() == len(POINTS)
    assert answers(edge) == engine


def test_closing_ends_a_background_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``close`` stops the read between two pages and waits for it: nothing reads a closed shard."""
    store = make_edge(tmp_path)
    store.ensure_collection(DIM)
    store.upsert(POINTS)
    started, go_on = threading.Event(), threading.Event()
    read = store._summary_records

    def slow(flt: object) -> Iterator[tuple[str, dict[str, object]]]:
        for i, record in enumerate(itertools.cycle(list(read(None)))):  # endless, one page at a time
            if i == 2 * summaries._LOAD_PAGE:
                started.set()
                go_on.wait(5)
            yield record

    monkeypatch.setattr(store, "_summary_records", slow)
    store.keep_summaries(10_000, background=True)
    assert started.wait(30)
    assert store.summaries_held() is None  # still reading
    loader = store._loader
    go_on.set()
    store.close()
    assert loader is not None and not loader.is_alive()


def test_the_first_read_unmaps_the_payload_pages_on_the_way(edge: EdgeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``RELEASE_EVERY`` points and at the end: the server's peak is not the whole payload file."""
    released: list[tuple[str, ...]] = []
    real = store_pages.release

    def counted(root: Path, parts: tuple[str, ...]) -> int:
        released.append(parts)
        return real(root, parts)

    monkeypatch.setattr(store_pages, "release", counted)
    monkeypatch.setattr(edge_module, "RELEASE_EVERY", 4)
    assert edge.keep_summaries(10_000) == len(POINTS)
    assert released.count(("payload_storage",)) == len(POINTS) // 4
    assert released[-1] == edge_module.START_PAGES


def test_a_read_after_a_background_read_is_not_stopped_by_it(edge: EdgeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summaries, "_LOAD_PAGE", 1)  # the stop signal is looked at after every point
    edge.keep_summaries(10_000, background=True)
    assert edge._loader is not None
    edge._loader.join(timeout=60)
    assert edge.keep_summaries(10_000) == len(POINTS)
