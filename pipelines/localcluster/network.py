"""Removing what the cluster leaves in the kernel outside its state directory.

Only our own objects are touched: chains named KUBE-* (kube-proxy's and kubelet's), CNI-*
chains whose rules carry our CNI network's name (the bridge plugin tags them; podman's CNI
chains carry its own network name and are left alone), our bridge, the pod network
namespaces containerd reported, and mounts under the state directory.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from pipelines.localcluster.settings import BRIDGE, CNI_NETWORK

TABLES = ("filter", "nat", "mangle")


def _save(tool: str, table: str) -> list[str]:
    result = subprocess.run(
        [f"{tool}-save", "-t", table], capture_output=True, text=True, check=False
    )
    return result.stdout.splitlines() if result.returncode == 0 else []


def owned_chains(lines: list[str], network: str = CNI_NETWORK) -> set[str]:
    """Our chains in one table's `iptables-save` output."""
    chains = {line[1:].split()[0] for line in lines if line.startswith(":")}
    ours = {chain for chain in chains if chain.startswith("KUBE-")}
    tag = f'name: \\"{network}\\"'
    for line in lines:
        if line.startswith("-A CNI-") and (tag in line or f'name: "{network}"' in line):
            ours.add(line.split()[1])
    return ours


def cleanup_commands(lines: list[str], network: str = CNI_NETWORK) -> list[list[str]]:
    """The rule deletions, flushes and chain deletions that remove our chains from one table."""
    ours = owned_chains(lines, network)
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


def clean_iptables() -> int:
    """Remove our chains (IPv4 and IPv6); returns how many commands ran."""
    count = 0
    for tool in ("iptables", "ip6tables"):
        for table in TABLES:
            for command in cleanup_commands(_save(tool, table)):
                subprocess.run(
                    [tool, "-w", "-t", table, *command], capture_output=True, check=False
                )
                count += 1
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
