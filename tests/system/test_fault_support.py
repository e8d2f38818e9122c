"""Shared by the fault tests: the consistency check of index and registry, raw payload reads, and a
driver that runs the real CLI in a subprocess with the hashing embedder (so a test can kill it).

    python tests/system/test_fault_support.py cli --data-dir D ingest PATH --json    the real CLI, hashing embedder
    python tests/system/test_fault_support.py cli --data-dir D serve --port P        (also for `serve`)
    python tests/system/test_fault_support.py optimize D N                           N points, then EdgeStore.optimize

Environment of the driver: ``FAULT_DIM`` (embedding dimension, default 64), ``FAULT_KILL_AFTER_UPSERTS``
(SIGKILL itself right after the n-th ``EdgeStore.upsert`` returned: the points of a document are
written, its registry row still says ``indexing``), ``FAULT_EMBED_DELAY`` (seconds each embedding
call sleeps, so an outside kill lands in the middle of a run).

The module's own tests check the checker: it must see what a crash can leave behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from core.ids import point_id_for
from core.registry import Registry
from core.settings import PROJECT_ROOT, Settings
from core.store.edge import EdgeStore

SUPPORT = Path(__file__).resolve()
SAMPLE = PROJECT_ROOT / "corpus" / "sample"
# a mix of the sample corpus: PDFs, HTML, text, Markdown (about 60 passages)
CORPUS_FILES = (
    "bericht-5-standorteprogramm-2023.pdf",
    "bericht-e-mobilitaet-ruhr-2022.pdf",
    "en-invest-kreis-unna.html",
    "faq-foerderprogramme-strukturwandel-kreis-unna.md",
    "pm-ecotechub-workshop-bericht-bergkamen.html",
    "pm-ecotechub-workshop-bericht-wfg.html",
    "pm-foerderbescheid-lippholthausen-luenen.html",
    "pm-jtf-h2-campus-gelsenkirchen.html",
    "pm-ladepunkte-stadt-unna.html",
    "projekt-ecotechub-bergkamen-hs-bochum.html",
    "projekt-schwammstadt-kamen-seseke.html",
    "protokoll-lenkungskreis-5-standorte-kreis-unna-2023-09-27.txt",
)


def make_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in CORPUS_FILES:
        shutil.copy2(SAMPLE / name, folder / name)
    return folder


def driver_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOERDERSUCHE_", "FAULT_"))}
    return {**env, **extra}


def run_cli(data_dir: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with the hashing embedder, in a subprocess of its own."""
    return subprocess.run(
        [sys.executable, str(SUPPORT), "cli", "--data-dir", str(data_dir), *args],
        cwd=PROJECT_ROOT,
        env=driver_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(data_dir: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT), "cli", "--data-dir", str(data_dir), *args],
        cwd=PROJECT_ROOT,
        env=driver_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its parser workers die with it (killpg)
    )


def kill_group(proc: subprocess.Popen[str]) -> tuple[str, str]:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    return out, err


def registry_rows(data_dir: Path) -> dict[str, tuple[str, str, int]]:
    """source -> (doc_id, status, passages) of live rows, read-only (safe while a writer runs)."""
    path = data_dir / "registry.sqlite3"
    if not path.is_file():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT source, doc_id, status, passages FROM documents WHERE deleted = 0").fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        db.close()
    return {source: (doc_id, status, passages) for source, doc_id, status, passages in rows}


def points_per_doc(settings: Settings) -> Counter[str]:
    store = EdgeStore.open(settings)
    try:
        return Counter(p.doc_id for _, p, _ in store.iter_points())
    finally:
        store.close()


def consistency_problems(settings: Settings) -> list[str]:
    """Everything that breaks the invariant of ``ingest.reconcile``; empty when index and registry agree:
    every live ``indexed`` row has exactly its passages in the store, no other document has any, no
    passage id appears twice, every point id is the one derived from its passage id."""
    problems: list[str] = []
    store = EdgeStore.open(settings)
    try:
        per_doc: Counter[str] = Counter()
        per_passage: Counter[str] = Counter()
        for point_id, passage, _doc in store.iter_points():
            per_doc[passage.doc_id] += 1
            per_passage[passage.passage_id] += 1
            if point_id != point_id_for(passage.passage_id):
                problems.append(f"point {point_id} holds passage {passage.passage_id}")
        problems += [f"passage {pid} stored {n} times" for pid, n in per_passage.items() if n > 1]
    finally:
        store.close()
    with Registry(settings.registry_path) as registry:
        expected: Counter[str] = Counter()
        for row in registry.all():
            if row.status == "indexed":
                expected[row.doc_id] += row.passages
    for doc_id in sorted(set(per_doc) | set(expected)):
        if per_doc[doc_id] != expected[doc_id]:
            problems.append(
                f"document {doc_id}: registry says {expected[doc_id]} passages, index has {per_doc[doc_id]}"
            )
    return problems


