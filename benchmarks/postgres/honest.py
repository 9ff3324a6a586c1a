"""The chart's tuning against PostgreSQL's defaults on the API's workload, measured honestly.

What makes it honest (docs/postgresql-tuning.md, "The honest benchmark"):
- The stopping rule is fixed before the run: --rounds rounds, every round reported, no early
  stop and no rerun-until-green. It is printed before the first measurement.
- Each server runs inside a memory cgroup of the pod's size (cgroup v1 `memory` or v2
  `memory.max`), so a worst case beyond the limit shows up as an OOM kill or a failcnt, and the
  peak usage is reported.
- The workload is the API's own statements (benchmarks/postgres/app_workload.py).
- A control pair: two servers with the chart's exact settings. Their ratio is the noise of this
  machine at this moment; the effect (chart / defaults) counts only where its spread lies
  outside the control's.
- Every ratio is reported per round, with its median and range.
- `--variant NAME:setting=value[,...]` (pgbench_tuning's syntax) adds the chart's set with those
  settings replaced; its ratio to chart-a is judged against the same control band.

    .venv/bin/python -m benchmarks.postgres.honest [--rounds 8] [--seconds 20] [--memory 2Gi]
    .venv/bin/python -m benchmarks.postgres.honest --variant jit-on:jit=on
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from benchmarks.postgres import app_workload
from benchmarks.postgres.chart_tuning import chart_tuning
from benchmarks.postgres.pgbench_tuning import parse_variant, server_cpu_seconds
from tests.support.postgres import PG_BIN, PostgresServer

TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
PROCESSED = re.compile(r"number of transactions actually processed: (\d+)")
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
UNITS = {"Mi": 1024**2, "Gi": 1024**3}


def megabytes(limit: str) -> int:
    return int(limit[:-2]) * UNITS[limit[-2:]]


@contextlib.contextmanager
def memory_cgroup(name: str, limit_bytes: int) -> Iterator[Path]:
    """A memory cgroup with `limit_bytes` as its hard limit; removed afterwards."""
    v1 = Path("/sys/fs/cgroup/memory")
    group = (v1 if v1.is_dir() else Path("/sys/fs/cgroup")) / name
    group.mkdir()
    try:
        limit_file = "memory.limit_in_bytes" if v1.is_dir() else "memory.max"
        (group / limit_file).write_text(str(limit_bytes))
        yield group
    finally:
        procs = (group / "cgroup.procs").read_text().split()
        if procs:
            raise RuntimeError(f"processes {procs} still in {group}")
        group.rmdir()


def cgroup_report(group: Path) -> dict[str, int]:
    """Peak memory and limit hits of the group (v1 or v2 file names)."""
    if (group / "memory.max_usage_in_bytes").exists():
        oom = (group / "memory.oom_control").read_text()
        kills = re.search(r"oom_kill (\d+)", oom)
        return {
            "peak_bytes": int((group / "memory.max_usage_in_bytes").read_text()),
            "limit_hits": int((group / "memory.failcnt").read_text()),
            "oom_kills": int(kills.group(1)) if kills else 0,
        }
    events = dict(line.split() for line in (group / "memory.events").read_text().splitlines())
    peak = group / "memory.peak"
    return {
        "peak_bytes": int(peak.read_text()) if peak.exists() else -1,
        "limit_hits": int(events.get("max", 0)),
        "oom_kills": int(events.get("oom_kill", 0)),
    }


class ConfinedServer(PostgresServer):
    """A PostgreSQL server whose every process starts inside `group` (children inherit it)."""

    def __init__(self, base_dir: Path, settings: Mapping[str, str], group: Path) -> None:
        super().__init__(base_dir, settings=settings)
        self.group = group

    def _command(self, *args: str) -> list[str]:
        enter = f'echo $$ > {self.group / "cgroup.procs"} && exec "$@"'
        return ["sh", "-c", enter, "sh", *super()._command(*args)]


def run_mix(
    server: PostgresServer, workload: list[str], args: argparse.Namespace
) -> tuple[float, float]:
    """One timed run of the API mix; returns tps and the server's CPU microseconds per
    transaction (the figure a loaded host moves least)."""
    cpu_before = server_cpu_seconds(server)
    env = {**os.environ, "PGPASSWORD": server.password}
    result = subprocess.run(
        [str(PG_BIN / "pgbench"), "-n", "-h", server.host, "-p", str(server.port),
         "-U", server.user, "-c", str(args.clients), "-j", "2", "-T", str(args.seconds),
         "-D", f"rows={args.rows}", *workload, "app"],
        capture_output=True, text=True, env=env, check=True, timeout=3600,
    )  # fmt: skip
    cpu = server_cpu_seconds(server) - cpu_before
    match, processed = TPS.search(result.stdout), PROCESSED.search(result.stdout)
    if match is None or processed is None:
        raise RuntimeError(f"no tps in pgbench output:\n{result.stdout}{result.stderr}")
    return float(match.group(1)), round(cpu * 1e6 / max(int(processed.group(1)), 1), 1)


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def outside(ratios: list[float], band: list[float]) -> bool:
    """True when every ratio lies beyond the control pair's band (the noise), on one side."""
    return min(ratios) > max(band) or max(ratios) < min(band)


