"""One evaluation from collection to numbers: the ``domain`` and ``xquad-de`` collections on their own
indexes, or an outside query/qrels set on the current index. Returns one JSON-able dict (the report)
with every number and the run's metadata; ``evaluation.quality.report`` writes it to disk.
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.gazetteer import Gazetteer
from core.model.embedding import Embedder
from core.models import Hit
from core.settings import PROJECT_ROOT, Settings
from core.store.base import Store
from evaluation.quality import measures, xquad
from evaluation.quality.collection import (
    CORPUS_DIR,
    Collection,
    corpus_sha256,
    files_sha256,
    load_domain,
    resolve_quotes,
)
from evaluation.quality.eval_index import EvalIndex, open_domain_index, open_paragraph_index
from evaluation.quality.measures import MEASURES
from evaluation.quality.runner import (
    DocKey,
    Level,
    Variant,
    default_variant_name,
    doc_id_key,
    level_report,
    no_answer_report,
    qrels_for,
    query_types,
    run_all,
    source_key,
    standard_variants,
    sweep_variants,
)

COLLECTIONS = ("domain", xquad.NAME)
SWEEP_DENSE_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SWEEP_GRAM_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SECRET_SETTINGS = ("qdrant_api_key", "admin_key")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvalRequest:
    sweep: bool = False
    variants: tuple[Variant, ...] | None = None
    xquad_every: int | None = None


def git_commit() -> dict[str, Any]:
    """HEAD and whether the work tree differs from it (read-only git calls; None outside a checkout)."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def public_settings(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    for name in SECRET_SETTINGS:
        if data.get(name) is not None:
            data[name] = "***"
    return data


def meta(settings: Settings, embedder: Embedder, collection: Collection, extra: Mapping[str, Any]) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "collection": collection.name,
        "collection_description": collection.description,
        "collection_sha256": collection.sha256,
        "model": embedder.name,
        "embed_backend": settings.embed_backend,
        "effective_backend": getattr(embedder, "backend", settings.embed_backend),
        "settings": public_settings(settings),
        "git": git_commit(),
        "versions": {
            p: version(p) for p in ("ranx", "qdrant-edge-py", "torch", "onnxruntime", "sentence-transformers")
        },
        "python": platform.python_version(),
        "machine": platform.machine(),
        **extra,
    }


