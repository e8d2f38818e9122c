"""Parse files in worker processes, so that no single file can crash, hang or exhaust an ingest run.

    parent: ParserPool.parse_many(jobs)              worker (spawned once, reused for many files)
      size check, then job --------- Pipe ---------> read file, parse_bytes()
      wait for the answer until the deadline <------- Document | (status, reason)

- Every worker runs under RLIMIT_AS (``memory_mb``); a MemoryError becomes FAILED "exceeded memory
  limit", and the worker is replaced (its heap may be fragmented beyond use).
- A job that outlives ``timeout_s`` of wall-clock time is FAILED "timed out after N s"; its worker is
  killed and replaced. A worker that dies (a PDFium segfault, the kernel's OOM killer) fails its job
  with the signal named; the pool goes on with a fresh worker.
- Workers are started with the "spawn" method (a clean interpreter: nothing of the parent's state,
  threads or open handles leaks in) and reused, so the cost of starting one (about a second of
  imports) is paid per worker, not per file. Each worker is recycled after ``max_tasks_per_worker``
  files to bound slow leaks in the native libraries.
- Files larger than ``max_file_bytes`` are SKIPPED from their size alone, without being read.
- OCR of scanned PDF pages (``ocr`` options) runs in the worker too, under the same limits: it stops
  at ``OCR_BUDGET_SHARE`` of ``timeout_s`` (the document keeps the pages read, its warnings name the
  rest), and the worker reports each page it read (``on_progress(job, done, total)`` in the parent).

Results come back as values: a ``Document``, or a ``ParseError`` carrying status and reason.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from threading import Lock
from typing import Any, NamedTuple

from core.errors import ParseError
from core.models import Document, FileStatus
from ingest.ocr import OcrOptions

ParseOutcome = Document | ParseError

# A worker that has not imported the parsers after this long is considered broken.
STARTUP_TIMEOUT_S = 120.0
# Consecutive workers that die before becoming ready, after which the pool gives up.
MAX_STARTUP_FAILURES = 3
_KILL_GRACE_S = 2.0
# OCR stops after this share of a file's time limit, so the pages read are kept instead of the
# worker being killed at the limit.
OCR_BUDGET_SHARE = 0.8


@dataclass(frozen=True)
class ParseJob:
    """One file to parse; ``suffix_hint`` defaults to the path's suffix."""

    path: Path
    doc_id: str
    source: str
    suffix_hint: str | None = None
    content_type: str | None = None
    url: str | None = None
    source_name: str | None = None


class Parsed(NamedTuple):
    """A finished job: its outcome and the wall-clock seconds its worker spent on it."""

    job: ParseJob
    outcome: ParseOutcome
    seconds: float


def _limit_memory(memory_mb: int) -> None:
    import resource

    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _warm_up() -> None:
    """Pay the one-time costs (library imports, langdetect's language profiles) before the first
    job's clock starts, so that a time limit measures parsing."""
    import pypdf  # noqa: F401
    import pypdfium2  # noqa: F401
    import trafilatura  # noqa: F401

    with contextlib.suppress(ImportError):  # OCR's binding; its absence is reported per file
        import tesserocr  # noqa: F401

    from ingest.language import detect_language

    detect_language("Die Stadt fördert Vereine und Initiativen im Ruhrgebiet mit neuen Mitteln.")


def _worker_main(conn: Connection, memory_mb: int, max_file_bytes: int, ocr: OcrOptions | None = None) -> None:
    """The worker process: set limits, import the parsers, then serve jobs until told to stop."""
    # Entry point of its own process: keep library log records (pypdf, trafilatura) off stderr; the
    # parsers collect what matters into the document's warnings.
    logging.getLogger().addHandler(logging.NullHandler())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory_mb:
        _limit_memory(memory_mb)
    from ingest.parse import parse_bytes

    _warm_up()
    conn.send(("ready", None, False))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        job, timeout_s = job

        def progress(done: int, total: int) -> None:
            conn.send(("progress", (done, total), False))

        try:
            # Re-checked here: the file may have grown since the parent looked.
            with open(job.path, "rb") as handle:
                raw = handle.read(max_file_bytes + 1)
            if len(raw) > max_file_bytes:
                raise ParseError(FileStatus.SKIPPED, f"file larger than {max_file_bytes} bytes")
            suffix = job.suffix_hint if job.suffix_hint is not None else job.path.suffix
            doc = parse_bytes(
                raw,
                job.source,
                doc_id=job.doc_id,
                suffix_hint=suffix,
                content_type=job.content_type,
                url=job.url,
                source_name=job.source_name,
                ocr=ocr,
                ocr_budget_s=timeout_s * OCR_BUDGET_SHARE,
                progress=progress,
            )
            conn.send(("ok", doc, False))
        except ParseError as err:
            conn.send(("error", (err.status.value, err.reason), False))
        except MemoryError:
            reason = f"exceeded memory limit of {memory_mb} MiB (MemoryError)"
            conn.send(("error", (FileStatus.FAILED.value, reason), True))
            return  # its heap may be fragmented beyond use: a fresh worker replaces this one
        except Exception as err:
            conn.send(("error", (FileStatus.FAILED.value, f"parser crashed: {type(err).__name__}: {err}"), False))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started: float
    ready: bool = False
    tasks: int = 0
    job: ParseJob | None = None
    sent: float = 0.0
    deadline: float = 0.0
    retired: bool = field(default=False)


