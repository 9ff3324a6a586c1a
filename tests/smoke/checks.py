"""Pure checks of the smoke suite: each takes Kubernetes objects and says what is wrong.

Why apart from the tests: they are the suite's judgement, so tests/smoke/unit proves on crafted
objects that each one bites, without a cluster.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from tests.smoke import cron

DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
DATABASE_PORT = 5432
DEFAULT_RUN_SECONDS = 3600
"""How long a run may take when its Job template sets no activeDeadlineSeconds."""


def exposure_problems(service: Any) -> list[str]:
    """How a Service is reachable from outside the cluster (it must be ClusterIP only)."""
    name, spec = service.metadata.name, service.spec
    problems = []
    if spec.type != "ClusterIP":
        problems.append(f"{name}: type {spec.type}, must be ClusterIP")
    problems += [
        f"{name}: port {p.port} has nodePort {p.node_port}" for p in spec.ports or [] if p.node_port
    ]
    if spec.external_ips:
        problems.append(f"{name}: externalIPs {spec.external_ips}")
    balancer = service.status.load_balancer if service.status else None
    if balancer and balancer.ingress:
        problems.append(f"{name}: load balancer ingress {balancer.ingress}")
    return problems


def container_problems(pod: Any, container: Any) -> list[str]:
    """How one container falls short of the restricted context (pod-level values inherited)."""
    pod_context = pod.spec.security_context
    context = container.security_context
    where = f"pod {pod.metadata.name} container {container.name}"

    def effective(field: str) -> Any:
        value = getattr(context, field, None) if context else None
        return value if value is not None else getattr(pod_context, field, None)

    problems = []
    if effective("run_as_non_root") is not True:
        problems.append(f"{where}: runAsNonRoot is not true")
    if effective("run_as_user") == 0:
        problems.append(f"{where}: runAsUser is 0 (root)")
    seccomp = effective("seccomp_profile")
    if seccomp is None or seccomp.type != "RuntimeDefault":
        problems.append(f"{where}: seccompProfile is not RuntimeDefault")
    if context is None or context.allow_privilege_escalation is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if context is None or context.read_only_root_filesystem is not True:
        problems.append(f"{where}: readOnlyRootFilesystem is not true")
    dropped = context.capabilities.drop if context and context.capabilities else None
    if "ALL" not in (dropped or []):
        problems.append(f"{where}: capabilities do not drop ALL")
    if context and context.privileged:
        problems.append(f"{where}: privileged")
    return problems


def image_pin_problems(pod: Any) -> list[str]:
    """Which containers name no digest, or run another image than the digest they name: the
    deploy stage pins each image by what publish pushed, so a tag moved in the registry (or an
    image put on the node by hand) shows here."""
    containers = [*(pod.spec.init_containers or []), *pod.spec.containers]
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    running = {status.name: status.image_id for status in statuses if status.image_id}
    problems = []
    for container in containers:
        where = f"pod {pod.metadata.name} container {container.name}"
        pinned = DIGEST.search(container.image or "")
        if pinned is None:
            problems.append(f"{where}: image {container.image} is not pinned by a digest")
            continue
        ran = DIGEST.search(running.get(container.name, ""))
        if container.name in running and (ran is None or ran.group(1) != pinned.group(1)):
            problems.append(
                f"{where}: runs {running[container.name]}, but its spec pins {pinned.group(1)}"
            )
    return problems


def readiness_problem(kind: str, workload: Any) -> str | None:
    """Why a Deployment or StatefulSet is not fully rolled out and Ready, or None."""
    desired = workload.spec.replicas if workload.spec.replicas is not None else 1
    status = workload.status
    observed = (status.observed_generation if status else None) or 0
    if observed < (workload.metadata.generation or 0):
        return (
            f"{kind} {workload.metadata.name}: status is of generation {observed}, the spec is "
            f"generation {workload.metadata.generation}"
        )
    ready = (status.ready_replicas if status else None) or 0
    updated = (status.updated_replicas if status else None) or 0
    if desired == 0 or ready != desired or updated != desired:
        return (
            f"{kind} {workload.metadata.name}: {ready} ready, {updated} updated of {desired} "
            "desired"
        )
    return None


def selects(selector: Any, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector with only matchLabels and In/NotIn/Exists expressions matches."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    for expression in selector.match_expressions or []:
        value, values = labels.get(expression.key), expression.values or []
        matched = {
            "In": value in values,
            "NotIn": value not in values,
            "Exists": value is not None,
            "DoesNotExist": value is None,
        }[expression.operator]
        if not matched:
            return False
    return True


def allowed_client_labels(
    policies: list[Any],
    target_labels: dict[str, str],
    port: int = DATABASE_PORT,
    port_name: str = "postgresql",
) -> dict[str, str]:
    """The matchLabels of a same-namespace pod peer allowed to reach `port` (or the port named
    `port_name`) of the pods labelled `target_labels`: the database's by default."""
    for policy in policies:
        if not selects(policy.spec.pod_selector, target_labels):
            continue
        for rule in policy.spec.ingress or []:
            ports = {p.port for p in rule.ports or []}
            if ports and port not in ports and port_name not in ports:
                continue
            for peer in rule.var_from or []:
                plain = peer.pod_selector and not peer.pod_selector.match_expressions
                if plain and peer.namespace_selector is None and peer.pod_selector.match_labels:
                    return dict(peer.pod_selector.match_labels)
    raise AssertionError(
        f"no NetworkPolicy selecting the pods labelled {target_labels} admits a labelled pod to "
        f"port {port}: the chart's policy is missing or changed"
    )


def required_success(cronjob: Any, now: dt.datetime) -> dt.datetime:
    """The scheduled time the last success must not be older than: the latest firing, or the
    one before it while the latest run may still be within its start and run deadlines."""
    zone = ZoneInfo(cronjob.spec.time_zone or "Etc/UTC")
    schedule = cron.parse(cronjob.spec.schedule)
    latest = schedule.previous(now.astimezone(zone))
    template = cronjob.spec.job_template.spec
    grace = dt.timedelta(
        seconds=(cronjob.spec.starting_deadline_seconds or 0)
        + (template.active_deadline_seconds or DEFAULT_RUN_SECONDS)
    )
    return latest if now - latest >= grace else schedule.previous(latest - dt.timedelta(minutes=1))


def recency_problem(cronjob: Any, now: dt.datetime) -> str | None:
    """Why this CronJob's last success is too old for its schedule, or None."""
    name = cronjob.metadata.name
    if cronjob.spec.suspend:
        return f"{name} is suspended"
    required = required_success(cronjob, now)
    last = cronjob.status.last_successful_time if cronjob.status else None
    if last is None:
        return (
            f"{name} never succeeded (scheduled run at {required.isoformat()} expected; "
            "a fresh deployment is checked with SMOKE_BACKUP_MODE=run-job)"
        )
    if last < required:
        return (
            f"{name} last succeeded at {last.isoformat()}, before its scheduled run at "
            f"{required.isoformat()} ({cronjob.spec.schedule!r})"
        )
    return None
