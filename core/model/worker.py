"""``WorkerEmbedder``: passages embedded in a child process, for the server's admin jobs.

The server embeds queries on ONNX Runtime and never needs torch for that. An admin ingest or crawl
job embeds passages with the passage backend (torch by default). Loaded in the server, torch would
stay there for good (about 500 MB more resident memory), and loading it holds the interpreter lock for
seconds, stalling every query (6.6 s measured: evaluation/reports/serving.md). So the server hands
passages to a child process:

    server (job thread)  --texts-->  child: load(settings, backend) once, embed, reply
                         <--matrix--

The child is started with "spawn" (a clean interpreter) on the first batch, inherits the job thread's
lower priority, and exits by itself after ``idle_seconds`` without work, so torch's memory goes with
it between jobs. A child that exits while idle is replaced transparently; one that dies while embedding
(killed, out of memory) is a ``ModelError`` for the batch, and the next batch starts a new child.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.errors import ModelError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from core.settings import Settings


class _Model(Protocol):
    name: str
    dim: int
    backend: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


class Loader(Protocol):
    """How the child loads its model (``core.model.embedding.load_embedder``; a module-level function,
    so that it reaches the spawned child by name)."""

    def __call__(self, settings: Settings, *, backend: str) -> _Model: ...


IDLE_SECONDS = 60.0
_START_TIMEOUT_S = 300.0  # loading torch and the model on a busy machine
_STOP_GRACE_S = 5.0


def _child_main(
    conn: multiprocessing.connection.Connection, load: Loader, settings: Settings, backend: str, idle: float
) -> None:
    try:
        embedder = load(settings, backend=backend)
    except Exception as err:  # reported to the parent, which raises it as a ModelError
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", (embedder.name, embedder.dim, embedder.backend)))
    while conn.poll(idle):
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        kind, texts = message
        try:
            matrix = embedder.embed_passages(texts) if kind == "passages" else embedder.embed_queries(texts)
        except Exception as err:
            conn.send(("error", f"{type(err).__name__}: {err}"))
            continue
        conn.send(("ok", np.ascontiguousarray(matrix, dtype=np.float32)))


class WorkerEmbedder:
    """An ``Embedder`` whose model runs in a child process (started on demand, gone when idle)."""

    def __init__(self, settings: Settings, backend: str, load: Loader, idle_seconds: float = IDLE_SECONDS) -> None:
        self.settings = settings
        self.load = load
        self.requested_backend = backend
        self.idle_seconds = idle_seconds
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None
        with self._lock:
            self.name, self.dim, self.backend = self._start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._call("passages", texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._call("queries", texts)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _call(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            for _attempt in range(2):
                if not self.running:
                    self._stop()
                    self._start()
                assert self._conn is not None and self._process is not None
                try:
                    self._conn.send((kind, list(texts)))
                    status, value = self._conn.recv()
                except (EOFError, OSError):
                    self._process.join(_STOP_GRACE_S)
                    code = self._process.exitcode
                    self._stop()
                    if code == 0:  # it had just ended for being idle: start a new one and send again
                        continue
                    raise ModelError(
                        f"The embedding process stopped while embedding {len(texts)} texts (exit code {code}); "
                        "the next batch starts a new one. Out of memory? Lower FOERDERSUCHE_EMBED_BATCH_SIZE."
                    ) from None
                if status != "ok":
                    raise ModelError(f"The embedding process could not embed: {value}")
                return np.asarray(value, dtype=np.float32)
        raise ModelError("The embedding process ended twice in a row before it could embed.")

    def _start(self) -> tuple[str, int, str]:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_child_main,
            args=(child, self.load, self.settings, self.requested_backend, self.idle_seconds),
            name="foerdersuche-embedder",
            daemon=True,
        )
        process.start()
        child.close()  # so that the child's death reads as EOF here
        self._process, self._conn = process, parent
        try:
            if not parent.poll(_START_TIMEOUT_S):
                raise ModelError(f"The embedding process did not load the model within {_START_TIMEOUT_S:.0f} s.")
            status, value = parent.recv()
        except (EOFError, OSError):
            process.join(_STOP_GRACE_S)
            code = process.exitcode
            self._stop()
            raise ModelError(f"The embedding process ended while loading the model (exit code {code}).") from None
        except ModelError:
            self._stop()
            raise
        if status != "ready":
            self._stop()
            raise ModelError(f"The embedding process could not load the model: {value}")
        name, dim, backend = value
        return str(name), int(dim), str(backend)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        if process is not None:
            process.join(_STOP_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join(_STOP_GRACE_S)
        if conn is not None:
            conn.close()

    def __del__(self) -> None:  # a daemon child dies with the server anyway; this ends it earlier
        with contextlib.suppress(Exception):
            self._stop()