def evaluate(
    collection: Collection,
    store: Store,
    gazetteer: Gazetteer,
    embedder: Embedder,
    settings: Settings,
    *,
    passage_qrels: Mapping[str, Mapping[str, int]] | None,
    levels: Sequence[Level],
    doc_key: DocKey,
    request: EvalRequest,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Runs every variant and measures every level; the heart of each entry point below."""
    variants = list(request.variants or standard_variants(settings))
    started = time.perf_counter()
    runs = run_all(variants, collection, store, gazetteer, embedder, doc_key, progress)
    out: dict[str, Any] = {
        "measures": [m.name for m in MEASURES],
        "default_variant": default_variant_name(settings),
        "variants": [
            {"name": v.name, "describe": v.describe(), "gram_weight": v.analyser.gram_weight} for v in variants
        ],
        "queries": {
            "total": len(collection.queries),
            "answerable": len(collection.answerable()),
            "no_answer": len(collection.no_answer()),
            "types": query_types(collection),
        },
        "levels": {},
        "no_answer": no_answer_report(collection, runs),
        "search_seconds": {name: round(vr.seconds, 3) for name, vr in runs.items()},
    }
    for level in levels:
        qrels = qrels_for(collection, level, passage_qrels)
        out["levels"][level] = level_report(qrels, runs, level, collection.queries)
    if request.sweep:
        if progress:
            progress("sweep")
        sweep = sweep_variants(settings, SWEEP_DENSE_WEIGHTS, SWEEP_GRAM_WEIGHTS)
        sweep_runs = run_all(sweep, collection, store, gazetteer, embedder, doc_key)
        out["sweep"] = {}
        for level in levels:
            qrels = qrels_for(collection, level, passage_qrels)
            out["sweep"][level] = {name: measures.evaluate(qrels, vr.run(level)) for name, vr in sweep_runs.items()}
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


def _index_meta(index: EvalIndex) -> dict[str, Any]:
    return {
        "index": {
            "dir": str(index.settings.data_dir),
            "reused": index.reused,
            "build_seconds": round(index.build_seconds, 2),
            "documents": len(index.passages_by_doc),
            "passages": index.passage_count,
            "key": index.key,
            "ingest_counts": (index.ingest_report or {}).get("counts"),
        }
    }


def run_domain(
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    request: EvalRequest = EvalRequest(),
    collection: Collection | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The domain collection over ``corpus/sample`` on its own index in ``workdir``."""
    collection = collection or load_domain()
    with open_domain_index(settings, embedder, workdir) as index:
        missing = sorted({d for r in collection.doc_qrels.values() for d in r} - set(index.passages_by_doc))
        if missing:
            files = (index.ingest_report or {}).get("files", [])
            why = {f["source"]: f"{f['status']}: {f['reason']}" for f in files if f["source"] in missing}
            raise RuntimeError(
                "judged documents are not in the evaluation index: "
                + "; ".join(f"{m} ({why.get(m, 'not found in corpus/sample')})" for m in missing)
            )
        passage_qrels = resolve_quotes(collection.quotes, index.passages_by_doc)
        report = evaluate(
            collection,
            index.store,
            index.gazetteer,
            embedder,
            settings,
            passage_qrels=passage_qrels,
            levels=("passage", "document"),
            doc_key=source_key,
            request=request,
            progress=progress,
        )
        report["meta"] = meta(
            settings,
            embedder,
            collection,
            {
                "corpus": str(CORPUS_DIR.relative_to(PROJECT_ROOT)),
                "corpus_sha256": corpus_sha256(),
                **_index_meta(index),
            },
        )
        report["passage_qrels"] = passage_qrels
    return report


def run_xquad(
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    request: EvalRequest = EvalRequest(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """XQuAD-de: 240 paragraphs as passages in their own index in ``workdir``, 1,190 questions."""
    collection, paragraphs = xquad.load()
    data_sha = files_sha256([xquad.XQUAD_FILE])
    if request.xquad_every:
        collection = xquad.subset(collection, request.xquad_every)
    with open_paragraph_index(xquad.NAME, paragraphs, data_sha, settings, embedder, workdir) as index:
        report = evaluate(
            collection,
            index.store,
            index.gazetteer,
            embedder,
            settings,
            passage_qrels=collection.passage_qrels,
            levels=("passage",),
            doc_key=doc_id_key,
            request=request,
            progress=progress,
        )
        report["meta"] = meta(
            settings,
            embedder,
            collection,
            {
                "corpus": str(xquad.XQUAD_FILE),
                "corpus_sha256": data_sha,
                **_index_meta(index),
            },
        )
    return report


def matching_doc_key(judged: set[str]) -> DocKey:
    """Names a hit's document by whichever of doc id, source or URL the qrels use."""

    def key(hit: Hit) -> str:
        for candidate in (hit.doc.doc_id, hit.doc.source, hit.doc.url):
            if candidate is not None and candidate in judged:
                return candidate
        return hit.doc.doc_id

    return key


def run_external(
    collection: Collection,
    level: Level,
    settings: Settings,
    embedder: Embedder,
    store: Store,
    gazetteer: Gazetteer,
    request: EvalRequest = EvalRequest(),
    progress: Progress | None = None,
) -> dict[str, Any]:
    """An outside TREC/BEIR-style set against the current index (``settings.data_dir``).

    ``level`` says what the qrels name: ``passage`` ids, or documents (by doc id, source or URL).
    Judged items that the index does not hold are counted in the report (they can never be found).
    """
    judged = {d for r in collection.doc_qrels.values() for d in r}
    known: set[str] = set()
    for _, passage, doc in store.iter_points():
        if level == "passage":
            known.add(passage.passage_id)
        else:
            known.update(x for x in (doc.doc_id, doc.source, doc.url) if x)
    unknown = sorted(judged - known)
    if judged and len(unknown) == len(judged):
        raise RuntimeError(
            f"none of the {len(judged)} judged {level} ids occurs in the index at {settings.data_dir}: "
            f"wrong --level, or the qrels belong to another corpus (e.g. {unknown[:3]})"
        )
    passage_qrels = collection.doc_qrels if level == "passage" else None
    report = evaluate(
        collection,
        store,
        gazetteer,
        embedder,
        settings,
        passage_qrels=passage_qrels,
        levels=(level,),
        doc_key=matching_doc_key(judged),
        request=request,
        progress=progress,
    )
    report["meta"] = meta(
        settings,
        embedder,
        collection,
        {
            "index": {"dir": str(settings.data_dir), "points": store.count()},
            "judged_not_in_index": unknown,
        },
    )
    return report
