"""Where `publish` pushes images and charts and `deploy` pulls charts, per target, and with
which login: one auth file (docker's config.json format) read by podman and helm alike.

Azure: the environment's ACR (the Terraform output acr_login_server); Jenkins logs podman in
with the workload identity's token into the file REGISTRY_AUTH_FILE names (Jenkinsfile), and
the registry's certificate is publicly trusted. Local: the local cluster's registry, with the
account and CA its harness keeps in the state directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.stage import StageContext
from pipelines.targets.cluster import local_paths
from pipelines.targets.terraform_outputs import registry
from tools.localcluster.interface import REGISTRY_SERVER

AUTH_FILE_ENV = "REGISTRY_AUTH_FILE"
"""podman's own variable for its auth file; helm reads the same file (--registry-config)."""


@dataclass(frozen=True)
class RegistryLogin:
    """A registry and how its clients authenticate to it and verify it."""

    server: str
    auth_file: Path
    cert_dir: Path | None = None  # holds ca.crt when the registry's CA is not a public one

    @property
    def ca_file(self) -> Path | None:
        return self.cert_dir / "ca.crt" if self.cert_dir else None

    def podman_options(self) -> list[str]:
        """What `podman push` needs besides the reference."""
        cert = ["--cert-dir", str(self.cert_dir)] if self.cert_dir else []
        return ["--authfile", str(self.auth_file), *cert]

    def helm_options(self) -> list[str]:
        """What helm's OCI commands (push, upgrade, show) need besides the reference."""
        ca = ["--ca-file", str(self.ca_file)] if self.ca_file else []
        return ["--registry-config", str(self.auth_file), *ca]

    def chart_reference(self, repository: str, chart: str) -> str:
        return f"oci://{self.server}/{repository}/{chart}"


def registry_login(ctx: StageContext) -> RegistryLogin:
    """The target's registry and login, or block/fail saying what is missing."""
    if ctx.options.target == "azure":
        # the Terraform output first: without it there is nothing to log in to
        server = registry(ctx)
        named = os.environ.get(AUTH_FILE_ENV)
        if not named or not Path(named).is_file():
            ctx.fail(
                f"{AUTH_FILE_ENV} names no auth file ({named or 'unset'}): Jenkins logs podman in "
                "to the environment's registry into that file (Jenkinsfile, withAzure)"
            )
        return RegistryLogin(server, Path(named))
    return local_registry(ctx)


def local_registry(ctx: StageContext) -> RegistryLogin:
    """The registry `make cluster-up` runs, or block saying how to get it."""
    paths = local_paths()
    found = RegistryLogin(REGISTRY_SERVER, paths.registry_auth_file, paths.registry_cert_dir)
    missing = [path for path in (found.auth_file, found.ca_file) if path and not path.is_file()]
    if missing:
        ctx.block(
            f"no local registry account: {', '.join(ctx.shown(path) for path in missing)} "
            "missing; run `make cluster-up`"
        )
    return found
