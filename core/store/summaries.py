"""``Summaries``: the ranking fields of every point of a shard, held in memory by a serving process.

A hybrid query ranks up to ``2 * prefetch_limit`` candidates and needs, for each, what a summary payload
holds (``schema.SUMMARY_FIELDS``: ids, places, programs, the document's citation fields): the place
boost reads the places, near-duplicate folding the document's cluster, the facets all of it. Read from
the engine, those payloads cost more than the two searches themselves (at 100k passages about 4 ms of
payload reading and 3 ms of conversion a query, against 1.5 ms for the searches without payload:
evaluation/reports/serving.md). With ``Summaries`` the engine returns ids and scores only, and the
candidates come from this table.

The table is compact: a point is a 5-tuple (ordinal, document, place keys, programs, passage id when it
is not the usual ``passage_id_for(doc_id, ordinal)``); a document's ``DocInfo`` is held once, and equal
key and program tuples (and their strings) are shared. The ``Passage`` summary is built when a query
asks for it. The values are exactly what ``schema.from_payload`` gives for a summary payload (the
tests compare them with the engine's reads), so a query answers the same with or without the table.

It is kept current by the one process that writes the shard (``EdgeStore`` updates it after every
write it makes); a point the engine returns but the table lacks is read from the engine and added.
Reads take no lock (one dict lookup); changes, from an ingest job's thread and from query threads
adding what they read, take one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from core.ids import passage_id_for
from core.models import Annotations, DocInfo, Passage
from core.store import schema

Row = tuple[int, DocInfo, tuple[str, ...], tuple[str, ...], str | None]
# The summary fields a DocInfo is made of: when they are unchanged, the held DocInfo is reused.
_DOC_FIELDS = tuple(f for f in schema.SUMMARY_FIELDS if f not in ("passage_id", "ordinal", "place_keys", "programs"))


def summary_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The summary fields of a full payload: what a summary read of the point returns."""
    return {key: payload[key] for key in schema.SUMMARY_FIELDS if key in payload}


class Summaries:
    """Point id -> (summary ``Passage``, ``DocInfo``) for every point of a shard, shared values held once."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}
        self._by_doc: dict[str, list[str]] = {}
        self._docs: dict[str, tuple[tuple[Any, ...], DocInfo]] = {}  # doc id -> (its summary fields, DocInfo)
        self._shared: dict[Any, Any] = {}  # equal tuples and strings, held once
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, point_id: str, payload: dict[str, Any]) -> None:
        """Add or replace a point from its payload (full or summary)."""
        with self._lock:
            self._put(point_id, payload)

    def _put(self, point_id: str, payload: dict[str, Any]) -> None:
        doc_id = payload["doc_id"]
        fields = tuple(payload.get(f) for f in _DOC_FIELDS)
        held = self._docs.get(doc_id)
        if held is None or held[0] != fields:
            held = self._docs[doc_id] = (fields, schema.from_payload(summary_payload(payload))[1])
        doc = held[1]
        ordinal = int(payload["ordinal"])
        passage_id = payload["passage_id"]
        row = (
            ordinal,
            doc,
            self._tuple(payload.get("place_keys")),
            self._tuple(payload.get("programs")),
            None if passage_id == passage_id_for(doc_id, ordinal) else passage_id,
        )
        old = self._rows.get(point_id)
        if old is not None and old[1].doc_id != doc_id:
            self._unlink(point_id, old[1].doc_id)
        if old is None or old[1].doc_id != doc_id:
            self._by_doc.setdefault(doc_id, []).append(point_id)
        self._rows[point_id] = row
        if len(self._shared) > 4 * len(self._rows) + 4096:  # values of replaced points: let them go
            self._reshare()

    def put_all(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            for point_id, payload in records:
                self._put(point_id, payload)

    def get(self, point_id: str) -> tuple[Passage, DocInfo] | None:
        row = self._rows.get(point_id)
        if row is None:
            return None
        ordinal, doc, place_keys, programs, passage_id = row
        passage = Passage(
            passage_id=passage_id or passage_id_for(doc.doc_id, ordinal),
            doc_id=doc.doc_id,
            ordinal=ordinal,
            text="",
            char_start=0,
            char_end=0,
            annotations=Annotations(place_keys=place_keys, programs=programs),
        )
        return passage, doc

    def drop_documents(self, doc_ids: Sequence[str]) -> None:
        with self._lock:
            for doc_id in doc_ids:
                self._docs.pop(doc_id, None)
                for point_id in self._by_doc.pop(doc_id, ()):
                    self._rows.pop(point_id, None)

    def points_of(self, doc_id: str) -> tuple[str, ...]:
        return tuple(self._by_doc.get(doc_id, ()))

    def _tuple(self, values: Sequence[str] | None) -> tuple[str, ...]:
        if not values:
            return ()
        shared = self._shared
        held = tuple(shared.setdefault(v, v) for v in values)
        return shared.setdefault(held, held)  # type: ignore[no-any-return]

    def _reshare(self) -> None:
        self._shared = {}
        for point_id, (ordinal, doc, place_keys, programs, passage_id) in self._rows.items():
            self._rows[point_id] = (ordinal, doc, self._tuple(place_keys), self._tuple(programs), passage_id)

    def _unlink(self, point_id: str, doc_id: str) -> None:
        points = self._by_doc.get(doc_id)
        if points is not None and point_id in points:
            points.remove(point_id)
            if not points:
                del self._by_doc[doc_id]
