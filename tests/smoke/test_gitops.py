"""Flux holds the release to git: a hand edit of an object it manages is put back.

Runs where the release is delivered by Flux (SMOKE_GITOPS=NAMESPACE/NAME of its HelmRelease).
The check edits the API's PodDisruptionBudget (a field the chart sets, which nothing else in the
cluster writes), asks helm-controller to reconcile now rather than at its interval, and waits
for drift detection to restore the rendered value. Whatever happens, the edit is undone.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from tests.smoke.kube import Kube
from tests.smoke.settings import SmokeSettings

pytestmark = pytest.mark.gitops

GROUP, VERSION, PLURAL = "helm.toolkit.fluxcd.io", "v2", "helmreleases"
RESTORE_TIMEOUT = 180.0
POLL = 2.0


@pytest.fixture(scope="module")
def helm_release(kube: Kube, settings: SmokeSettings) -> dict[str, Any]:
    """The HelmRelease that delivers the release, Ready."""
    assert settings.gitops is not None
    namespace, name = settings.gitops
    release: dict[str, Any] = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    conditions = {c["type"]: c for c in release.get("status", {}).get("conditions", [])}
    ready = conditions.get("Ready", {})
    assert ready.get("status") == "True", f"HelmRelease {namespace}/{name}: {ready}"
    return release


def api_budget(kube: Kube, settings: SmokeSettings) -> Any:
    """The release's PodDisruptionBudget of the API's pods (the one with minAvailable)."""
    budgets = kube.policy.list_namespaced_pod_disruption_budget(
        settings.namespace, label_selector=f"app.kubernetes.io/instance={settings.release}"
    ).items
    api = [b for b in budgets if "api" in b.metadata.name and b.spec.min_available is not None]
    names = [b.metadata.name for b in budgets]
    assert len(api) == 1, f"expected one API PodDisruptionBudget, got {names}"
    return api[0]


def request_reconcile(kube: Kube, settings: SmokeSettings) -> None:
    assert settings.gitops is not None
    namespace, name = settings.gitops
    now = datetime.datetime.now(datetime.UTC).isoformat()
    patch = {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}}
    kube.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)


def test_flux_puts_back_a_hand_edit_of_a_managed_object(
    kube: Kube, settings: SmokeSettings, helm_release: dict[str, Any]
) -> None:
    budget = api_budget(kube, settings)
    name, rendered = budget.metadata.name, budget.spec.min_available
    edited = 0 if rendered != 0 else 1
    patch = {"spec": {"minAvailable": edited}}
    kube.policy.patch_namespaced_pod_disruption_budget(name, settings.namespace, patch)
    started = time.monotonic()
    try:
        request_reconcile(kube, settings)
        seen = edited
        while time.monotonic() - started < RESTORE_TIMEOUT:
            seen = api_budget(kube, settings).spec.min_available
            if seen == rendered:
                break
            time.sleep(POLL)
        took = time.monotonic() - started
        assert seen == rendered, (
            f"PodDisruptionBudget {name} kept the hand edit minAvailable={seen} for "
            f"{RESTORE_TIMEOUT:.0f} s; Flux should have put back {rendered}"
        )
        print(f"drift corrected in {took:.1f} s")
    finally:
        if api_budget(kube, settings).spec.min_available != rendered:
            restore = {"spec": {"minAvailable": rendered}}
            kube.policy.patch_namespaced_pod_disruption_budget(name, settings.namespace, restore)
