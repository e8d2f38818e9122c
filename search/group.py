"""Results grouped by document, with near-duplicates folded into one entry.

A press release published on several sites appears once: hits of documents that are near-duplicates
of each other (same ``near_duplicate_of`` cluster) join one group, represented by the best-scoring
document, and the group lists where else the text was published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.models import DocInfo, Hit


@dataclass(frozen=True)
class DocGroup:
    doc: DocInfo
    score: float
    hits: tuple[Hit, ...]
    total_hits: int
    also_published_at: tuple[str, ...]


def cluster_key(doc: DocInfo) -> str:
    return doc.near_duplicate_of or doc.doc_id


def fold_duplicates(hits: Sequence[Hit]) -> list[Hit]:
    """Keep, per near-duplicate cluster, only the hits of its best-ranked document."""
    chosen: dict[str, str] = {}
    out = []
    for hit in hits:
        key = cluster_key(hit.doc)
        doc_id = chosen.setdefault(key, hit.doc.doc_id)
        if doc_id == hit.doc.doc_id:
            out.append(hit)
    return out


def group_hits(hits: Sequence[Hit], per_doc: int = 3) -> list[DocGroup]:
    """Groups in rank order of their best hit; up to ``per_doc`` passages each."""
    members: dict[str, list[Hit]] = {}
    sources: dict[str, dict[str, None]] = {}
    for hit in hits:
        key = cluster_key(hit.doc)
        members.setdefault(key, []).append(hit)
        seen = sources.setdefault(key, {})
        for s in (hit.doc.url or hit.doc.source, *hit.doc.also_published_at):
            seen[s] = None
    groups = []
    for group_hits_ in members.values():
        best_doc = group_hits_[0].doc
        own = [h for h in group_hits_ if h.doc.doc_id == best_doc.doc_id]
        also = tuple(s for s in sources[cluster_key(best_doc)] if s != (best_doc.url or best_doc.source))
        groups.append(DocGroup(best_doc, group_hits_[0].score, tuple(own[:per_doc]), len(own), also))
    return groups
