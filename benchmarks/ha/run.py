"""Failover and switchover, N times each, under a writer: the write-outage distribution.

On demand (never a timed test): three Patroni members on the host over a bare Kubernetes API,
exactly the tests/ha setup (the image's renderer and Patroni lock, the chart's Role), with the
production settings except the shortest timings Patroni accepts unless overridden.

    PYTHONPATH=images/postgresql .venv/bin/python -m benchmarks.ha.run --rounds 5

Three disruptions per round: the primary stopped with SIGTERM (what deleting its pod does:
Patroni releases the lock), killed with SIGKILL (a node loss: the lock must expire, at most
ttl), and `patronictl switchover`. Prints each outage, the distributions, and the
acknowledged writes lost (must be 0 in synchronous mode).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from tests.ha.disruptions import lose_primary, rejoin, switch_over
from tests.ha.kubeapi import running_kube_api
from tests.ha.members import grant_member_role, running_cluster
from tests.ha.workload import PROBE_TABLE, WritableWatcher, Writer
from tests.support.outage import Distribution


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="failovers and switchovers each")
    parser.add_argument("--members", type=int, default=3, choices=(2, 3, 4, 5))
    parser.add_argument("--synchronous", default="strict", choices=("off", "on", "strict"))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="inventory-ha-bench-"))
    work.chmod(0o755)
    deletions: list[float] = []
    failovers: list[float] = []
    switchovers: list[float] = []
    try:
        with running_kube_api(work / "api") as api:
            grant_member_role(api)
            with running_cluster(api, work / "members", args.members, args.synchronous) as cluster:
                leader = cluster.wait_healthy()
                setup = cluster.connect(cluster.member(leader))
                setup.run(f"CREATE TABLE {PROBE_TABLE} (n bigint NOT NULL)")
                setup.close()
                writer, watcher = Writer(cluster), WritableWatcher(cluster)
                writer.start()
                watcher.start()
                for round_number in range(1, args.rounds + 1):
                    for graceful, outages in ((True, deletions), (False, failovers)):
                        lost_member = lose_primary(
                            cluster, writer, graceful=graceful, watcher=watcher
                        )
                        outages.append(lost_member.outage)
                        rejoin(cluster, lost_member.before)
                    switchovers.append(switch_over(cluster, writer, watcher).outage)
                    print(
                        f"round {round_number}: stopped {deletions[-1]:.1f} s, killed "
                        f"{failovers[-1]:.1f} s, switchover {switchovers[-1]:.1f} s",
                        flush=True,
                    )
                writer.stop()
                watcher.stop()
                final = cluster.connect(cluster.member(cluster.wait_healthy(timeout=180)))
                rows = final.run(f"SELECT n FROM {PROBE_TABLE}")  # noqa: S608 - constant name
                final.close()
                lost = set(writer.acknowledged) - {int(row[0]) for row in rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"members {args.members}, synchronous {args.synchronous}")
    print(f"primary stopped (pod deletion) outage: {Distribution(tuple(deletions)).summary()}")
    print(f"primary killed (node loss) outage: {Distribution(tuple(failovers)).summary()}")
    print(f"switchover write outage: {Distribution(tuple(switchovers)).summary()}")
    print(
        f"acknowledged writes {len(writer.acknowledged)}, lost {len(lost)}; "
        f"split-brain samples {watcher.samples}, violations {len(watcher.violations)}"
    )
    return 1 if (lost and args.synchronous != "off") or watcher.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
