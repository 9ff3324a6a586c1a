"""A writer through the ingress and the database disruptions it must survive (Patroni members).

The writer posts numbered stock adjustments (delta 1, one Idempotency-Key each) and records
every acknowledgement with its movement id. Afterwards each acknowledged key is replayed: the
API answers a replay from its idempotency record, so the same movement id proves the
acknowledged commit survived, and a different one (or a refusal) proves it was lost. A replay
answered 429, 5xx or not at all proves neither, so it is asked again, paced, until a deadline;
what is still unanswered then is reported as unchecked, never counted as lost or as kept.
Responses during the outage are counted by status, so a 404 from the ingress (no ready API
pod) or a 500 shows up as what it is.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from kubernetes.stream import stream

from tests.smoke.kube import COMPONENT, DATABASE_NAME, INSTANCE, NAME, Kube, selector
from tests.support.outage import BackgroundLoop, longest_gap

# One request per 100 ms: an outage measured to a tenth of a second, and well under the API's
# per-client rate limit (a writer that ran flat out would be answered 429, not measured).
INTERVAL_SECONDS = 0.1
# Replays at most ~16 a second, under the API's per-client limit of 20 (burst 40).
REPLAY_INTERVAL_SECONDS = 0.06
# How long replays answered 429/5xx are asked again, over the whole check.
REPLAY_PATIENCE_SECONDS = 90.0
ROLE_LABEL = "role"  # set by Patroni on each member: primary | replica
PATRONI_CONFIG = "/tmp/patroni/patroni.json"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"  # what `kubectl rollout restart` sets


@dataclass
class Acknowledged:
    """One acknowledged adjustment."""

    key: str
    movement_id: int
    at: float


@dataclass
class Writer(BackgroundLoop):
    """Posts adjustments to one product until stopped; thread-safe enough for one writer."""

    post: Callable[[str], requests.Response]  # one adjustment; its body follows from the key
    acknowledged: list[Acknowledged] = field(default_factory=list)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            key = f"smoke-failover-{uuid.uuid4().hex[:12]}-{number}"
            started = time.monotonic()
            try:
                response = self.post(key)
            except requests.RequestException as error:
                self.statuses[type(error).__name__] += 1
                time.sleep(INTERVAL_SECONDS)
                continue
            self.statuses[str(response.status_code)] += 1
            if response.status_code == 200:
                movement = int(response.json()["movement_id"])
                self.acknowledged.append(Acknowledged(key, movement, time.monotonic()))
            time.sleep(max(0.0, INTERVAL_SECONDS - (time.monotonic() - started)))

    def outage(self, since: float, until: float) -> float:
        return longest_gap((a.at for a in self.acknowledged), since, until)


@dataclass(frozen=True)
class Replayed:
    """The verdict on every acknowledged key."""

    lost: list[str]  # answered with another movement, or refused: the commit is gone
    unchecked: dict[str, str]  # key -> the last answer (429, 5xx, an error) at the deadline


def _transient(response: requests.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def replay_acknowledgements(
    acknowledged: list[Acknowledged],
    replay: Callable[[str], requests.Response],
    patience: float = REPLAY_PATIENCE_SECONDS,
    interval: float = REPLAY_INTERVAL_SECONDS,
) -> Replayed:
    """Replay each acknowledged key until the API answers it for certain (see the module).

    `replay` must send the very request that was acknowledged: the API answers a key that
    comes back with another body with a conflict, not with the recorded movement."""
    lost: list[str] = []
    unchecked: dict[str, str] = {}
    deadline = time.monotonic() + patience
    sent = float("-inf")  # when the previous request left: at most one per interval, all keys
    for ack in acknowledged:
        while True:
            time.sleep(max(0.0, interval - (time.monotonic() - sent)))
            sent = time.monotonic()
            try:
                response = replay(ack.key)
            except requests.RequestException as error:
                answer = type(error).__name__
            else:
                answer = str(response.status_code)
                if not _transient(response):
                    if response.status_code != 200 or (
                        response.json().get("movement_id") != ack.movement_id
                    ):
                        lost.append(ack.key)
                    break
            if time.monotonic() >= deadline:
                unchecked[ack.key] = answer
                break
    return Replayed(lost, unchecked)


def unexpected_statuses(statuses: collections.Counter[str]) -> dict[str, int]:
    """Answers other than success or the API's own 503: 404 (no backend), 500, resets."""
    return {status: n for status, n in statuses.items() if status not in ("200", "503")}


@dataclass(frozen=True)
class Members:
    """The database's Patroni members, found by the standard labels and Patroni's role label."""

    kube: Kube
    namespace: str
    release: str

    def pods(self) -> list[Any]:
        """The StatefulSet's pods only: backup and heartbeat Job pods share name and instance."""
        labels = {NAME: DATABASE_NAME, INSTANCE: self.release, COMPONENT: "database"}
        return list(
            self.kube.core.list_namespaced_pod(
                self.namespace, label_selector=selector(labels)
            ).items
        )

    def statefulset(self) -> Any:
        labels = {NAME: DATABASE_NAME, INSTANCE: self.release, COMPONENT: "database"}
        (found,) = self.kube.apps.list_namespaced_stateful_set(
            self.namespace, label_selector=selector(labels)
        ).items
        return found

    def restart_all(self) -> None:
        """A new pod template (as `kubectl rollout restart` makes): every member is replaced."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        self.kube.apps.patch_namespaced_stateful_set(
            self.statefulset().metadata.name, self.namespace, patch
        )

    def rolled_out(self) -> bool:
        """Every member runs the newest template and is ready."""
        found = self.statefulset()
        status, wanted = found.status, found.spec.replicas
        return bool(
            (status.observed_generation or 0) >= found.metadata.generation
            and status.update_revision == status.current_revision
            and (status.updated_replicas or 0) == wanted
            and (status.ready_replicas or 0) == wanted
        )

    def with_role(self, role: str) -> list[str]:
        return sorted(
            p.metadata.name
            for p in self.pods()
            if (p.metadata.labels or {}).get(ROLE_LABEL) == role
        )

    def primary(self) -> str | None:
        primaries = self.with_role("primary")
        return primaries[0] if len(primaries) == 1 else None

    def delete(self, pod: str) -> None:
        self.kube.core.delete_namespaced_pod(pod, self.namespace)

    def switchover(self, leader: str, candidate: str) -> str:
        """patronictl switchover inside the leader's container (the REST port is members-only)."""
        command = ["patronictl", "-c", PATRONI_CONFIG, "switchover", "--leader", leader,
                   "--candidate", candidate, "--force"]  # fmt: skip
        output: str = stream(
            self.kube.core.connect_get_namespaced_pod_exec, leader, self.namespace,
            container="postgresql", command=["/opt/patroni/bin/" + command[0], *command[1:]],
            stderr=True, stdin=False, stdout=True, tty=False,
        )  # fmt: skip
        return output


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `predicate` held; AssertionError naming `what` after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
