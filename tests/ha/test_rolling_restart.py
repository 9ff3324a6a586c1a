"""Two Patroni members in synchronous mode `on` (the local target's and staging's) through the
steps of a StatefulSet rolling update, with the image's own preStop hook, under a writer.

A rolling update restarts the replica first and moves on once it streams again (readiness);
then the primary's preStop hook runs before its stop. With `on`, the primary commits alone
while the replica is down, and Patroni names the returning replica synchronous only a loop
after it streams: the hook must wait for that, or hand over to nobody. The promise: no
acknowledged commit lost, and the lock moved by a switchover, not by a lost leader.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ha.disruptions import RECOVERY_TIMEOUT, SETTLE_SECONDS
from tests.ha.kubeapi import KubeApi
from tests.ha.members import (
    IMAGE_DIR,
    SYSTEM_PYTHON,
    HaCluster,
    Member,
    running_cluster,
    wait_until,
)
from tests.ha.workload import PROBE_TABLE, Writer

pytestmark = pytest.mark.slow
HOOK_TIMEOUT_SECONDS = 60  # the chart's HA_SWITCHOVER_TIMEOUT: half its 120 s grace period


@dataclass
class RollingUpdate:
    """The leaders before and after, what the hook said, the acknowledgements and the rows."""

    before: str
    after: str
    hook_log: str
    writer: Writer
    surviving: set[int]
    outage: float  # the longest time without an acknowledged commit, from the replica's stop


def _ready(member: Member) -> bool:
    """What the StatefulSet waits for before it moves on: the chart's readiness probe (GET
    /readiness answers 200 for a replica only while it streams)."""
    url = f"http://{member.address}:{member.api_port}/readiness"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except OSError:  # 503, or not listening yet
        return False


def run_prestop_hook(member: Member, log: Path) -> str:
    """`python3 -m dbops.switchover` with the member's environment, as the kubelet runs it."""
    env = {**member.env, "HA_SWITCHOVER_TIMEOUT": str(HOOK_TIMEOUT_SECONDS),
           "HA_HOOK_LOG": str(log), "PYTHONPATH": str(IMAGE_DIR)}  # fmt: skip
    result = subprocess.run(
        [SYSTEM_PYTHON, "-m", "dbops.switchover"], env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=HOOK_TIMEOUT_SECONDS + 30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return log.read_text()


def _roll(cluster: HaCluster, work: Path) -> RollingUpdate:
    first = cluster.wait_healthy()
    setup = cluster.connect(cluster.member(first))
    setup.run(f"CREATE TABLE {PROBE_TABLE} (n bigint NOT NULL)")
    setup.close()
    writer = Writer(cluster)
    writer.start()
    try:
        time.sleep(SETTLE_SECONDS)
        leader = cluster.wait_healthy()
        (replica,) = (m for m in cluster.members if m.name != leader)
        started = time.monotonic()
        cluster.stop(replica)  # the replica's pod goes first...
        time.sleep(SETTLE_SECONDS)  # ...and the primary commits alone meanwhile
        cluster.start(replica)
        wait_until(lambda: _ready(replica), RECOVERY_TIMEOUT, f"{replica.name} ready")
        primary = cluster.member(leader)
        hook_log = run_prestop_hook(primary, work / "prestop.log")  # then the primary's pod
        cluster.stop(primary)
        cluster.start(primary)
        after = cluster.wait_healthy(timeout=RECOVERY_TIMEOUT)
        time.sleep(SETTLE_SECONDS)
        outage = writer.longest_gap(started, time.monotonic())
    finally:
        writer.stop()
    final = cluster.connect(cluster.member(after))
    rows = final.run(f"SELECT n FROM {PROBE_TABLE}")  # noqa: S608 - a constant name
    final.close()
    surviving = {int(row[0]) for row in rows}
    return RollingUpdate(leader, after, hook_log, writer, surviving, outage)


@pytest.fixture(scope="module")
def rolled(kube_api: KubeApi, ha_work: Path) -> Iterator[RollingUpdate]:
    with running_cluster(kube_api, ha_work / "rolling-on", 2, "on") as cluster:
        result = _roll(cluster, ha_work)
        print(
            f"\nrolling update (host, synchronous on, 2 members): {result.before} -> "
            f"{result.after}, {len(result.writer.acknowledged)} acknowledged, write outage "
            f"{result.outage:.1f} s; hook: {result.hook_log.strip()}"
        )
        yield result


def test_the_hook_waits_for_the_returning_standby_and_switches_over_to_it(
    rolled: RollingUpdate,
) -> None:
    assert "successfully switched over" in rolled.hook_log.lower(), rolled.hook_log
    assert rolled.after != rolled.before


def test_a_rolling_update_in_synchronous_mode_on_loses_no_acknowledged_commit(
    rolled: RollingUpdate,
) -> None:
    assert rolled.writer.acknowledged, "the writer never committed"
    lost = set(rolled.writer.acknowledged) - rolled.surviving
    assert not lost, f"{len(lost)} acknowledged rows missing, e.g. {sorted(lost)[:10]}"
