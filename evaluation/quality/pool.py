"""The judging pool of the domain collection: the union of the top-``depth`` passages of every
retrieval variant per query, so judgments do not favour one method (TREC-style pooling, Spärck Jones &
van Rijsbergen 1975; Voorhees & Harman 2005).

    .venv/bin/python -m evaluation.quality.pool [--depth 10] [--out pool.md] [--unjudged] [--embedder model|hashing]

Writes Markdown for a judge to read: per query, every pooled passage with its document, the rank each
variant gave it and its current judgment (the grade of a quote it contains, ``0`` when its document is
judged but no quote matches, ``?`` when the document is not judged for this query). ``--unjudged``
lists only what still needs a judgment; ``coverage`` (also used by tests/evaluation/test_eval_collection.py) counts
pooled documents without a document-level judgment. How to judge: evaluation/collections/domain/GUIDELINE.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import runtime
from core.gazetteer import Gazetteer
from core.model.embedding import Embedder
from core.models import Passage
from core.settings import Settings
from core.store.base import Store
from evaluation.quality.collection import Collection, load_domain, normalise
from evaluation.quality.runner import QueryCache, Variant, run_variant, standard_variants

DEPTH = 10


@dataclass(frozen=True)
class Pooled:
    query_id: str
    doc: str
    passage: Passage
    ranks: tuple[tuple[str, int], ...]


def pool(
    collection: Collection,
    variants: Sequence[Variant],
    store: Store,
    gazetteer: Gazetteer,
    embedder: Embedder,
    passages: Mapping[str, tuple[str, Passage]],
    depth: int = DEPTH,
) -> dict[str, list[Pooled]]:
    """Per query, the union of every variant's top ``depth`` passages, best first (by best rank)."""
    cache = QueryCache(embedder, [q.text for q in collection.queries])
    ranks: dict[str, dict[str, list[tuple[str, int]]]] = {q.id: {} for q in collection.queries}
    for v in variants:
        vr = run_variant(v, collection.queries, store, gazetteer, cache, depth=depth)
        for qid, ranking in vr.passages.items():
            for rank, pid in enumerate(ranking, 1):
                ranks[qid].setdefault(pid, []).append((v.name, rank))
    out: dict[str, list[Pooled]] = {}
    for qid, by_pid in ranks.items():
        items = [Pooled(qid, *passages[pid], tuple(r)) for pid, r in by_pid.items() if pid in passages]
        items.sort(key=lambda p: (min(r for _, r in p.ranks), -len(p.ranks), p.passage.passage_id))
        out[qid] = items
    return out


def passages_with_sources(passages_by_doc: Mapping[str, Sequence[Passage]]) -> dict[str, tuple[str, Passage]]:
    """passage id -> (document source, passage)."""
    return {p.passage_id: (source, p) for source, ps in passages_by_doc.items() for p in ps}


def judgment(collection: Collection, query_id: str, doc: str, passage: Passage) -> str:
    """The grade this passage has now: ``2``/``1`` via a quote, ``0`` if its document is judged, ``?``."""
    text = normalise(passage.text)
    grades = [
        q.grade for q in collection.quotes if q.query_id == query_id and q.doc == doc and normalise(q.quote) in text
    ]
    if grades:
        return str(max(grades))
    return "0" if doc in collection.doc_qrels.get(query_id, {}) else "?"


def coverage(collection: Collection, pooled: Mapping[str, Sequence[Pooled]]) -> list[tuple[str, str]]:
    """(query id, document) pairs in the pool without a document-level judgment."""
    missing = []
    for qid, items in pooled.items():
        for doc in dict.fromkeys(p.doc for p in items):
            if doc not in collection.doc_qrels.get(qid, {}):
                missing.append((qid, doc))
    return missing


def render(collection: Collection, pooled: Mapping[str, Sequence[Pooled]], depth: int, unjudged_only: bool) -> str:
    lines = [
        f"# Judging pool: {collection.name}, top {depth} of every variant",
        "",
        "Judgment: 2/1 = a quote of qrels-passage.tsv matches the passage, 0 = its document is judged for this "
        "query but no quote matches, ? = document not judged yet. Ranks: variant:rank.",
    ]
    for q in collection.queries:
        items = pooled.get(q.id, [])
        shown = [p for p in items if judgment(collection, q.id, p.doc, p.passage) == "?"] if unjudged_only else items
        if unjudged_only and not shown:
            continue
        lines += ["", f"## {q.id} ({q.type}): {q.text}", f"{len(items)} pooled passages", ""]
        for p in shown:
            grade = judgment(collection, q.id, p.doc, p.passage)
            ranks = " ".join(f"{name}:{rank}" for name, rank in p.ranks)
            lines.append(f"### [{grade}] {p.doc} #{p.passage.ordinal}  ({ranks})")
            lines.append("")
            lines.append("> " + p.passage.text.replace("\n", "\n> "))
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--depth", type=int, default=DEPTH)
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: stdout)")
    parser.add_argument("--unjudged", action="store_true", help="only passages whose document is not judged")
    parser.add_argument("--embedder", choices=("model", "hashing"), default="model")
    parser.add_argument("--workdir", type=Path, default=None, help="evaluation index (default <data_dir>/eval/domain)")
    args = parser.parse_args(argv)

    from evaluation.quality.eval_index import open_domain_index

    settings = Settings()
    embedder: Embedder = runtime.build_embedder(
        settings,
        "hashing" if args.embedder == "hashing" else "model",
        backend=None if args.embedder == "hashing" else settings.embed_backend,
    )
    collection = load_domain()
    with open_domain_index(settings, embedder, args.workdir or settings.data_dir / "eval" / "domain") as index:
        passages = passages_with_sources(index.passages_by_doc)
        pooled = pool(
            collection, standard_variants(settings), index.store, index.gazetteer, embedder, passages, args.depth
        )
    text = render(collection, pooled, args.depth, args.unjudged)
    missing = coverage(collection, pooled)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    total = sum(len(v) for v in pooled.values())
    print(
        f"{total} pooled passages for {len(pooled)} queries; {len(missing)} (query, document) pairs not judged",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
