"""Prometheus metrics of PgBouncer, read from its admin console on the pod-local socket.

Why not Debian's prometheus-pgbouncer-exporter: version 1.7 expects the SHOW STATS columns that
PgBouncer 1.8 renamed (total_requests) and stops at start against PgBouncer 1.18. This reads
SHOW POOLS, SHOW STATS and SHOW LISTS on every scrape and exports each numeric column as a
gauge (pgbouncer_pools_cl_waiting{database,user}, pgbouncer_stats_total_xact_count{database},
pgbouncer_lists_items{list}), so a new PgBouncer column appears without a code change.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg2  # type: ignore[import-untyped]
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily

LABELS = {"POOLS": ("database", "user"), "STATS": ("database",)}


class PgBouncerCollector:
    """One admin-console session per scrape: PgBouncer restarts never leave it stale."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def rows(self, command: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        connection = psycopg2.connect(self.dsn)
        try:
            connection.autocommit = True  # the admin console has no transactions
            with connection.cursor() as cursor:
                cursor.execute(f"SHOW {command}")
                return [c.name for c in cursor.description], list(cursor.fetchall())
        finally:
            connection.close()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("pgbouncer_up", "1 when the admin console answered this scrape")
        try:
            families = [*self.table("POOLS"), *self.table("STATS"), self.lists()]
        except psycopg2.Error as error:
            print(f"exporter: PgBouncer admin console: {error}".strip(), file=sys.stderr)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def table(self, command: str) -> list[GaugeMetricFamily]:
        columns, rows = self.rows(command)
        labels = LABELS[command]
        families: dict[str, GaugeMetricFamily] = {}
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            label_values = [str(record[name]) for name in labels]
            for column, value in record.items():
                # Counters arrive as numeric (Decimal), gauges as integers; text is a label.
                if column in labels or not isinstance(value, int | float | Decimal):
                    continue
                name = f"pgbouncer_{command.lower()}_{column}"
                family = families.setdefault(
                    name, GaugeMetricFamily(name, f"SHOW {command} column {column}", labels=labels)
                )
                family.add_metric(label_values, float(value))
        return list(families.values())

    def lists(self) -> GaugeMetricFamily:
        _columns, rows = self.rows("LISTS")
        family = GaugeMetricFamily("pgbouncer_lists_items", "SHOW LISTS", labels=["list"])
        for name, items in rows:
            family.add_metric([str(name)], float(items))
        return family


def main() -> int:
    host = os.environ.get("PGBOUNCER_HOST", "/var/run/pgbouncer")
    port = os.environ.get("PGBOUNCER_PORT", "6432")
    dsn = f"host={host} port={port} dbname=pgbouncer user=pgbouncer"
    REGISTRY.register(PgBouncerCollector(dsn))
    start_http_server(int(os.environ.get("PORT", "9127")), addr=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    print(f"exporter: serving PgBouncer metrics from {host}:{port}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
