"""Stable identifiers: the same source always yields the same document, passage and point ids,
so re-ingesting overwrites instead of duplicating."""

from __future__ import annotations

import hashlib
import uuid

# A fixed namespace for uuid5 point ids; changing it would orphan every existing index.
POINT_NAMESPACE = uuid.UUID("6f1f7d0e-3c59-5d8a-9a57-4b1e2f0c9d21")


def doc_id_for(canonical_source: str) -> str:
    """A short stable id for a document from its canonical URL or resolved file path."""
    return hashlib.sha256(canonical_source.encode("utf-8")).hexdigest()[:16]


def passage_id_for(doc_id: str, ordinal: int) -> str:
    return f"{doc_id}-{ordinal:04d}"


def point_id_for(passage_id: str) -> str:
    """The Qdrant point id (a UUID string) of a passage."""
    return str(uuid.uuid5(POINT_NAMESPACE, passage_id))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
