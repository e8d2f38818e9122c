"""``Summaries``: the ranking fields of every point of a shard, held in memory by a serving process.

A hybrid query ranks up to ``2 * prefetch_limit`` candidates and needs, for each, what a summary payload
holds (``schema.SUMMARY_FIELDS``: ids, places, programs, the document's citation fields): the place
boost reads the places, near-duplicate folding the document's cluster, the facets all of it. Read from
the engine, those payloads cost more than the two searches themselves (at 100k passages about 4 ms of
payload reading and 3 ms of conversion a query, against 1.5 ms for the searches without payload; at 1M
13-15 ms of a filtered query: evaluation/reports/serving.md). With ``Summaries`` the engine returns ids
and scores only, and the candidates come from this table.

The table is columnar: the point ids (the engine's UUIDs as two sorted ``uint64`` columns, found with
a binary search), three ``uint32`` columns, the ordinal, the document (an index into a list that holds
each ``DocInfo`` once) and the programs (an index into the distinct program tuples), and the place keys
as one array of string numbers with an offset per point (a passage's places differ from its
neighbours': 434,000 distinct tuples among the bench's 1M passages). About 32 bytes a point plus 4 a
place key; a dict of tuples took about 410 bytes a point, too much to keep 1M passages in a 2 GB
server. Points written after the columns were built go to a small dict (the overlay) that is merged
into the columns when it has grown; a replaced or deleted point's document column is set to ``DEAD``.
A passage id that is not the usual ``passage_id_for(doc_id, ordinal)`` is held in a dict beside. The
``Passage`` summary is built when a query asks for it. The values are exactly what
``schema.from_payload`` gives for a summary payload (the tests compare them with the engine's reads),
so a query answers the same with or without the table.

It is kept current by the one process that writes the shard (``EdgeStore`` updates it after every
write it makes); a point the engine returns but the table lacks is read from the engine and added.
The first fill (``load``, a full read of the index: 60-80 s at 1M passages) may run in a thread
while the server answers: writes made meanwhile go to the overlay, their documents are remembered,
and what the read brought of those documents is dropped at its end, so an older read never replaces a
newer write. Reads take no lock (they hold one reference to the columns); changes take one.
"""

from __future__ import annotations

import threading
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.ids import passage_id_for
from core.models import Annotations, DocInfo, Passage
from core.store import schema

DEAD = 0xFFFF_FFFF  # the document column of a point replaced or deleted since the columns were built
MERGE_AT = 4096  # overlay points merged into the columns from this many on (or a sixteenth of the columns)
_LOAD_PAGE = 1024  # points a load parses per hold of the lock

# ordinal, document index, place keys (numbers into the table's strings), programs index
Row = tuple[int, int, tuple[int, ...], int]
# The summary fields a DocInfo is made of: when they are unchanged, the held DocInfo is reused.
_DOC_FIELDS = tuple(f for f in schema.SUMMARY_FIELDS if f not in ("passage_id", "ordinal", "place_keys", "programs"))


