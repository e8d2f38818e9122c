"""The index: one small interface (``Store``) with two adapters.

- ``EdgeStore``: Qdrant Edge (the real Qdrant engine in-process), the embedded default.
- ``RemoteStore``: qdrant-client against a Qdrant server or cluster (or its ``:memory:`` mode in tests).

``open_store(settings)`` picks one. Both run the same contract tests (tests/core/test_store_contract.py).
"""

from core.store.base import (
    DENSE_VECTOR,
    SPARSE_VECTOR,
    IndexPoint,
    SearchFilter,
    SparseVec,
    Store,
    StoredHit,
    StoreQuery,
)
from core.store.factory import open_store

__all__ = [
    "DENSE_VECTOR",
    "SPARSE_VECTOR",
    "IndexPoint",
    "SearchFilter",
    "SparseVec",
    "Store",
    "StoreQuery",
    "StoredHit",
    "open_store",
]
