"""Shared fixtures: the real model (provisioned once into the project's data dir) and an index of
the bundled sample corpus built once per test session through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.model.embedding import Embedder
from core.settings import PROJECT_ROOT, Settings

SAMPLE = PROJECT_ROOT / "corpus" / "sample"


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The default model through sentence-transformers (installed offline on first use)."""
    from core.model.embedding import load_embedder

    return load_embedder(Settings())


@dataclass(frozen=True)
class SampleIndex:
    settings: Settings
    report: object  # ingest.report.IngestReport


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> SampleIndex:
    """A data dir holding the sample corpus, ingested with the real model and the real Qdrant Edge."""
    from ingest.discovery import discover
    from runtime import open_runtime

    data_dir = tmp_path_factory.mktemp("sample-index")
    settings = Settings(data_dir=data_dir, model_dir=Settings().model_path)
    items, skipped = discover([SAMPLE])
    assert not skipped
    with open_runtime(settings, embedder=real_embedder) as rt:
        report = rt.indexer.ingest(items)
    return SampleIndex(settings=settings, report=report)


@pytest.fixture
def sample_runtime(sample_index: SampleIndex, real_embedder: Embedder) -> Iterator[object]:
    from runtime import open_runtime

    with open_runtime(sample_index.settings, embedder=real_embedder) as rt:
        yield rt


def read_sample(name: str) -> bytes:
    return (SAMPLE / name).read_bytes()


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", model_dir=Settings().model_path)
