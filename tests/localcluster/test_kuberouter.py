"""kube-router as the NetworkPolicy firewall only: flags, read-only identity, readiness."""

from __future__ import annotations

from pathlib import Path

from tools.localcluster import kuberouter, pki
from tools.localcluster.network import KUBE_ROUTER_CHAINS, cleanup_commands
from tools.localcluster.settings import NODE_NAME, SERVICE_CIDR, Paths

PATHS = Paths(Path("/state"))


def test_only_the_firewall_runs_with_no_open_ports() -> None:
    argv = kuberouter.service(Path("/bin"), PATHS).argv
    assert argv[0] == "/bin/kube-router"
    assert {"--run-firewall=true", "--run-router=false", "--run-service-proxy=false"} <= set(argv)
    assert {"--health-port=0", "--metrics-port=0", "--enable-cni=false"} <= set(argv)
    assert f"--hostname-override={NODE_NAME}" in argv
    assert f"--service-cluster-ip-range={SERVICE_CIDR}" in argv
    assert "--kubeconfig=/state/config/kube-router.kubeconfig" in argv


def test_identity_is_a_plain_user_that_may_only_read() -> None:
    (spec,) = [
        s for s in pki.cluster_specs("n", "192.0.2.1", "10.96.0.1") if s.name == "kube-router"
    ]
    assert spec.common_name == kuberouter.USER
    assert spec.organizations == ()  # no group: nothing but the binding below applies
    role, binding = kuberouter.rbac_manifests()
    assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
    assert "networkpolicies" in role["rules"][-1]["resources"]
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": kuberouter.USER}
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_ready_only_once_forward_jumps_into_its_chain() -> None:
    hooked = [
        ":KUBE-ROUTER-FORWARD - [0:0]",
        '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" '
        "-j KUBE-ROUTER-FORWARD",
    ]
    assert kuberouter.is_hooked(hooked)
    assert not kuberouter.is_hooked(hooked[:1])  # chain made, not yet hooked
    assert not kuberouter.is_hooked(["-A KUBE-FORWARD -j KUBE-ROUTER-FORWARD"])


def test_not_enforced_is_one_line_with_the_reason() -> None:
    line = kuberouter.not_enforced("kube-router exited; log x:\n  | ipset: permission denied")
    assert line == "not-enforced: kube-router exited; log x: | ipset: permission denied"


def test_a_failed_start_removes_only_kube_routers_chains() -> None:
    lines = [
        ":FORWARD ACCEPT [0:0]",
        ":KUBE-FORWARD - [0:0]",
        ":KUBE-ROUTER-FORWARD - [0:0]",
        ":KUBE-NWPLCY-DEFAULT - [0:0]",
        "-A FORWARD -j KUBE-FORWARD",
        "-A FORWARD -j KUBE-ROUTER-FORWARD",
        "-A KUBE-ROUTER-FORWARD -j KUBE-NWPLCY-DEFAULT",
    ]
    commands = cleanup_commands(lines, only=KUBE_ROUTER_CHAINS)
    assert ["-D", "FORWARD", "-j", "KUBE-ROUTER-FORWARD"] in commands
    assert not any("KUBE-FORWARD" in command for command in commands)
    assert {c[1] for c in commands if c[0] == "-X"} == {
        "KUBE-ROUTER-FORWARD",
        "KUBE-NWPLCY-DEFAULT",
    }
