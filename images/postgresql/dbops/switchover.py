"""Before a Patroni primary's pod stops: hand the leader lock to a replica by a switchover.

Why: on SIGTERM Patroni stops PostgreSQL and releases the lock, and the replicas then race for
it as after a failure (a failover, on the Kubernetes DCS within a loop or two). A switchover
is the controlled version: the primary checkpoints and stops, the chosen replica receives every
WAL record before it promotes, and the write pause is as short as it gets. This runs as the
postgres container's preStop hook, before Kubernetes sends the signal; on a replica it does
nothing.

Which replica: a StatefulSet rolling update replaces pods from the highest ordinal down, so a
member with a higher ordinal than this one already runs the new pod template and will not
restart again in this rollout. The candidate is a streaming member, the highest ordinal first,
then the least lag. The primary is thus restarted once, as a replica. Outside synchronous mode
a rollout switches over at most twice (twice only when the primary held the highest ordinal:
every other member still has its own restart to come).

In synchronous mode only a synchronous standby may take over (Patroni refuses the others, and
only a member in its /sync key holds every acknowledged commit). A rolling update restarts a
standby just before the primary: the StatefulSet moves on once it streams again (readiness),
but Patroni names it synchronous a loop later. So the hook waits, within its timeout, for a
synchronous standby before it switches over; without one Patroni's shutdown follows and no
member is promoted until this one is back (a longer write pause, never a lost commit).

Never fatal: with no candidate or a failed switchover it exits 0 and Patroni's own shutdown
follows; the outcome is written to the container log (PID 1's stdout), where a hook's output
otherwise never appears.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from dbops import patroni_api, patroni_members
from dbops.common import OpsError, int_setting, setting

ORDINAL = re.compile(r"-(\d+)$")
# The pod's environment this hook reads (the chart sets them on the postgresql container).
API_PORT, MEMBER, TIMEOUT = "HA_API_PORT", "HA_MEMBER_NAME", "HA_SWITCHOVER_TIMEOUT"
SETTINGS = (API_PORT, MEMBER, TIMEOUT)
API_LISTEN = "HA_API_LISTEN"  # where Patroni's REST API listens (patroni_config); optional
WILDCARDS = frozenset({"0.0.0.0", "::", "*"})  # noqa: S104 - listen addresses, not binds

Fetch = Callable[[str, str, Mapping[str, Any] | None, float], tuple[int, str]]
POLL_SECONDS = 1.0
SYNCHRONOUS_VALUES = frozenset({"on", "true", "yes", "1", "quorum"})


def _ordinal(name: str) -> int:
    match = ORDINAL.search(name)
    return int(match.group(1)) if match else -1


def choose_candidate(
    members: Sequence[Mapping[str, Any]], leader: str, synchronous_only: bool = False
) -> str | None:
    """The replica to hand over to (see the module docstring), or None when there is none."""
    streaming = [
        m
        for m in patroni_members.streaming_standbys(members)
        if m.get("name") != leader and not (m.get("tags") or {}).get("nofailover")
    ]
    synchronous = [m for m in streaming if m.get("role") in patroni_members.SYNCHRONOUS_ROLES]
    pool = synchronous if synchronous_only else synchronous or streaming
    if not pool:
        return None
    best = max(pool, key=lambda m: (_ordinal(str(m["name"])), -patroni_members.lag(m)))
    return str(best["name"])


def _get(fetch: Fetch, url: str) -> Any:
    status, text = fetch("GET", url, None, 10)
    if status != 200:
        raise OpsError(f"GET {url.rsplit('/', 1)[-1]} answered {status}: {text[:200]}")
    return json.loads(text)


def synchronous_mode(config: Mapping[str, Any]) -> bool:
    """Whether Patroni's dynamic configuration (GET /config) asks for synchronous replication,
    read as Patroni reads it (its parse_bool, or `quorum`); `strict` is synchronous_mode too."""
    return str(config.get("synchronous_mode")).lower() in SYNCHRONOUS_VALUES


def hand_over(
    api: str,
    me: str,
    timeout: float,
    *,
    fetch: Fetch = patroni_api.request,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Switch over from `me` when it leads; what happened, in one sentence."""
    deadline = time.monotonic() + timeout
    members = patroni_members.members(_get(fetch, f"{api}/cluster"))
    leader = patroni_members.leader(members)
    if leader is None or leader.get("name") != me:
        return f"{me} is not the primary: nothing to hand over"
    synchronous_only = synchronous_mode(_get(fetch, f"{api}/config"))
    candidate = choose_candidate(members, me, synchronous_only)
    if synchronous_only and candidate is None and patroni_members.streaming_standbys(members):
        log(f"switchover: {me} waits up to {timeout:.0f} s for a synchronous standby")
        while candidate is None and time.monotonic() + POLL_SECONDS < deadline:
            sleep(POLL_SECONDS)
            members = patroni_members.members(_get(fetch, f"{api}/cluster"))
            candidate = choose_candidate(members, me, synchronous_only)
        if candidate is None:
            return (f"{me} is the primary and no standby became synchronous within "
                    f"{timeout:.0f} s: Patroni's shutdown follows")  # fmt: skip
    if candidate is None:
        kind = "synchronous standby" if synchronous_only else "replica"
        return f"{me} is the primary but no {kind} is streaming: Patroni's shutdown follows"
    log(f"switchover: {me} hands over to {candidate}")
    started = time.monotonic()
    status, text = fetch("POST", f"{api}/switchover", {"leader": me, "candidate": candidate},
                         max(5.0, deadline - started))  # fmt: skip
    took = time.monotonic() - started
    if status != 200:
        raise OpsError(f"switchover to {candidate} refused ({status}): {text.strip()[:200]}")
    return f"{text.strip()} in {took:.1f} s"


def api_host() -> str:
    """This member's own REST API: the loopback address when Patroni listens on every address
    (the pod), else the one address it listens on."""
    listen = os.environ.get(API_LISTEN, "")
    return "127.0.0.1" if listen in WILDCARDS or not listen else listen


def _container_log() -> TextIO:
    """HA_HOOK_LOG (default PID 1's stdout: the container log) when writable, else our own."""
    try:
        return open(os.environ.get("HA_HOOK_LOG", "/proc/1/fd/1"), "a")
    except OSError:
        return sys.stdout


def main() -> int:
    """preStop hook: switch over when this member leads; always exit 0."""
    out = _container_log()

    def log(message: str) -> None:
        print(message, file=out, flush=True)

    try:
        api = f"http://{api_host()}:{int_setting(API_PORT, 8008, minimum=1)}"
        me = setting(MEMBER)
        timeout = int_setting(TIMEOUT, 60, minimum=5)
        log(f"switchover: {hand_over(api, me, timeout, log=log)}")
    except (OpsError, OSError, ValueError) as error:
        log(f"switchover: not switched over ({error}); Patroni's shutdown follows")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
