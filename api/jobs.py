"""Background jobs of the admin endpoints (ingest, crawl): one thread per job, one writer at a time.

Qdrant Edge allows one opener per process, so jobs write through the app's own store. Jobs are
serialised by ``writer_lock`` (a queued job waits for it); searches keep running meanwhile. A job is
a function ``run(progress, cancelled) -> report``; ``progress(done, total)`` updates what ``GET
/jobs/{id}`` shows, and ``cancelled()`` turns true at shutdown (the job then stops at its next
file: an interrupted ingest is redone by the next run, see ``ingest.pipeline``). Jobs live in memory:
a restart forgets them (their effect is in the registry and the index).

A job runs at a lower CPU priority than the requests (``JOB_NICENESS``; on Linux the niceness is per
thread, and the threads and processes a job starts inherit it: torch's threads embedding passages,
the parser workers). On the benchmark's 2 cores an ingest beside the server otherwise took the CPU
from the queries (``python -m evaluation.bench.ingest_load``, evaluation/reports/serving.md).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import FoerdersucheError

log = logging.getLogger("api.jobs")

JobKind = Literal["ingest", "crawl"]
Progress = Callable[[int, "int | None"], None]
JobFn = Callable[[Progress, Callable[[], bool]], dict[str, Any]]

MAX_KEPT_JOBS = 200
JOB_NICENESS = 10  # added to the server's niceness for a job's thread (19 is the lowest priority)


def lower_thread_priority(increment: int = JOB_NICENESS) -> int | None:
    """Lower the calling thread's CPU priority by ``increment``; its niceness after, or None where the
    platform cannot (niceness per thread is Linux's; elsewhere the job runs at the server's priority)."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return None
    tid = threading.get_native_id()
    try:
        niceness = min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment)
        os.setpriority(os.PRIO_PROCESS, tid, niceness)
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None


class JobCancelled(Exception):
    """Raised inside a job's callbacks when the app shuts down."""


@dataclass
class Job:
    job_id: str
    kind: JobKind
    params: dict[str, Any]
    created_at: float = field(default_factory=time.time)
    status: str = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    done: int = 0
    total: int | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "status": self.status,
            "params": dict(self.params),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": {"done": self.done, "total": self.total},
            "report": self.report,
            "error": self.error,
        }


class JobManager:
    def __init__(self, on_finished: Callable[[Job], None] | None = None) -> None:
        self.writer_lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._mutex = threading.Lock()
        self._stopping = threading.Event()
        self._on_finished = on_finished

    def submit(self, kind: JobKind, params: dict[str, Any], fn: JobFn) -> dict[str, Any]:
        if self._stopping.is_set():
            raise FoerdersucheError("The server is shutting down; no new jobs are accepted.")
        job = Job(job_id=uuid.uuid4().hex, kind=kind, params=params)
        thread = threading.Thread(target=self._run, args=(job, fn), name=f"job-{kind}-{job.job_id[:8]}")
        with self._mutex:
            self._forget_old()
            self._jobs[job.job_id] = job
            self._threads[job.job_id] = thread
            snapshot = job.snapshot()
        thread.start()
        return snapshot

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._mutex:
            job = self._jobs.get(job_id)
            return job.snapshot() if job else None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._mutex:
            for job in self._jobs.values():
                out[job.status] = out.get(job.status, 0) + 1
        return out

    def restart(self) -> None:
        """Accept jobs again after a ``shutdown`` (a new lifespan of the same app)."""
        self._stopping.clear()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Ask running jobs to stop and wait for them (at most ``timeout_s`` in total)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        with self._mutex:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("job thread %s still running at shutdown", thread.name)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        for job in sorted(finished, key=lambda j: j.finished_at or 0.0)[: max(0, len(self._jobs) - MAX_KEPT_JOBS + 1)]:
            self._jobs.pop(job.job_id, None)
            self._threads.pop(job.job_id, None)

    def _run(self, job: Job, fn: JobFn) -> None:
        lower_thread_priority()

        def progress(done: int, total: int | None) -> None:
            if self._stopping.is_set():
                raise JobCancelled
            with self._mutex:
                job.done, job.total = done, total

        def cancelled() -> bool:
            return self._stopping.is_set()

        with self.writer_lock:
            with self._mutex:
                job.status, job.started_at = "running", time.time()
            status, report, error = "failed", None, None
            try:
                if self._stopping.is_set():
                    raise JobCancelled
                report = fn(progress, cancelled)
                status = "succeeded"
            except JobCancelled:
                status, error = "cancelled", "The server shut down before the job finished."
            except FoerdersucheError as exc:
                error = str(exc)
            except Exception as exc:  # a job must end with a status, never die silently
                log.exception("job %s failed", job.job_id)
                error = f"internal error ({type(exc).__name__}); see the server log"
            with self._mutex:
                job.status, job.report, job.error, job.finished_at = status, report, error, time.time()
        if self._on_finished is not None:
            try:
                self._on_finished(job)
            except Exception:
                log.exception("after job %s", job.job_id)
