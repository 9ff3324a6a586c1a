"""Teardown removes only the cluster's own iptables chains, never podman's or the host's."""

from __future__ import annotations

import shlex
import subprocess
import uuid

from tests.support.tools import require_tool
from tools.localcluster.network import (
    SHARED_CNI_CHAINS,
    cleanup_commands,
    owned_chains,
    owned_sets,
    restore_script,
    save_table,
)
from tools.localcluster.settings import CNI_NETWORK

NAT = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":CNI-aaa - [0:0]",
    ":CNI-bbb - [0:0]",
    ":KUBE-SERVICES - [0:0]",
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A POSTROUTING -s 10.244.0.5/32 -m comment --comment "
    '"name: \\"inventory-localcluster\\" id: \\"abc\\"" -j CNI-aaa',
    "-A POSTROUTING -s 10.88.0.2/32 -m comment --comment "
    '"name: \\"podman\\" id: \\"def\\"" -j CNI-bbb',
    "-A CNI-aaa -d 10.244.0.0/24 -m comment --comment "
    '"name: \\"inventory-localcluster\\" id: \\"abc\\"" -j ACCEPT',
    '-A CNI-bbb -d 10.88.0.0/16 -m comment --comment "name: \\"podman\\" id: \\"def\\"" -j ACCEPT',
    "COMMIT",
]


def test_only_our_chains_are_owned() -> None:
    assert owned_chains(NAT) == {"CNI-aaa", "KUBE-SERVICES"}


def test_jumps_are_removed_before_chains_are_flushed_and_deleted() -> None:
    commands = cleanup_commands(NAT)
    jumps = [c for c in commands if c[0] == "-D"]
    assert [c[-1] for c in jumps] == ["KUBE-SERVICES", "CNI-aaa"]
    assert jumps[0][:2] == ["-D", "PREROUTING"]
    assert commands[len(jumps) :] == [
        ["-F", "CNI-aaa"],
        ["-F", "KUBE-SERVICES"],
        ["-X", "CNI-aaa"],
        ["-X", "KUBE-SERVICES"],
    ]
    assert not any("CNI-bbb" in c for c in commands)


def _host_port_nat(*other_networks: str) -> list[str]:
    """What portmap leaves in nat after mapping one of our pods (and one per other network)."""
    tag = 'dnat name: \\"{}\\" id: \\"{}\\"'
    lines = [
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":CNI-HOSTPORT-DNAT - [0:0]",
        ":CNI-HOSTPORT-SETMARK - [0:0]",
        ":CNI-HOSTPORT-MASQ - [0:0]",
        ":CNI-DN-ours - [0:0]",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" '
        "-j CNI-HOSTPORT-MASQ",
        "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "
        f'"{tag.format(CNI_NETWORK, "abc")}" -m multiport --dports 8088 -j CNI-DN-ours',
        "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
        '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" '
        "-j MARK --set-xmark 0x2000/0x2000",
        "-A CNI-DN-ours -s 10.244.0.0/24 -d 127.0.0.1/32 -p tcp -m tcp --dport 8088 "
        "-j CNI-HOSTPORT-SETMARK",
        "-A CNI-DN-ours -d 127.0.0.1/32 -p tcp -m tcp --dport 8088 "
        "-j DNAT --to-destination 10.244.0.9:8000",
    ]
    for index, network in enumerate(other_networks):
        chain = f"CNI-DN-other{index}"
        lines[8:8] = [f":{chain} - [0:0]"]
        lines += [
            "-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "
            f'"{tag.format(network, index)}" -m multiport --dports 9{index} -j {chain}',
            f"-A {chain} -p tcp -m tcp --dport 9{index} -j DNAT --to-destination 10.88.0.2:80",
        ]
    return [*lines, "COMMIT"]


def test_host_port_chains_go_when_only_we_mapped_ports() -> None:
    lines = _host_port_nat()
    assert owned_chains(lines) == {"CNI-DN-ours", *SHARED_CNI_CHAINS}
    commands = cleanup_commands(lines)
    jumps = {(c[1], c[-1]) for c in commands if c[0] == "-D"}
    assert jumps == {
        ("PREROUTING", "CNI-HOSTPORT-DNAT"),
        ("OUTPUT", "CNI-HOSTPORT-DNAT"),
        ("POSTROUTING", "CNI-HOSTPORT-MASQ"),
    }
    deleted = {c[1] for c in commands if c[0] == "-X"}
    assert deleted == {"CNI-DN-ours", *SHARED_CNI_CHAINS}


