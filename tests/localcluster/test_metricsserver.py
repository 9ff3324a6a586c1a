"""metrics-server: least-privilege RBAC, restricted pod, TLS verified towards the aggregator and
the kubelet (no insecure flags), and the APIService pointing at its own Service."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from tools.localcluster import components, metricsserver, pki, render
from tools.localcluster.settings import Paths

CA_PEM, CERT_PEM, KEY_PEM = b"ca-pem", b"cert-pem", b"key-pem"


def _documents() -> list[dict[str, Any]]:
    return metricsserver.manifests(CA_PEM, CERT_PEM, KEY_PEM)


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [
        d for d in _documents() if d["kind"] == kind and name in (None, d["metadata"]["name"])
    ]
    return found


def _container() -> dict[str, Any]:
    containers: list[dict[str, Any]] = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    (container,) = containers
    return container


def test_own_role_reads_pods_and_nodes_and_gets_kubelet_metrics_only() -> None:
    rules = _one("ClusterRole", metricsserver.OWN_ROLE)["rules"]
    granted = {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    reads = {("", r, v) for r in ("pods", "nodes") for v in ("get", "list", "watch")}
    assert granted == reads | {("", "nodes/metrics", "get")}


def test_aggregated_reader_only_reads_metrics_and_joins_view_edit_admin() -> None:
    role = _one("ClusterRole", metricsserver.AGGREGATED_READER)
    reads = {"resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}
    assert role["rules"] == [{"apiGroups": ["metrics.k8s.io"], **reads}]
    for aggregate in ("view", "edit", "admin"):
        assert role["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{aggregate}"]


def test_bindings_give_the_service_account_exactly_the_upstream_roles() -> None:
    bindings = {
        (d["kind"], d["roleRef"]["kind"], d["roleRef"]["name"], d["metadata"].get("namespace"))
        for d in _documents()
        if d["kind"] in ("ClusterRoleBinding", "RoleBinding")
    }
    assert bindings == {
        ("ClusterRoleBinding", "ClusterRole", metricsserver.OWN_ROLE, None),
        ("ClusterRoleBinding", "ClusterRole", "system:auth-delegator", None),
        ("RoleBinding", "Role", "extension-apiserver-authentication-reader", "kube-system"),
    }
    account = _one("ServiceAccount")["metadata"]
    for document in _documents():
        for subject in document.get("subjects", []):
            assert (subject["name"], subject["namespace"]) == (
                account["name"],
                account["namespace"],
            )
    assert _one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == account["name"]


def test_runs_restricted_with_small_requests_and_a_memory_limit() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    context = _container()["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    resources = _container()["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"]
    assert all("hostPort" not in p for p in _container()["ports"])
    assert "hostNetwork" not in pod


def test_kubelet_is_verified_with_the_cluster_ca_never_skipped() -> None:
    args = _container()["args"]
    assert not any("insecure" in arg for arg in args)
    assert f"--kubelet-certificate-authority={metricsserver.KUBELET_CA}" in args
    assert "--kubelet-preferred-address-types=InternalIP" in args
    assert "--metric-resolution=15s" in args
    # the service-account volume's ca.crt is the controller manager's root CA: the cluster CA,
    # which is also what signs the kubelet's serving certificate
    paths = Paths(Path("/state"))
    manager = components.kube_controller_manager(Path("/bin"), paths).argv
    assert f"--root-ca-file={paths.pki / 'ca.crt'}" in manager
    kubelet = json.loads(render.kubelet_config(paths))
    serving = Path(kubelet["tlsCertFile"]).stem
    assert serving in {s.name for s in pki.cluster_specs("n", "192.0.2.1", "10.96.0.1")}


def test_serving_certificate_is_mounted_where_the_flags_read_it() -> None:
    args = _container()["args"]
    (mount,) = [m for m in _container()["volumeMounts"] if m["name"] == "tls"]
    assert f"--tls-cert-file={mount['mountPath']}/tls.crt" in args
    assert f"--tls-private-key-file={mount['mountPath']}/tls.key" in args
    volumes = _one("Deployment")["spec"]["template"]["spec"]["volumes"]
    (tls,) = [v for v in volumes if v["name"] == "tls"]
    secret = _one("Secret", tls["secret"]["secretName"])
    assert base64.b64decode(secret["data"]["tls.crt"]) == CERT_PEM
    assert base64.b64decode(secret["data"]["tls.key"]) == KEY_PEM


def test_api_service_routes_to_the_service_and_verifies_it_with_the_ca() -> None:
    spec = _one("APIService")["spec"]
    assert _one("APIService")["metadata"]["name"] == f"{spec['version']}.{spec['group']}"
    assert "insecureSkipTLSVerify" not in spec
    assert base64.b64decode(spec["caBundle"]) == CA_PEM
    service = _one("Service")
    assert (spec["service"]["name"], spec["service"]["namespace"]) == (
        service["metadata"]["name"],
        service["metadata"]["namespace"],
    )
    (port,) = service["spec"]["ports"]
    assert spec["service"]["port"] == port["port"]
    assert port["targetPort"] in {p["name"] for p in _container()["ports"]}
    assert (
        service["spec"]["selector"].items()
        <= _one("Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )


def test_serving_certificate_names_what_the_aggregator_dials(tmp_path: Path) -> None:
    """The aggregator verifies `<service>.<namespace>.svc` against the caBundle."""
    ca = pki.ensure_ca(tmp_path)
    cert_path = pki.ensure_cert(tmp_path, metricsserver.SERVING_CERT, ca)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    cert.verify_directly_issued_by(ca[0])
    service = _one("APIService")["spec"]["service"]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"{service['name']}.{service['namespace']}.svc" in names.get_values_for_type(
        x509.DNSName
    )
    other_ca = pki.ensure_ca(tmp_path / "other")
    with pytest.raises(InvalidSignature):  # the fixture that breaks it: a foreign CA's bundle
        cert.verify_directly_issued_by(other_ca[0])


def test_every_object_carries_the_standard_labels() -> None:
    for document in _documents():
        labels = document["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == metricsserver.NAME, document["kind"]
        assert labels["app.kubernetes.io/part-of"] == "inventory-localcluster"
