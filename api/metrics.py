"""Prometheus metrics of one app: its own ``CollectorRegistry`` (two apps in one process, as in the
tests, never share counters). Request counts and latencies per route template are recorded by
``api.middleware.MetricsMiddleware``; index size, last ingest and jobs are read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("api")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class IndexSnapshot:
    """What the scrape reports about the index; fields are None when unknown (store not open)."""

    passages: int | None
    documents: int | None
    last_ingest_finished: float | None
    ready: bool
    jobs_by_status: dict[str, int]
    summary_points: int | None = 0  # ranking fields held in memory; None while they are read at the start


class _IndexCollector(Collector):
    def __init__(self, snapshot: Callable[[], IndexSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self._snapshot()
        except Exception:  # a scrape must not fail because the index is unwell; readyz reports that
            log.warning("metrics: cannot read the index state", exc_info=True)
            return
        ready = GaugeMetricFamily("foerdersuche_ready", "1 when the model is loaded and the store answers.")
        ready.add_metric([], 1.0 if snap.ready else 0.0)
        yield ready
        if snap.passages is not None:
            g = GaugeMetricFamily("foerdersuche_index_passages", "Passages (points) in the index.")
            g.add_metric([], float(snap.passages))
            yield g
        if snap.documents is not None:
            g = GaugeMetricFamily("foerdersuche_index_documents", "Documents with passages in the index (registry).")
            g.add_metric([], float(snap.documents))
            yield g
        if snap.last_ingest_finished is not None:
            g = GaugeMetricFamily(
                "foerdersuche_last_ingest_timestamp_seconds", "Unix time the last ingest run finished."
            )
            g.add_metric([], snap.last_ingest_finished)
            yield g
        loading = GaugeMetricFamily(
            "foerdersuche_summaries_loading",
            "1 while the server reads the passages' ranking fields into memory after its start (queries are "
            "answered meanwhile, reading those fields from the index).",
        )
        loading.add_metric([], 1.0 if snap.summary_points is None else 0.0)
        yield loading
        held = GaugeMetricFamily(
            "foerdersuche_summary_points", "Passages whose ranking fields the server holds in memory."
        )
        held.add_metric([], float(snap.summary_points or 0))
        yield held
        jobs = GaugeMetricFamily("foerdersuche_jobs", "Admin jobs of this process by status.", labels=["status"])
        for status, n in sorted(snap.jobs_by_status.items()):
            jobs.add_metric([status], float(n))
        yield jobs


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "foerdersuche_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "foerdersuche_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def watch_index(self, snapshot: Callable[[], IndexSnapshot]) -> None:
        self.registry.register(_IndexCollector(snapshot))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
