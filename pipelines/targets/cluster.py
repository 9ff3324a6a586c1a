"""Where the deploy stages find their cluster, ingress and image store, per target.

Local target: the single-node cluster of `make cluster-up` keeps its state where
`tools.localcluster.interface` says (`.state/localcluster/` unless INVENTORY_CLUSTER_STATE
overrides it): `admin.kubeconfig`, `ingress-url` and the image registry's account
(`registry/auth.json`, `registry/certs/`). Any other cluster can be named with KUBECONFIG (plus
INGRESS_URL). Azure target: Jenkins fetches AKS credentials into KUBECONFIG and logs podman in
to the environment's registry (which `publish` finds in the Terraform outputs,
pipelines/targets/terraform_outputs); the public address is the ingress host of the
environment's values file unless INGRESS_URL says otherwise.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from pipelines.core import contract
from pipelines.core.charts import CHARTS, UMBRELLA
from pipelines.core.stage import StageContext
from tools.kube.kubectl import Kubectl
from tools.localcluster.interface import Paths, kubectl_path, state_paths

INGRESS_URL_FILE = "ingress-url"
"""What the harness writes in its state directory once the ingress controller answers."""

RELEASE = contract.load().release
NAMESPACE = contract.load().namespace
"""The release and namespace the deploy stage installs into (iac/contract.yaml)."""


@dataclass(frozen=True)
class Cluster:
    """A cluster the pipeline can deploy to and test."""

    kubeconfig: Path
    target: str

    def env(self) -> dict[str, str]:
        """Variables that point kubectl, helm and the smoke tests at this cluster."""
        return {"KUBECONFIG": str(self.kubeconfig)}


def find_cluster(ctx: StageContext) -> Cluster:
    """The target's cluster, or block the pipeline saying what is missing and how to get it."""
    explicit = os.environ.get("KUBECONFIG")
    if ctx.options.target == "azure":
        if not explicit:
            ctx.fail(
                "KUBECONFIG is not set: on the azure target Jenkins writes it with "
                "`az aks get-credentials` + `kubelogin convert-kubeconfig -l workloadidentity`"
            )
        return Cluster(Path(explicit), "azure")
    kubeconfig = Path(explicit) if explicit else local_paths().admin_kubeconfig
    if not kubeconfig.is_file():
        ctx.block(
            f"no local cluster: {ctx.shown(kubeconfig)} does not exist; run `make cluster-up`, "
            "or point KUBECONFIG at a running cluster"
        )
    server = api_server(kubeconfig)
    if server is None or not _answers(server):
        where = f"{server[0]}:{server[1]}" if server else "(no server in the kubeconfig)"
        ctx.block(
            f"no local cluster answers at {where} ({ctx.shown(kubeconfig)}): run `make cluster-up`"
        )
    return Cluster(kubeconfig, "local")


def api_server(kubeconfig: Path) -> tuple[str, int] | None:
    """Host and port of the current context's API server in a kubeconfig (None if unnamed)."""
    config = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
    context = contexts.get(config.get("current-context", ""), {})
    url = urlsplit(clusters.get(context.get("cluster", ""), {}).get("server", ""))
    if not url.hostname:
        return None
    return url.hostname, url.port or 443


def _answers(server: tuple[str, int]) -> bool:
    """True when something accepts TCP connections at the API server's address."""
    try:
        with socket.create_connection(server, timeout=3):
            return True
    except OSError:
        return False


def ingress_url(ctx: StageContext) -> str:
    """The API's public address: INGRESS_URL, else the local harness's file or, on Azure, the
    first ingress host of the environment's values (one source of truth for the hostname)."""
    explicit = os.environ.get("INGRESS_URL")
    if explicit:
        return explicit
    if ctx.options.target == "azure":
        values = ctx.root / CHARTS / UMBRELLA / f"values-{ctx.deploy_env}.yaml"
        host = _first_ingress_host(values)
        if host is None:
            ctx.fail(f"no inventory-api.ingress.hosts[0].host in {ctx.shown(values)}")
        return f"https://{host}"
    recorded = local_paths().root / INGRESS_URL_FILE
    if not recorded.is_file():
        ctx.block(
            f"no ingress address: set INGRESS_URL, or let `make cluster-up` write "
            f"{ctx.shown(recorded)}"
        )
    return recorded.read_text(encoding="utf-8").strip()


def local_paths() -> Paths:
    """The local harness's state layout (one definition of where its files are)."""
    return state_paths()


def kubectl_binary(ctx: StageContext, env: dict[str, str]) -> str:
    """The local cluster's own kubectl (same version as its API server) when built, else PATH's."""
    cached = kubectl_path()
    if cached.is_file():
        return str(cached)
    return ctx.require_tool(
        "kubectl", env, "run `python -m tools.localcluster build` or install kubectl"
    )


def ensure_namespace(ctx: StageContext, cluster: Cluster, name: str) -> None:
    """Namespace `name` exists before any release puts objects in it (server-side apply, so
    an existing namespace is kept as it is): the cert-manager release's Role lives in the
    workloads' namespace, which the umbrella release would otherwise create only after it."""
    env = ctx.tool_env(cluster.env())
    kubectl = Kubectl(kubectl_binary(ctx, env), env=env)
    manifest = ctx.write_json(
        f"namespace-{name}.json",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    ctx.run(
        f"namespace {name}",
        kubectl.argv(
            "apply", "--server-side", "--field-manager=inventory-pipeline", "-f", str(manifest)
        ),
        timeout=120,
        env=env,
    )


def _first_ingress_host(values: Path) -> str | None:
    """inventory-api.ingress.hosts[0].host from an umbrella values file, if present."""
    if not values.is_file():
        return None
    document = yaml.safe_load(values.read_text(encoding="utf-8")) or {}
    hosts = document.get("inventory-api", {}).get("ingress", {}).get("hosts") or [{}]
    host = hosts[0].get("host")
    return str(host) if host else None


def terraform_env(ctx: StageContext) -> dict[str, str]:
    """Terraform's environment for real Azure: registry providers and workload identity.

    The toolchain's filesystem mirror holds locally built providers, whose hashes cannot match
    the official releases; real infrastructure is planned and applied with the official
    providers from the registry instead (lock files: ADR-0009), so the mirror's CLI config is
    left out. Jenkins' agent pod gets AZURE_CLIENT_ID, AZURE_TENANT_ID and
    AZURE_FEDERATED_TOKEN_FILE from workload identity; azurerm reads the same identity as ARM_*,
    and no client secret exists anywhere.
    """
    env = ctx.tool_env({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"})
    env.pop("TF_CLI_CONFIG_FILE", None)
    token = os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
    if token:
        env.update(
            ARM_USE_OIDC="true",
            ARM_OIDC_TOKEN_FILE_PATH=token,
            ARM_CLIENT_ID=os.environ.get("AZURE_CLIENT_ID", ""),
            ARM_TENANT_ID=os.environ.get("AZURE_TENANT_ID", ""),
        )
    return env
