"""The evaluation's own index: built in a dedicated data dir, never the user's.

``open_eval_index(collection, settings, embedder, workdir)`` returns an ``EvalIndex`` over
``<workdir>`` (default ``<data_dir>/eval/<collection>/``): an embedded Qdrant Edge shard, a registry
and raw files of its own. It is reused while its ``key`` is unchanged: the corpus hash, the model and
backend, the analyser and chunk settings and a hash of the code that shapes passages and vectors
(``core/`` and ``ingest/``); anything else rebuilds it from scratch.

- ``domain``: ``corpus/sample`` through the real ingest pipeline (``Indexer`` with the in-process
  parser), so the evaluation measures exactly what ``foerdersuche ingest`` builds.
- ``xquad-de``: each paragraph becomes one ``Document`` with one ``Passage``, written straight to the
  store (no parser, no chunker): dense vector from the embedder, sparse vector from
  ``core.analysis.passage_vector``, places/programs from the enricher as at ingest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import runtime
from core.analysis import AnalyserConfig, passage_vector
from core.gazetteer import Gazetteer
from core.ids import content_hash
from core.model.embedding import Embedder
from core.models import DocInfo, DocType, Passage
from core.settings import PROJECT_ROOT, Settings
from core.store.base import IndexPoint, Store
from evaluation.quality.collection import CORPUS_DIR, corpus_sha256
from evaluation.quality.xquad import Paragraph

KEY_FILE = "eval_index.json"
FORMAT = 1  # bump when the way this module writes an index changes


@dataclass
class EvalIndex:
    """An open evaluation index: its settings (data dir = the eval dir), store and passages."""

    name: str
    settings: Settings
    store: Store
    gazetteer: Gazetteer
    key: dict[str, Any]
    reused: bool
    build_seconds: float
    passages_by_doc: dict[str, list[Passage]] = field(default_factory=dict)
    ingest_report: dict[str, Any] | None = None

    @property
    def passage_count(self) -> int:
        return sum(len(ps) for ps in self.passages_by_doc.values())

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> EvalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def code_sha256() -> str:
    """A hash of the source that shapes passages and vectors (core/ and ingest/, crawler excluded)."""
    digest = hashlib.sha256()
    for package in ("core", "ingest"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if "crawl" in path.relative_to(PROJECT_ROOT).parts:
                continue
            digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def eval_settings(settings: Settings, workdir: Path) -> Settings:
    """The user's settings pointed at ``workdir``: embedded store, same provisioned model."""
    return settings.model_copy(update={"data_dir": workdir, "qdrant_url": None, "model_dir": settings.model_path})


def index_key(
    name: str, settings: Settings, embedder: Embedder, analyser: AnalyserConfig, data_sha256: str
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "collection": name,
        "data_sha256": data_sha256,
        "model": embedder.name,
        "dim": embedder.dim,
        # what embedded the passages ("auto" resolved); the query side does not shape the index
        "embed_backend": getattr(embedder, "passage_backend", getattr(embedder, "backend", settings.embed_backend)),
        "embed_batch_size": settings.embed_batch_size,
        "analyser": asdict(analyser),
        "chunk": [settings.chunk_target_words, settings.chunk_max_words, settings.chunk_min_words],
        "code_sha256": code_sha256(),
    }


def _reusable(workdir: Path, key: Mapping[str, Any]) -> bool:
    path = workdir / KEY_FILE
    if not path.is_file():
        return False
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stored.get("key") == key and stored.get("complete"))


def _fresh(workdir: Path) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)


