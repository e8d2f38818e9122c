"""Values and the protocol shared by the store adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from core.models import DocInfo, Passage

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "lexical"

# The fusions the store computes itself (Qdrant's Query API); search.fusion.Fusion adds ``weighted``.
ServerFusion = Literal["rrf", "dbsf"]

# The k of Qdrant's reciprocal rank fusion, score = sum over retrievers of 1 / (k + rank), rank 0-based
# (Cormack, Clarke & Buettcher, SIGIR 2009, use k = 60 with 1-based ranks). Set explicitly by both
# adapters: Edge has no default and a server's default (2) would differ.
RRF_K = 60


@dataclass(frozen=True)
class SparseVec:
    """A sparse vector: sorted unique ``indices`` with their ``values``."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class IndexPoint:
    """One passage as written to the index: its payload comes from ``passage`` and ``doc``."""

    passage: Passage
    doc: DocInfo
    dense: tuple[float, ...]
    sparse: SparseVec


@dataclass(frozen=True)
class SearchFilter:
    """Hard filters; every non-empty field must match (within a field: any of the values).

    ``place_keys`` are AGS keys; since passages carry the keys of their Kreis too, a Kreis key also
    matches passages about its Gemeinden. Dates are ISO ``YYYY-MM-DD`` strings, bounds inclusive.
    """

    place_keys: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    source_names: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return self == SearchFilter()


@dataclass(frozen=True)
class StoreQuery:
    """One query against the index.

    Only ``dense`` set: dense nearest neighbours. Only ``sparse`` set: lexical (BM25-style, IDF inside
    Qdrant). Both set: both are prefetched (``prefetch_limit`` each) and fused by Qdrant with ``fusion``.
    ``exact`` bypasses the HNSW index (used to measure its recall). ``payload="summary"`` returns only
    the small fields a ranking needs (``schema.SUMMARY_FIELDS``: ids, places, programs, type, date,
    language, source, near-duplicate mark; no text), so a query over hundreds of candidates does not
    read and convert hundreds of passages; ``fetch`` then reads the few that are shown.
    """

    limit: int
    dense: tuple[float, ...] | None = None
    sparse: SparseVec | None = None
    fusion: ServerFusion = "rrf"
    prefetch_limit: int = 100
    filter: SearchFilter | None = None
    exact: bool = False
    payload: Literal["full", "summary"] = "full"


@dataclass(frozen=True)
class StoredHit:
    point_id: str
    score: float
    passage: Passage
    doc: DocInfo


class Store(Protocol):
    """What ingest writes through and search reads through."""

    def ensure_collection(self, dense_dim: int) -> None:
        """Create the collection, vectors and payload indexes if missing; check the dimension if present."""

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or overwrite points (point id derives from the passage id)."""

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove every passage of these documents."""

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[StoredHit]]:
        """Run several queries in one call; results in the same order."""

    def fetch(self, point_ids: Sequence[str]) -> dict[str, tuple[Passage, DocInfo]]:
        """Full passages of these points, by point id (unknown ids are left out)."""

    def count(self, filter: SearchFilter | None = None) -> int:
        """Number of points (passages) matching ``filter``."""

    def facet(self, key: str, filter: SearchFilter | None = None, limit: int = 50) -> list[tuple[str, int]]:
        """Value counts of a keyword payload field over the points matching ``filter``, most frequent first."""

    def passages_of(self, doc_id: str) -> list[tuple[Passage, DocInfo]]:
        """All passages of one document in reading order."""

    def iter_points(self, batch: int = 512) -> Iterator[tuple[str, Passage, DocInfo]]:
        """Every point as (point id, passage, document info); for checks, exports and dedup."""

    def set_payload(self, doc_id: str, values: dict[str, object]) -> None:
        """Overwrite payload fields on every passage of a document (e.g. near-duplicate marks)."""

    def optimize(self) -> None:
        """Build indexes after a bulk write (expensive; end of an ingest run, never in a query)."""

    def build_aside(self, swap: Callable[[], AbstractContextManager[object]]) -> None:
        """A serving process: let ``optimize`` build where queries do not wait for it, and replace the
        index only inside ``swap()`` (a lock that keeps every reader of the store out)."""

    def keep_summaries(self, limit: int, *, background: bool = False) -> int:
        """Hold the ranking fields of every point (``StoreQuery.payload="summary"``) in memory, so that
        queries read only ids and scores from the index (a serving process); not above ``limit`` points
        or where other processes write the index. ``background``: read them in a thread, queries go on
        meanwhile. Returns how many points are held now (0: not kept, or not read yet)."""

    def summaries_held(self) -> int | None:
        """How many points' ranking fields are held in memory; None while they are being read."""

    def verify(self) -> int:
        """Read every point with payload and vectors (a full check); returns how many there are.
        Damage the adapter can recognise raises ``StoreCorrupted``."""

    def close(self) -> None:
        """Flush and release the store."""
