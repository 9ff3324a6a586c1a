"""Kubernetes helpers of the smoke suite: discovery by the standard labels, throwaway pods, Jobs.

Why a module of its own: the tests stay statements of what must hold, and every object the suite
creates goes through here, so its cleanup and its restricted security context are in one place.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tools.kube.security import RESTRICTED_CONTAINER, restricted_pod

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
API_NAME = "inventory-api"
DATABASE_NAME = "postgresql"
MANUAL_ANNOTATION = "cronjob.kubernetes.io/instantiate"
PROBE_LABELS = {NAME: "smoke-probe", "app.kubernetes.io/managed-by": "smoke-tests"}
LOG_TAIL_LINES = 40
POLL_SECONDS = 2.0
POD_START_FAILURES = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}


@dataclass(frozen=True)
class Kube:
    """Typed-API clients for one cluster."""

    core: Any
    apps: Any
    batch: Any
    networking: Any
    autoscaling: Any  # autoscaling/v2: the API's HorizontalPodAutoscaler
    policy: Any  # policy/v1: PodDisruptionBudgets
    custom: Any  # custom resources (Flux's HelmRelease)


def connect(kubeconfig: str) -> Kube:
    """Clients for the cluster of `kubeconfig` (a path, or a ':'-separated list like kubectl)."""
    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    return Kube(
        core=client.CoreV1Api(api),
        apps=client.AppsV1Api(api),
        batch=client.BatchV1Api(api),
        networking=client.NetworkingV1Api(api),
        autoscaling=client.AutoscalingV2Api(api),
        policy=client.PolicyV1Api(api),
        custom=client.CustomObjectsApi(api),
    )


def selector(labels: Mapping[str, str]) -> str:
    """A label selector string matching every label in `labels`."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def short_token() -> str:
    """Six hex characters that make the names of one run's objects unique."""
    return secrets.token_hex(3)


def unique_name(base: str, token: str) -> str:
    """`base-smoke-token`, with `base` cut so the name fits a 63-character label value."""
    suffix = f"-smoke-{token}"
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def reason_of(error: ApiException) -> str:
    """The API server's message of a failed call (its JSON `message`), else its reason."""
    try:
        return str(json.loads(error.body or "")["message"])
    except (TypeError, ValueError, KeyError):
        return f"{error.status} {error.reason}"


TCP_PROBE = """
import socket, sys, time
host, port, timeout, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
started = time.monotonic()
attempts = 0
while True:
    attempts += 1
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        if time.monotonic() - started + 1 > window:
            print(f"no connection to {host}:{port} in {attempts} attempts: {error!r}")
            sys.exit(1)
        time.sleep(1)
        continue
    elapsed = time.monotonic() - started
    print(f"connected to {host}:{port} at attempt {attempts} after {elapsed:.1f} s")
    sys.exit(0)
"""


@dataclass(frozen=True)
class ProbeImage:
    """An image already on the nodes (pulled for the release) and how its pods run it."""

    image: str
    pull_policy: str
    pull_secrets: list[dict[str, str]]
    run_as_user: int
    run_as_group: int


@dataclass(frozen=True)
class ProbeResult:
    """What a TCP probe pod saw."""

    connected: bool
    log: str


