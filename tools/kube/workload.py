"""The recommended `app.kubernetes.io/*` labels and the single-replica Deployment: one shape for
every workload the project creates outside its Helm charts (cluster add-ons, local stand-ins),
so each module states only what is its own (name, component, pod spec)."""

from __future__ import annotations

from typing import Any

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
VERSION = "app.kubernetes.io/version"
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"


def selector(name: str, instance: str | None = None) -> dict[str, str]:
    """What a workload's pods are selected by: only labels that never change (a Deployment's
    selector is immutable, so a version in it would forbid every upgrade)."""
    return {NAME: name} if instance is None else {NAME: name, INSTANCE: instance}


def labels(
    name: str,
    component: str,
    *,
    part_of: str,
    instance: str | None = None,
    version: str | None = None,
    managed_by: str | None = None,
) -> dict[str, str]:
    """The recommended labels: the selector's, then component, version, part-of and managed-by
    (the optional ones only when given)."""
    optional = {VERSION: version, PART_OF: part_of, MANAGED_BY: managed_by}
    return {
        **selector(name, instance),
        COMPONENT: component,
        **{key: value for key, value in optional.items() if value is not None},
    }


def deployment(
    name: str,
    namespace: str,
    labels: dict[str, str],
    selector: dict[str, str],
    pod_spec: dict[str, Any],
    *,
    pod_annotations: dict[str, str] | None = None,
    strategy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A one-replica Deployment whose object and pods carry `labels`, selecting `selector`;
    `pod_annotations` and `strategy` only when given. A selector the pods' labels do not
    match is refused here: the API server would reject it only at apply time."""
    if not selector.items() <= labels.items():
        raise ValueError(f"Deployment {name}: selector {selector} does not match labels {labels}")
    pod_metadata: dict[str, Any] = {"labels": labels}
    if pod_annotations is not None:
        pod_metadata["annotations"] = pod_annotations
    spec: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": selector}}
    if strategy is not None:
        spec["strategy"] = strategy
    spec["template"] = {"metadata": pod_metadata, "spec": pod_spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }
