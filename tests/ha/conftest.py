"""HA layer fixtures: one bare Kubernetes API for the session (Patroni's DCS)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.ha.kubeapi import NAMESPACE, KubeApi, running_kube_api
from tests.support.tools import REPO_ROOT

ROLE_RULES = REPO_ROOT / "helm-charts" / "postgresql" / "files" / "patroni-role-rules.yaml"


@pytest.fixture(scope="session")
def ha_work() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="inventory-ha-"))
    work.chmod(0o755)
    yield work
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def kube_api(ha_work: Path) -> Iterator[KubeApi]:
    """The API server, with the chart's Patroni Role bound to the members' identity."""
    with running_kube_api(ha_work / "api") as api:
        rbac = client.RbacAuthorizationV1Api(client.ApiClient(api.core().api_client.configuration))
        rules = yaml.safe_load(ROLE_RULES.read_text())
        rbac.create_namespaced_role(NAMESPACE, {
            "metadata": {"name": "patroni"}, "rules": rules,
        })  # fmt: skip
        rbac.create_namespaced_role_binding(NAMESPACE, {
            "metadata": {"name": "patroni"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patroni"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": "ha-member"}],
        })  # fmt: skip
        yield api