def _death_reason(process: BaseProcess, memory_mb: int) -> str:
    process.join(_KILL_GRACE_S)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code in (signal.SIGKILL, signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
            return f"parser process died with {name}; it probably exceeded the memory limit of {memory_mb} MiB"
        return f"parser process died with {name}"
    return f"parser process exited unexpectedly (exit code {code})"


class ParserPool:
    """A small pool of persistent parser processes. Use as a context manager.

    ``parse_many`` runs up to ``workers`` files at once and yields ``Parsed(job, outcome, seconds)``
    in the order they finish; ``parse`` handles one job and may be called from several threads (they
    take turns). ``parse_many`` itself is driven by one thread at a time.
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        timeout_s: float = 60.0,
        memory_mb: int = 2048,
        max_file_bytes: int = 50_000_000,
        max_tasks_per_worker: int = 500,
        ocr: OcrOptions | None = None,
        on_progress: Callable[[ParseJob, int, int], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.size = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_file_bytes = max_file_bytes
        self.max_tasks_per_worker = max_tasks_per_worker
        self.ocr = ocr
        self.on_progress = on_progress  # (job, pages done, pages to do) while a worker runs OCR
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._startup_failures = 0
        self._lock = Lock()

    @classmethod
    def from_settings(cls, settings: Any, *, workers: int = 2) -> ParserPool:
        """A pool with the limits of a ``core.settings.Settings``."""
        return cls(
            workers=workers,
            timeout_s=settings.parse_timeout_s,
            memory_mb=settings.parse_memory_mb,
            max_file_bytes=settings.max_file_bytes,
            ocr=OcrOptions.from_settings(settings),
        )

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- worker lifecycle

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_conn, self.memory_mb, self.max_file_bytes, self.ocr),
            name="foerdersuche-parser",
            daemon=True,
        )
        process.start()
        child_conn.close()  # so that the worker's death reads as EOF here
        worker = _Worker(process, parent_conn, started=time.monotonic())
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        worker.retired = True
        if worker in self._workers:
            self._workers.remove(worker)
        if kill and worker.process.is_alive():
            worker.process.kill()
        else:
            with contextlib.suppress(OSError, ValueError):  # already gone: nothing to tell it
                worker.conn.send(None)
        worker.process.join(_KILL_GRACE_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(_KILL_GRACE_S)
        worker.conn.close()

    def close(self) -> None:
        """Stop all workers (idle ones cleanly, busy ones by force)."""
        for worker in list(self._workers):
            self._retire(worker, kill=worker.job is not None or not worker.ready)

    # --- running jobs

    def _precheck(self, job: ParseJob) -> ParseError | None:
        try:
            size = job.path.stat().st_size
        except OSError as err:
            return ParseError(FileStatus.FAILED, f"cannot read file: {type(err).__name__}: {err}")
        if size > self.max_file_bytes:
            return ParseError(FileStatus.SKIPPED, f"file of {size} bytes exceeds max_file_bytes={self.max_file_bytes}")
        return None

    def parse(self, job: ParseJob) -> ParseOutcome:
        with self._lock:
            for parsed in self.parse_many([job]):
                return parsed.outcome
        raise AssertionError("parse_many yielded nothing for one job")  # pragma: no cover

    def parse_many(self, jobs: Iterable[ParseJob]) -> Iterator[Parsed]:
        try:
            yield from self._run(deque(jobs))
        finally:
            # Abandoned midway: answers still under way would reach the next caller; stop them.
            for worker in [w for w in self._workers if w.job is not None]:
                self._retire(worker, kill=True)

    def _run(self, pending: deque[ParseJob]) -> Iterator[Parsed]:
        while pending or any(w.job is not None for w in self._workers):
            # Answer what needs no worker; hand out the rest to idle workers.
            while pending:
                early = self._precheck(pending[0])
                if early is not None:
                    yield Parsed(pending.popleft(), early, 0.0)
                    continue
                idle = self._idle_worker()
                if idle is None:
                    break
                job = pending.popleft()
                idle.job = job
                idle.sent = time.monotonic()
                idle.deadline = idle.sent + self.timeout_s
                try:
                    idle.conn.send((job, self.timeout_s))
                except OSError:  # the worker died while idle: replace it, retry the job
                    idle.job = None
                    self._retire(idle, kill=True)
                    pending.appendleft(job)
            if self._startup_failures >= MAX_STARTUP_FAILURES:
                reason = f"parser processes fail to start (memory limit {self.memory_mb} MiB too low?)"
                for job in [w.job for w in self._workers if w.job is not None] + list(pending):
                    yield Parsed(job, ParseError(FileStatus.FAILED, reason), 0.0)
                pending.clear()
                self.close()
                return
            yield from self._collect()

    def _idle_worker(self) -> _Worker | None:
        """A ready worker without a job; else None, after starting another one if the pool may grow."""
        for worker in self._workers:
            if worker.ready and worker.job is None:
                return worker
        if len(self._workers) < self.size:
            self._spawn()
        return None

    def _collect(self) -> Iterator[Parsed]:
        """Wait for the next answer, death or deadline, and yield what finished."""
        now = time.monotonic()
        deadlines = [w.deadline for w in self._workers if w.job is not None]
        deadlines += [w.started + STARTUP_TIMEOUT_S for w in self._workers if not w.ready]
        wait_s = max(0.0, min(deadlines, default=now + 1.0) - now)
        ready = multiprocessing.connection.wait([w.conn for w in self._workers], timeout=wait_s)
        for worker in list(self._workers):
            if worker.conn in ready:
                yield from self._receive(worker)
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.retired:
                continue
            if worker.job is not None and now > worker.deadline:
                job, seconds = worker.job, now - worker.sent
                self._retire(worker, kill=True)
                yield Parsed(job, ParseError(FileStatus.FAILED, f"timed out after {self.timeout_s:g} s"), seconds)
            elif not worker.ready and now > worker.started + STARTUP_TIMEOUT_S:
                self._retire(worker, kill=True)
                self._startup_failures += 1

    def _receive(self, worker: _Worker) -> Iterator[Parsed]:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            job = worker.job
            reason = _death_reason(worker.process, self.memory_mb)
            self._retire(worker, kill=True)
            if job is None:
                self._startup_failures += 1
            else:
                yield Parsed(job, ParseError(FileStatus.FAILED, reason), time.monotonic() - worker.sent)
            return
        kind, payload, retire = message
        if kind == "ready":
            worker.ready = True
            self._startup_failures = 0
            return
        if kind == "progress":
            if self.on_progress is not None and worker.job is not None:
                self.on_progress(worker.job, *payload)
            return
        job = worker.job
        assert job is not None, "an answer from a worker without a job"
        worker.job = None
        worker.tasks += 1
        if kind == "ok":
            outcome: ParseOutcome = payload
        else:
            status, reason = payload
            outcome = ParseError(FileStatus(status), reason)
        seconds = time.monotonic() - worker.sent
        if retire or worker.tasks >= self.max_tasks_per_worker:
            self._retire(worker, kill=False)
        yield Parsed(job, outcome, seconds)


def parse_file_isolated(
    path: Path,
    *,
    doc_id: str,
    source: str,
    timeout_s: float,
    memory_mb: int,
    max_file_bytes: int = 50_000_000,
    suffix_hint: str | None = None,
    content_type: str | None = None,
    url: str | None = None,
    source_name: str | None = None,
    pool: ParserPool | None = None,
    ocr: OcrOptions | None = None,
) -> ParseOutcome:
    """Parse one file in a worker process; a Document, or a ParseError as a value (never raised).

    Pass a ``pool`` to reuse its workers (and its limits, which then override ``timeout_s``,
    ``memory_mb`` and ``max_file_bytes``); without one, a single-worker pool is started and stopped
    for this call, which costs a second of interpreter start-up.
    """
    job = ParseJob(
        path=path,
        doc_id=doc_id,
        source=source,
        suffix_hint=suffix_hint,
        content_type=content_type,
        url=url,
        source_name=source_name,
    )
    if pool is not None:
        return pool.parse(job)
    with ParserPool(workers=1, timeout_s=timeout_s, memory_mb=memory_mb, max_file_bytes=max_file_bytes, ocr=ocr) as own:
        return own.parse(job)
