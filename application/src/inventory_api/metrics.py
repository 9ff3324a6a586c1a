"""Prometheus metrics on a private registry (no process-global state shared between apps/tests).

Names (for dashboards and alerts):
  http_requests_total{route,method,status}                      counter
  http_request_duration_seconds{route,method,status}            histogram
  http_requests_in_flight                                       gauge
  inventory_db_pool_size / _checked_out / _overflow             gauges (SQLAlchemy QueuePool)
  inventory_db_pool_capacity                                    gauge (pool_size + max_overflow)
  inventory_db_work_pending                                     gauge (DB work queued or running)
  inventory_stock_adjustments_total{outcome}                    counter
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from inventory_api.db import Database

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PoolCollector(Collector):
    """Reads the pool's live numbers at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        """One gauge family per pool figure."""
        pool = self.database.engine.pool
        figures: dict[str, tuple[str, float]] = {
            "capacity": ("connections the pool may open", float(self.database.workers)),
            "work_pending": ("units of DB work queued or running", float(self.database.pending)),
        }
        if isinstance(pool, QueuePool):
            figures["size"] = ("connections held open by the pool", float(pool.size()))
            figures["checked_out"] = ("connections in use", float(pool.checkedout()))
            figures["overflow"] = ("connections beyond pool_size", float(max(pool.overflow(), 0)))
        for name, (doc, value) in figures.items():
            prefix = "inventory_db_" if name == "work_pending" else "inventory_db_pool_"
            yield GaugeMetricFamily(prefix + name, doc, value=value)


class Metrics:
    """Every metric the API exports, registered on its own registry."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "method", "status")
        self.requests = Counter(
            "http_requests", "HTTP requests answered", labels, registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to response finish",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being served", registry=self.registry
        )
        self.adjustments = Counter(
            "inventory_stock_adjustments",
            "Stock adjustment outcomes",
            ("outcome",),
            registry=self.registry,
        )
        self.registry.register(PoolCollector(database))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)
