"""Which member a backup copies its files from: a streaming standby where one exists, else the
primary. Decided at run time, each time a backup job starts.

The repository host (the backup job, role `client`) lists every member as pg1..pgN: their
names under the headless Service (BACKUP_PG_HOST, comma-separated), each with its pgBackRest
TLS server. pgBackRest itself finds which of them is the primary when it connects, so a
failover never points a backup at a replica, and a member that is down is only a warning
("unable to check pgN").

pgBackRest 2.45 has `backup-standby=y|n` only (`prefer` came in 2.54): with `y` and no standby
reachable the backup aborts ("unable to find standby cluster"). So the job asks Patroni
(`GET /cluster` on the REST API of any member: every member answers from the same DCS) and
turns `backup-standby` on only when a replica is `streaming` and its TLS server accepts a
connection; the streaming standbys (least lag first) are listed first so pgBackRest, which
takes the first standby it finds, picks one of them. With one member, no streaming standby or
no Patroni answer, the backup runs from the primary, as without HA.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbops import patroni_api, patroni_members
from dbops.common import OpsError, int_setting


@dataclass(frozen=True)
class Source:
    """The pg hosts in pgN order, and whether pgBackRest copies from a standby."""

    hosts: tuple[str, ...]
    standby: bool
    leader: str | None = None
    standbys: tuple[str, ...] = ()
    reason: str = ""

    def report(self) -> dict[str, Any]:
        """What the job report records about the source."""
        return {
            "backup_from": "standby" if self.standby else "primary",
            "members": len(self.hosts),
            "standbys_streaming": len(self.standbys),
            "source_reason": self.reason,
        }


def pg_hosts(raw: str) -> tuple[str, ...]:
    """BACKUP_PG_HOST split into hosts (one without HA, every member with it); no duplicates."""
    hosts = tuple(host.strip() for host in raw.split(",") if host.strip())
    if len(set(hosts)) != len(hosts):
        raise OpsError(f"BACKUP_PG_HOST lists a host twice: {raw!r}")
    return hosts


def member_host(name: str, hosts: Iterable[str]) -> str | None:
    """The host of Patroni member `name` (the pod name: `<pod>.<headless service>`)."""
    return next((host for host in hosts if host == name or host.startswith(f"{name}.")), None)


def choose(
    hosts: Sequence[str],
    cluster: Mapping[str, Any] | None,
    accepts: Callable[[str], bool],
) -> Source:
    """Decide from Patroni's /cluster document (None: no member answered).

    `accepts(host)` says whether the member's pgBackRest TLS server takes a connection: a
    standby whose sidecar is down cannot serve a backup even while PostgreSQL streams.
    """
    hosts = tuple(hosts)
    if len(hosts) < 2:
        return Source(hosts, False, hosts[0] if hosts else None, (), "one member")
    if cluster is None:
        return Source(hosts, False, None, (), "Patroni did not answer: from the primary")
    members = patroni_members.members(cluster)
    lead = patroni_members.leader(members)
    leader = member_host(str(lead.get("name")), hosts) if lead is not None else None
    streaming = patroni_members.streaming_standbys(members)
    standbys = tuple(
        host
        for host in (member_host(str(m.get("name")), hosts) for m in streaming)
        if host is not None and host != leader and accepts(host)
    )
    if not standbys:
        return Source(hosts, False, leader, (), "no streaming standby: from the primary")
    ordered = (*standbys, *(host for host in hosts if host not in standbys))
    return Source(ordered, True, leader, standbys, "from a streaming standby")


def fetch_cluster(hosts: Sequence[str], port: int, timeout: float = 3.0) -> dict[str, Any] | None:
    """Patroni's GET /cluster from the first member that answers; None when none does."""
    for host in hosts:
        url = f"http://{host}:{port}/cluster"
        try:
            status, text = patroni_api.request("GET", url, None, timeout)
            document = json.loads(text) if status == 200 else None
        except (OSError, ValueError) as error:
            print(f"Patroni at {url} did not answer: {error}", file=sys.stderr)
            continue
        if isinstance(document, dict):
            return document
        print(f"Patroni at {url} answered {status}", file=sys.stderr)
    return None


def tls_accepts(host: str, timeout: float = 3.0) -> bool:
    """Whether the member's pgBackRest TLS server (BACKUP_TLS_PORT) takes a TCP connection."""
    port = int_setting("BACKUP_TLS_PORT", 8432, minimum=1)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def decide(hosts: Sequence[str]) -> Source:
    """The source for this run: asks Patroni (BACKUP_PATRONI_PORT, set by the chart under HA)."""
    if len(hosts) < 2 or not os.environ.get("BACKUP_PATRONI_PORT"):
        return choose(hosts, None, tls_accepts)
    port = int_setting("BACKUP_PATRONI_PORT", 8008, minimum=1)
    return choose(hosts, fetch_cluster(hosts, port), tls_accepts)
