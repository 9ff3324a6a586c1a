"""A writer that records every acknowledged commit, and a watcher for two writable members.

Why threads against real members: a failover's two promises are observable only from outside.
No acknowledged commit may be lost (the writer's acknowledgements against the rows that
survive), and no member may accept writes unless it holds the leader lock (the watcher samples
every member's pg_is_in_recovery() between two reads of the lock).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import pg8000.native

from tests.ha.members import HaCluster, Member
from tests.support.outage import BackgroundLoop, longest_gap

PROBE_TABLE = "ha_probe"


@dataclass
class Writer(BackgroundLoop):
    """Inserts numbered rows one at a time into whichever member accepts them."""

    cluster: HaCluster
    acknowledged: dict[int, float] = field(default_factory=dict)
    failures: int = 0

    def _run(self) -> None:
        number = 0
        connection: pg8000.native.Connection | None = None
        members = list(self.cluster.members)
        while not self._stop.is_set():
            number += 1  # a fresh number per attempt: a failed commit may still have landed
            for member in [*members]:
                try:
                    if connection is None:
                        connection = self.cluster.connect(member)
                    connection.run(f"INSERT INTO {PROBE_TABLE} (n) VALUES (:n)", n=number)  # noqa: S608
                    self.acknowledged[number] = time.monotonic()
                    break
                except Exception:
                    self.failures += 1
                    if connection is not None:
                        with contextlib.suppress(Exception):
                            connection.close()
                    connection = None
                    members.append(members.pop(0))
            else:
                time.sleep(0.05)

    def longest_gap(self, since: float, until: float) -> float:
        """The write outage inside [since, until], while the writer may still be adding."""
        # list() copies the view in one step under the GIL; iterating the live view from this
        # thread fails as soon as the writer inserts ("dictionary changed size").
        return longest_gap(list(self.acknowledged.values()), since, until)


@dataclass
class WritableWatcher(BackgroundLoop):
    """Samples the leader lock and every member's writability; records every violation."""

    cluster: HaCluster
    violations: list[str] = field(default_factory=list)
    started_at: list[float] = field(default_factory=list)  # when each finished sample began

    @property
    def samples(self) -> int:
        return len(self.started_at)

    def samples_since(self, since: float) -> int:
        """Finished samples that began at or after `since` (monotonic clock)."""
        return sum(1 for at in self.started_at if at >= since)

    def _writable(self, member: Member) -> bool:
        try:
            connection = self.cluster.connect(member, timeout=1)
        except Exception:
            return False
        try:
            rows = connection.run("SELECT pg_is_in_recovery()")
            return rows[0][0] is False
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            before = self.cluster.leader_name()
            writable = [m.name for m in self.cluster.members if self._writable(m)]
            after = self.cluster.leader_name()
            self.started_at.append(began)
            if len(writable) > 1:
                self.violations.append(f"several writable members {writable}")
            for name in writable:
                if name not in (before, after):
                    self.violations.append(f"{name} writable while {before}/{after} led")
            time.sleep(0.1)
