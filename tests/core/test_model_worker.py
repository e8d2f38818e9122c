"""Passages embedded in a child process (``core.model.worker``, the server's admin jobs): the same
vectors as in the process, a child that ended while idle is replaced, a model that cannot load is a
clear ``ModelError``. Real model, real child processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError
from core.model.embedding import load_embedder
from core.model.install import ModelInstallReport, install_default_model
from core.model.worker import WorkerEmbedder
from core.settings import Settings

TEXTS = [
    "Im Kreis Unna entsteht ein Zentrum für Kreislaufwirtschaft.",
    "Das 5-StandorteProgramm fördert den Strukturwandel in Bergkamen mit 4,2 Millionen Euro.",
]


@pytest.fixture(scope="module")
def installed() -> ModelInstallReport:
    return install_default_model(Settings().model_path)


@pytest.mark.slow
def test_the_child_embeds_what_the_process_would(installed: ModelInstallReport) -> None:
    settings = Settings(model_dir=installed.path)
    worker = WorkerEmbedder(settings, "torch-int8", load_embedder, idle_seconds=0.5)
    try:
        here = load_embedder(settings, backend="torch-int8")
        assert (worker.name, worker.dim, worker.backend) == (here.name, here.dim, here.backend)
        np.testing.assert_allclose(worker.embed_passages(TEXTS), here.embed_passages(TEXTS), atol=1e-5)
        np.testing.assert_allclose(worker.embed_queries(TEXTS[:1]), here.embed_queries(TEXTS[:1]), atol=1e-5)
        assert worker.embed_passages([]).shape == (0, here.dim)

        time.sleep(3)  # idle longer than idle_seconds: the child ends by itself, its memory with it
        assert not worker.running
        np.testing.assert_allclose(worker.embed_passages(TEXTS[:1]), here.embed_passages(TEXTS[:1]), atol=1e-5)
        assert worker.running  # a new child took over

        process = worker._process
        assert process is not None and process.pid is not None
        os.kill(process.pid, signal.SIGKILL)  # killed between two batches: the next batch gets a new child
        process.join(10)
        assert worker.embed_passages(TEXTS[1:]).shape == (1, here.dim)
    finally:
        worker.close()
    assert not worker.running


def test_a_model_that_cannot_load_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not load the model: ModelError: Unknown embedding backend"):
        WorkerEmbedder(Settings(data_dir=tmp_path), "no-such-backend", load_embedder)
