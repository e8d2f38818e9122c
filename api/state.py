"""What one app holds while it runs: store, model, gazetteer, searcher, jobs, metrics.

Built by the lifespan of ``api.app.create_app`` (never at import time) and reached by route handlers
through the dependency aliases of ``api.deps``.

Readiness: the app starts even when the model or the store cannot be opened yet (a Qdrant server
still starting, say); ``/healthz`` answers, ``/readyz`` and the search endpoints answer 503 with the
reason, and opening is retried at most every ``RETRY_S`` seconds when a request needs it.

Threads: route handlers run in a thread pool, jobs in their own threads. The store is shared (the
engine synchronises internally); the SQLite registry is not shareable between threads, so every
use opens its own short-lived connection (``registry()``). ``index_lock`` is a readers-writer lock:
queries take it shared; only a step that reopens the store (``Indexer`` construction calls
``ensure_collection``) takes it exclusively.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any

from api.errors import ApiError
from api.jobs import JobManager
from api.metrics import IndexSnapshot, Metrics
from core.errors import FoerdersucheError
from core.gazetteer import Gazetteer
from core.model.embedding import Embedder
from core.rawstore import RawStore
from core.registry import Registry
from core.settings import Settings
from core.store.base import Store
from ingest.reconcile import reconcile
from runtime import build_embedder, build_gazetteer, build_searcher, build_store, refresh_stale_register
from runtime import search_options as default_search_options
from search.engine import Mode, Searcher, SearchOptions
from search.register import ParsedRows, Register, build_register

log = logging.getLogger("api")

RETRY_S = 5.0


class RWLock:
    """Many readers or one writer; a waiting writer blocks new readers (no writer starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class AppState:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._given_embedder = embedder
        self.embedder: Embedder | None = None
        self.gazetteer: Gazetteer | None = None
        self.store: Store | None = None
        self.searcher: Searcher | None = None
        self.raw = RawStore(settings.raw_dir)
        self.index_lock = RWLock()
        self.metrics = Metrics()
        self.jobs = JobManager(on_finished=lambda _job: self.bump_generation())
        self.problems: dict[str, str] = {}
        # builds the parser of an ingest job inside an ExitStack; None = api.admin.open_parser (isolated workers)
        self.parser_factory: Callable[[Settings, ExitStack], Any] | None = None
        self.generation = 0  # bumped after every write job; caches of index-wide values key on it
        self._open_lock = threading.Lock()
        self._last_attempt = 0.0
        self._closed = False
        self._register: tuple[tuple[int, float], Register] | None = None
        self._refreshed_at: tuple[int, float] | None = None  # registry stamp of the last stale look
        self._register_lock = threading.Lock()
        self._parsed_rows = ParsedRows()  # the register rows of the last build, parsed (used under the lock)
        self._rebuild: threading.Thread | None = None  # a background rebuild of the register (``register``)
        self._rebuild_lock = threading.Lock()
        self._next_rebuild_at = 0.0  # monotonic time before which no background rebuild starts
        self.metrics.watch_index(self.snapshot)

    # --- lifecycle

    def start(self) -> None:
        """The lifespan's startup (an app may be started again after a shutdown, as test clients do)."""
        with self._open_lock:
            self._closed = False
        self.jobs.restart()
        self.open()
        if self.gazetteer is not None and self._register is None:
            # built before the first question needs it (about 6 s at 12,500 documents); a question that comes
            # earlier waits for this build, not for one of its own
            self._rebuild_register_in_background(self.gazetteer)

    def open(self) -> None:
        """Open whatever is not open yet; record what fails (``problems``) instead of raising."""
        with self._open_lock:
            if self._closed:
                return
            self._last_attempt = time.monotonic()
            problems: dict[str, str] = {}
            if self.gazetteer is None:
                try:
                    self.gazetteer = build_gazetteer()
                except FoerdersucheError as exc:
                    problems["gazetteer"] = str(exc)
            if self.embedder is None:
                try:
                    self.embedder = self._given_embedder or build_embedder(self.settings, serving=True)
                except FoerdersucheError as exc:
                    problems["model"] = str(exc)
            if self.store is None:
                try:
                    self.store = self._open_store()
                except FoerdersucheError as exc:
                    problems["store"] = str(exc)
                except OSError as exc:  # the data dir cannot be created or read
                    problems["store"] = f"cannot use the data directory {self.settings.data_dir}: {exc}"
            if self.searcher is None and self.embedder and self.store and self.gazetteer:
                self.searcher = build_searcher(self.embedder, self.store, self.gazetteer)
            self.problems = problems
            for what, reason in problems.items():
                log.warning("not ready: %s: %s", what, reason)

    def _open_store(self) -> Store:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = build_store(self.settings)
        if self.embedder is not None:
            try:
                store.ensure_collection(self.embedder.dim)
                if not self.settings.qdrant_url:  # the embedded index: this process is its only writer
                    with self.registry() as reg:
                        reconcile(store, reg)  # never serve what an interrupted ingest left half-done
                # an admin job's optimize builds in a child process; the built index is swapped in
                # while no request reads the store
                store.build_aside(self.index_lock.write)
                # read in a thread (60-90 s at 1M passages): queries are answered meanwhile
                store.keep_summaries(self.settings.summary_points, background=True)
            except BaseException:
                store.close()
                raise
        return store

    def close(self) -> None:
        self.jobs.shutdown()
        self.wait_for_register(timeout_s=60)
        with self._open_lock:
            self._closed = True
            if self.store is not None:
                with self.index_lock.write():
                    try:
                        self.store.close()
                    except FoerdersucheError:
                        log.exception("closing the store")
                self.store = None
            self.searcher = None

    def retry_if_due(self) -> None:
        if self.problems and time.monotonic() - self._last_attempt >= RETRY_S:
            self.open()

    def bump_generation(self) -> None:
        self.generation += 1

    # --- what handlers use

    def require_searcher(self) -> Searcher:
        self.retry_if_due()
        if self.searcher is None:
            raise self.not_ready()
        return self.searcher

    def require_store(self) -> Store:
        self.retry_if_due()
        if self.store is None:
            raise self.not_ready()
        return self.store

    def require_gazetteer(self) -> Gazetteer:
        self.retry_if_due()
        if self.gazetteer is None:
            raise self.not_ready()
        return self.gazetteer

    def register(self, *, current: bool = True) -> Register:
        """The register of funding facts and projects, rebuilt when the registry changed since the last
        call. Documents indexed before the register existed are re-enriched from their raw bytes first
        (once, in isolated parser workers).

        ``current=False`` (the direct answer of ``GET /search``): the register as last built, and when the
        registry has changed since, a rebuild in a background thread instead of in the request. A rebuild
        links every document's register rows (2.3 s at 12,500 documents, 4-5 s the first time), and an
        ingest changes the registry with every document, so each question during an ingest would wait for
        one. Built in the request only when there is none yet."""
        gazetteer = self.require_gazetteer()
        held = self._register
        if not current and held is not None:
            with self.registry() as reg:
                changed = reg.intel_stamp() != held[0]
            if changed:
                self._rebuild_register_in_background(gazetteer)
            return held[1]
        with self._register_lock:
            return self._build_register(gazetteer)

    def _rebuild_register_in_background(self, gazetteer: Gazetteer) -> None:
        """Start a rebuild unless one runs (it reads the registry as it is when it starts; a later change
        starts another) or the last one ended less than four times its own time ago: a rebuild is Python
        work in the server's process, so while an ingest keeps changing the registry, rebuilds take at most
        a fifth of its time from the requests. Measured at 12,500 documents (a rebuild ~5 s), the registry
        changed every second: questions p50 / p95 46 / 177 ms with a pause of twice the rebuild, 41 / 106 ms
        with four times, 37 / 45 ms once rebuilds parsed only changed rows (serving.md section 13)."""
        with self._rebuild_lock:
            if self._rebuild is not None and self._rebuild.is_alive():
                return
            if time.monotonic() < self._next_rebuild_at:
                return

            def rebuild() -> None:
                started = time.monotonic()
                try:
                    with self._register_lock:
                        self._build_register(gazetteer)
                except Exception:  # the held register keeps answering; a later question tries again
                    log.exception("register: background rebuild failed")
                else:
                    log.info("register: rebuilt in the background in %.1f s", time.monotonic() - started)
                finally:
                    ended = time.monotonic()
                    self._next_rebuild_at = ended + 4 * (ended - started)

            self._rebuild = threading.Thread(target=rebuild, name="register-rebuild", daemon=True)
            self._rebuild.start()

    def wait_for_register(self, timeout_s: float | None = None) -> None:
        """Wait for a background rebuild of the register to end (tests, shutdown)."""
        thread = self._rebuild
        if thread is not None:
            thread.join(timeout_s)

    def _build_register(self, gazetteer: Gazetteer) -> Register:
        """The register, rebuilt when the registry changed since it was built (hold ``_register_lock``)."""
        with self.registry() as reg:
            stamp = reg.intel_stamp()
            # Stale documents are looked for only when the registry changed since the last look: one
            # whose raw bytes are gone fails the same way every time, and each look reads every
            # document (48 ms a question at 30k passages, 3,750 documents, all without raw bytes).
            if self._refreshed_at != stamp:
                done = refresh_stale_register(
                    self.settings, reg, self.raw, gazetteer, parser_factory=self.parser_factory
                )
                if done is not None:
                    log.info("register: %d documents re-enriched from raw bytes", done.refreshed)
                stamp = reg.intel_stamp()
                self._refreshed_at = stamp
            if self._register is None or self._register[0] != stamp:
                self._register = (stamp, build_register(reg.intel_rows(), gazetteer, self._parsed_rows))
            return self._register[1]

    def not_ready(self) -> ApiError:
        reasons = dict(self.problems) or {"app": "still starting"}
        text = "; ".join(f"{k}: {v}" for k, v in reasons.items())
        return ApiError(503, "not_ready", f"The search service is not ready ({text}).", {"checks": reasons})

    @contextmanager
    def registry(self) -> Iterator[Registry]:
        """A registry connection for the current thread, closed after use."""
        reg = Registry(self.settings.registry_path)
        try:
            yield reg
        finally:
            reg.close()

    def search_options(self, mode: Mode | None) -> SearchOptions:
        options = default_search_options(self.settings)
        return replace(options, mode=mode) if mode else options

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """(ready, check -> "ok" or the reason) for ``/readyz``."""
        self.retry_if_due()
        checks: dict[str, str] = {}
        checks["model"] = "ok" if self.embedder is not None else self.problems.get("model", "not loaded")
        checks["gazetteer"] = "ok" if self.gazetteer is not None else self.problems.get("gazetteer", "not loaded")
        store = self.store
        if store is None:
            checks["store"] = self.problems.get("store", "not open")
        else:
            try:
                with self.index_lock.read():
                    store.count()
                checks["store"] = "ok"
            except FoerdersucheError as exc:
                checks["store"] = f"not answering: {exc}"
        return all(v == "ok" for v in checks.values()), checks

    def snapshot(self) -> IndexSnapshot:
        passages = documents = None
        last = None
        summaries: int | None = 0
        store = self.store
        if store is not None:
            summaries = store.summaries_held()
            try:
                with self.index_lock.read():
                    passages = store.count()
            except FoerdersucheError:
                passages = None
        with self.registry() as reg:
            documents, _ = reg.totals()
            run = reg.last_run("ingest")
            last = run[1] if run else None
        return IndexSnapshot(
            passages=passages,
            documents=documents,
            last_ingest_finished=last,
            ready=self.searcher is not None and passages is not None,
            jobs_by_status=self.jobs.counts(),
            summary_points=summaries,
        )
