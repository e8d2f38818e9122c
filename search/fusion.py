"""How hybrid retrieval combines its two ranked lists, and the place boost: pure functions.

One vocabulary for every fusion the project offers (``Fusion``):

* ``weighted``: ours, computed here. Each list's scores are min-max normalised to [0, 1] and mixed
  ``w * dense + (1 - w) * lexical``; a passage missing from a list contributes 0 from it.
* ``rrf``: reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009), computed by Qdrant
  (``SERVER_SIDE``): ``sum over lists of 1 / (RRF_K + rank)``, rank 0-based as Qdrant counts.
* ``dbsf``: distribution-based score fusion, computed by Qdrant: each list's scores normalised with
  its mean ± 3 standard deviations (clipped to [0, 1]), then summed.

``rrf_scores`` and ``dbsf_scores`` are reference implementations of what the server computes; the
engine asks the store for them (one request), the tests hold the store's answer against them.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Literal

from core.store.base import RRF_K, ServerFusion

Fusion = Literal["weighted", "rrf", "dbsf"]
SERVER_SIDE: frozenset[ServerFusion] = frozenset(("rrf", "dbsf"))

Scored = tuple[str, float]  # (point id, score) in rank order


def minmax(values: Sequence[float]) -> list[float]:
    """``(v - min) / (max - min)``; all 1.0 when the values are equal (one candidate is a full match)."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return [1.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def weighted(dense: Sequence[Scored], lexical: Sequence[Scored], dense_weight: float) -> dict[str, float]:
    """Weighted min-max fusion; with no lexical list (no known query word) the dense list counts fully."""
    w = dense_weight if lexical else 1.0
    combined: dict[str, float] = {}
    for weight, hits in ((w, dense), (1.0 - w, lexical)):
        for (point, _), norm in zip(hits, minmax([s for _, s in hits]), strict=True):
            combined[point] = combined.get(point, 0.0) + weight * norm
    return combined


def rrf_scores(lists: Iterable[Sequence[Scored]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion as Qdrant computes it (0-based ranks)."""
    out: dict[str, float] = {}
    for hits in lists:
        for rank, (point, _) in enumerate(hits):
            out[point] = out.get(point, 0.0) + 1.0 / (k + rank)
    return out


def dbsf_scores(lists: Iterable[Sequence[Scored]]) -> dict[str, float]:
    """Distribution-based score fusion as Qdrant computes it (mean ± 3 population std, clipped)."""
    out: dict[str, float] = {}
    for hits in lists:
        scores = [s for _, s in hits]
        if not scores:
            continue
        mean = statistics.fmean(scores)
        std = statistics.pstdev(scores)
        lo, hi = mean - 3 * std, mean + 3 * std
        for point, s in hits:
            norm = 0.5 if hi - lo < 1e-12 else min(1.0, max(0.0, (s - lo) / (hi - lo)))
            out[point] = out.get(point, 0.0) + norm
    return out


def place_boost(score: float, passage_keys: Iterable[str], wanted: frozenset[str], amount: float) -> float:
    """``score + amount`` when the passage is about a place the query names (any of its keys), else ``score``."""
    return score + amount if amount > 0 and wanted.intersection(passage_keys) else score
