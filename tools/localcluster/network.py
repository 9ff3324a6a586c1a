"""Removing what the cluster leaves in the kernel outside its state directory.

Only our own objects are touched: chains named KUBE-* (kube-proxy's, kubelet's and
kube-router's), CNI-* chains whose rules carry our CNI network's name (the bridge and portmap
plugins tag them; podman's CNI chains carry its own network name and are left alone), the
shared CNI-HOSTPORT-* chains when no other network maps a host port, kube-router's ipsets,
our bridge, the pod network namespaces containerd reported, and mounts under the state
directory.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from tools.localcluster.settings import BRIDGE, CNI_NETWORK

TABLES = ("filter", "nat", "mangle")


def save_table(tool: str, table: str) -> list[str]:
    """One table's `iptables-save` (or `ip6tables-save`) lines; empty when it fails."""
    result = subprocess.run(
        [f"{tool}-save", "-t", table], capture_output=True, text=True, check=False
    )
    return result.stdout.splitlines() if result.returncode == 0 else []


# Host-port chains every CNI network's portmap plugin shares: each holds one tagged rule per
# mapped pod (jumping to that pod's CNI-DN-* chain) behind untagged plumbing rules.
SHARED_CNI_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ")


def _tagged(line: str, network: str) -> bool:
    return f'name: \\"{network}\\"' in line or f'name: "{network}"' in line


def owned_chains(lines: list[str], network: str = CNI_NETWORK) -> set[str]:
    """Our chains in one table's `iptables-save` output.

    KUBE-* (kube-proxy, kubelet, kube-router's KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*,
    KUBE-SRC-*), CNI-* chains holding rules tagged with our network, the CNI-DN-* chains our
    tagged host-port rules jump to, and the shared CNI-HOSTPORT-* chains once no other
    network's host-port rule is left in them.
    """
    chains = {line[1:].split()[0] for line in lines if line.startswith(":")}
    ours = {chain for chain in chains if chain.startswith("KUBE-")}
    host_ports_shared = False
    for line in lines:
        if not line.startswith("-A CNI-"):
            continue
        words = shlex.split(line)
        chain, tagged = words[1], _tagged(line, network)
        target = words[words.index("-j") + 1] if "-j" in words else None
        if chain == SHARED_CNI_CHAINS[0]:
            if tagged and target:
                ours.add(target)
            host_ports_shared |= not tagged
        elif chain not in SHARED_CNI_CHAINS and tagged:
            ours.add(chain)
    if not host_ports_shared:
        ours |= chains.intersection(SHARED_CNI_CHAINS)
    return ours


KUBE_ROUTER_CHAINS = ("KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-", "KUBE-SRC-")


def cleanup_commands(
    lines: list[str], network: str = CNI_NETWORK, only: tuple[str, ...] = ()
) -> list[list[str]]:
    """The rule deletions, flushes and chain deletions that remove our chains from one table
    (with `only`, just the chains whose names start with one of those prefixes)."""
    ours = owned_chains(lines, network)
    if only:
        ours = {chain for chain in ours if chain.startswith(only)}
    commands: list[list[str]] = []
    for line in lines:
        if not line.startswith("-A "):
            continue
        words = shlex.split(line)
        chain = words[1]
        target = words[words.index("-j") + 1] if "-j" in words else None
        if chain not in ours and target in ours:
            commands.append(["-D", *words[1:]])
    commands += [["-F", chain] for chain in sorted(ours)]
    commands += [["-X", chain] for chain in sorted(ours)]
    return commands


def _restore_word(word: str) -> str:
    """A word as iptables-save writes it: double quotes with backslash escapes (the restore
    parser knows no single quotes)."""
    if word and not any(c in word for c in ' "\\\t'):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def restore_script(table: str, commands: list[list[str]]) -> str:
    """The commands as one `iptables-restore --noflush` transaction for `table`."""
    rules = (" ".join(_restore_word(word) for word in command) for command in commands)
    return "\n".join([f"*{table}", *rules, "COMMIT", ""])


def clean_iptables(only: tuple[str, ...] = ()) -> int:
    """Remove our chains (IPv4 and IPv6), or only those named `only*`; how many commands ran.

    Each table's commands go in one `iptables-restore --noflush` transaction (one call instead
    of dozens); when it is refused as a whole (e.g. a rule vanished meanwhile), they run one
    by one, each allowed to fail."""
    count = 0
    for tool in ("iptables", "ip6tables"):
        for table in TABLES:
            commands = cleanup_commands(save_table(tool, table), only=only)
            if not commands:
                continue
            count += len(commands)
            batch = subprocess.run(
                [f"{tool}-restore", "-w", "--noflush"],
                input=restore_script(table, commands),
                capture_output=True,
                text=True,
                check=False,
            )
            if batch.returncode == 0:
                continue
            for command in commands:
                subprocess.run(
                    [tool, "-w", "-t", table, *command], capture_output=True, check=False
                )
    return count


def delete_bridge() -> None:
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        subprocess.run(["ip", "link", "delete", BRIDGE], check=False, capture_output=True)


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first (the order to unmount them)."""
    points: list[Path] = []
    prefix = str(root.resolve())
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(Path(point))
    return sorted(points, key=lambda p: len(p.parts), reverse=True)


def unmount_all(root: Path) -> None:
    for point in mounts_under(root):
        if subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def remove_netns(paths: list[str]) -> None:
    """Unmount and remove the pod network namespaces containerd created."""
    for path in paths:
        subprocess.run(["umount", path], capture_output=True, check=False)
        Path(path).unlink(missing_ok=True)


# kube-router's sets (pkg/controllers/netpol and its utils): per-policy KUBE-SRC-*/KUBE-DST-*,
# its own kube-router-* sets, and the IPv6 twins of each under the `inet6:` prefix.
KUBE_ROUTER_SET = re.compile(r"(?:inet6:)?(?:KUBE-(?:SRC|DST)-|kube-router-)\S+")


def owned_sets(names: list[str]) -> list[str]:
    """kube-router's ipsets among `ipset list -n` output; other tools' sets are left alone."""
    return sorted(name for name in names if KUBE_ROUTER_SET.fullmatch(name))


def clean_ipsets() -> int:
    """Destroy kube-router's ipsets (after the iptables rules that used them are gone)."""
    if shutil.which("ipset") is None:  # without ipset, kube-router never ran: nothing to do
        return 0
    listing = subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        return 0
    sets = owned_sets(listing.stdout.split())
    for name in sets:
        subprocess.run(["ipset", "destroy", name], capture_output=True, check=False)
    return len(sets)
