"""Before a Patroni primary's pod stops: hand the leader lock to a replica by a switchover.

Why: on SIGTERM Patroni stops PostgreSQL and releases the lock, and the replicas then race for
it as after a failure (a failover, on the Kubernetes DCS within a loop or two). A switchover
is the controlled version: the primary checkpoints and stops, the chosen replica receives every
WAL record before it promotes, and the write pause is as short as it gets. This runs as the
postgres container's preStop hook, before Kubernetes sends the signal; on a replica it does
nothing.

Which replica: a StatefulSet rolling update replaces pods from the highest ordinal down, so a
member with a higher ordinal than this one already runs the new pod template and will not
restart again in this rollout. The candidate is a streaming member (in synchronous mode only
a synchronous standby: Patroni refuses the others), the highest ordinal first, then the least
lag. The primary is thus restarted once, as a replica. Outside synchronous mode a rollout
switches over at most twice (twice only when the primary held the highest ordinal: every other
member still has its own restart to come); in synchronous mode the synchronous standby is the
only candidate, wherever it stands in the order.

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
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from dbops import patroni_members
from dbops.common import OpsError, int_setting, setting

ORDINAL = re.compile(r"-(\d+)$")
# The pod's environment this hook reads (the chart sets them on the postgresql container).
API_PORT, MEMBER, TIMEOUT = "HA_API_PORT", "HA_MEMBER_NAME", "HA_SWITCHOVER_TIMEOUT"
SETTINGS = (API_PORT, MEMBER, TIMEOUT)

Fetch = Callable[[str, str, Mapping[str, Any] | None, float], tuple[int, str]]


def http(method: str, url: str, body: Mapping[str, Any] | None, timeout: float) -> tuple[int, str]:
    """One request to Patroni's REST API: (status, body text); a refused connection raises."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the URL is this pod's own REST API
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:  # Patroni answers 412/503 with a reason
        return int(error.code), error.read().decode(errors="replace")


def _ordinal(name: str) -> int:
    match = ORDINAL.search(name)
    return int(match.group(1)) if match else -1


def choose_candidate(members: Sequence[Mapping[str, Any]], leader: str) -> str | None:
    """The replica to hand over to (see the module docstring), or None when there is none."""
    streaming = [
        m
        for m in patroni_members.streaming_standbys(members)
        if m.get("name") != leader and not (m.get("tags") or {}).get("nofailover")
    ]
    synchronous = [m for m in streaming if m.get("role") in patroni_members.SYNCHRONOUS_ROLES]
    pool = synchronous or streaming
    if not pool:
        return None
    best = max(pool, key=lambda m: (_ordinal(str(m["name"])), -patroni_members.lag(m)))
    return str(best["name"])


def hand_over(
    api: str, me: str, timeout: float, fetch: Fetch = http, log: Callable[[str], None] = print
) -> str:
    """Switch over from `me` when it leads; what happened, in one sentence."""
    status, text = fetch("GET", f"{api}/cluster", None, 10)
    if status != 200:
        raise OpsError(f"GET /cluster answered {status}: {text[:200]}")
    members = patroni_members.members(json.loads(text))
    leader = patroni_members.leader(members)
    if leader is None or leader.get("name") != me:
        return f"{me} is not the primary: nothing to hand over"
    candidate = choose_candidate(members, me)
    if candidate is None:
        return f"{me} is the primary but no replica is streaming: Patroni's shutdown follows"
    log(f"switchover: {me} hands over to {candidate}")
    started = time.monotonic()
    status, text = fetch("POST", f"{api}/switchover", {"leader": me, "candidate": candidate},
                         timeout)  # fmt: skip
    took = time.monotonic() - started
    if status != 200:
        raise OpsError(f"switchover to {candidate} refused ({status}): {text.strip()[:200]}")
    return f"{text.strip()} in {took:.1f} s"


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
        api = f"http://127.0.0.1:{int_setting(API_PORT, 8008, minimum=1)}"
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
