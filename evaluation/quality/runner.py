"""Run a collection's queries through the real ``Searcher`` in every retrieval variant, and measure.

A ``Variant`` is a named ``SearchOptions`` (+ analyser): ``lexical``, ``dense`` and the hybrid
fusions ``hybrid-weighted-0.5``, ``hybrid-weighted-0.7``, ``hybrid-rrf``, ``hybrid-dbsf``. Each query
is searched once per variant with ``k = DEPTH``; the ranking is kept exactly as the Searcher returned
it (scores handed to ranx are ``DEPTH - rank``, so ties never reorder), and the raw top score is kept
for the no-answer analysis.

Levels: ``passage`` (the hits as they are) and ``document`` (each document at the rank of its best
passage). Near-duplicate folding is off (``base_options``): the ranking itself is measured. Query
embeddings are computed once per query for all variants (``QueryCache``), which is exactly what the
Searcher would compute, just not repeated.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

import runtime
from core.analysis import AnalyserConfig
from core.gazetteer import Gazetteer
from core.model.embedding import Embedder
from core.models import Hit
from core.settings import Settings
from core.store.base import Store
from evaluation.quality.collection import Collection, Query
from evaluation.quality.measures import MEASURES, NDCG10, RECALL20, Comparison, Measure, compare, evaluate, per_query
from search.engine import SearchOptions, SearchRequest
from search.request import RequestParams, resolve_request

DEPTH = 100
Level = Literal["passage", "document"]
DocKey = Callable[[Hit], str]


@dataclass(frozen=True)
class Variant:
    name: str
    options: SearchOptions
    analyser: AnalyserConfig = field(default_factory=AnalyserConfig)

    @property
    def mode(self) -> str:
        return self.options.mode

    def describe(self) -> str:
        o = self.options
        if o.mode != "hybrid":
            return o.mode
        return f"hybrid, {o.fusion}" + (f", dense_weight {o.dense_weight:g}" if o.fusion == "weighted" else "")


def base_options(settings: Settings) -> SearchOptions:
    """The settings' search options, with near-duplicate folding off: the evaluation measures the
    ranking itself. Folding keeps only the better-ranked twin of a republished press release, so with
    both twins judged (they carry the same text) it would cap recall by construction."""
    return replace(runtime.search_options(settings), fold_duplicates=False)


def standard_variants(settings: Settings) -> list[Variant]:
    """lexical, dense, and the hybrid fusions the retrieval decision is made between."""
    base = base_options(settings)
    return [
        Variant("lexical", replace(base, mode="lexical")),
        Variant("dense", replace(base, mode="dense")),
        Variant("hybrid-weighted-0.5", replace(base, mode="hybrid", fusion="weighted", dense_weight=0.5)),
        Variant("hybrid-weighted-0.7", replace(base, mode="hybrid", fusion="weighted", dense_weight=0.7)),
        Variant("hybrid-rrf", replace(base, mode="hybrid", fusion="rrf")),
        Variant("hybrid-dbsf", replace(base, mode="hybrid", fusion="dbsf")),
    ]


def default_variant_name(settings: Settings) -> str:
    """The variant the settings select (what users get)."""
    if settings.search_mode != "hybrid":
        return settings.search_mode
    if settings.fusion == "weighted":
        return f"hybrid-weighted-{settings.dense_weight:g}"
    return f"hybrid-{settings.fusion}"


def sweep_variants(settings: Settings, dense_weights: Sequence[float], gram_weights: Sequence[float]) -> list[Variant]:
    """Weighted-fusion dense weights, and analyser gram weights for lexical and the default hybrid
    (``gram_weight`` shapes only the query vector, so one index serves every value)."""
    base = base_options(settings)
    out = [
        Variant(f"hybrid-weighted-{w:g}", replace(base, mode="hybrid", fusion="weighted", dense_weight=w))
        for w in dense_weights
    ]
    for g in gram_weights:
        analyser = AnalyserConfig(gram_weight=g)
        out.append(Variant(f"lexical@gram{g:g}", replace(base, mode="lexical"), analyser))
        out.append(
            Variant(
                f"hybrid-weighted-{settings.dense_weight:g}@gram{g:g}",
                replace(base, mode="hybrid", fusion="weighted", dense_weight=settings.dense_weight),
                analyser,
            )
        )
    return out


class QueryCache:
    """An ``Embedder`` that answers ``embed_queries`` from vectors computed once, in batches.

    Passages are never embedded through it. Same model, same vectors as a direct call: this only
    avoids embedding each query again for every variant.
    """

    def __init__(self, embedder: Embedder, queries: Sequence[str], batch: int = 64) -> None:
        self.name = embedder.name
        self.dim = embedder.dim
        self._inner = embedder
        self._vectors: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(queries))
        for i in range(0, len(unique), batch):
            chunk = unique[i : i + batch]
            for text, vec in zip(chunk, embedder.embed_queries(chunk), strict=True):
                self._vectors[text] = vec

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            for text, vec in zip(missing, self._inner.embed_queries(missing), strict=True):
                self._vectors[text] = vec
        return np.stack([self._vectors[t] for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("QueryCache embeds queries only")


@dataclass
class VariantRun:
    """One variant's answers to every query: rankings by passage and by document, top scores."""

    variant: Variant
    passages: dict[str, dict[str, float]]
    documents: dict[str, dict[str, float]]
    top_scores: dict[str, float | None]
    seconds: float

    def run(self, level: Level) -> dict[str, dict[str, float]]:
        return self.passages if level == "passage" else self.documents


def source_key(hit: Hit) -> str:
    return hit.doc.source


def doc_id_key(hit: Hit) -> str:
    return hit.doc.doc_id


