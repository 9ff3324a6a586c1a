"""The release's pods run restricted and by digest, and its workloads have every replica Ready."""

from __future__ import annotations

import time
from typing import Any

from tests.smoke.checks import container_problems, image_pin_problems, readiness_problem
from tests.smoke.kube import POLL_SECONDS
from tests.smoke.settings import SmokeSettings


def test_every_pod_runs_with_the_restricted_context(release_pods: list[Any]) -> None:
    """Non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp, read-only /."""
    problems = [
        problem
        for pod in release_pods
        for container in [*(pod.spec.init_containers or []), *pod.spec.containers]
        for problem in container_problems(pod, container)
    ]
    assert not problems, f"{len(problems)} security context problem(s):\n" + "\n".join(problems)


def test_every_container_runs_the_image_its_digest_pins(release_pods: list[Any]) -> None:
    """Each container names `...@sha256:` and the runtime reports running that very image."""
    problems = [problem for pod in release_pods for problem in image_pin_problems(pod)]
    assert not problems, f"{len(problems)} image pin problem(s):\n" + "\n".join(problems)


SETTLE_SECONDS = 180.0
"""How long the workloads may take to settle: the API's autoscaler moves its replica count after
any load (the incident checks' load; a 30 s scale-in window locally), and a new replica is Ready
within about a minute. A workload still short after this is a failure, not a change in flight."""


def test_every_workload_has_all_replicas_ready(kube: Any, settings: SmokeSettings) -> None:
    """Each Deployment and StatefulSet of the release settles at ready == updated == desired
    replicas, its status of the spec's generation."""
    labels = f"app.kubernetes.io/instance={settings.release}"
    listings = {
        "Deployment": kube.apps.list_namespaced_deployment,
        "StatefulSet": kube.apps.list_namespaced_stateful_set,
    }

    def problems() -> list[str]:
        workloads = [
            (kind, workload)
            for kind, listing in listings.items()
            for workload in listing(settings.namespace, label_selector=labels).items
        ]
        assert workloads, f"no Deployment or StatefulSet labelled {labels} in {settings.namespace}"
        return [p for kind, workload in workloads if (p := readiness_problem(kind, workload))]

    deadline = time.monotonic() + SETTLE_SECONDS
    while (found := problems()) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    assert not found, f"workloads not fully ready after {SETTLE_SECONDS:.0f} s: " + "; ".join(found)