def probe_pod_manifest(
    name: str,
    *,
    labels: Mapping[str, str],
    image: ProbeImage,
    host: str,
    port: int,
    timeout: float,
    window: float,
) -> dict[str, Any]:
    """A pod that tries TCP to host:port once a second for `window` s and exits 0 on the first
    connection, else 1. The retries cover a policy agent that learns of a new pod a little
    late (kube-router adds its address to the allowed set on the pod's event); a blocked pod
    stays blocked for the whole window. Restricted security context."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": 120,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "imagePullSecrets": image.pull_secrets,
            "securityContext": restricted_pod(image.run_as_user, image.run_as_group),
            "containers": [
                {
                    "name": "probe",
                    "image": image.image,
                    "imagePullPolicy": image.pull_policy,
                    "command": [
                        "python3",
                        "-c",
                        TCP_PROBE,
                        host,
                        str(port),
                        str(timeout),
                        str(window),
                    ],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"cpu": "200m", "memory": "64Mi"},
                    },
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
        },
    }


def run_probe_pods(
    kube: Kube, namespace: str, manifests: Iterable[dict[str, Any]], timeout: float
) -> dict[str, ProbeResult]:
    """Run the probe pods side by side; results by pod name; every pod is deleted afterwards."""
    names = []
    try:
        for manifest in manifests:
            kube.core.create_namespaced_pod(namespace, manifest)
            names.append(manifest["metadata"]["name"])
        return {name: _probe_result(kube, namespace, name, timeout) for name in names}
    finally:
        for name in names:
            delete_quietly(kube.core.delete_namespaced_pod, name, namespace)


def _probe_result(kube: Kube, namespace: str, name: str, timeout: float) -> ProbeResult:
    """Wait for a probe pod to finish; fails the test with its state when it cannot run."""
    deadline = time.monotonic() + timeout
    while True:
        pod = kube.core.read_namespaced_pod(name, namespace)
        if pod.status.phase in ("Succeeded", "Failed"):
            log = kube.core.read_namespaced_pod_log(name, namespace)
            return ProbeResult(pod.status.phase == "Succeeded", log.strip())
        waiting = _waiting_reasons(pod)
        stuck = waiting & POD_START_FAILURES
        if stuck or time.monotonic() > deadline:
            pytest.fail(
                f"probe pod {namespace}/{name} did not run (phase {pod.status.phase}, waiting: "
                f"{', '.join(sorted(waiting)) or 'none'}); check that its image is on the node",
                pytrace=False,
            )
        time.sleep(POLL_SECONDS)


def _waiting_reasons(pod: Any) -> set[str]:
    statuses = (pod.status.container_statuses or []) + (pod.status.init_container_statuses or [])
    return {s.state.waiting.reason for s in statuses if s.state and s.state.waiting}


def delete_quietly(delete: Any, name: str, namespace: str, **options: Any) -> None:
    """Delete an object the suite created; already gone is fine."""
    try:
        delete(name, namespace, grace_period_seconds=0, **options)
    except ApiException as error:
        if error.status != 404:
            raise


def job_from_cronjob(cronjob: Any, name: str) -> Any:
    """The Job `kubectl create job NAME --from=cronjob/X` makes: the CronJob's jobTemplate, its
    labels and annotations plus `cronjob.kubernetes.io/instantiate: manual`, except that the
    CronJob owns it without controlling it. Garbage collection still removes it with the
    CronJob, but the CronJob controller leaves it out of its history: with
    `successfulJobsHistoryLimit: 1`, a scheduled run that started later and finished first
    would have it deleted the moment it completes, before its log is read."""
    template = cronjob.spec.job_template
    metadata = template.metadata or client.V1ObjectMeta()
    annotations = {**(metadata.annotations or {}), MANUAL_ANNOTATION: "manual"}
    owner = client.V1OwnerReference(
        api_version="batch/v1",
        kind="CronJob",
        name=cronjob.metadata.name,
        uid=cronjob.metadata.uid,
        controller=False,
    )
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=cronjob.metadata.namespace,
            labels=dict(metadata.labels or {}),
            annotations=annotations,
            owner_references=[owner],
        ),
        spec=template.spec,
    )


@dataclass(frozen=True)
class JobOutcome:
    """How a Job ended and what its last pod printed."""

    name: str
    succeeded: bool
    seconds: float
    log: str

    def report(self) -> dict[str, Any]:
        """The last JSON object the job printed (the dbops jobs print one report line)."""
        for line in reversed(self.log.splitlines()):
            if line.startswith("{"):
                try:
                    document = json.loads(line)
                except ValueError:
                    continue
                if isinstance(document, dict):
                    return document
        pytest.fail(
            f"job {self.name} printed no JSON report; log tail:\n{self.tail()}", pytrace=False
        )

    def tail(self) -> str:
        """The last lines of the log, for failure messages."""
        return "\n".join(self.log.splitlines()[-LOG_TAIL_LINES:])


def run_job(kube: Kube, namespace: str, job: Any, timeout: float) -> JobOutcome:
    """Create `job`, wait until it completes or fails (at most `timeout` s), return its outcome.

    A Job still running at the deadline is deleted with its pods; a finished one is kept
    (its ttlSecondsAfterFinished removes it) so a failure can be inspected."""
    name = job.metadata.name
    started = time.monotonic()
    kube.batch.create_namespaced_job(namespace, job)
    while True:
        status = kube.batch.read_namespaced_job_status(name, namespace).status
        done = {c.type for c in status.conditions or [] if c.status == "True"}
        if done & {"Complete", "Failed"}:
            return JobOutcome(
                name,
                "Complete" in done,
                time.monotonic() - started,
                _job_log(kube, namespace, name),
            )
        if time.monotonic() - started > timeout:
            late = JobOutcome(name, False, timeout, _job_log(kube, namespace, name))
            delete_quietly(
                kube.batch.delete_namespaced_job, name, namespace, propagation_policy="Background"
            )
            pytest.fail(
                f"job {namespace}/{name} did not finish within {timeout:.0f} s (raise "
                f"SMOKE_JOB_TIMEOUT_SECONDS if the database is large); log tail:\n{late.tail()}",
                pytrace=False,
            )
        time.sleep(POLL_SECONDS)


def _job_log(kube: Kube, namespace: str, job_name: str) -> str:
    """Log of the Job's newest pod, with the pods' states when there is no log to read."""
    pods = kube.core.list_namespaced_pod(
        namespace, label_selector=f"batch.kubernetes.io/job-name={job_name}"
    ).items
    if not pods:
        return "(no pod was created: check the Job's events)"
    newest = max(pods, key=lambda pod: pod.metadata.creation_timestamp)
    try:
        log: str = kube.core.read_namespaced_pod_log(
            newest.metadata.name, namespace, tail_lines=400
        )
    except ApiException as error:
        waiting = ", ".join(sorted(_waiting_reasons(newest))) or "none"
        return f"(no log from {newest.metadata.name}: {reason_of(error)}; waiting: {waiting})"
    return log


def backend_services(ingress: Any) -> set[str]:
    """Names of the Services an Ingress sends traffic to (rules and default backend)."""
    backends = [ingress.spec.default_backend] if ingress.spec.default_backend else []
    for rule in ingress.spec.rules or []:
        backends += [path.backend for path in (rule.http.paths if rule.http else [])]
    return {b.service.name for b in backends if b is not None and b.service is not None}
