"""pgbench: PostgreSQL defaults vs the chart's computed tuning, read-only and read-write.

Every server (defaults, the chart's set, and optional A/B variants of the chart's set with one
setting changed) holds the same pgbench data and runs durable (fsync on). The default scale (20,
about 300 MB of accounts table and index) is the range where a larger shared_buffers is meant to
pay: more than 2x the default 128 MB, well inside the tuned 512 MB of a 2 GiB pod, with room for
the growth the read-write runs cause (docs/postgresql-tuning.md explains the choice). After
loading, each server is checkpointed and its hot relations are prewarmed, so every server starts
from the same state. Runs are interleaved: read-only rounds first (on unchanged data), then
read-write rounds, with the order rotated every round so no server is always first; the 1-minute
load average is recorded next to every run because the machine is shared.

Besides tps, every run reports the server's CPU time per transaction (all PostgreSQL processes,
from /proc): on a busy shared host tps swings by tens of percent with other people's load,
while CPU per transaction measures how much work a setting costs and barely moves.

    .venv/bin/python -m benchmarks.postgres.pgbench_tuning [--rounds 5] [--seconds 20]
    .venv/bin/python -m benchmarks.postgres.pgbench_tuning --variant hp-off:huge_pages=off
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from benchmarks.postgres.chart_tuning import chart_tuning
from tests.support.postgres import PG_BIN, PostgresServer, running_postgres

MODES = {"read-only": ["-S"], "read-write": []}
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
HOT_RELATIONS = ("pgbench_accounts", "pgbench_accounts_pkey", "pgbench_branches", "pgbench_tellers")


def pgbench(server: PostgresServer, database: str, *args: str) -> str:
    """Run pgbench as the application role over TCP; returns its output."""
    env = {**os.environ, "PGPASSWORD": server.password}
    result = subprocess.run(
        [str(PG_BIN / "pgbench"), "-h", server.host, "-p", str(server.port), "-U", server.user,
         *args, database],
        capture_output=True, text=True, env=env, check=True, timeout=3600,
    )  # fmt: skip
    return result.stdout + result.stderr


def _ticks(pid: int, with_children: bool) -> int:
    """utime+stime (and the reaped children's cutime+cstime) of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    used = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))
    return used + (int(fields[13]) + int(fields[14]) if with_children else 0)


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def server_cpu_seconds(server: PostgresServer) -> float:
    """CPU time used so far by the whole server: postmaster, live children, exited backends."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    ticks = _ticks(postmaster, with_children=True)
    for child in _children(postmaster):
        try:
            ticks += _ticks(child, with_children=False)
        except FileNotFoundError:  # exited between listing and reading; counted once reaped
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _settle(server: PostgresServer, baseline: int) -> None:
    """Wait until the run's backends have exited and been reaped (their CPU then counts)."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    deadline = time.monotonic() + 5
    while len(_children(postmaster)) > baseline and time.monotonic() < deadline:
        time.sleep(0.05)


def run_mode(server: PostgresServer, mode: str, clients: int, seconds: int) -> float:
    """One timed pgbench run; returns tps."""
    return measure(server, mode, clients, seconds)[0]


def measure(server: PostgresServer, mode: str, clients: int, seconds: int) -> tuple[float, float]:
    """One timed pgbench run; returns (tps, server CPU microseconds per transaction)."""
    postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    baseline = len(_children(postmaster))
    cpu_before = server_cpu_seconds(server)
    out = pgbench(server, "bench", *MODES[mode], "-c", str(clients), "-j", "2", "-T", str(seconds))
    _settle(server, baseline)
    cpu = server_cpu_seconds(server) - cpu_before
    match = TPS.search(out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    if match is None or done is None:
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    return float(match.group(1)), cpu * 1e6 / max(1, int(done.group(1)))


def prepare(server: PostgresServer, scale: int) -> None:
    """Load pgbench data, checkpoint, prewarm: the same starting state on every server."""
    server.create_database(name="bench")
    pgbench(server, "bench", "-i", "-q", "-s", str(scale))
    server.superuser_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm", dbname="bench")
    server.superuser_sql("CHECKPOINT")
    for relation in HOT_RELATIONS:
        server.superuser_sql(f"SELECT pg_prewarm('{relation}')", dbname="bench")


def parse_variant(spec: str, tuned: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """`NAME:setting=value,...` -> (NAME, the chart's settings with those replaced)."""
    name, sep, assignments = spec.partition(":")
    pairs = [item.partition("=") for item in assignments.split(",") if item]
    if not sep or not name or not pairs or any(not k or not eq for k, eq, _ in pairs):
        raise argparse.ArgumentTypeError(f"--variant {spec!r}: expected NAME:setting=value[,...]")
    return name, {**tuned, **{key.strip(): value.strip() for key, _, value in pairs}}


Series = dict[str, dict[str, list[float]]]  # server -> mode -> one value per round


def interleaved(
    configs: Mapping[str, Mapping[str, str]], modes: list[str], args: argparse.Namespace
) -> tuple[Series, Series, Series]:
    """Start every server, prepare it, run the rotated rounds; returns (tps, us/tx, load)."""
    names = list(configs)
    tps_runs: Series = {n: {m: [] for m in modes} for n in names}
    cpu_runs: Series = {n: {m: [] for m in modes} for n in names}
    load_runs: Series = {n: {m: [] for m in modes} for n in names}
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(running_postgres(settings, prefix=f"bench-{name}-"))
            for name, settings in configs.items()
        }
        for name, server in servers.items():
            prepare(server, args.scale)
            print(f"{name}: scale {args.scale} loaded, checkpointed, prewarmed", flush=True)
        for mode in modes:
            for name in names:  # a short untimed run: connections, plans, caches
                run_mode(servers[name], mode, args.clients, 5)
            for round_no in range(args.rounds):
                shift = round_no % len(names)
                for name in names[shift:] + names[:shift]:
                    tps, cpu = measure(servers[name], mode, args.clients, args.seconds)
                    load = os.getloadavg()[0]
                    tps_runs[name][mode].append(tps)
                    cpu_runs[name][mode].append(cpu)
                    load_runs[name][mode].append(load)
                    line = f"round {round_no + 1} {mode:10} {name:12} {tps:10.1f} tps"
                    print(f"{line} {cpu:7.1f} us/tx  load {load:5.2f}", flush=True)
    return tps_runs, cpu_runs, load_runs


def summarise(modes: list[str], tps: Series, cpu: Series, load: Series) -> dict[str, object]:
    """Print medians and ratios (to defaults and to the chart's set); return them for JSON."""
    medians: dict[str, object] = {}
    print(f"\n{'mode':10}  {'server':12}  {'median tps':>10}  {'vs defaults':>11}  "
          f"{'vs tuned':>8}  {'us/tx':>7}  {'vs tuned':>8}  load (median)")  # fmt: skip
    for mode in modes:
        base = statistics.median(tps["defaults"][mode])
        chart = statistics.median(tps["tuned"][mode])
        chart_cpu = statistics.median(cpu["tuned"][mode])
        rows = {}
        for name in tps:
            row = {
                "tps": statistics.median(tps[name][mode]),
                "cpu_us_per_tx": round(statistics.median(cpu[name][mode]), 1),
                "load_1min": statistics.median(load[name][mode]),
            }
            rows[name] = row
            print(f"{mode:10}  {name:12}  {row['tps']:10.1f}  {row['tps'] / base:11.3f}  "
                  f"{row['tps'] / chart:8.3f}  {row['cpu_us_per_tx']:7.1f}  "
                  f"{row['cpu_us_per_tx'] / chart_cpu:8.3f}  {row['load_1min']:.2f}")  # fmt: skip
        medians[mode] = {"ratio_tuned_vs_defaults": round(chart / base, 3), "servers": rows}
    return medians


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the report (text and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scale", type=int, default=20, help="~15 MB per unit")
    parser.add_argument("--memory", default="2Gi")
    parser.add_argument("--cpu", default="2")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME:SETTING=VALUE[,...]",
        help="also run the chart's set with these settings replaced (repeatable), for A/B",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # A plain `kill` must still stop and delete the servers (context managers run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    modes = args.modes.split(",")
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; choose from {list(MODES)}")
    tuned = chart_tuning(args.memory, args.cpu)
    configs: dict[str, dict[str, str]] = {
        "defaults": {"max_connections": tuned["max_connections"]},
        "tuned": tuned,
    }
    configs.update(parse_variant(spec, tuned) for spec in args.variant)
    print(f"chart tuning for memory={args.memory} cpu={args.cpu}: {tuned}")
    tps, cpu, load = interleaved(configs, modes, args)
    report = {
        "scale": args.scale, "seconds": args.seconds, "clients": args.clients,
        "rounds": args.rounds, "settings": configs, "tps": tps, "cpu_us_per_tx": cpu,
        "load_1min": load, "medians": summarise(modes, tps, cpu, load),
    }  # fmt: skip
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
