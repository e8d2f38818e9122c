"""Hybrid retrieval: dense + German lexical vectors from the shared core, fused, boosted, grouped.

Modes: ``dense`` (e5 embeddings), ``lexical`` (our BM25 sparse vectors, IDF inside Qdrant) and
``hybrid``. Hybrid fusion is either Qdrant's own (``rrf`` / ``dbsf``: both retrievers as prefetches of
one Query API request) or ``weighted``: both candidate lists come from one batch request and their
scores are min-max normalised and mixed ``w * dense + (1 - w) * lexical``.
Every hit keeps the rank each retriever gave it.

Hybrid candidates (up to ``prefetch_limit`` per retriever) are read as payload summaries (no text):
ranking, the place boost, near-duplicate folding and facets need only those fields. The full passages
of the k shown hits are fetched afterwards, one read of k points instead of hundreds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from core.analysis import AnalyserConfig, query_stems, query_vector
from core.errors import QueryError
from core.gazetteer import Gazetteer
from core.ids import point_id_for
from core.model.embedding import Embedder
from core.models import DocInfo, Hit, Passage
from core.store.base import SearchFilter, SparseVec, Store, StoredHit, StoreQuery
from search.fusion import SERVER_SIDE, Fusion, place_boost, weighted
from search.group import fold_duplicates
from search.highlight import match_spans
from search.query import QueryPlan, understand

Mode = Literal["hybrid", "dense", "lexical"]
PlaceMode = Literal["boost", "filter", "off"]

MAX_QUERY_CHARS = 1000
# Lone surrogates: what Python makes of bytes that are not UTF-8 in a command line (surrogateescape) or
# of a "\ud800" escape in JSON. No encoder takes them (the tokenizer and the stemmer raised on them).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def query_text(raw: str) -> str:
    """A query as the search reads it: stripped, a lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", raw).strip()


MAX_K = 200


@dataclass(frozen=True)
class SearchOptions:
    mode: Mode = "hybrid"
    fusion: Fusion = "weighted"
    dense_weight: float = 0.5
    prefetch_limit: int = 100
    place_mode: PlaceMode = "boost"
    place_boost: float = 0.15
    fold_duplicates: bool = True


@dataclass(frozen=True)
class SearchRequest:
    query: str
    k: int = 10
    filter: SearchFilter = field(default_factory=SearchFilter)
    options: SearchOptions = field(default_factory=SearchOptions)


@dataclass(frozen=True)
class SearchResult:
    request: SearchRequest
    plan: QueryPlan
    hits: tuple[Hit, ...]
    stems: frozenset[str]
    # every fused hit before the cut to k (facets count these); in hybrid mode they carry the payload
    # summary only (no passage text), the ``hits`` carry everything
    candidates: tuple[Hit, ...] = ()

    def highlights(self, hit: Hit) -> list[tuple[int, int]]:
        return match_spans(hit.passage.text, self.stems)


