"""Our German lexical analyser against Qdrant Edge's built-in German BM25, on XQuAD-de.

Both variants write sparse vectors into the same Edge collection schema (IDF modifier, so BM25's IDF
is applied inside Qdrant) and are queried lexically only; only the analyser differs:

- ``ours``: core.analysis (umlaut folding, stopwords, Snowball stems + character 4-grams);
- ``edge-german``: ``qdrant_edge.Bm25(Bm25Config(language="german"))`` (its tokenizer, German
  stopwords and stemmer).

    .venv/bin/python -m evaluation.bench.bm25_edge [--report evaluation/reports/bm25_edge.md]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.analysis import AnalyserConfig, passage_vector, query_vector
from core.models import DocInfo, DocType, Passage
from core.store.base import IndexPoint, SparseVec, StoreQuery
from core.store.edge import EdgeStore
from evaluation.quality.measures import MEASURES, evaluate
from evaluation.quality.xquad import load

Embed = Callable[[str], SparseVec]


def _edge_bm25() -> tuple[Embed, Embed]:
    import qdrant_edge as qe

    model = qe.Bm25(qe.Bm25Config(language="german"))

    def convert(v: object) -> SparseVec:
        pairs = sorted(zip(v.indices, v.values, strict=True))  # type: ignore[attr-defined]
        return SparseVec(tuple(int(i) for i, _ in pairs), tuple(float(x) for _, x in pairs))

    return (lambda t: convert(model.embed_document(t))), (lambda t: convert(model.embed_query(t)))


def run_variant(doc_vec: Embed, query_vec: Embed, k: int = 100) -> tuple[dict[str, float], float]:
    collection, paragraphs = load()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp) / "shard", min_free_bytes=0)
        store.ensure_collection(4)
        points = []
        for p in paragraphs:
            info = DocInfo(p.doc_id, p.doc_id, p.title, DocType.OTHER, None, "de")
            passage = Passage(p.passage_id, p.doc_id, 0, p.text, 0, len(p.text))
            points.append(IndexPoint(passage, info, (1.0, 0.0, 0.0, 0.0), doc_vec(p.text)))
        store.upsert(points)
        queries = [StoreQuery(limit=k, sparse=query_vec(q.text)) for q in collection.queries]
        results = store.query_batch(queries)
        store.close()
    run = {
        q.id: {h.passage.passage_id: float(h.score) for h in hits}
        for q, hits in zip(collection.queries, results, strict=True)
    }
    qrels = {qid: dict(rel) for qid, rel in (collection.passage_qrels or {}).items()}
    return evaluate(qrels, run, MEASURES), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--report", type=Path, default=Path("evaluation/reports/bm25_edge.md"))
    args = parser.parse_args(argv)
    edge_doc, edge_query = _edge_bm25()
    variants: dict[str, tuple[Embed, Embed]] = {
        "ours (stems + char 4-grams)": (passage_vector, query_vector),
        "ours, stems only": (passage_vector, lambda t: query_vector(t, AnalyserConfig(gram_weight=0.0))),
        "edge-german (Bm25Config(language='german'))": (edge_doc, edge_query),
    }
    rows = []
    for name, (d, q) in variants.items():
        scores, seconds = run_variant(d, q)
        rows.append((name, scores, seconds))
        print(name, {k: round(v, 4) for k, v in scores.items()}, f"{seconds:.1f} s")
    measures = list(rows[0][1])
    lines = [
        "# German lexical retrieval: our analyser vs Qdrant Edge's built-in BM25",
        "",
        "XQuAD-de as passage retrieval (240 paragraphs, 1,190 questions), lexical only, same Edge schema",
        "(sparse vectors with the IDF modifier). Produced by `.venv/bin/python -m evaluation.bench.bm25_edge`.",
        "",
        "| analyser | " + " | ".join(measures) + " | seconds |",
        "|---|" + "---:|" * (len(measures) + 1),
    ]
    for name, scores, seconds in rows:
        lines.append(f"| {name} | " + " | ".join(f"{scores[m]:.4f}" for m in measures) + f" | {seconds:.1f} |")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
