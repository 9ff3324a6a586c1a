"""Three Patroni members under a writer: lose the primary, rejoin it, then a planned switchover.

One scenario runs once (module fixture) and each test asserts one promise about what it saw:
the settings are the production ones (strict synchronous mode, failsafe, pg_rewind) except the
shortest timings Patroni accepts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ha.disruptions import (
    SETTLE_SECONDS,
    WATCHED_SAMPLES,
    Disruption,
    lose_primary,
    rejoin,
    switch_over,
)
from tests.ha.kubeapi import KubeApi
from tests.ha.members import HaCluster, running_cluster
from tests.ha.workload import PROBE_TABLE, WritableWatcher, Writer
from tests.helm import rule_source

pytestmark = pytest.mark.slow


@dataclass
class Scenario:
    """What happened: each disruption, the writer's acknowledgements, the watcher's findings."""

    cluster: HaCluster
    writer: Writer
    watcher: WritableWatcher
    stopped: Disruption
    killed: Disruption
    switched: Disruption
    rejoined_role: str
    surviving: set[int]


def _run_scenario(cluster: HaCluster) -> Scenario:
    first = cluster.wait_healthy()
    setup = cluster.connect(cluster.member(first))
    setup.run(f"CREATE TABLE {PROBE_TABLE} (n bigint NOT NULL)")
    setup.close()
    writer, watcher = Writer(cluster), WritableWatcher(cluster)
    writer.start()
    watcher.start()
    time.sleep(SETTLE_SECONDS)
    stopped = lose_primary(cluster, writer, graceful=True, watcher=watcher)
    rejoin(cluster, stopped.before)
    killed = lose_primary(cluster, writer, graceful=False, watcher=watcher)
    rejoined_role = rejoin(cluster, killed.before)  # same data directory: rewind, then follow
    switched = switch_over(cluster, writer, watcher)
    writer.stop()
    watcher.stop()
    final = cluster.connect(cluster.member(switched.after))
    rows = final.run(f"SELECT n FROM {PROBE_TABLE}")  # noqa: S608 - a constant name
    final.close()
    surviving = {int(row[0]) for row in rows}
    return Scenario(cluster, writer, watcher, stopped, killed, switched, rejoined_role, surviving)


@pytest.fixture(scope="module")
def scenario(kube_api: KubeApi, ha_work: Path) -> Iterator[Scenario]:
    with running_cluster(kube_api, ha_work / "strict", 3, "strict") as cluster:
        result = _run_scenario(cluster)
        print(
            f"\nHA write outage (host, strict synchronous): primary stopped "
            f"{result.stopped.outage:.1f} s, killed {result.killed.outage:.1f} s, switchover "
            f"{result.switched.outage:.1f} s; {len(result.writer.acknowledged)} acknowledged"
        )
        yield result


def test_losing_the_primary_promotes_another_member(scenario: Scenario) -> None:
    for lost in (scenario.stopped, scenario.killed):
        assert lost.after not in ("", lost.before)
    assert scenario.writer.acknowledged, "the writer never committed"


def test_no_acknowledged_commit_is_lost_in_strict_synchronous_mode(scenario: Scenario) -> None:
    lost = set(scenario.writer.acknowledged) - scenario.surviving
    assert not lost, f"{len(lost)} acknowledged rows missing, e.g. {sorted(lost)[:10]}"


def test_no_member_accepts_writes_while_another_holds_the_lock(scenario: Scenario) -> None:
    for disruption in (scenario.stopped, scenario.killed, scenario.switched):
        assert disruption.watched >= WATCHED_SAMPLES, f"unwatched: {disruption}"
    assert not scenario.watcher.violations, scenario.watcher.violations[:5]


def test_the_old_primary_rejoins_as_a_replica_through_pg_rewind(scenario: Scenario) -> None:
    assert scenario.rejoined_role == "replica"
    log = scenario.cluster.member(scenario.killed.before).log.read_text()
    assert "pg_rewind" in log, "the old primary rejoined without pg_rewind"


def test_a_planned_switchover_moves_the_lock_to_the_candidate(scenario: Scenario) -> None:
    views = scenario.cluster.states()
    assert views[scenario.switched.after]["role"] == "primary"
    assert sum(v.get("role") == "primary" for v in views.values()) == 1


def test_the_application_role_and_database_come_from_post_bootstrap(scenario: Scenario) -> None:
    connection = scenario.cluster.connect(scenario.cluster.member(scenario.switched.after))
    rows = connection.run("SELECT current_user, current_database()")
    connection.close()
    assert rows == [["inventory", "inventory"]]


def test_patroni_exports_role_sync_and_replication_series(scenario: Scenario) -> None:
    """What the HA alerts read: role, leader presence, synchronous standbys, replay position."""
    scenario.cluster.wait_healthy()  # after the switchover, until a synchronous standby is chosen
    leader = scenario.cluster.member(scenario.switched.after).metrics()
    assert leader["patroni_primary"] == 1
    assert leader["patroni_cluster_unlocked"] == 0
    assert leader["patroni_failsafe_mode_is_active"] in (0, 1)
    replicas = [m.metrics() for m in scenario.cluster.members if m.name != scenario.switched.after]
    assert all(r["patroni_replica"] == 1 for r in replicas)
    assert sum(r["patroni_sync_standby"] for r in replicas) == 1, "strict mode: one sync standby"
    assert all(r["patroni_xlog_replayed_location"] > 0 for r in replicas)


def test_every_series_the_patroni_alerts_read_is_in_a_members_scrape(scenario: Scenario) -> None:
    """The HA rule groups watch only series Patroni really serves (besides the scraper's `up`),
    and the failover and switchover moved the timeline PatroniLeaderChanged compares."""
    leader = scenario.cluster.member(scenario.switched.after).metrics()
    unseen = {
        rule: sorted(names - leader.keys() - rule_source.NON_EXPORTER_SERIES.keys())
        for rule, names in rule_source.series_read("postgresql", rule_source.PATRONI_GROUPS).items()
    }
    assert not {rule: names for rule, names in unseen.items() if names}
    assert leader["patroni_postgres_timeline"] >= 3, "two promotions: two new timelines"
