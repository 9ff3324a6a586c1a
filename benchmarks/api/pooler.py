"""GET by id through the pooler and directly, side by side: python -m benchmarks.api.pooler

One PostgreSQL (the benchmark's durable settings) with one loaded database, the pooler image
with the chart's own pgbouncer.ini (transaction mode, the chart's pool size), and three API
processes with the same settings except where and how they connect: `direct` (as before the
pooler), `pooled` (through the pooler in transaction-pooler mode, as the chart deploys the
serving pods) and `wrapped` (directly, but in transaction-pooler mode: its reads pay the same
BEGIN and COMMIT, so pooled / wrapped is what the pooler's hop costs, wrapped / direct what the
wrapping costs). wrk drives GET by id, every API in every round, the order rotating from round
to round so drifting machine load falls on all evenly.

The stopping rule is fixed before the run: exactly --rounds rounds of --duration seconds, no
early stop, no round dropped. The report gives each round's ratios, their median and spread
(min, max, interquartile range), the API processes' CPU per request, and the load average before
and after. Goal: median pooled / direct ratio at least 0.90 (the pooler costs at most 10%).
Exit status 1 when the goal is missed or a request failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.api.run import (
    HERE,
    PG_SETTINGS,
    PRODUCTS,
    WrkResult,
    _wait_http,
    load,
    process,
    wrk,
)
from tests.helm.rendering import Renderer
from tests.support.pooler import running_pooler
from tests.support.postgres import free_port, running_postgres
from tests.support.tools import require_tool
from tools.containers import build_image

GOAL = 0.90
MODES = ("direct", "pooled", "wrapped")
RATIOS = (("pooled", "direct"), ("wrapped", "direct"), ("pooled", "wrapped"))


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def run(rounds: int, duration: int, work: Path) -> bool:
    """Every API over `rounds` rounds; True when the goal holds and nothing failed."""
    image = build_image("pgbouncer", "bench")
    renderer = Renderer(helm=require_tool("helm", "make tools"), workdir=work / "helm")
    renderer.prepare()
    results: dict[str, list[WrkResult]] = {mode: [] for mode in MODES}
    with running_postgres(settings=PG_SETTINGS, prefix="inventory-bench-pg-") as server:
        database = server.create_database(name="inventory")
        load(database)
        with running_pooler(image, renderer, server, database.name) as pooler:
            # The data path alone, as benchmarks/api/run.py measures it; the same password file.
            base = {**os.environ, "HOST": "127.0.0.1", "AUTH_MODE": "off",
                    "RATE_LIMIT_PER_SECOND": "0",
                    "DATABASE_PASSWORD_FILE": str(pooler.password_file)}  # fmt: skip
            ports = {mode: free_port() for mode in MODES}
            urls = {"direct": database.url_without_password, "pooled": pooler.sqlalchemy_url,
                    "wrapped": database.url_without_password}  # fmt: skip
            envs = {
                mode: {**base, "PORT": str(ports[mode]), "DATABASE_URL": urls[mode],
                       "DB_TRANSACTION_POOLER": str(mode != "direct").lower()}
                for mode in MODES
            }  # fmt: skip
            command = [sys.executable, "-m", "inventory_api"]
            with ExitStack() as stack:
                pids = {
                    mode: stack.enter_context(process(command, envs[mode], work / f"{mode}.log"))
                    for mode in MODES
                }
                for mode in MODES:
                    _wait_http(f"http://127.0.0.1:{ports[mode]}/readyz")
                print(f"load average before: {load_average()}", flush=True)
                for number in range(1, rounds + 1):
                    shift = (number - 1) % len(MODES)
                    for mode in MODES[shift:] + MODES[:shift]:
                        result = wrk(
                            f"GET by id, {mode} #{number}",
                            f"http://127.0.0.1:{ports[mode]}",
                            HERE / "get_by_id.lua",
                            duration,
                            {"PRODUCTS": str(PRODUCTS)},
                            server_pid=pids[mode],
                        )
                        results[mode].append(result)
                        print(result.line(), flush=True)
                print(f"load average after: {load_average()}", flush=True)
    return report(results)


def report(results: dict[str, list[WrkResult]]) -> bool:
    """Per-round ratios, their median and spread, CPU per request, errors and the verdict."""
    errors = sum(r.errors for runs in results.values() for r in runs)
    print()
    medians = {}
    for upper, lower in RATIOS:
        pairs = zip(results[upper], results[lower], strict=True)
        ratios = [a.requests_per_second / b.requests_per_second for a, b in pairs]
        medians[upper, lower] = median = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
        print(f"{upper} / {lower} req/s per round: " + ", ".join(f"{r:.3f}" for r in ratios))
        print(f"    median {median:.3f}   min {min(ratios):.3f}   max {max(ratios):.3f}   "
              f"IQR {low:.3f}-{high:.3f}")  # fmt: skip
    for mode in MODES:
        runs = results[mode]
        rps = statistics.median(r.requests_per_second for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        cpu = statistics.median(r.server_cpu_us for r in runs)
        print(f"{mode:<8} median {rps:>7.0f} req/s   p50 {p50:>7.2f} ms   "
              f"API CPU {cpu:>6.0f} us/req")  # fmt: skip
    print(f"errors (socket + non-2xx): {errors}")
    met = medians["pooled", "direct"] >= GOAL
    print(f"goal: median pooled / direct >= {GOAL:.2f}: {'met' if met else 'MISSED'}")
    return met and errors == 0


def main() -> int:
    """Parse options, run, exit 1 when the goal is missed or a request failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api.pooler")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, fixed before the run")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    args = parser.parse_args()
    if args.rounds < 2 or args.duration < 1:
        parser.error("--rounds must be at least 2 (a spread needs two) and --duration at least 1")
    with tempfile.TemporaryDirectory(prefix="inventory-bench-pooler-") as tmp:
        return 0 if run(args.rounds, args.duration, Path(tmp)) else 1


if __name__ == "__main__":
    sys.exit(main())