def summary_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The summary fields of a full payload: what a summary read of the point returns."""
    return {key: payload[key] for key in schema.SUMMARY_FIELDS if key in payload}


def uuid_key(point_id: str) -> int | None:
    """The 128-bit number of a point id in the engine's form (a lower-case hyphenated UUID); None for
    any other id (such points stay in the overlay)."""
    if len(point_id) != 36 or point_id[8:24:5] != "----" or point_id != point_id.lower():
        return None
    digits = point_id.replace("-", "")
    if len(digits) != 32:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def point_id_of(key: int) -> str:
    return str(uuid.UUID(int=key))


@dataclass(frozen=True)
class _Columns:
    """Points sorted by (hi, lo), the two halves of their UUID; ``doc`` is ``DEAD`` for a point that
    is no longer here. Point ``i``'s place keys are the strings numbered ``place_ids[place_at[i] :
    place_at[i + 1]]``."""

    hi: np.ndarray
    lo: np.ndarray
    ordinal: np.ndarray
    doc: np.ndarray
    programs: np.ndarray
    place_at: np.ndarray  # uint64, one more than points
    place_ids: np.ndarray  # uint32

    def __len__(self) -> int:
        return len(self.hi)

    def alive(self) -> int:
        return int(np.count_nonzero(self.doc != DEAD))

    def positions(self, keys: Sequence[int]) -> np.ndarray:
        """Where each key is (index into the columns), -1 where it is not or is dead."""
        n = len(self.hi)
        out = np.full(len(keys), -1, dtype=np.int64)
        if not n or not keys:
            return out
        hi = np.fromiter((k >> 64 for k in keys), dtype=np.uint64, count=len(keys))
        lo = np.fromiter((k & _LOW for k in keys), dtype=np.uint64, count=len(keys))
        at = np.searchsorted(self.hi, hi)
        clipped = np.minimum(at, n - 1)
        same_hi = self.hi[clipped] == hi
        found = same_hi & (self.lo[clipped] == lo)
        out[found] = clipped[found]
        # two ids with the same upper half (about 4e-7 at 1M random ids): walk the run of equal halves
        for j in np.nonzero(same_hi & ~found)[0].tolist():
            i = int(at[j])
            while i < n and self.hi[i] == hi[j]:
                if self.lo[i] == lo[j]:
                    out[j] = i
                    break
                i += 1
        live = out >= 0
        out[live] = np.where(self.doc[out[live]] != DEAD, out[live], -1)
        return out


_LOW = (1 << 64) - 1
_FIELDS = ("hi", "lo", "ordinal", "doc", "programs")


class _Pending:
    """Rows gathered for one merge into the columns (compact arrays, not Python tuples)."""

    def __init__(self) -> None:
        self.hi, self.lo = array("Q"), array("Q")
        self.ordinal, self.doc, self.programs = array("I"), array("I"), array("I")
        self.place_at, self.place_ids = array("Q", [0]), array("I")

    def __len__(self) -> int:
        return len(self.hi)

    def add(self, key: int, ordinal: int, doc: int, places: Sequence[int], programs: int) -> None:
        self.hi.append(key >> 64)
        self.lo.append(key & _LOW)
        self.ordinal.append(ordinal)
        self.doc.append(doc)
        self.programs.append(programs)
        self.place_ids.extend(places)
        self.place_at.append(len(self.place_ids))

    def columns(self) -> _Columns:
        def col(a: array[int]) -> np.ndarray:
            return np.frombuffer(a, dtype=np.uint64 if a.typecode == "Q" else np.uint32).copy()

        return _Columns(
            col(self.hi), col(self.lo), col(self.ordinal), col(self.doc), col(self.programs),
            col(self.place_at), col(self.place_ids),
        )  # fmt: skip


def _merged(parts: Sequence[_Columns]) -> _Columns:
    """One sorted set of columns from ``parts``, a later part's point replacing an earlier one's; dead
    points left out."""
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS}
    priority = np.concatenate([np.full(len(p), i, dtype=np.uint32) for i, p in enumerate(parts)])
    order = np.lexsort((priority, joined["lo"], joined["hi"]))
    hi, lo = joined["hi"][order], joined["lo"][order]
    last = np.ones(len(hi), dtype=bool)  # the last of equal ids is the latest
    last[:-1] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    keep = order[last]
    keep = keep[joined["doc"][keep] != DEAD]
    # the kept points' place keys, in their new order: each point's run of ids from its part
    shift = np.cumsum([0] + [len(p.place_ids) for p in parts[:-1]], dtype=np.uint64)
    starts = np.concatenate([p.place_at[:-1] + shift[i] for i, p in enumerate(parts)])
    ends = np.concatenate([p.place_at[1:] + shift[i] for i, p in enumerate(parts)])
    ids = np.concatenate([p.place_ids for p in parts])
    counts = (ends[keep] - starts[keep]).astype(np.int64)
    place_at = np.zeros(len(keep) + 1, dtype=np.uint64)
    np.cumsum(counts, out=place_at[1:])
    take = np.repeat(starts[keep].astype(np.int64) - place_at[:-1].astype(np.int64), counts)
    take += np.arange(int(place_at[-1]), dtype=np.int64)
    kept = {f: joined[f][keep] for f in _FIELDS}
    return _Columns(**kept, place_at=place_at, place_ids=ids[take])


def _empty() -> _Columns:
    return _Pending().columns()


class Summaries:
    """Point id -> (summary ``Passage``, ``DocInfo``) for every point of a shard, in columns."""

    def __init__(self) -> None:
        self._columns = _empty()
        self._overlay: dict[str, Row] = {}  # points written since the columns were built
        self._overlay_docs: dict[int, dict[str, None]] = {}  # document index -> its overlay points
        self._docs: list[DocInfo | None] = []
        self._doc_fields: list[tuple[Any, ...] | None] = []
        self._doc_index: dict[str, int] = {}
        self._tuples: list[tuple[str, ...]] = [()]  # the distinct program tuples
        self._tuple_index: dict[tuple[str, ...], int] = {(): 0}
        self._strings: list[str] = []  # place keys by number
        self._string_ids: dict[str, int] = {}
        self._passage_ids: dict[str, str] = {}  # point id -> passage id, where not the usual one
        self._lock = threading.RLock()
        self._loading = False
        self._written: set[str] = set()  # documents written while a load runs
        self.ready = True  # False from ``start_load`` until a load has finished

    def __len__(self) -> int:
        return self._columns.alive() + len(self._overlay)

    # --- reads

    def get(self, point_id: str) -> tuple[Passage, DocInfo] | None:
        return self.get_many([point_id])[0]

    def get_many(self, point_ids: Sequence[str]) -> list[tuple[Passage, DocInfo] | None]:
        out: list[tuple[Passage, DocInfo] | None] = [None] * len(point_ids)
        columns = self._columns  # one reference: a merge meanwhile does not change these
        asked: list[int] = []
        keys: list[int] = []
        for i, point_id in enumerate(point_ids):
            row = self._overlay.get(point_id)
            if row is not None:
                out[i] = self._summary(point_id, row)
            elif (key := uuid_key(point_id)) is not None:
                asked.append(i)
                keys.append(key)
        if not keys:
            return out
        at = columns.positions(keys)
        found = at[at >= 0]
        rows = zip(
            np.asarray(asked)[at >= 0].tolist(),
            columns.ordinal[found].tolist(),
            columns.doc[found].tolist(),
            columns.place_at[found].tolist(),
            columns.place_at[found + 1].tolist(),
            columns.programs[found].tolist(),
            strict=True,
        )
        place_ids = columns.place_ids
        for i, ordinal, doc, start, end, programs in rows:
            if doc != DEAD:  # else replaced or deleted since the positions were found
                out[i] = self._summary(point_ids[i], (ordinal, doc, tuple(place_ids[start:end].tolist()), programs))
        return out

    def points_of(self, doc_id: str) -> tuple[str, ...]:
        index = self._doc_index.get(doc_id)
        if index is None:
            return ()
        columns = self._columns
        at = np.nonzero(columns.doc == index)[0]
        keys = (int(h) << 64 | int(lo) for h, lo in zip(columns.hi[at].tolist(), columns.lo[at].tolist(), strict=True))
        return (*(point_id_of(k) for k in keys), *self._overlay_docs.get(index, ()))

    def _summary(self, point_id: str, row: Row) -> tuple[Passage, DocInfo] | None:
        ordinal, doc_index, places, programs = row
        doc = self._docs[doc_index]
        if doc is None:  # dropped since the row was read
            return None
        passage = Passage(
            passage_id=self._passage_ids.get(point_id) or passage_id_for(doc.doc_id, ordinal),
            doc_id=doc.doc_id,
            ordinal=ordinal,
            text="",
            char_start=0,
            char_end=0,
            annotations=Annotations(
                place_keys=tuple([self._strings[k] for k in places]), programs=self._tuples[programs]
            ),
        )
        return passage, doc

    # --- writes

    def put(self, point_id: str, payload: dict[str, Any]) -> None:
        """Add or replace a point from its payload (full or summary)."""
        self.put_all([(point_id, payload)])

    def put_all(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            rows = [(point_id, self._row(point_id, payload)) for point_id, payload in records]
            if self._loading:
                self._written.update(self._docs[row[1]].doc_id for _, row in rows)  # type: ignore[union-attr]
            for point_id, row in rows:
                self._to_overlay(point_id, row)
            if len(self._overlay) >= max(MERGE_AT, len(self._columns) // 16):
                self._merge_overlay()

    def drop_documents(self, doc_ids: Sequence[str]) -> None:
        with self._lock:
            if self._loading:
                self._written.update(doc_ids)
            indices = [i for d in doc_ids if (i := self._doc_index.get(d)) is not None]
            for index in indices:
                self._docs[index] = self._doc_fields[index] = None
                for point_id in self._overlay_docs.pop(index, ()):
                    self._overlay.pop(point_id, None)
                    self._passage_ids.pop(point_id, None)
            columns = self._columns
            if indices and len(columns):
                columns.doc[np.isin(columns.doc, np.asarray(indices, dtype=np.uint32))] = DEAD

    # --- the first fill

    def start_load(self) -> None:
        """From now until ``load`` ends, writes are remembered so that what the load read of their
        documents (perhaps before the write) is dropped; reads wait for the load (``ready``)."""
        with self._lock:
            self._loading = True
            self._written = set()
            self.ready = False

    def load(self, records: Iterable[tuple[str, dict[str, Any]]], stop: threading.Event | None = None) -> bool:
        """Fill the table from a full read of the index (``(point id, summary payload)`` of every point);
        False when ``stop`` was set before the read ended (then nothing of it is kept)."""
        if not self._loading:
            self.start_load()
        pending = _Pending()
        page: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            page.append(record)
            if len(page) >= _LOAD_PAGE:
                self._gather(page, pending)
                page = []
                if stop is not None and stop.is_set():
                    return False
        self._gather(page, pending)
        with self._lock:
            loaded = pending.columns()
            written = [i for d in self._written if (i := self._doc_index.get(d)) is not None]
            if written:  # documents written during the read: the write's rows are newer
                loaded.doc[np.isin(loaded.doc, np.asarray(written, dtype=np.uint32))] = DEAD
            self._columns = _merged([loaded, self._columns])
            for point_id in list(self._overlay):  # the overlay is newer than the read
                self._kill(point_id)
            self._loading = False
            self._written = set()
            self.ready = True
        return True

    def _gather(self, page: list[tuple[str, dict[str, Any]]], pending: _Pending) -> None:
        with self._lock:
            for point_id, payload in page:
                if payload.get("doc_id") in self._written:
                    continue
                row = self._row(point_id, payload)
                key = uuid_key(point_id)
                if key is None:
                    self._to_overlay(point_id, row)
                else:
                    self._pend(pending, key, row)

    # --- inside (the lock held)

    def _row(self, point_id: str, payload: dict[str, Any]) -> Row:
        doc_id = payload["doc_id"]
        fields = tuple([payload.get(f) for f in _DOC_FIELDS])
        index = self._doc_index.get(doc_id)
        if index is None:
            index = self._doc_index[doc_id] = len(self._docs)
            self._docs.append(None)
            self._doc_fields.append(None)
        if self._doc_fields[index] != fields:
            self._docs[index] = schema.from_payload(summary_payload(payload))[1]
            self._doc_fields[index] = fields
        ordinal = int(payload["ordinal"])
        passage_id = payload["passage_id"]
        if passage_id == passage_id_for(doc_id, ordinal):
            self._passage_ids.pop(point_id, None)
        else:
            self._passage_ids[point_id] = passage_id
        places = tuple([self._string_id(key) for key in payload.get("place_keys") or ()])
        return ordinal, index, places, self._tuple(payload.get("programs"))

    def _pend(self, pending: _Pending, key: int, row: Row) -> None:
        ordinal, doc, places, programs = row
        pending.add(key, ordinal, doc, places, programs)

    def _string_id(self, value: str) -> int:
        number = self._string_ids.get(value)
        if number is None:
            number = self._string_ids[value] = len(self._strings)
            self._strings.append(value)
        return number

    def _tuple(self, values: Sequence[str] | None) -> int:
        held = tuple(values or ())
        index = self._tuple_index.get(held)
        if index is None:
            index = self._tuple_index[held] = len(self._tuples)
            self._tuples.append(held)
        return index

    def _to_overlay(self, point_id: str, row: Row) -> None:
        old = self._overlay.get(point_id)
        if old is not None and old[1] != row[1]:
            self._overlay_docs.get(old[1], {}).pop(point_id, None)
        self._overlay[point_id] = row
        self._overlay_docs.setdefault(row[1], {})[point_id] = None
        self._kill(point_id)

    def _kill(self, point_id: str) -> None:
        """The point's row in the columns, if any, is dead (the overlay holds it now)."""
        key = uuid_key(point_id)
        if key is not None:
            columns = self._columns
            at = int(columns.positions([key])[0])
            if at >= 0:
                columns.doc[at] = DEAD

    def _merge_overlay(self) -> None:
        """The overlay's points into the columns (ids that are not UUIDs stay in the overlay)."""
        pending = _Pending()
        kept: dict[str, Row] = {}
        for point_id, row in self._overlay.items():
            key = uuid_key(point_id)
            if key is None:
                kept[point_id] = row
            else:
                self._pend(pending, key, row)
        self._columns = _merged([self._columns, pending.columns()])
        self._overlay = kept
        docs: dict[int, dict[str, None]] = {}
        for point_id, row in kept.items():
            docs.setdefault(row[1], {})[point_id] = None
        self._overlay_docs = docs
