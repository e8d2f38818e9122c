"""After a crash, make the index agree with the registry again: ``reconcile(store, registry)``.

The invariant that ``ingest.pipeline`` keeps while it runs, and that a crash (kill -9, power loss, a
full disk) may break:

    every live registry row with status ``indexed`` has exactly ``passages`` points of its doc id in
    the store, and no other doc id has any point.

The pipeline marks a row ``indexing``, deletes the document's old points, writes all its new points in
one upsert and then marks the row ``indexed``. A crash can therefore leave a row ``indexing`` with all
or none of its new points (one upsert is one WAL entry: never some of them), and a lost or replaced
index directory leaves ``indexed`` rows without points. ``reconcile`` repairs both:

- points of a doc id without a live ``indexed`` row are deleted (``removed``): a document whose
  write did not finish is never served, not even complete;
- an ``indexed`` row whose point count is off loses its points and goes back to ``indexing``
  (``redo``). Such rows, and rows an interrupted run left ``indexing`` (``interrupted``), are redone by
  the next ingest of their source, or by ``foerdersuche reindex`` from the kept raw bytes.

It runs at the start of every ``Indexer.ingest`` (so every ingest, crawl and reindex), when the API
opens the embedded index, and in ``foerdersuche doctor`` (``deep=True``: every point is read, its
payload and vectors checked, duplicate passage ids counted). One writer at a time: Qdrant Edge
enforces it (one opener per shard); with a Qdrant server it is the operator's job, else a reconcile
could delete the points another writer is about to mark ``indexed``.

The module also holds the recovery of a damaged embedded index: ``quarantine_index`` moves its
directory aside (``<data_dir>/index.corrupt-<timestamp>``) so that ``reindex`` can rebuild it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import StoreCorrupted
from core.ids import point_id_for
from core.models import FileStatus
from core.registry import INDEXING, Registry
from core.settings import Settings
from core.store.base import Store

log = logging.getLogger(__name__)

REDO_HINT = "run the same ingest again, or `foerdersuche reindex` (from the kept raw bytes)"


@dataclass(frozen=True)
class ReconcileReport:
    """What ``reconcile`` found and repaired; ``consistent`` when it found nothing to repair."""

    documents: int
    """Live registry rows with status ``indexed`` after the repair."""
    points: int
    """Points in the store before the repair."""
    removed: tuple[str, ...] = ()
    """Doc ids whose points were deleted: no live ``indexed`` row (interrupted, deleted or unknown)."""
    redo: tuple[str, ...] = ()
    """Sources whose ``indexed`` row did not match the store; their points were deleted, the row reset."""
    interrupted: tuple[str, ...] = ()
    """Sources left ``indexing`` by an interrupted run (including ``redo``): to be ingested again."""
    points_deleted: int = 0
    duplicate_passages: int = 0
    """Points beyond the first for one passage id, or under another id than the passage's (deep only)."""
    deep: bool = False

    @property
    def consistent(self) -> bool:
        return not (self.removed or self.redo or self.interrupted or self.duplicate_passages)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["consistent"] = self.consistent
        return out

    def summary(self) -> str:
        if self.consistent:
            return f"index and registry agree: {self.documents} documents, {self.points} passages"
        parts = []
        if self.removed:
            parts.append(
                f"removed {self.points_deleted} passages of {len(self.removed)} unfinished or unknown documents"
            )
        if self.redo:
            parts.append(f"{len(self.redo)} documents had lost passages")
        if self.interrupted:
            parts.append(f"{len(self.interrupted)} documents to index again ({REDO_HINT})")
        if self.duplicate_passages:
            parts.append(f"{self.duplicate_passages} duplicate passages (rebuild with `foerdersuche reindex`)")
        return "; ".join(parts)


def reconcile(store: Store, registry: Registry, *, deep: bool = False) -> ReconcileReport:
    """Repair the index and the registry so that the invariant above holds again (see module docs).

    ``deep`` reads every point (payload and vectors) instead of counting per doc id, and raises
    ``StoreCorrupted`` when a point cannot be read.
    """
    expected: Counter[str] = Counter()
    sources_of: dict[str, list[tuple[str, int]]] = {}
    interrupted: list[str] = []
    for row in registry.all():
        if row.status == FileStatus.INDEXED.value:
            expected[row.doc_id] += row.passages
            sources_of.setdefault(row.doc_id, []).append((row.source, row.passages))
        elif row.status == INDEXING:
            interrupted.append(row.source)

    total = store.count()
    duplicates = 0
    found: Counter[str] = Counter()
    if deep:
        store.verify()
        per_passage: Counter[str] = Counter()
        for point_id, passage, _doc in store.iter_points():
            found[passage.doc_id] += 1
            per_passage[passage.passage_id] += 1
            if point_id != point_id_for(passage.passage_id):
                duplicates += 1
        duplicates += sum(n - 1 for n in per_passage.values() if n > 1)
    elif total:
        found.update(dict(store.facet("doc_id", limit=total)))
        if sum(found.values()) != total:
            raise StoreCorrupted(
                f"The index counts {total} passages but its doc_id index {sum(found.values())}. "
                "Rebuild it with `foerdersuche reindex`."
            )

    removed = sorted(doc_id for doc_id in found if doc_id not in expected)
    mismatched = sorted(doc_id for doc_id, n in expected.items() if found[doc_id] != n)
    deleted = sum(found[d] for d in removed) + sum(found[d] for d in mismatched)
    if removed:
        store.delete_documents(removed)
    redo: list[str] = []
    for doc_id in mismatched:
        if found[doc_id]:
            store.delete_documents([doc_id])
        for source, passages in sources_of[doc_id]:
            registry.mark_unfinished(
                source, f"interrupted: the index held {found[doc_id]} of its {passages} passages; {REDO_HINT}"
            )
            redo.append(source)
    report = ReconcileReport(
        documents=len(expected) - len(mismatched),
        points=total,
        removed=tuple(removed),
        redo=tuple(redo),
        interrupted=tuple(sorted(set(interrupted) | set(redo))),
        points_deleted=deleted,
        duplicate_passages=duplicates,
        deep=deep,
    )
    if removed or redo:
        log.warning("index repaired after an interrupted run: %s", report.summary())
    return report


def quarantine_index(settings: Settings, *, now: float | None = None, label: str = "corrupt") -> Path | None:
    """Move the embedded index directory aside to ``<data_dir>/index.<label>-<timestamp>`` (kept for
    inspection, never deleted here; ``label`` is "corrupt" or "outdated"); None without an index."""
    index = settings.index_dir
    if not index.exists() and not index.is_symlink():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = index.with_name(f"index.{label}-{stamp}")
    n = 1
    while target.exists():
        target = index.with_name(f"index.{label}-{stamp}-{n}")
        n += 1
    index.rename(target)
    log.warning("moved the %s index %s aside to %s", label, index, target)
    return target


def missing_index(store: Store, registry: Registry) -> StoreCorrupted | None:
    """The error to show when the registry lists passages but the index holds none (its directory was
    deleted, emptied or replaced); None when that is not the case."""
    _, passages = registry.totals()
    if passages and store.count() == 0:
        return StoreCorrupted(
            f"The index is missing or empty, but the registry lists {passages} passages. "
            "Rebuild it with `foerdersuche reindex`."
        )
    return None
