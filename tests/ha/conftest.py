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
from tests.ha.members import MEMBER_IDENTITY
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
        rbac = client.RbacAuthorizationV1Api(api.api_client())
        rules = yaml.safe_load(ROLE_RULES.read_text())
        meta = client.V1ObjectMeta(name="patroni")
        rbac.create_namespaced_role(NAMESPACE, client.V1Role(metadata=meta, rules=[
            client.V1PolicyRule(api_groups=r["apiGroups"], resources=r["resources"],
                                verbs=r["verbs"]) for r in rules
        ]))  # fmt: skip
        rbac.create_namespaced_role_binding(NAMESPACE, client.V1RoleBinding(
            metadata=meta,
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                      name="patroni"),
            subjects=[client.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind="User",
                                           name=MEMBER_IDENTITY)],
        ))  # fmt: skip
        yield api
