"""Prometheus metrics: one registry per app, filled by a metered view of the store.

Every state change already goes through the storage port (ingest, transitions, deliveries),
so counting there sees each one exactly once per process without touching the domain or
the services: `MeteredStore` wraps the store the services use, times every call and counts
what the writes carry. Gauges that describe the process now (SSE clients, the geofence
version, each source's lag) are read from the app's objects at scrape time.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .domain.records import AlertStatus, Report
from .domain.transitions import IngestPlan, Transition
from .ports import IngestItem, Store, Stored

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HUMAN = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600)


class Metrics:
    """The app's metrics (its own registry: several apps in one process never mix)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.reports = Counter("bluelight_reports", "Reports stored, by source and triage band",
                               ["source", "band"], registry=r)
        self.duplicates = Counter("bluelight_report_duplicates",
                                  "Posts that were already stored", registry=r)
        self.events = Counter("bluelight_events", "Persisted incident and alert events by kind",
                              ["kind"], registry=r)
        self.acks = Histogram("bluelight_ack_latency_seconds",
                              "From an alert's sending to its acknowledgement", buckets=HUMAN,
                              registry=r)
        self.pushes = Counter("bluelight_push_results", "Push results by status and error code",
                              ["status", "error"], registry=r)
        self.store = Histogram("bluelight_store_seconds", "Store call latency by operation",
                               ["op"], buckets=FAST, registry=r)
        self.requests = Histogram("bluelight_http_request_seconds",
                                  "HTTP request latency by route, method and status",
                                  ["route", "method", "status"], buckets=FAST, registry=r)
        self.sse_clients = Gauge("bluelight_sse_clients", "Open event streams", registry=r)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """metric.labels(*labels), remembered: labels() takes a lock and builds a key
        each time, several times per ingested post."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def watch(self, read: Callable[[], Iterator[GaugeMetricFamily]]) -> None:
        """Add gauges computed at scrape time."""
        self.registry.register(cast(Collector, _Live(read)))

    def ingested(self, report: Report, plan: IngestPlan | None) -> None:
        if plan is None:
            self.duplicates.inc()
            return
        self.child(self.reports, report.source, report.triage.band.value).inc()
        for event in plan.events:
            self.child(self.events, event.kind).inc()

    def committed(self, t: Transition) -> None:
        for event in t.events:
            self.child(self.events, event.kind).inc()
        for alert in t.alerts:
            if alert.status is AlertStatus.ACKNOWLEDGED and alert.acknowledged_at and any(
                    e.kind == "acknowledged" and e.alert_id == alert.id for e in t.events):
                self.acks.observe((alert.acknowledged_at - alert.created_at).total_seconds())


class _Live:
    def __init__(self, read: Callable[[], Iterator[GaugeMetricFamily]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return self._read()


class MeteredStore:
    """The store, timed call by call, counting what ingest, transitions and deliveries
    write. Everything else passes straight through."""

    def __init__(self, inner: Store, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        histogram = self._metrics.store.labels(name)

        @functools.wraps(attr)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)
        setattr(self, name, timed)   # resolve each method once
        return timed

    @contextlib.contextmanager
    def _timing(self, operation: str) -> Iterator[None]:
        """Store latency for the methods below, which also count what they committed."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self._metrics.child(self._metrics.store, operation).observe(
                time.perf_counter() - started)

    async def ingest_report(self, report: Report, *args: Any, **kwargs: Any) -> Any:
        with self._timing("ingest_report"):
            stored, incident, plan = await self._inner.ingest_report(report, *args, **kwargs)
        self._metrics.ingested(report, plan)
        return stored, incident, plan

    async def ingest_reports(self, items: Sequence[IngestItem]) -> list[Stored | Exception]:
        with self._timing("ingest_reports"):
            outcomes = await self._inner.ingest_reports(items)
        for item, done in zip(items, outcomes, strict=True):
            if not isinstance(done, Exception):
                self._metrics.ingested(item.report, done[2])
        return outcomes

    async def commit_transition(self, t: Transition) -> bool:
        with self._timing("commit_transition"):
            ok = await self._inner.commit_transition(t)
        if ok:
            self._metrics.committed(t)
        return ok

    async def commit_transitions(self, ts: Sequence[Transition]) -> list[bool]:
        with self._timing("commit_transitions"):
            won = await self._inner.commit_transitions(ts)
        for t, ok in zip(ts, won, strict=True):
            if ok:
                self._metrics.committed(t)
        return won

    async def put_deliveries(self, deliveries: Any) -> None:
        await self._inner.put_deliveries(deliveries)
        for d in deliveries:
            if d.status != "pending":
                self._metrics.pushes.labels(d.status, d.error_code or "").inc()


def metered(store: Store, metrics: Metrics) -> Store:
    """The store as the services should see it."""
    return cast(Store, MeteredStore(store, metrics))
