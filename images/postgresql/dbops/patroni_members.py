"""How Patroni's `GET /cluster` document describes members, read alike by every hook and job.

Why one module: the backup job (which member to copy from) and the preStop hook (which member
to hand the lock to) must agree on who leads and who may serve; Patroni has renamed roles over
versions (master -> primary -> leader) and added synchronous and quorum standbys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

LEADER_ROLES = frozenset({"leader", "primary", "master"})
SYNCHRONOUS_ROLES = frozenset({"sync_standby", "quorum_standby"})
STANDBY_ROLES = frozenset({"replica"}) | SYNCHRONOUS_ROLES
STREAMING = "streaming"


def members(cluster: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's member entries (anything else in the list is ignored)."""
    return [m for m in cluster.get("members", []) if isinstance(m, Mapping)]


def leader(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The member holding the leader lock, if any."""
    return next((m for m in entries if m.get("role") in LEADER_ROLES), None)


def streaming_standbys(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Standbys receiving WAL now, least lag first (an unknown lag sorts last)."""
    return sorted(
        (m for m in entries if m.get("role") in STANDBY_ROLES and m.get("state") == STREAMING),
        key=lag,
    )


def lag(member: Mapping[str, Any]) -> float:
    """Replication lag in bytes as Patroni reports it; infinite when unknown."""
    value = member.get("lag")
    return float(value) if isinstance(value, int | float) else math.inf
