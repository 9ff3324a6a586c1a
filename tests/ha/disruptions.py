"""The disruptions a database must survive, each measured as the writer saw it.

Shared by tests/ha (which asserts on them) and benchmarks/ha (which repeats them), so both
measure the same thing the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tests.ha.members import HaCluster, wait_until
from tests.ha.workload import WritableWatcher, Writer

SETTLE_SECONDS = 3.0
RECOVERY_TIMEOUT = 120.0
# Samples of the writability watcher each disruption waits for: the watcher's pace depends on
# the host's load, so the scenario waits for it instead of assuming a rate.
WATCHED_SAMPLES = 2


@dataclass(frozen=True)
class Disruption:
    """Who led before and after, and the longest time without an acknowledged write."""

    before: str
    after: str
    outage: float
    watched: int = 0  # watcher samples that began after the disruption started


def _resumed(writer: Writer, since: float) -> bool:
    return bool(writer.acknowledged) and max(writer.acknowledged.values()) > since


def _measure(
    cluster: HaCluster, writer: Writer, before: str, started: float,
    watcher: WritableWatcher | None,
) -> Disruption:  # fmt: skip
    wait_until(lambda: cluster.leader_name() not in (None, before), RECOVERY_TIMEOUT, "a leader")
    wait_until(lambda: _resumed(writer, started), RECOVERY_TIMEOUT, "writes again")
    time.sleep(SETTLE_SECONDS)
    outage = writer.longest_gap(started, time.monotonic())
    if watcher is not None:
        wait_until(lambda: watcher.samples_since(started) >= WATCHED_SAMPLES, RECOVERY_TIMEOUT,
                   f"{WATCHED_SAMPLES} writability samples")  # fmt: skip
    after = cluster.leader_name() or ""
    watched = watcher.samples_since(started) if watcher is not None else 0
    return Disruption(before, after, outage, watched)


def lose_primary(
    cluster: HaCluster, writer: Writer, *, graceful: bool, watcher: WritableWatcher | None = None
) -> Disruption:
    """Stop the primary with SIGTERM (what a pod deletion does: Patroni releases the lock) or
    kill it with SIGKILL (a node loss: the lock must expire). It stays down."""
    leader = cluster.wait_healthy(timeout=180)
    started = time.monotonic()
    (cluster.stop if graceful else cluster.kill)(cluster.member(leader))
    return _measure(cluster, writer, leader, started, watcher)


def rejoin(cluster: HaCluster, name: str) -> str:
    """Start a stopped member on its old data directory; its role once the cluster is healthy."""
    cluster.start(cluster.member(name))
    cluster.wait_healthy(timeout=180)
    return str(cluster.member(name).rest().get("role", ""))


def switch_over(
    cluster: HaCluster, writer: Writer, watcher: WritableWatcher | None = None
) -> Disruption:
    """`patronictl switchover` from the leader to a streaming replica."""
    leader = cluster.wait_healthy(timeout=180)
    candidate = next(m.name for m in cluster.members if m.name != leader)
    started = time.monotonic()
    cluster.patronictl("switchover", "--leader", leader, "--candidate", candidate, "--force")
    disruption = _measure(cluster, writer, leader, started, watcher)
    assert disruption.after == candidate, f"{disruption.after} leads, not {candidate}"
    return disruption
