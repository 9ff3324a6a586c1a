"""Teardown removes only the cluster's own iptables chains, never podman's or the host's."""

from __future__ import annotations

from pipelines.localcluster.network import cleanup_commands, owned_chains

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