def test_host_port_chains_another_network_uses_keep_its_rules() -> None:
    lines = _host_port_nat("podman")
    assert owned_chains(lines) == {"CNI-DN-ours"}
    commands = cleanup_commands(lines)
    (jump,) = [
        line for line in lines if line.startswith("-A CNI-HOSTPORT-DNAT -p tcp") and "ours" in line
    ]
    assert [c for c in commands if c[0] == "-D"] == [["-D", *shlex.split(jump)[1:]]]
    assert not any(c[1] in SHARED_CNI_CHAINS for c in commands if c[0] in ("-F", "-X"))
    assert not any("CNI-DN-other0" in c for c in commands)


FILTER_WITH_KUBE_ROUTER = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":KUBE-ROUTER-FORWARD - [0:0]",
    ":KUBE-POD-FW-ABC - [0:0]",
    ":KUBE-NWPLCY-DEF - [0:0]",
    ":KUBE-NWPLCY-DEFAULT - [0:0]",
    ":NETAVARK_FORWARD - [0:0]",
    '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" '
    "-j KUBE-ROUTER-FORWARD",
    '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
    "-A KUBE-ROUTER-FORWARD -d 10.244.0.7/32 -j KUBE-POD-FW-ABC",
    "-A KUBE-POD-FW-ABC -j KUBE-NWPLCY-DEF",
    "-A KUBE-NWPLCY-DEF -m set --match-set KUBE-SRC-XYZ src -j ACCEPT",
    "COMMIT",
]


def test_kube_router_chains_and_their_hook_are_removed() -> None:
    commands = cleanup_commands(FILTER_WITH_KUBE_ROUTER)
    assert [c[:2] for c in commands if c[0] == "-D"] == [["-D", "FORWARD"]]
    assert {c[1] for c in commands if c[0] == "-X"} == {
        "KUBE-ROUTER-FORWARD",
        "KUBE-POD-FW-ABC",
        "KUBE-NWPLCY-DEF",
        "KUBE-NWPLCY-DEFAULT",
    }
    assert not any("NETAVARK_FORWARD" in c for c in commands)


def test_only_kube_routers_ipsets_are_destroyed() -> None:
    names = [
        "KUBE-SRC-XYZ",
        "inet6:KUBE-DST-ABC",
        "kube-router-pod-subnets",
        "kube-router-node-ips",
        "podman-set",
        "KUBE-SRCX",
        "my-KUBE-SRC-1",
    ]
    assert owned_sets(names) == [
        "KUBE-SRC-XYZ",
        "inet6:KUBE-DST-ABC",
        "kube-router-node-ips",
        "kube-router-pod-subnets",
    ]


def test_a_table_cleanup_is_one_restore_transaction() -> None:
    script = restore_script("nat", [["-D", "POSTROUTING", "-j", "KUBE-X"], ["-F", "KUBE-X"]])
    assert script.splitlines() == ["*nat", "-D POSTROUTING -j KUBE-X", "-F KUBE-X", "COMMIT"]
    assert script.endswith("COMMIT\n")  # iptables-restore needs the final newline


# Where the real-iptables test makes its throwaway chains: a table no cluster component writes.
# kube-router's policy sync saves and restores the whole filter table, so a chain made there
# while a cluster runs can vanish between two commands of the test.
SCRATCH_TABLE = "raw"


def test_the_restore_transaction_removes_real_chains_with_quoted_comments() -> None:
    """Against the host's real iptables, on throwaway chains only (the lines handed to the
    cleanup are filtered to them, so a running cluster's chains are never touched)."""
    require_tool("iptables-restore", "apt-get install -y iptables")
    suffix = uuid.uuid4().hex[:8].upper()
    parent, chain = f"INVTEST-{suffix}", f"KUBE-INVTEST-{suffix}"
    comment = f'name: "{CNI_NETWORK}" id: "{suffix}"'

    def iptables(*args: str) -> None:
        command = ["iptables", "-w", "-t", SCRATCH_TABLE, *args]
        subprocess.run(command, check=True, capture_output=True)

    iptables("-N", parent)
    try:
        iptables("-N", chain)
        iptables("-A", chain, "-m", "comment", "--comment", comment, "-j", "RETURN")
        iptables("-A", parent, "-m", "comment", "--comment", "a \\ b", "-j", chain)
        lines = [line for line in save_table("iptables", SCRATCH_TABLE) if suffix in line]
        commands = cleanup_commands(lines)
        restored = subprocess.run(
            ["iptables-restore", "-w", "--noflush"],
            input=restore_script(SCRATCH_TABLE, commands),
            capture_output=True,
            text=True,
            check=False,
        )
        assert restored.returncode == 0, restored.stderr
        left = [line for line in save_table("iptables", SCRATCH_TABLE) if suffix in line]
        assert left == [f":{parent} - [0:0]"]  # our chain and the jump to it are gone
    finally:
        for name in (parent, chain):
            for action in ("-F", "-X"):
                subprocess.run(["iptables", "-w", "-t", SCRATCH_TABLE, action, name],
                               capture_output=True, check=False)  # fmt: skip