def query_request(q: Query, k: int, gazetteer: Gazetteer, options: SearchOptions) -> SearchRequest:
    """The query as the one resolver (``search.request``) makes it from any front end's parameters."""
    dates = {name: (q.filter_values(name) or (None,))[0] for name in ("date_from", "date_to")}
    params = RequestParams(
        query=q.text,
        k=k,
        places=q.filter_values("place"),
        programs=q.filter_values("program"),
        doc_types=q.filter_values("doc_type"),
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        languages=q.filter_values("language"),
        sources=q.filter_values("source"),
    )
    return resolve_request(params, gazetteer, options).request


def run_variant(
    variant: Variant,
    queries: Sequence[Query],
    store: Store,
    gazetteer: Gazetteer,
    embedder: Embedder,
    doc_key: DocKey = source_key,
    depth: int = DEPTH,
) -> VariantRun:
    searcher = runtime.build_searcher(embedder, store, gazetteer, variant.analyser)
    passages: dict[str, dict[str, float]] = {}
    documents: dict[str, dict[str, float]] = {}
    tops: dict[str, float | None] = {}
    started = time.perf_counter()
    for q in queries:
        result = searcher.search(query_request(q, depth, gazetteer, variant.options))
        ranking: dict[str, float] = {}
        docs: dict[str, float] = {}
        for rank, hit in enumerate(result.hits):
            ranking[hit.passage.passage_id] = float(depth - rank)
            key = doc_key(hit)
            if key not in docs:
                docs[key] = float(depth - len(docs))
        passages[q.id] = ranking
        documents[q.id] = docs
        tops[q.id] = result.hits[0].score if result.hits else None
    return VariantRun(variant, passages, documents, tops, time.perf_counter() - started)


def run_all(
    variants: Sequence[Variant],
    collection: Collection,
    store: Store,
    gazetteer: Gazetteer,
    embedder: Embedder,
    doc_key: DocKey = source_key,
    progress: Callable[[str], None] | None = None,
) -> dict[str, VariantRun]:
    cache = QueryCache(embedder, [q.text for q in collection.queries])
    runs = {}
    for v in variants:
        if progress:
            progress(v.name)
        runs[v.name] = run_variant(v, collection.queries, store, gazetteer, cache, doc_key)
    return runs


# ---------------------------------------------------------------- measuring


def scores_by_type(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    queries: Sequence[Query],
    measures: Sequence[Measure] = MEASURES,
) -> dict[str, dict[str, Any]]:
    """Measures per query type (types whose queries all lack relevant items are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for qtype in dict.fromkeys(q.type for q in queries):
        ids = {q.id for q in queries if q.type == qtype}
        sub = {q: r for q, r in qrels.items() if q in ids and any(g > 0 for g in r.values())}
        if not sub:
            continue
        out[qtype] = {"queries": len(sub), **evaluate(sub, run, measures)}
    return out


def level_report(
    qrels: Mapping[str, Mapping[str, int]],
    runs: Mapping[str, VariantRun],
    level: Level,
    queries: Sequence[Query],
    compare_measures: Sequence[Measure] = (NDCG10, RECALL20),
) -> dict[str, Any]:
    """Every measure per variant (all queries and per type), per-query nDCG@10, paired tests."""
    variants: dict[str, Any] = {}
    for name, vr in runs.items():
        run = vr.run(level)
        variants[name] = {
            "describe": vr.variant.describe(),
            "all": evaluate(qrels, run),
            "by_type": scores_by_type(qrels, run, queries),
            "per_query": {str(NDCG10): per_query(qrels, run, NDCG10)},
        }
    comparisons: list[Comparison] = compare(qrels, {n: vr.run(level) for n, vr in runs.items()}, compare_measures)
    judged = sum(1 for r in qrels.values() if any(g > 0 for g in r.values()))
    return {
        "level": level,
        "judged_queries": judged,
        "variants": variants,
        "comparisons": [c.__dict__ for c in comparisons],
    }


def no_answer_report(collection: Collection, runs: Mapping[str, VariantRun]) -> dict[str, Any]:
    """Top-1 scores of no-answer queries against answerable ones, per variant.

    No-answer queries have no relevant item, so nDCG/MRR/Recall/MAP are undefined for them and they are
    excluded from those means. What can be measured is whether a variant's top score tells them apart:
    ``auc`` = probability that an answerable query's top score exceeds a no-answer query's (ties half),
    scale-free, so comparable across fusions; 0.5 = no signal.
    """
    none_ids = [q.id for q in collection.no_answer()]
    ans_ids = [q.id for q in collection.answerable()]
    out: dict[str, Any] = {"queries": none_ids, "variants": {}}
    if not none_ids:
        return out
    for name, vr in runs.items():
        none = [vr.top_scores[q] or 0.0 for q in none_ids]
        ans = [vr.top_scores[q] or 0.0 for q in ans_ids]
        wins = sum((a > b) + 0.5 * (a == b) for a in ans for b in none)
        out["variants"][name] = {
            "no_answer_top_median": statistics.median(none),
            "answerable_top_median": statistics.median(ans) if ans else None,
            "no_answer_top": dict(zip(none_ids, none, strict=True)),
            "auc": wins / (len(ans) * len(none)) if ans else None,
        }
    return out


def qrels_for(
    collection: Collection, level: Level, passage_qrels: Mapping[str, Mapping[str, int]] | None
) -> dict[str, dict[str, int]]:
    """The qrels of ``level`` over every query (no-answer queries with empty judgments)."""
    if level == "document":
        return {q.id: dict(collection.doc_qrels.get(q.id, {})) for q in collection.queries}
    assert passage_qrels is not None
    return {q.id: dict(passage_qrels.get(q.id, {})) for q in collection.queries}


def query_types(collection: Collection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for q in collection.queries:
        counts[q.type] = counts.get(q.type, 0) + 1
    return counts
