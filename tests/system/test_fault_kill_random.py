"""Outside kill -9 at random moments of an ingest that replaces every document, then the API starts
on the same data dir: it reconciles when it opens the index and never serves an unfinished document;
the next ingest finishes the work with exactly the payloads of an uninterrupted run."""

from __future__ import annotations

import random
import time
from pathlib import Path

from fastapi.testclient import TestClient
from test_fault_support import (
    consistency_problems,
    kill_group,
    make_corpus,
    raw_payloads,
    reference_payloads,
    registry_rows,
    run_cli,
    start_cli,
)

from api.app import create_app
from core.model.embedding import HashingEmbedder
from core.settings import Settings


def interrupted(data_dir: Path) -> dict[str, str]:
    return {source: doc for source, (doc, status, _) in registry_rows(data_dir).items() if status == "indexing"}


def test_killed_at_random_moments_while_replacing_documents(tmp_path: Path) -> None:
    """Three outside kills at random moments of a run that replaces every document (a changed version);
    after each, the API opens the index (and reconciles): it never serves an unfinished document."""
    corpus = make_corpus(tmp_path / "corpus")
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    assert run_cli(data, "ingest", str(corpus)).returncode == 0
    for path in sorted(corpus.iterdir()):  # a new version of every file
        if path.suffix != ".pdf":
            path.write_text(
                path.read_text(encoding="utf-8") + "\n\nNachtrag: Die Förderung wurde verlängert.\n", encoding="utf-8"
            )

    rng = random.Random(20240611)
    for round_ in range(3):
        proc = start_cli(data, "ingest", str(corpus), "--json", FAULT_EMBED_DELAY="0.3")
        deadline = time.monotonic() + 90
        while not interrupted(data):
            assert proc.poll() is None, f"round {round_}: finished before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "the ingest did not get going"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        kill_group(proc)
        unfinished = set(interrupted(data).values())

        # restart as the server: the app reconciles when it opens the index
        with TestClient(create_app(settings, embedder=HashingEmbedder(64))) as client:
            assert client.get("/readyz").status_code == 200
            served = client.get("/search", params={"q": "Förderung Strukturwandel", "k": 200, "page_size": 50}).json()
            assert served["total_documents"] > 0
            assert not {group["doc_id"] for group in served["results"]} & unfinished
        assert consistency_problems(settings) == []

    done = run_cli(data, "ingest", str(corpus), "--json")
    assert done.returncode == 0, done.stderr
    assert consistency_problems(settings) == []
    assert interrupted(data) == {}
    assert raw_payloads(settings) == reference_payloads(tmp_path, corpus)
