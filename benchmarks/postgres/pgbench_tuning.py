"""pgbench: PostgreSQL defaults vs the chart's computed tuning, read-only and read-write.

Both servers hold the same pgbench data (scale chosen to exceed the default 128 MB of
shared_buffers but fit the tuned size), run durable (fsync on), and are measured in
interleaved rounds (D,T then T,D ...) so drift on the shared machine hits both equally; the
report gives per-round tps, medians and tuned/default ratios.

    .venv/bin/python -m benchmarks.postgres.pgbench_tuning [--rounds 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
from collections.abc import Mapping

from benchmarks.postgres.chart_tuning import chart_tuning
from tests.support.postgres import PG_BIN, PostgresServer, running_postgres

MODES = {"read-only": ["-S"], "read-write": []}
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def pgbench(server: PostgresServer, database: str, *args: str) -> str:
    """Run pgbench as the application role over TCP; returns its output."""
    env = {**os.environ, "PGPASSWORD": server.password}
    result = subprocess.run(
        [str(PG_BIN / "pgbench"), "-h", server.host, "-p", str(server.port), "-U", server.user,
         *args, database],
        capture_output=True, text=True, env=env, check=True, timeout=3600,
    )  # fmt: skip
    return result.stdout + result.stderr


def run_mode(server: PostgresServer, mode: str, clients: int, seconds: int) -> float:
    """One timed pgbench run; returns tps."""
    out = pgbench(server, "bench", *MODES[mode], "-c", str(clients), "-j", "2", "-T", str(seconds))
    match = TPS.search(out)
    if match is None:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    return float(match.group(1))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the report (text and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scale", type=int, default=30, help="~15 MB per unit")
    parser.add_argument("--memory", default="2Gi")
    parser.add_argument("--cpu", default="2")
    args = parser.parse_args(argv)

    tuned = chart_tuning(args.memory, args.cpu)
    configs: Mapping[str, dict[str, str]] = {
        "defaults": {"max_connections": tuned["max_connections"]},
        "tuned": tuned,
    }
    print(f"chart tuning for memory={args.memory} cpu={args.cpu}: {tuned}")
    results: dict[str, dict[str, list[float]]] = {c: {m: [] for m in MODES} for c in configs}
    with (
        running_postgres(configs["defaults"], prefix="bench-defaults-") as defaults,
        running_postgres(configs["tuned"], prefix="bench-tuned-") as tuned_server,
    ):
        servers = {"defaults": defaults, "tuned": tuned_server}
        for name, server in servers.items():
            server.create_database(name="bench")
            pgbench(server, "bench", "-i", "-q", "-s", str(args.scale))
            for mode in MODES:  # warm the caches and the plans
                run_mode(server, mode, args.clients, 5)
            print(f"{name}: initialised scale {args.scale} and warmed up", flush=True)
        for round_no in range(args.rounds):
            order = ["defaults", "tuned"] if round_no % 2 == 0 else ["tuned", "defaults"]
            for mode in MODES:
                for name in order:
                    tps = run_mode(servers[name], mode, args.clients, args.seconds)
                    results[name][mode].append(tps)
                    print(f"round {round_no + 1} {mode:10} {name:8} {tps:10.1f} tps", flush=True)

    report: dict[str, object] = {"settings": {"tuned": tuned}, "runs": results}
    print("\nmode        defaults(median)  tuned(median)  ratio")
    for mode in MODES:
        base = statistics.median(results["defaults"][mode])
        best = statistics.median(results["tuned"][mode])
        report[mode] = {"defaults_tps": base, "tuned_tps": best, "ratio": round(best / base, 3)}
        print(f"{mode:10}  {base:16.1f}  {best:13.1f}  {best / base:5.3f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
