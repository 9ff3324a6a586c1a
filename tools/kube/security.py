"""The `restricted` Pod Security Standard as securityContext dicts: one definition for every pod
the project creates outside its Helm charts (cluster add-ons, local stand-ins, smoke probes)."""

from __future__ import annotations

from typing import Any

SECCOMP_DEFAULT = {"type": "RuntimeDefault"}

RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": SECCOMP_DEFAULT,
}
"""Container part of `restricted`, plus a read-only root filesystem."""


def restricted_container(user: int | None = None) -> dict[str, Any]:
    """RESTRICTED_CONTAINER, with a fixed uid and gid when `user` is given."""
    ids = {} if user is None else {"runAsUser": user, "runAsGroup": user}
    return {**RESTRICTED_CONTAINER, **ids}


def restricted_pod(user: int, group: int | None = None, fs_group: bool = False) -> dict[str, Any]:
    """Pod part of `restricted`: non-root as `user` (group defaults to the same id), with
    RuntimeDefault seccomp; `fs_group` makes mounted volumes writable by that group."""
    gid = user if group is None else group
    context: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": user, "runAsGroup": gid}
    if fs_group:
        context["fsGroup"] = gid
    return {**context, "seccompProfile": SECCOMP_DEFAULT}