def _write_key(workdir: Path, key: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
    payload = {"key": dict(key), "complete": True, **extra}
    (workdir / KEY_FILE).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_passages(store: Store, by: str) -> dict[str, list[Passage]]:
    """Passages of the index grouped by document (``by``: ``source`` or ``doc_id``), in reading order."""
    grouped: dict[str, list[Passage]] = {}
    for _, passage, doc in store.iter_points():
        grouped.setdefault(doc.source if by == "source" else doc.doc_id, []).append(passage)
    for ps in grouped.values():
        ps.sort(key=lambda p: p.ordinal)
    return grouped


def open_domain_index(
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    corpus_dir: Path = CORPUS_DIR,
    analyser: AnalyserConfig | None = None,
) -> EvalIndex:
    """``corpus_dir`` ingested by the real pipeline into ``workdir`` (reused while the key holds)."""
    from core.rawstore import RawStore
    from core.registry import Registry
    from ingest.discovery import discover
    from ingest.pipeline import inline_parser

    analyser = analyser or AnalyserConfig()
    s = eval_settings(settings, workdir)
    key = index_key("domain", s, embedder, analyser, corpus_sha256(corpus_dir))
    gazetteer = runtime.build_gazetteer()
    started = time.monotonic()
    report: dict[str, Any] | None = None
    reused = _reusable(workdir, key)
    if not reused:
        _fresh(workdir)
        store = runtime.build_store(s)
        try:
            with Registry(s.registry_path) as registry:
                indexer = runtime.build_indexer(
                    s, embedder, store, registry, RawStore(s.raw_dir), gazetteer, inline_parser, analyser
                )
                items, skipped = discover([corpus_dir])
                result = indexer.ingest(items)
                report = {**result.to_dict(), "skipped": [asdict(f) | {"status": f.status.value} for f in skipped]}
        finally:
            store.close()
        _write_key(workdir, key, {"ingest": report, "seconds": round(time.monotonic() - started, 2)})
    else:
        report = json.loads((workdir / KEY_FILE).read_text(encoding="utf-8")).get("ingest")
    store = runtime.build_store(s)
    return EvalIndex(
        name="domain",
        settings=s,
        store=store,
        gazetteer=gazetteer,
        key=key,
        reused=reused,
        build_seconds=0.0 if reused else time.monotonic() - started,
        passages_by_doc=_read_passages(store, "source"),
        ingest_report=report,
    )


def paragraph_points(
    paragraphs: Sequence[Paragraph],
    embedder: Embedder,
    gazetteer: Gazetteer,
    analyser: AnalyserConfig,
    source: str,
) -> list[IndexPoint]:
    """One point per paragraph: a Document with a single Passage spanning its whole text."""
    from ingest.enrich import annotate

    dense = np.asarray(embedder.embed_passages([p.text for p in paragraphs]), dtype=np.float32)
    points = []
    for row, para in enumerate(paragraphs):
        doc = DocInfo(
            doc_id=para.doc_id,
            source=f"{source}#{para.doc_id}",
            title=para.title,
            doc_type=DocType.OTHER,
            date=None,
            language="de",
            content_hash=content_hash(para.text.encode("utf-8")),
        )
        passage = Passage(
            passage_id=para.passage_id,
            doc_id=para.doc_id,
            ordinal=0,
            text=para.text,
            char_start=0,
            char_end=len(para.text),
            annotations=annotate(para.text, gazetteer),
        )
        points.append(
            IndexPoint(passage, doc, tuple(float(x) for x in dense[row]), passage_vector(para.text, analyser))
        )
    return points


def open_paragraph_index(
    name: str,
    paragraphs: Sequence[Paragraph],
    data_sha256: str,
    settings: Settings,
    embedder: Embedder,
    workdir: Path,
    analyser: AnalyserConfig | None = None,
) -> EvalIndex:
    """Paragraphs written directly through the store into ``workdir`` (reused while the key holds)."""
    analyser = analyser or AnalyserConfig()
    s = eval_settings(settings, workdir)
    key = index_key(name, s, embedder, analyser, data_sha256)
    gazetteer = runtime.build_gazetteer()
    started = time.monotonic()
    reused = _reusable(workdir, key)
    if not reused:
        _fresh(workdir)
        store = runtime.build_store(s)
        try:
            store.ensure_collection(embedder.dim)
            batch = 64
            for i in range(0, len(paragraphs), batch):
                store.upsert(paragraph_points(paragraphs[i : i + batch], embedder, gazetteer, analyser, name))
            store.optimize()
        finally:
            store.close()
        _write_key(workdir, key, {"paragraphs": len(paragraphs), "seconds": round(time.monotonic() - started, 2)})
    store = runtime.build_store(s)
    return EvalIndex(
        name=name,
        settings=s,
        store=store,
        gazetteer=gazetteer,
        key=key,
        reused=reused,
        build_seconds=0.0 if reused else time.monotonic() - started,
        passages_by_doc=_read_passages(store, "doc_id"),
    )