def versus_chart(
    tps: Mapping[str, list[float]], cpu: Mapping[str, list[float]], name: str, band: list[float]
) -> dict[str, object]:
    """A variant per round against chart-a: tps and CPU per transaction ratios with spread."""
    ratio = [v / a for a, v in zip(tps["chart-a"], tps[name], strict=True)]
    cpu_ratio = [v / a for a, v in zip(cpu["chart-a"], cpu[name], strict=True)]
    return {
        "ratio_vs_chart_a": spread(ratio),
        "cpu_ratio_vs_chart_a": spread(cpu_ratio),
        "outside_noise": outside(ratio, band),
    }


def server_configs(
    tuned: dict[str, str], specs: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Every server's settings (the pair, the defaults, the variants) and the variants alone."""
    configs = {
        "chart-a": tuned,
        "chart-b": tuned,  # the control: same settings, its ratio to chart-a is the noise
        "defaults": {"max_connections": tuned["max_connections"], **DURABLE},
    }
    variants = dict(parse_variant(spec, tuned) for spec in specs)
    if clash := set(variants) & set(configs):
        raise argparse.ArgumentTypeError(f"--variant names {sorted(clash)} are taken")
    return {**configs, **variants}, variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="fixed before the run")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rows", type=int, default=app_workload.ROWS, help="products")
    parser.add_argument("--memory", default="2Gi", help="the pod's memory limit (Mi or Gi)")
    parser.add_argument("--cpu", default="2")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME:SETTING=VALUE[,...]",
        help="also run the chart's set with these settings replaced (repeatable), for A/B",
    )  # fmt: skip
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tuned = {**chart_tuning(args.memory, args.cpu), **DURABLE}
    try:
        configs, variants = server_configs(tuned, args.variant)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    changed = {n: {k: v for k, v in s.items() if tuned.get(k) != v} for n, s in variants.items()}
    print(
        f"stopping rule: {args.rounds} rounds x {args.seconds} s per server, rotated order, "
        "all rounds reported, no early stop; memory limit per server "
        f"{args.memory}; workload: API mix {app_workload.READS_PER_ADJUSTMENT}:1, "
        f"{args.rows} products, {args.clients} clients; variants vs chart-a: {changed or 'none'}",
        flush=True,
    )
    tps: dict[str, list[float]] = {name: [] for name in configs}
    cpu: dict[str, list[float]] = {name: [] for name in configs}
    load: list[float] = []
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="bench-honest-"))
        stack.callback(shutil.rmtree, work, True)
        os.chmod(work, 0o755)  # noqa: S103 - the postgres user reads the scripts
        workload = app_workload.scripts(work)
        servers: dict[str, ConfinedServer] = {}
        groups: dict[str, Path] = {}
        for name, settings in configs.items():
            group = stack.enter_context(
                memory_cgroup(
                    f"inventory-bench-{name}-{secrets.token_hex(3)}", megabytes(args.memory)
                )
            )
            server = ConfinedServer(work / name, settings, group)
            stack.callback(server.destroy)
            server.init()
            app_workload.load(server, args.rows)
            servers[name], groups[name] = server, group
            run_mix(server, workload, argparse.Namespace(**{**vars(args), "seconds": 5}))
        names = list(configs)
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                rate, cost = run_mix(servers[name], workload, args)
                tps[name].append(rate)
                cpu[name].append(cost)
                load.append(os.getloadavg()[0])
            row = "  ".join(f"{n} {tps[n][-1]:9.1f} ({cpu[n][-1]:.0f} us/tx)" for n in names)
            print(f"round {round_no + 1}: {row}  load {load[-1]:.2f}", flush=True)
        memory = {name: cgroup_report(group) for name, group in groups.items()}
        for server in servers.values():
            server.stop()
    noise = [b / a for a, b in zip(tps["chart-a"], tps["chart-b"], strict=True)]
    effect = [a / d for a, d in zip(tps["chart-a"], tps["defaults"], strict=True)]
    band = noise + [1 / ratio for ratio in noise]  # which of the pair is "a" is arbitrary
    cpu_noise = [b / a for a, b in zip(cpu["chart-a"], cpu["chart-b"], strict=True)]
    report = {
        "rounds": args.rounds, "seconds": args.seconds, "clients": args.clients,
        "rows": args.rows, "memory_limit": args.memory, "tps": tps, "cpu_us_per_tx": cpu,
        "load_1min": spread(load), "control_ratio_chart_b_vs_chart_a": spread(noise),
        "control_cpu_ratio_chart_b_vs_chart_a": spread(cpu_noise),
        "effect_ratio_chart_vs_defaults": spread(effect), "memory": memory,
        "effect_outside_noise": outside(effect, band),
        "variants": {name: versus_chart(tps, cpu, name, band) for name in variants},
    }  # fmt: skip
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
