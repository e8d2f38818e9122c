"""``EdgeStore``: the index in-process, on Qdrant Edge (the real Qdrant engine as a library).

The shard lives in one directory (``settings.index_dir / settings.collection``): ``edge_config.json``,
a write-ahead log (``wal/``) and ``segments/``. Every update goes through the WAL first, so points
survive a killed process even before ``flush``; ``close`` flushes the segments.

One process opens a shard at a time: the engine locks the WAL, and a second open (another ``serve``
or ``ingest`` on the same data dir) fails with a ``StoreError`` that says so. Within the process the
store may be shared by threads (the engine synchronises internally). The engine's ``optimize`` holds
the GIL for its whole run (the whole graph is rebuilt once a few thousand points wait: 75 s at 100k
passages, 21 min at 1M), so a serving process builds on a copy in a child process and swaps the built
copy in (``build_aside``); a CLI process builds in place.

The shard can only be created once the dense dimension is known: opening an empty directory yields a
store that reads as empty until ``ensure_collection(dim)`` creates it.

A full disk: the engine writes its WAL and segments through memory-mapped, sparsely allocated files,
and a page it cannot allocate kills the process with SIGBUS (no exception, no message). So every write
first checks the free space of the shard's file system and refuses with a ``StoreError`` below
``min_free_bytes`` (``optimize``, which rewrites segments, needs the index's own size on top). Reading
needs no space on a disk file system; on tmpfs even reading allocates the sparse files' pages, so a
shard on a full tmpfs dies when it is opened (keep the data dir off tmpfs).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import qdrant_edge as qe

from core.errors import OutdatedIndex, QueryError, StoreCorrupted, StoreError
from core.ids import point_id_for
from core.memory import release_freed_memory
from core.models import DocInfo, Passage
from core.settings import Settings
from core.store import pages, schema
from core.store.base import (
    DENSE_VECTOR,
    RRF_K,
    SPARSE_VECTOR,
    IndexPoint,
    SearchFilter,
    SparseVec,
    StoredHit,
    StoreQuery,
)
from core.store.summaries import Summaries

T = TypeVar("T")
log = logging.getLogger(__name__)

RECOVERY_HINT = "Rebuild it with `foerdersuche reindex`."
_SCROLL_PAGE = 1024
DEFAULT_MIN_FREE_BYTES = 128 * 1024 * 1024
# Dense vectors are stored as float16: half the resident memory of float32 (73 MB less at 100k passages
# of 384 dimensions), with cosine scores equal to 3 decimals.
DENSE_DATATYPE = qe.VectorStorageDatatype.Float16
# The graph is walked on int8 copies of the dense vectors held in memory (scalar quantization, 384 bytes
# a passage); the float16 originals stay on disk, read without a memory map only to rescore the
# candidates a query asks for, so every returned score is the original cosine (without ``rescore`` the
# engine returns int8 scores and order). The Searcher asks 100 candidates per retriever and keeps 10,
# so the rescored 100 are its oversampling. Measured on copies of the benchmark's 100k index, requests
# shaped as the Searcher's (limit 100, the first 10 against exact search on the originals;
# evaluation/reports/serving.md, section 8): build 46 s instead of 71 s (the graph is built on int8
# distances); recall@10 0.976 / 0.945 / 1.0 (unfiltered / broad / narrow filter) against 0.972 / 0.945
# / 1.0; a dense query 0.64 / 1.16 / 0.61 ms p50 against 1.44 / 1.67 / 0.65 ms; the vectors' resident
# memory 37 MiB of heap instead of 73 MiB of file pages (at 1M: 366 instead of 732 MiB). A shard
# written before is quantized by its next optimize (the store loads it with this configuration).
DENSE_QUANTIZATION = qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
_DENSE_SEARCH = qe.SearchParams(quantization=qe.QuantizationSearchParams(rescore=True))
# exact: every point scored on its original vector (the reference of the recall measurements)
_EXACT_SEARCH = qe.SearchParams(exact=True, quantization=qe.QuantizationSearchParams(ignore=True))
# A filtered lexical query that selects fewer points of a segment than this scores them one by one,
# reading each point's sparse vector (about 2.4 us a point at 100k passages); above it the engine walks
# the inverted index and checks the filter (1.5-2.5 ms). The engine's default, 5000, sent a Gemeinde
# filter (1.6k points) down the slow path: 4.0 ms, against 2.4 ms through the index. Exact either way.
# Segments written before keep the default until the optimizer rewrites them (a reindex does).
SPARSE_FULL_SCAN_THRESHOLD = 500
# A filtered dense query whose filter the engine estimates to select fewer points of a segment than
# this scores every selected point (exact); above it the engine walks the HNSW graph and checks the
# filter at each node. Scoring one by one costs about 170-370 ns a selected point at 100k passages
# (random reads of the vectors), the filtered graph walk about 1-2.5 ms whatever the selection, so
# they break even near 5,000 points. The engine's default (10,000 KB of vectors, 13k points at 384
# float16 dimensions) sent a Kreis filter over 12.6k points down the slow path: 4.3 ms against
# 0.7 ms unfiltered (limit 100, no payload); through the graph it takes 1.1-2.4 ms on the benchmark's
# 100k index, with filtered recall@10 0.995 against exact search (the benchmark's figure).
# The engine counts the threshold in KB of vectors, so it is derived from the dimension. Segments
# written before keep their threshold until the optimizer rewrites them (a reindex does).
DENSE_FULL_SCAN_POINTS = 5000
HNSW_EF_CONSTRUCT = 100
# Points without a place in the graph below which ``build_aside`` lets the engine optimize in place:
# measured on a 10k shard, 1,000 new points stay in the appendable segment (optimize 0.0 s), 3,000
# make the engine rebuild the whole graph (4 s at 13k, 75 s at 100k, 21 min at 1M).
ASIDE_MIN_PENDING = 1000
# The version of how the indexes are built (graph m and links, quantization), recorded in the marker
# beside the shard after every build. A shard built with an older one is rebuilt by the engine at its
# next optimize even with no new points (the store loads it with the current configuration), so in a
# serving process that optimize goes aside too. 2: int8 quantization of the dense vectors.
BUILD_VERSION = 2
# Where the sparse (lexical) index and the payload indexes live: memory-mapped and read on demand
# (``Cold``), not copied into the process's heap (the engine's default for the sparse index, ``Pinned``).
# Measured on the benchmark's 100k index, a real server after 204 queries: private memory 548 -> 331 MiB,
# the index files' pages in the page cache instead (the kernel drops them under pressure), hybrid
# latency through HTTP unchanged (evaluation/reports/serving.md). A shard written before keeps its
# placement until the optimizer rewrites its segments (a reindex does).
INDEX_MEMORY = qe.Memory.Cold
RELEASE_EVERY = 65_536  # points of the summaries' first read between two releases of its payload pages
# The shard's directories whose files a server reads whole at start and little afterwards (``keep_summaries``).
START_PAGES = ("wal", "payload_storage")
# The fields with graph links of their own (``schema.LINKED_FIELDS``); the place filter matches the
# Gemeinde and Kreis codes through them (a Regierungsbezirk, the Land or a named region covers most
# passages: the main graph serves it).
LINKED_FIELDS = frozenset(
    (*schema.LINKED_FIELDS, schema.PLACE_CODE_FIELDS["gemeinde"], schema.PLACE_CODE_FIELDS["kreis"])
)
# How the engine words a shard file it cannot read (seen with damaged payload and vector files).
_DAMAGED = re.compile(
    r"IO error|is not readable|out of bounds|failed to (?:deserialize|decode|decompress|read)|corrupt", re.IGNORECASE
)
_NO_SPACE = re.compile(r"no space left|disk quota", re.IGNORECASE)


class EdgeStore:
    """The ``Store`` over one Qdrant Edge shard directory."""

    def __init__(self, path: Path, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> None:
        self.path = path
        self.min_free_bytes = min_free_bytes
        self._shard: qe.EdgeShard | None = None
        self._closed = False
        self._ensured: int | None = None  # the dimension ensure_collection checked in this process
        self._summaries: Summaries | None = None  # see keep_summaries
        self._loader: threading.Thread | None = None  # the summaries' first read, in the background
        self._stop_loader = threading.Event()
        # held by every engine write (which may map new files or unmap old ones) and by ``pages.release``,
        # which must not advise an address range that a write unmapped and reused meanwhile
        self._remap_lock = threading.Lock()
        self._swap: Callable[[], AbstractContextManager[object]] | None = None  # see build_aside
        self._writes = 0  # write operations of this store (a build aside is discarded if any came between)
        self.last_aside: dict[str, Any] | None = None  # timings of the last build aside (copy, build, swap)
        restore_cut_swap(path)
        if path.is_dir() and any(path.iterdir()):
            found = schema_version(path)
            if found < schema.SCHEMA_VERSION and (path / "edge_config.json").exists():  # a shard, an old one
                raise OutdatedIndex(
                    f"Der Index in {path} stammt von einer älteren Version von foerdersuche (Schema {found}, "
                    f"aktuell {schema.SCHEMA_VERSION}). Bauen Sie ihn aus den gespeicherten Rohdaten neu auf: "
                    "`foerdersuche reindex` (kein erneutes Crawlen; die alte Fassung wird beiseitegelegt)."
                )
            self._shard = self._load(None)
            remove_aside_leftovers(path)  # the shard's lock is this process's: nobody builds beside it

    @classmethod
    def open(cls, settings: Settings) -> EdgeStore:
        return cls(settings.index_dir / settings.collection, min_free_bytes=settings.min_free_disk_mb * 1024 * 1024)

    # --- lifecycle

    def _load(self, config: qe.EdgeConfig | None) -> qe.EdgeShard:
        try:
            return qe.EdgeShard.load(str(self.path), config)
        except Exception as err:
            message = str(err)
            if "WouldBlock" in message:
                raise StoreError(
                    f"The index at {self.path} is open in another process (one process opens it at a time); "
                    "stop the other `foerdersuche` process and retry."
                ) from err
            if config is not None and "incompatible" in message:
                raise StoreError(
                    f"The index at {self.path} does not fit the current embedding model ({message}). {RECOVERY_HINT}"
                ) from err
            raise StoreCorrupted(f"The index at {self.path} cannot be loaded ({message}). {RECOVERY_HINT}") from err

    def ensure_collection(self, dense_dim: int) -> None:
        if self._ensured == dense_dim and self._shard is not None:
            # done in this process already (the server at start; each ingest job builds an Indexer that
            # asks again): reloading the shard would block every query for the load (seconds at 100k)
            return
        config = _edge_config(dense_dim)
        if self._shard is None:
            self._check_open()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._check_disk("create the index")
            self._shard = self._engine("create the index", lambda: qe.EdgeShard.create(str(self.path), config))
            write_marker(self.path)
        else:
            # The engine checks a loaded shard against a config only while loading it: reload with ours,
            # and on a mismatch reopen the shard as it is, so the store stays usable after the error.
            unfinished = self._end_loader()  # started again on the reloaded shard
            shard = self._shard
            self._shard = None
            self._engine("close the index", shard.close)
            try:
                self._shard = self._load(config)
            except StoreError:
                self._shard = self._load(None)
                raise
            finally:
                if unfinished is not None and self._shard is not None:
                    self._start_loader(unfinished)
        shard = self._shard
        info = self._engine("read the index info", shard.info)
        existing = set(info.payload_schema)
        for field_name in INDEXED_FIELDS:
            if field_name not in existing:
                self._create_index(shard, field_name, index_params(field_name))
        self._ensured = dense_dim

    def _create_index(self, shard: qe.EdgeShard, field_name: str, params: Any) -> None:
        op = qe.UpdateOperation.create_field_index(field_name, params)
        self._writes += 1
        self._write(f"index payload field {field_name}", partial(shard.update, op))

    def optimize(self) -> None:
        shard = self._writable()
        outdated = build_version(self.path) < BUILD_VERSION
        if self._swap is not None and (outdated or self.pending_points() >= ASIDE_MIN_PENDING):
            usage = _disk_usage(self.path)
            try:
                self._check_disk("build the index beside the served one", extra=2 * usage)  # copy + rewrite
            except StoreError as err:
                log.warning("%s Building in place: queries wait for the build.", err)
            else:
                if self._optimize_aside():
                    write_marker(self.path)
                return
        self._check_disk("optimize the index", extra=_disk_usage(self.path))  # segments are rewritten
        self._write("optimize the index", shard.optimize)
        write_marker(self.path)

    def build_aside(self, swap: Callable[[], AbstractContextManager[object]]) -> None:
        """Let ``optimize`` build the graph in a child process on a copy of the shard
        (``core.store.build``) when at least ``ASIDE_MIN_PENDING`` points wait for it or the shard was
        built with an older ``BUILD_VERSION`` (the engine then rebuilds everything), and swap the
        built copy in inside ``swap()`` (a lock that keeps every reader of the store out: the server's
        index lock). For a serving process, whose queries would otherwise stop for the whole build.
        Needs twice the index's size free on disk (the copy, and the build rewriting it); with less it
        builds in place. Writes that arrive during the build make it discard the copy (the points stay
        searchable; the next optimize builds)."""
        self._swap = swap

    def pending_points(self) -> int:
        """Points whose dense vector is not in a graph yet (written since the last build). The engine
        counts every sparse vector as indexed and a dense one once it is in a graph."""
        shard = self._readable()
        if shard is None:
            return 0
        info = self._engine("read the index info", shard.info)
        return max(0, 2 * info.points_count - info.indexed_vectors_count)

    def _optimize_aside(self) -> bool:
        """Build a copy in a child process and swap it in; False when writes came between (discarded)."""
        assert self._swap is not None
        shard = self._writable()
        building, done, _previous = aside_paths(self.path)
        self._write("flush the index", shard.flush)
        for leftover in (building, done):
            _remove(leftover)
        writes = self._writes
        started = time.perf_counter()
        try:
            shutil.copytree(self.path, building)
            copied = time.perf_counter()
            report = run_build(building)
        except BaseException:
            _remove(building)
            raise
        built = time.perf_counter()
        if self._writes != writes:
            _remove(building)
            log.warning("the index was written during its build aside: the copy is discarded, the next optimize builds")
            return False
        done.write_text(json.dumps(report), encoding="utf-8")
        with self._swap():
            locked = time.perf_counter()
            self._swap_in(building, done)
            swapped = time.perf_counter()
        self.last_aside = {
            "copy_seconds": round(copied - started, 2),
            "build_seconds": round(built - copied, 2),
            "swap_seconds": round(swapped - locked, 3),
            "points": report.get("points"),
        }
        log.info("index built aside and swapped in: %s", self.last_aside)
        return True

    def _swap_in(self, building: Path, done: Path) -> None:
        """Replace the open shard by the built copy (the caller keeps readers out). A crash between the
        renames is repaired when the store is opened next (``restore_cut_swap``)."""
        _building, _done, previous = aside_paths(self.path)
        unfinished = self._end_loader()  # the read of the summaries starts again on the new shard
        try:
            shard = self._shard
            self._shard = None
            if shard is not None:
                self._engine("close the index", shard.close)
            _remove(previous)
            try:
                os.rename(self.path, previous)
                os.rename(building, self.path)
            except OSError as err:  # the shard as it was goes back in place and stays open
                if not self.path.exists() and previous.is_dir():
                    os.rename(previous, self.path)
                self._shard = self._load(None)
                raise StoreError(f"Cannot swap the index built aside in at {self.path}: {err}") from err
            done.unlink()
            try:
                self._shard = self._load(None)
            except StoreError:
                log.exception("the built index cannot be loaded; the index as it was before stays")
                _remove(self.path)
                os.rename(previous, self.path)
                self._shard = self._load(None)
                raise
            _remove(previous)
        finally:
            if unfinished is not None and self._shard is not None:
                self._start_loader(unfinished)

    def keep_summaries(self, limit: int, *, background: bool = False) -> int:
        """Hold the summary fields of every point in memory (``core.store.summaries``), so a hybrid query
        reads only ids and scores from the engine; not when the shard has more than ``limit`` points.
        For a process that answers many queries (the server), not for one CLI search: reading the
        summaries takes 5-6 s at 100k passages, 60-80 s at 1M. Kept current by this store's own
        writes. With ``background`` the read runs in a thread and queries read the engine's payloads
        until it is done (``summaries_held``).
        Then the pages that loading the shard and this read mapped into the process (the WAL's, the
        payloads') are unmapped again (``core.store.pages``). Returns how many points are held now."""
        self._end_loader()
        shard = self._readable()
        total = 0 if shard is None else self.count()
        if limit <= 0 or total > limit:
            self._summaries = None
            self._release_start_pages()
            return 0
        table = self._summaries = Summaries()
        if shard is None:  # nothing yet: filled as it is written
            return 0
        table.start_load()
        if background:
            self._start_loader(table)
            return 0
        self._load_summaries(table, threading.Event())  # (the last loader's event may be set)
        return len(table) if table.ready else 0

    def summaries_held(self) -> int | None:
        """Points whose summaries are held in memory; None while they are being read (0: not kept)."""
        table = self._summaries
        if table is None:
            return 0
        return len(table) if table.ready else None

    def _start_loader(self, table: Summaries) -> None:
        stop = self._stop_loader = threading.Event()
        self._loader = threading.Thread(target=self._load_summaries, args=(table, stop), name="summaries", daemon=True)
        self._loader.start()

    def _load_summaries(self, table: Summaries, stop: threading.Event) -> None:
        started = time.perf_counter()
        try:
            done = table.load(self._released_on_the_way(self._summary_records(None)), stop)
        except Exception:  # the table is an acceleration: without it queries read the payloads from the index
            log.exception("the ranking fields could not be read; queries read them from the index")
            return
        if done:
            release_freed_memory()  # the payloads read on the way (about 150 MB of C heap at 1M passages)
            log.info("ranking fields of %d passages in memory (%.1f s)", len(table), time.perf_counter() - started)
            self._release_start_pages()

    def _end_loader(self) -> Summaries | None:
        """Stop a background read (it ends within one page); returns its table when it was not done."""
        loader = self._loader
        if loader is None:
            return None
        self._stop_loader.set()
        loader.join()
        self._loader = None
        table = self._summaries
        return table if table is not None and not table.ready else None

    def _release_start_pages(self, parts: tuple[str, ...] = START_PAGES) -> None:
        with self._remap_lock:
            if self._shard is not None:
                released = pages.release(self.path, parts)
                log.debug("unmapped %.0f MiB of %s mappings", released / 2**20, "/".join(parts))

    def _released_on_the_way(
        self, records: Iterator[tuple[str, dict[str, Any]]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``records`` of a full read, the payload pages it mapped unmapped every ``RELEASE_EVERY`` points:
        the server's peak memory is then not the whole payload file (1.2 GB at 1M passages)."""
        for n, record in enumerate(records, 1):
            yield record
            if n % RELEASE_EVERY == 0:
                self._release_start_pages(("payload_storage",))

    def _write(self, action: str, fn: Callable[[], T]) -> T:
        with self._remap_lock:
            return self._engine(action, fn)

    def close(self) -> None:
        self._end_loader()
        if self._shard is not None:
            shard = self._shard
            self._shard = None
            self._engine("flush the index", shard.flush)
            self._engine("close the index", shard.close)
        self._closed = True

    def flush(self) -> None:
        """Write the segments to disk (the WAL already holds every acknowledged update)."""
        shard = self._writable()
        self._write("flush the index", shard.flush)

    def verify(self) -> int:
        """Read every point with its payload and vectors; the number of points, or ``StoreCorrupted``.

        Loading a shard checks its files only shallowly: a damaged payload or vector file shows when
        it is read. This reads everything once (``foerdersuche doctor``, ``reindex``).
        """
        shard = self._readable()
        if shard is None:
            return 0
        seen = 0
        offset: Any = None
        try:
            while True:
                request = qe.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=True, with_vector=True)
                records, offset = shard.scroll(request)
                for record in records:
                    schema.from_payload(record.payload or {})
                    if not record.vector:
                        raise ValueError(f"point {record.id} has no vectors")
                    seen += 1
                if offset is None:
                    return seen
        except Exception as err:  # engine errors are bare Exceptions; a bad payload a KeyError/ValueError
            raise StoreCorrupted(
                f"The index at {self.path} is damaged (reading point {seen + 1}: {err}). {RECOVERY_HINT}"
            ) from err

    # --- writes

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        shard = self._writable()
        self._check_disk(f"write {len(points)} points")
        ids = [point_id_for(p.passage.passage_id) for p in points]
        payloads = [schema.to_payload(p.passage, p.doc) for p in points]
        edge_points = [
            qe.Point(point_id, {DENSE_VECTOR: list(p.dense), SPARSE_VECTOR: _sparse(p.sparse)}, payload)
            for point_id, p, payload in zip(ids, points, payloads, strict=True)
        ]
        op = qe.UpdateOperation.upsert_points(edge_points)
        self._writes += 1
        self._write(f"write {len(points)} points", lambda: shard.update(op))
        if self._summaries is not None:
            self._summaries.put_all(zip(ids, payloads, strict=True))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        shard = self._writable()
        self._check_disk(f"delete {len(doc_ids)} documents")
        op = qe.UpdateOperation.delete_points_by_filter(_doc_filter(doc_ids))
        self._writes += 1
        self._write(f"delete {len(doc_ids)} documents", lambda: shard.update(op))
        if self._summaries is not None:
            self._summaries.drop_documents(doc_ids)

    def set_payload(self, doc_id: str, values: dict[str, object]) -> None:
        if not values:
            return
        shard = self._writable()
        self._check_disk(f"update document {doc_id}")
        op = qe.UpdateOperation.set_payload_by_filter(_doc_filter([doc_id]), dict(values))
        self._writes += 1
        self._write(f"update document {doc_id}", lambda: shard.update(op))
        if self._summaries is not None:  # read back what the engine now holds for the document
            fresh = list(self._summary_records(_doc_filter([doc_id])))
            self._summaries.drop_documents([doc_id])
            self._summaries.put_all(fresh)

    # --- reads

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[StoredHit]]:
        shard = self._readable()
        if shard is None or not queries:
            return [[] for _ in queries]
        table = self._summaries
        if table is not None and not table.ready:  # still being read: the payloads come from the engine
            table = None
        requests = [_query_request(q, ids_only=table is not None and q.payload == "summary") for q in queries]
        batch = qe.QueryBatchRequest(requests)
        results = self._engine(f"run {len(queries)} queries", lambda: shard.query_batch(batch))
        # A point found by several queries of the batch (hybrid: by both retrievers, and again by the
        # fused query) is converted once per payload selection: about 10 us a payload, 200 of them a query.
        converted: dict[tuple[str, str], tuple[Passage, DocInfo]] = {}
        point_ids = [[str(point.id) for point in points] for points in results]  # the engine's ids are UUIDs
        if table is not None:
            converted.update(self._summaries_of(shard, table, queries, point_ids))
        out = []
        for query, points, ids in zip(queries, results, point_ids, strict=True):
            hits = []
            for point, point_id in zip(points, ids, strict=True):
                key = (query.payload, point_id)
                found = converted.get(key)
                if found is None:
                    if table is not None and query.payload == "summary":
                        continue  # deleted since the query (by a concurrent ingest): not a hit any more
                    found = converted[key] = schema.from_payload(point.payload or {})
                hits.append(StoredHit(point_id=point_id, score=float(point.score), passage=found[0], doc=found[1]))
            out.append(hits)
        return out

    def _summaries_of(
        self, shard: qe.EdgeShard, table: Summaries, queries: Sequence[StoreQuery], point_ids: Sequence[Sequence[str]]
    ) -> dict[tuple[str, str], tuple[Passage, DocInfo]]:
        """The summaries of the points the summary queries found, from the table; the few it lacks
        (written by a concurrent ingest after the table was read) are read from the engine and added."""
        ids = {
            point_id
            for query, listed in zip(queries, point_ids, strict=True)
            if query.payload == "summary"
            for point_id in listed
        }
        found: dict[tuple[str, str], tuple[Passage, DocInfo]] = {}
        missing: list[Any] = []
        asked = list(ids)
        for point_id, summary in zip(asked, table.get_many(asked), strict=True):
            if summary is None:
                missing.append(point_id)
            else:
                found[("summary", point_id)] = summary
        if missing:
            records = self._engine(
                f"read {len(missing)} points", lambda: shard.retrieve(missing, _summary_selector(), False)
            )
            table.put_all((str(r.id), r.payload or {}) for r in records)
            for point_id, summary in zip(missing, table.get_many(missing), strict=True):
                if summary is not None:  # else deleted since the query
                    found[("summary", point_id)] = summary
        return found

    def fetch(self, point_ids: Sequence[str]) -> dict[str, tuple[Passage, DocInfo]]:
        shard = self._readable()
        if shard is None or not point_ids:
            return {}
        records = self._engine(f"read {len(point_ids)} points", lambda: shard.retrieve(list(point_ids), True, False))
        return {str(r.id): schema.from_payload(r.payload or {}) for r in records}

    def count(self, filter: SearchFilter | None = None) -> int:
        shard = self._readable()
        if shard is None:
            return 0
        request = qe.CountRequest(exact=True, filter=_filter(filter))
        return self._engine("count points", lambda: shard.count(request))

    def facet(self, key: str, filter: SearchFilter | None = None, limit: int = 50) -> list[tuple[str, int]]:
        if key not in schema.FACET_FIELDS:
            raise QueryError(f"cannot count values of {key!r}: facets exist for {', '.join(schema.FACET_FIELDS)}")
        shard = self._readable()
        if shard is None:
            return []
        request = qe.FacetRequest(key, limit=limit, exact=True, filter=_filter(filter))
        response = self._engine(f"count values of {key}", lambda: shard.facet(request))
        return sorted(((str(h.value), h.count) for h in response.hits), key=lambda vc: (-vc[1], vc[0]))

    def passages_of(self, doc_id: str) -> list[tuple[Passage, DocInfo]]:
        found = [(p, d) for _, p, d in self._scroll(_doc_filter([doc_id]), _SCROLL_PAGE)]
        return sorted(found, key=lambda pd: pd[0].ordinal)

    def iter_points(self, batch: int = 512) -> Iterator[tuple[str, Passage, DocInfo]]:
        return self._scroll(None, batch)

    def _summary_records(self, flt: qe.Filter | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(point id, summary payload) of every point matching ``flt``, page by page."""
        return self._payloads(flt, _SCROLL_PAGE, _summary_selector())

    def _scroll(self, flt: qe.Filter | None, page: int) -> Iterator[tuple[str, Passage, DocInfo]]:
        for point_id, payload in self._payloads(flt, page, True):
            passage, doc = schema.from_payload(payload)
            yield point_id, passage, doc

    def _payloads(self, flt: qe.Filter | None, page: int, with_payload: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """(point id, payload as ``with_payload`` selects it) of every point matching ``flt``, page by page."""
        shard = self._readable()
        if shard is None:
            return
        offset: Any = None
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=page, filter=flt, with_payload=with_payload, with_vector=False
            )
            records, offset = self._engine("read points", partial(shard.scroll, request))
            for record in records:
                yield str(record.id), record.payload or {}
            if offset is None:
                return

    # --- helpers

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"The index at {self.path} is closed.")

    def _readable(self) -> qe.EdgeShard | None:
        self._check_open()
        return self._shard

    def _writable(self) -> qe.EdgeShard:
        self._check_open()
        if self._shard is None:
            raise StoreError(f"The index at {self.path} has no collection yet: call ensure_collection first.")
        return self._shard

    def _check_disk(self, action: str, extra: int = 0) -> None:
        """Refuse a write while the file system holding the shard has too little free space."""
        if self.min_free_bytes <= 0:
            return
        existing = self.path if self.path.exists() else self.path.parent
        try:
            stat = os.statvfs(existing)
        except OSError:
            return  # cannot tell: let the write itself report its problem
        free = stat.f_bavail * stat.f_frsize
        need = self.min_free_bytes + extra
        if free < need:
            raise StoreError(
                f"Not enough free disk space to {action} at {self.path}: {free // 2**20} MiB free, "
                f"{need // 2**20} MiB needed (FOERDERSUCHE_MIN_FREE_DISK_MB plus what the step rewrites). "
                "Nothing was written; free some space and run the command again."
            )

    def _engine(self, action: str, call: Callable[[], T]) -> T:
        """Run one engine call; the engine raises bare ``Exception``s, which become ``StoreError``s
        (``StoreCorrupted`` when the engine says a file of the shard cannot be read)."""
        try:
            return call()
        except Exception as err:
            message = str(err)
            if _DAMAGED.search(message) and not _NO_SPACE.search(message):
                raise StoreCorrupted(
                    f"The index at {self.path} is damaged: Qdrant Edge could not {action} ({message}). {RECOVERY_HINT}"
                ) from err
            raise StoreError(f"Qdrant Edge could not {action} at {self.path}: {message}") from err


def _disk_usage(path: Path) -> int:
    """Bytes the files below ``path`` occupy on disk (allocated blocks: the WAL files are sparse)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def aside_paths(shard: Path) -> tuple[Path, Path, Path]:
    """Beside a shard: the copy being built, the file that says the copy is built, the shard as it
    was during a swap."""
    return (
        shard.with_name(shard.name + ".building"),
        shard.with_name(shard.name + ".building.done"),
        shard.with_name(shard.name + ".previous"),
    )


def restore_cut_swap(shard: Path) -> None:
    """Put a shard back in place when a process died between the two renames of a swap: the built
    copy if it was complete, else the shard as it was. Only acts when the shard itself is missing."""
    if shard.exists():
        return
    building, done, previous = aside_paths(shard)
    if building.is_dir() and done.exists():
        os.rename(building, shard)
        log.warning("completed the swap of the index built aside at %s", shard)
    elif previous.is_dir():
        os.rename(previous, shard)
        log.warning("restored the index at %s as it was before an interrupted build", shard)


def remove_aside_leftovers(shard: Path) -> None:
    """Remove what a dead process's build aside left beside the shard (an unfinished copy, the shard
    as it was before a swap). Call only while holding the shard's lock (after loading it): a running
    server's build is then not the one removed."""
    for leftover in aside_paths(shard):
        if leftover.exists():
            _remove(leftover)


def run_build(shard: Path) -> dict[str, Any]:
    """Build the indexes of the shard at ``shard`` in a child process (``core.store.build``)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "core.store.build", str(shard.resolve())],
            capture_output=True,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
            check=False,
        )
    except OSError as err:
        raise StoreError(f"Building the index beside the served one failed ({err}); the index is unchanged.") from err
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise StoreError(f"Building the index beside the served one failed ({reason}); the index is unchanged.")
    lines = proc.stdout.strip().splitlines()
    try:
        report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        report = {}
    return report


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def dense_full_scan_threshold_kb(dense_dim: int, datatype: qe.VectorStorageDatatype = DENSE_DATATYPE) -> int:
    """``DENSE_FULL_SCAN_POINTS`` in the engine's unit: KB of stored dense vectors."""
    bytes_per_value = 2 if datatype == qe.VectorStorageDatatype.Float16 else 4
    return max(1, DENSE_FULL_SCAN_POINTS * dense_dim * bytes_per_value // 1024)


def _edge_config(
    dense_dim: int,
    datatype: qe.VectorStorageDatatype = DENSE_DATATYPE,
    m: int = schema.HNSW_M,
    *,
    quantized: bool = True,
) -> qe.EdgeConfig:
    """The shard's configuration; ``m`` and ``quantized`` vary only for measurements (build_variants)."""
    return qe.EdgeConfig(
        vectors={
            DENSE_VECTOR: qe.EdgeVectorParams(
                size=dense_dim,
                distance=qe.Distance.Cosine,
                datatype=datatype,
                on_disk=True if quantized else None,
                quantization_config=DENSE_QUANTIZATION if quantized else None,
            )
        },
        hnsw_config=qe.HnswIndexConfig(
            m=m,
            ef_construct=HNSW_EF_CONSTRUCT,
            full_scan_threshold=dense_full_scan_threshold_kb(dense_dim, datatype),
        ),
        sparse_vectors={
            SPARSE_VECTOR: qe.EdgeSparseVectorParams(
                modifier=qe.Modifier.Idf, full_scan_threshold=SPARSE_FULL_SCAN_THRESHOLD, memory=INDEX_MEMORY
            )
        },
    )


INDEXED_FIELDS = (*schema.KEYWORD_FIELDS, *schema.INTEGER_FIELDS, *schema.PLACE_CODE_FIELDS.values())


def index_params(field_name: str, linked: frozenset[str] | None = LINKED_FIELDS) -> Any:
    """The engine's index of one payload field of ``INDEXED_FIELDS``: keywords, integers with ranges
    (``schema.INTEGER_FIELDS``) or without (the place codes); graph links if ``linked`` has the field
    (``None``: every field, the engine's default)."""
    on = linked is None or field_name in linked
    if field_name in schema.KEYWORD_FIELDS:
        return qe.KeywordIndexParams(memory=INDEX_MEMORY, enable_hnsw=on)
    ranged = field_name in schema.INTEGER_FIELDS
    return qe.IntegerIndexParams(lookup=True, range=ranged, memory=INDEX_MEMORY, enable_hnsw=on)


def _sparse(vec: SparseVec) -> qe.SparseVector:
    return qe.SparseVector(list(vec.indices), list(vec.values))


def marker_path(shard: Path) -> Path:
    """The file beside a shard that records which ``schema.SCHEMA_VERSION`` wrote it."""
    return shard.with_name(shard.name + ".schema.json")


def write_marker(shard: Path) -> None:
    """Record beside a shard that the current ``schema.SCHEMA_VERSION`` wrote it and that its indexes
    are built with the current ``BUILD_VERSION`` (a new shard, or one just optimized)."""
    marker = {"schema": schema.SCHEMA_VERSION, "build": BUILD_VERSION}
    marker_path(shard).write_text(json.dumps(marker), encoding="utf-8")


def build_version(shard: Path) -> int:
    """The ``BUILD_VERSION`` a shard's indexes were last built with; 1 for a marker without one."""
    try:
        return int(json.loads(marker_path(shard).read_text(encoding="utf-8")).get("build", 1))
    except (OSError, ValueError, TypeError, AttributeError):
        return 1


def schema_version(shard: Path) -> int:
    """The schema version of an existing shard; 1 for one written before the marker existed."""
    try:
        return int(json.loads(marker_path(shard).read_text(encoding="utf-8"))["schema"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1


def _doc_filter(doc_ids: Sequence[str]) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition("doc_id", match=qe.MatchAny(list(doc_ids)))])


def _filter(search_filter: SearchFilter | None) -> qe.Filter | None:
    if search_filter is None or search_filter.is_empty():
        return None
    conditions: list[Any] = [
        qe.FieldCondition(key, match=qe.MatchAny(values))
        for key, values in schema.filter_terms(search_filter, place_codes=True)
    ]
    if search_filter.place_keys:
        levels: list[Any] = [
            qe.FieldCondition(key, match=qe.MatchAny(codes))
            for key, codes in schema.place_code_terms(search_filter.place_keys)
        ]
        conditions.append(levels[0] if len(levels) == 1 else qe.Filter(should=levels))
    low, high = schema.filter_date_range(search_filter)
    if low is not None or high is not None:
        bounds = qe.RangeFloat(gte=None if low is None else float(low), lte=None if high is None else float(high))
        conditions.append(qe.FieldCondition("date_int", range=bounds))
    return qe.Filter(must=conditions)


def _summary_selector() -> Any:
    return qe.PayloadSelector.Include(list(schema.SUMMARY_FIELDS))


def _query_request(query: StoreQuery, *, ids_only: bool = False) -> qe.QueryRequest:
    """The engine request of a query; ``ids_only``: no payload (the caller has the summaries)."""
    flt = _filter(query.filter)
    payload: Any = False if ids_only else _summary_selector() if query.payload == "summary" else True
    nearest: list[tuple[Any, qe.SearchParams | None]] = []
    if query.dense is not None:
        dense_params = _EXACT_SEARCH if query.exact else _DENSE_SEARCH
        nearest.append((qe.Query.Nearest(list(query.dense), using=DENSE_VECTOR), dense_params))
    if query.sparse is not None:
        sparse_params = qe.SearchParams(exact=True) if query.exact else None
        nearest.append((qe.Query.Nearest(_sparse(query.sparse), using=SPARSE_VECTOR), sparse_params))
    if not nearest:
        raise QueryError("a store query needs a dense or a sparse vector (or both)")
    if len(nearest) == 1:
        ((only, params),) = nearest
        return qe.QueryRequest(limit=query.limit, query=only, filter=flt, params=params, with_payload=payload)
    prefetches = [qe.Prefetch(limit=query.prefetch_limit, query=n, filter=flt, params=p) for n, p in nearest]
    # The stub types Fusion.Rrf / Fusion.Dbsf as nested classes, not as the Fusion the request takes.
    fusion: Any = qe.Fusion.Rrf(k=RRF_K) if query.fusion == "rrf" else qe.Fusion.Dbsf()
    return qe.QueryRequest(limit=query.limit, query=fusion, prefetches=prefetches, filter=flt, with_payload=payload)
