"""The live proofs' own objects: what they deploy must make a failing proof possible."""

from __future__ import annotations

from tools.localcluster import ingress, verify


def test_policies_deny_everything_then_allow_only_the_label_on_the_server_port() -> None:
    deny, allow = verify._policies("ns")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    (rule,) = allow["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"access": "granted"}}}]
    assert rule["ports"] == [{"port": verify.SERVER_PORT, "protocol": "TCP"}]
    assert allow["spec"]["podSelector"] == {"matchLabels": {"app": "server"}}


def test_client_succeeds_only_on_an_ok_answer_within_its_timeout() -> None:
    pod = verify._client("ns", "c", {"access": "granted"}, "10.244.0.9")
    (container,) = pod["spec"]["containers"]
    script = container["command"][-1]
    assert container["command"][:2] == ["bash", "-c"]
    assert f"/dev/tcp/10.244.0.9/{verify.SERVER_PORT}" in script
    assert "grep -q ^OK" in script
    assert f"seq {verify.CLIENT_ATTEMPTS}" in script
    assert script.endswith("done; exit 1")  # no attempt through: the pod fails
    assert pod["spec"]["restartPolicy"] == "Never"


def test_proof_ingresses_differ_only_in_class() -> None:
    classed = verify._ingress("ns", "a", "h", ingress.INGRESS_CLASS)
    classless = verify._ingress("ns", "b", "h", None)
    assert classed["spec"]["ingressClassName"] == "traefik"
    assert "ingressClassName" not in classless["spec"]
    assert classed["spec"]["rules"] == classless["spec"]["rules"]


def test_proof_namespaces_enforce_restricted() -> None:
    labels = verify._namespace("x")["metadata"]["labels"]
    assert labels == {"pod-security.kubernetes.io/enforce": "restricted"}


def test_the_pod_security_proof_drops_only_the_host_port() -> None:
    pod = verify._pod_of(ingress.manifests(), "ns")
    (container,) = pod["spec"]["containers"]
    assert all("hostPort" not in p and "hostIP" not in p for p in container["ports"])
    (original,) = [d for d in ingress.manifests() if d["kind"] == "Deployment"]
    template = original["spec"]["template"]["spec"]
    assert container["securityContext"] == template["containers"][0]["securityContext"]
    assert any("hostPort" in p for p in template["containers"][0]["ports"])  # untouched


def test_metrics_usage_needs_cpu_and_memory_of_nodes_and_pods() -> None:
    nodes = {
        "items": [
            {"metadata": {"name": "n1"}, "usage": {"cpu": "250m", "memory": "900Mi"}},
            {"metadata": {"name": "n2"}, "usage": {"cpu": "1m"}},  # no memory: not counted
        ]
    }
    assert verify.metrics_usage(nodes) == {"n1": {"cpu": "250m", "memory": "900Mi"}}
    pods = {
        "items": [
            {
                "metadata": {"name": "coredns-1"},
                "containers": [{"name": "coredns", "usage": {"cpu": "2m", "memory": "20Mi"}}],
            },
            {"metadata": {"name": "starting"}, "containers": []},
        ]
    }
    assert verify.metrics_usage(pods) == {"coredns-1": {"cpu": "2m", "memory": "20Mi"}}
    assert verify.metrics_usage({"items": []}) == {}
