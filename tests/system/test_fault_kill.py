"""kill -9 during an ingest and during the index optimisation, then a restart: index and registry agree
(``test_fault_support.consistency_problems``), no half-done document is served, and running the ingest
again finishes the interrupted work with exactly the payloads of an uninterrupted run.

The ingest runs as the real CLI in a subprocess (parser worker pool, registry, Qdrant Edge), with the
hashing embedder. A kill during a crawl is tests/system/test_crawl_resume.py (kill -9 of the CLI crawl, resume,
index equal to an uninterrupted crawl); tests/system/test_fault_store.py checks consistency after it too.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_fault_support import (
    consistency_problems,
    make_corpus,
    points_per_doc,
    raw_payloads,
    reference_payloads,
    registry_rows,
    run_cli,
)

from core.settings import Settings


def interrupted(data_dir: Path) -> dict[str, str]:
    return {source: doc for source, (doc, status, _) in registry_rows(data_dir).items() if status == "indexing"}


def test_killed_right_after_a_documents_points_are_written(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    settings = Settings(data_dir=data)

    killed = run_cli(data, "ingest", str(corpus), "--json", FAULT_KILL_AFTER_UPSERTS="3")
    assert killed.returncode == -9, killed.stderr

    # the worst moment: a document's points are in the index, its registry row still says "indexing"
    half_done = interrupted(data)
    assert half_done, "the kill should leave at least one document unfinished"
    finished = {source for source, (_, status, _) in registry_rows(data).items() if status == "indexed"}
    assert finished, "the kill should come after some documents were finished"
    stored = points_per_doc(settings)
    assert any(stored[doc] for doc in half_done.values())
    assert consistency_problems(settings), "the raw state after the kill is inconsistent"

    # restart: doctor reconciles (the same happens at the start of every ingest and when the API opens)
    doctor = run_cli(data, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert set(report["removed"]) == {doc for doc in half_done.values() if stored[doc]}
    assert set(report["interrupted"]) == set(half_done)
    assert consistency_problems(settings) == []

    # run it again: the interrupted documents are redone, the finished ones are unchanged
    again = run_cli(data, "ingest", str(corpus), "--json")
    assert again.returncode == 0, again.stderr
    statuses = {f["source"]: f["status"] for f in json.loads(again.stdout)["files"]}
    assert {s for s, st in statuses.items() if st == "unchanged"} == finished
    assert {s for s, st in statuses.items() if st == "indexed"} >= set(half_done)
    assert set(statuses.values()) == {"indexed", "unchanged"}
    assert consistency_problems(settings) == []
    assert interrupted(data) == {}
    assert raw_payloads(settings) == reference_payloads(tmp_path, corpus)


def test_the_first_document_killed(tmp_path: Path) -> None:
    """Killed before any document was finished: nothing is served, the rerun indexes everything."""
    corpus = make_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    killed = run_cli(data, "ingest", str(corpus), FAULT_KILL_AFTER_UPSERTS="1")
    assert killed.returncode == -9
    assert run_cli(data, "doctor").returncode == 0
    assert consistency_problems(Settings(data_dir=data)) == []
    done = run_cli(data, "ingest", str(corpus), "--json")
    assert done.returncode == 0, done.stderr
    assert consistency_problems(Settings(data_dir=data)) == []
