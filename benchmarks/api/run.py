"""API benchmark (on demand, not in CI): python -m benchmarks.api.run [--duration 30]

Starts PostgreSQL 15 and the API, loads 100k products, then runs wrk (32 connections) against
GET by id, a list page and stock adjustments; in the same run measures the ceiling (a bare
Tornado handler doing the same primary-key read with raw pg8000) and `pgbench -S`. Prints every
figure, the ratios, and whether the targets hold: GET by id >= 0.6x the bare handler, p99 < 50 ms,
zero errors. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from inventory_api.config import load_settings
from inventory_api.cursor import encode_cursor
from inventory_api.migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.support.postgres import Database, PostgresServer, free_port, running_postgres
from tests.support.tools import require_tool

HERE = Path(__file__).resolve().parent
PRODUCTS = 100_000
CONNECTIONS = 32
# Durable, production-like server settings (unlike the tests' fsync=off).
PG_SETTINGS = {"max_connections": "100", "shared_buffers": "256MB", "fsync": "on"}
LOAD_SQL = (
    "INSERT INTO products (sku, name, description, price_cents, quantity) "
    "SELECT 'BENCH-' || g, 'Benchmark product ' || g, 'Loaded by benchmarks/api', g % 100000, "
    "1000000 FROM generate_series(1, CAST(:n AS integer)) AS g",
    "INSERT INTO stock_movements (product_id, delta, quantity_after, reason) "
    "SELECT id, quantity, quantity, 'initial stock' FROM products",
    "ANALYZE",
)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles and every kind of error."""

    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    server_cpu_us: float = 0.0  # server CPU time per request (load-independent on a busy host)

    def line(self) -> str:
        """Aligned text for the report."""
        return (
            f"{self.name:<28} {self.requests_per_second:>10.0f} req/s   "
            f"p50 {self.p50_ms:>7.2f} ms   p99 {self.p99_ms:>7.2f} ms   errors {self.errors}   "
            f"server CPU {self.server_cpu_us:>6.0f} us/req"
        )


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(name: str, output: str) -> WrkResult:
    """Extract req/s, p50, p99 and errors (socket errors + non-2xx/3xx) from `wrk --latency`."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if not (rps and p50 and p99):
        raise RuntimeError(f"unexpected wrk output for {name}:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    total = re.search(r"(\d+) requests in", output)
    return WrkResult(
        name,
        float(rps.group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        errors,
        int(total.group(1)) if total else 0,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    name: str,
    url: str,
    script: Path,
    duration: int,
    env: dict[str, str],
    *,
    server_pid: int,
    headers: tuple[str, ...] = (),
) -> WrkResult:
    """Run wrk with a Lua script for `duration` seconds; also charge the server's CPU time."""
    binary = require_tool("wrk", "make bootstrap (Debian: wrk)")
    command = [binary, "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "-s", str(script)]
    command += [arg for header in headers for arg in ("-H", header)]
    cpu_before = cpu_seconds(server_pid)
    result = subprocess.run(
        [*command, url],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    parsed = parse_wrk(name, result.stdout)
    cpu = (cpu_seconds(server_pid) - cpu_before) * 1e6 / max(parsed.requests, 1)
    return dataclasses.replace(parsed, server_cpu_us=cpu)


def pgbench_select_only(server: PostgresServer, duration: int) -> float:
    """`pgbench -S` TPS (32 clients) on its own scale-10 database on the same server."""
    binary = "/usr/lib/postgresql/15/bin/pgbench"
    database = server.create_database(name="pgbench")
    env = {**os.environ, "PGPASSWORD": server.password}
    common = ["-h", server.host, "-p", str(server.port), "-U", server.user]
    subprocess.run(
        [binary, "-i", "-q", "-s", "10", *common, database.name],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = subprocess.run(
        [
            binary,
            "-S",
            "-c",
            str(CONNECTIONS),
            "-j",
            "2",
            "-T",
            str(duration),
            *common,
            database.name,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 120,
    )
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"unexpected pgbench output:\n{result.stdout}")
    return float(match.group(1))


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[int]:
    """Run a server process for the duration of the block."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(database: Database) -> None:
    """Migrate and insert the benchmark products (each with its ledger row)."""
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    upgrade(engine)
    conn = database.connect()
    try:
        for statement in LOAD_SQL:
            conn.run(statement, **({"n": PRODUCTS} if ":n" in statement else {}))
    finally:
        conn.close()


def run(duration: int, work: Path) -> bool:
    """The whole benchmark; returns True when every target holds."""
    results: dict[str, WrkResult] = {}
    with running_postgres(settings=PG_SETTINGS, prefix="inventory-bench-pg-") as server:
        database = server.create_database(name="inventory")
        started = time.monotonic()
        load(database)
        print(f"loaded {PRODUCTS} products in {time.monotonic() - started:.1f} s", flush=True)
        cursors = work / "cursors.txt"
        cursors.write_text(
            "\n".join(encode_cursor(random.randint(1, PRODUCTS - 100), None) for _ in range(500))
        )
        api_port, bare_port = free_port(), free_port()
        api_env = {
            **os.environ,
            "DATABASE_URL": database.sqlalchemy_url,
            "PORT": str(api_port),
            "HOST": "127.0.0.1",
            # The data path alone; what tokens and limits cost is measured by auth_cost.py.
            "AUTH_MODE": "off",
            "RATE_LIMIT_PER_SECOND": "0",
        }
        workers = load_settings(api_env).db_workers  # the bare handler gets the same threads
        api = f"http://127.0.0.1:{api_port}"
        with process([sys.executable, "-m", "inventory_api"], api_env, work / "api.log") as pid:
            _wait_http(f"{api}/readyz")
            script_env = {"PRODUCTS": str(PRODUCTS), "CURSORS": str(cursors)}
            for name, script in (
                ("api GET /products/{id}", "get_by_id.lua"),
                ("api GET /products?limit=50", "list_page.lua"),
                ("api POST stock-adjustments", "adjust.lua"),
            ):
                results[name] = wrk(name, api, HERE / script, duration, script_env, server_pid=pid)
                print(results[name].line(), flush=True)
        dsn = {
            "user": server.user,
            "password": server.password,
            "host": server.host,
            "port": server.port,
            "database": database.name,
        }
        bare_command = [
            sys.executable,
            "-m",
            "benchmarks.api.bare",
            str(bare_port),
            json.dumps(dsn),
        ]
        with process([*bare_command, str(workers)], dict(os.environ), work / "bare.log") as pid:
            _wait_http(f"http://127.0.0.1:{bare_port}/products/1")
            name = "bare GET /products/{id}"
            results[name] = wrk(
                name,
                f"http://127.0.0.1:{bare_port}",
                HERE / "get_by_id.lua",
                duration,
                {"PRODUCTS": str(PRODUCTS), "PATH_PREFIX": "/products/"},
                server_pid=pid,
            )
            print(results[name].line(), flush=True)
        tps = pgbench_select_only(server, duration)
        print(f"{'pgbench -S (32 clients)':<28} {tps:>10.0f} tps", flush=True)
    return report(results, tps)


def report(results: dict[str, WrkResult], pgbench_tps: float) -> bool:
    """Print the ratios and the target verdicts."""
    api_get = results["api GET /products/{id}"]
    bare_get = results["bare GET /products/{id}"]
    ratio = api_get.requests_per_second / bare_get.requests_per_second
    print()
    print(f"API GET by id / bare handler     {ratio:.2f}x   (target >= 0.60)")
    print(f"bare handler / pgbench -S        {bare_get.requests_per_second / pgbench_tps:.2f}x")
    print(f"API GET by id / pgbench -S       {api_get.requests_per_second / pgbench_tps:.2f}x")
    cpu_ratio = bare_get.server_cpu_us / api_get.server_cpu_us if api_get.server_cpu_us else 0.0
    print(f"bare / API server CPU per GET    {cpu_ratio:.2f}x   (load-independent efficiency)")
    api_runs = [r for name, r in results.items() if name.startswith("api ")]
    worst_p99 = max(r.p99_ms for r in api_runs)
    errors = sum(r.errors for r in api_runs)
    print(f"worst API p99                    {worst_p99:.2f} ms   (target < 50)")
    print(f"API errors                       {errors}   (target 0)")
    verdicts = {"ratio": ratio >= 0.6, "p99": worst_p99 < 50, "errors": errors == 0}
    print("targets:", ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in verdicts.items()))
    return all(verdicts.values())


def main() -> int:
    """Parse options, run, exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api.run")
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk/pgbench run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inventory-bench-") as tmp:
        return 0 if run(args.duration, Path(tmp)) else 1


if __name__ == "__main__":
    sys.exit(main())