@dataclass
class Searcher:
    """Answers queries over a store. Built by an entry point with its embedder and store."""

    embedder: Embedder
    store: Store
    gazetteer: Gazetteer
    analyser: AnalyserConfig = field(default_factory=AnalyserConfig)

    def search(self, request: SearchRequest) -> SearchResult:
        query = query_text(request.query)
        if not query:
            raise QueryError("empty query")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters")
        if not 1 <= request.k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}")
        opts = request.options
        plan = understand(query, self.gazetteer)
        flt = request.filter
        if opts.place_mode == "filter" and plan.place_keys:
            flt = replace(flt, place_keys=tuple(dict.fromkeys(flt.place_keys + plan.place_keys)))
        store_filter = None if flt.is_empty() else flt
        # fetch more than k so boosting and near-duplicate folding still leave k results
        limit = max(request.k * 3, request.k + 10)
        limit = min(limit, opts.prefetch_limit) if opts.mode == "hybrid" else limit
        limit = max(limit, request.k)

        dense = sparse = None
        if opts.mode in ("dense", "hybrid"):
            dense = tuple(float(x) for x in self.embedder.embed_queries([query])[0])
        if opts.mode in ("lexical", "hybrid"):
            sparse = query_vector(query, self.analyser)
            if not sparse.indices and opts.mode == "lexical":
                return SearchResult(request, plan, (), frozenset())

        if opts.mode == "dense":
            lists = self.store.query_batch([StoreQuery(limit=limit, dense=dense, filter=store_filter)])
            scored = self._single(lists[0], "dense")
        elif opts.mode == "lexical":
            lists = self.store.query_batch([StoreQuery(limit=limit, sparse=sparse, filter=store_filter)])
            scored = self._single(lists[0], "lexical")
        else:
            scored = self._hybrid(dense, sparse, store_filter, opts, limit)

        if opts.place_mode == "boost" and plan.place_keys:
            wanted = frozenset(plan.place_keys)
            scored = [
                (place_boost(score, p.annotations.place_keys, wanted, opts.place_boost), p, d, ranks)
                for score, p, d, ranks in scored
            ]
        scored.sort(key=lambda x: (-x[0], x[1].passage_id))
        ranked = [Hit(p, d, round(s, 6), ranks) for s, p, d, ranks in scored]
        if opts.fold_duplicates:
            ranked = fold_duplicates(ranked)
        hits = self._complete(ranked[: request.k]) if opts.mode == "hybrid" else ranked[: request.k]
        return SearchResult(request, plan, tuple(hits), query_stems(query), tuple(ranked))

    def _complete(self, hits: Sequence[Hit]) -> list[Hit]:
        """The shown hits with their full passages (hybrid candidates were read as summaries)."""
        ids = [point_id_for(h.passage.passage_id) for h in hits]
        full = self.store.fetch(ids)
        out = []
        for h, point_id in zip(hits, ids, strict=True):
            found = full.get(point_id)
            if found is not None:  # gone since the query (deleted by a concurrent ingest): not shown
                out.append(replace(h, passage=found[0], doc=found[1]))
        return out

    @staticmethod
    def _single(hits: list[StoredHit], name: str) -> list[tuple[float, Passage, DocInfo, tuple[tuple[str, int], ...]]]:
        return [(h.score, h.passage, h.doc, ((name, i + 1),)) for i, h in enumerate(hits)]

    def _hybrid(
        self,
        dense: tuple[float, ...] | None,
        sparse: SparseVec | None,
        flt: SearchFilter | None,
        opts: SearchOptions,
        limit: int,
    ) -> list[tuple[float, Passage, DocInfo, tuple[tuple[str, int], ...]]]:
        assert dense is not None and sparse is not None
        pre = opts.prefetch_limit
        queries = [StoreQuery(limit=pre, dense=dense, filter=flt, payload="summary")]
        if sparse.indices:
            queries.append(StoreQuery(limit=pre, sparse=sparse, filter=flt, payload="summary"))
        server = opts.fusion if opts.fusion in SERVER_SIDE else None
        if server is not None and sparse.indices:
            queries.append(
                StoreQuery(
                    limit=limit,
                    dense=dense,
                    sparse=sparse,
                    fusion=server,
                    prefetch_limit=pre,
                    filter=flt,
                    payload="summary",
                )
            )
        lists = self.store.query_batch(queries)
        dense_hits = lists[0]
        sparse_hits = lists[1] if sparse.indices else []
        ranks: dict[str, list[tuple[str, int]]] = {}
        by_id: dict[str, StoredHit] = {}
        for name, hits in (("dense", dense_hits), ("lexical", sparse_hits)):
            for i, h in enumerate(hits):
                ranks.setdefault(h.point_id, []).append((name, i + 1))
                by_id.setdefault(h.point_id, h)

        if server is not None and sparse.indices:
            fused = lists[2]
            return [(h.score, h.passage, h.doc, tuple(ranks.get(h.point_id, ()))) for h in fused]

        combined = weighted(
            [(h.point_id, h.score) for h in dense_hits], [(h.point_id, h.score) for h in sparse_hits], opts.dense_weight
        )
        return [
            (score, by_id[pid].passage, by_id[pid].doc, tuple(ranks.get(pid, ()))) for pid, score in combined.items()
        ]