def raw_payloads(settings: Settings) -> dict[str, dict[str, Any]]:
    """point id -> the full payload dict, read straight from the Qdrant Edge shard."""
    import qdrant_edge as qe

    shard = qe.EdgeShard.load(str(settings.index_dir / settings.collection), None)
    try:
        out: dict[str, dict[str, Any]] = {}
        offset: Any = None
        while True:
            records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=1024, with_payload=True))
            out.update({str(r.id): dict(r.payload or {}) for r in records})
            if offset is None:
                return out
    finally:
        shard.close()


def reference_payloads(tmp: Path, corpus: Path, dim: int = 64) -> dict[str, dict[str, Any]]:
    """The payloads an uninterrupted ingest of ``corpus`` produces (same CLI, same embedder)."""
    data = tmp / "reference"
    done = run_cli(data, "ingest", str(corpus), "--json", FAULT_DIM=str(dim))
    assert done.returncode == 0, done.stderr
    return raw_payloads(Settings(data_dir=data))


# ----------------------------------------------------------------------------- the checker's own tests


def test_the_checker_sees_a_half_written_document(tmp_path: Path) -> None:
    from core.registry import INDEXING

    corpus = make_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    assert run_cli(data, "ingest", str(corpus / CORPUS_FILES[2])).returncode == 0
    settings = Settings(data_dir=data)
    assert consistency_problems(settings) == []
    ((source, (doc_id, _, passages)),) = registry_rows(data).items()
    with Registry(settings.registry_path) as registry:
        registry.upsert(source, doc_id=doc_id, status=INDEXING)  # as if killed before "indexed"
    assert consistency_problems(settings) == [f"document {doc_id}: registry says 0 passages, index has {passages}"]


# ----------------------------------------------------------------------------- the driver


def _driver_cli(argv: list[str]) -> None:
    import numpy as np

    import runtime
    from core.model.embedding import HashingEmbedder
    from foerdersuche import cli

    dim = int(os.environ.get("FAULT_DIM", "64"))
    delay = float(os.environ.get("FAULT_EMBED_DELAY", "0"))

    class Embedder(HashingEmbedder):
        def embed_passages(self, texts: Any) -> np.ndarray:
            time.sleep(delay)
            return super().embed_passages(texts)

    # the composition root builds every embedder, the CLI's and the server's
    runtime.load_runtime_embedder = lambda _settings, **_options: Embedder(dim)  # type: ignore[assignment,return-value]
    kill_after = int(os.environ.get("FAULT_KILL_AFTER_UPSERTS", "0"))
    if kill_after:
        upsert = EdgeStore.upsert
        calls = Counter[str]()

        def killing_upsert(self: EdgeStore, points: Any) -> None:
            upsert(self, points)
            calls["n"] += 1
            if calls["n"] == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        EdgeStore.upsert = killing_upsert  # type: ignore[method-assign]
    sys.argv = ["foerdersuche", *argv]
    cli.main()


def _driver_optimize(data_dir: Path, n: int) -> None:
    """``n`` points (10 per document) written the way the Indexer writes them, then optimize."""
    import numpy as np

    from core.models import Annotations, DocInfo, DocType, Passage
    from core.registry import INDEXING
    from core.store.base import IndexPoint, SparseVec

    settings = Settings(data_dir=data_dir)
    store = EdgeStore.open(settings)
    store.ensure_collection(384)
    rng = np.random.default_rng(7)
    with Registry(settings.registry_path) as registry:
        for start in range(0, n, 10):
            doc_id = f"{start // 10:016x}"
            source = f"synthetisch/{doc_id}.txt"
            info = DocInfo(
                doc_id=doc_id,
                source=source,
                title=f"Bericht {start}",
                doc_type=DocType.OTHER,
                date="2023-05-10",
                language="de",
                url=None,
                source_name=None,
                content_hash=doc_id,
            )
            points = []
            for ordinal in range(10):
                text = f"Förderung {start + ordinal} für den Strukturwandel im Kreis Unna"
                passage = Passage(
                    passage_id=f"{doc_id}-{ordinal:04d}",
                    doc_id=doc_id,
                    ordinal=ordinal,
                    text=text,
                    char_start=0,
                    char_end=len(text),
                    page=None,
                    heading_path=(),
                    annotations=Annotations(),
                )
                vec = rng.standard_normal(384).astype(np.float32)
                vec /= np.linalg.norm(vec)
                points.append(
                    IndexPoint(
                        passage,
                        info,
                        tuple(float(x) for x in vec),
                        SparseVec((start % 997, 1000 + ordinal), (1.0, 0.5)),
                    )
                )
            registry.upsert(source, doc_id=doc_id, status=INDEXING)
            store.upsert(points)
            registry.upsert(source, doc_id=doc_id, status="indexed", passages=len(points))
    print("optimizing", flush=True)
    store.optimize()
    print("optimized", flush=True)
    store.close()


if __name__ == "__main__":
    if sys.argv[1] == "cli":
        _driver_cli(sys.argv[2:])
    elif sys.argv[1] == "optimize":
        _driver_optimize(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown driver mode {sys.argv[1]!r}")
