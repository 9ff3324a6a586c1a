"""Stage `deploy`: cert-manager, then the umbrella, by one promotion commit Flux reconciles where
the environment is delivered by Flux (the local target, and the Azure environments whose tfvars
say so: pipelines/targets/gitops_delivery), else by `helm upgrade --install --atomic --wait` of
each in turn.

The platform release comes first (`releases`; in Flux the umbrella's HelmRelease depends on
cert-manager's): cert-manager (helm-charts/cert-manager, release and namespace from
iac/contract.yaml) serves `cert-manager.io/v1`, which the umbrella's Certificates need, and
issues the pgBackRest TLS Secrets into the workloads' namespace, on every target. Then the
umbrella chart with the environment's values and the image references just
published. Each release installs the chart artefact `publish` pushed, pinned by its digest
(oci://<registry>/charts/<chart>@sha256:...: helm pulls it in push mode, the chart's
OCIRepository in Flux mode, where the promotion commit writes the digest), so what a cluster
receives is the archive the registry holds; the values files come from the same commit's chart
folders; the stage prints the umbrella's status and records its previous revision so `smoke` can
roll back to it. On the azure target the identity ids and the Azure names (Key Vault, registry,
backup storage account) come from the Terraform outputs (saved by `infra-apply`, else read from
the environment's state), as a generated values file (reports/deploy/terraform-values.yaml;
mapping in pipelines/targets/terraform_outputs). On every target each image is pinned by the
digest `publish` recorded. On the local target the stand-in for the Azure platform
(pipelines/targets/local_platform) is made first: password, Azurite, its TLS Secrets, the token
issuer and the monitoring APIs; the values that make the API trust that issuer are a generated
values file too (reports/deploy/local-issuer-values.yaml, from pipelines/targets/local_issuer).
After the install, the local monitoring (pipelines/targets/local_monitoring) configures
Prometheus and Alertmanager from the release's ServiceMonitors and PrometheusRules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipelines.core import contract
from pipelines.core.charts import (
    CERT_MANAGER,
    CHARTS,
    PLATFORM_CHARTS,
    RELEASED_CHARTS,
    UMBRELLA,
    served_api_versions,
)
from pipelines.core.stage import StageContext
from pipelines.stages.build import CERT_MANAGER_IMAGE
from pipelines.targets import (
    azure_gitops,
    gitops_delivery,
    local_gitops,
    local_issuer,
    local_monitoring,
    local_platform,
)
from pipelines.targets.cluster import NAMESPACE, RELEASE, ensure_namespace, find_cluster
from pipelines.targets.registry_login import registry_login
from pipelines.targets.terraform_outputs import (
    VALUES_FILE,
    MissingOutput,
    load_outputs,
    write_values_file,
)

HELM_TIMEOUT = "10m"
TIMEOUT = 15 * 60.0
IMAGE_VALUES = {
    "api": "inventory-api.image",
    "postgresql": "postgresql.image",
    "postgres-exporter": "postgresql.exporter.image",
    "pgbouncer": "postgresql.pooler.image",
}
"""Where each image's registry, repository and tag go in the umbrella chart's values."""
CERT_MANAGER_IMAGE_VALUES = {CERT_MANAGER_IMAGE: "image"}
"""Where the controller image goes in the cert-manager chart's values."""
CHART_IMAGES = {CERT_MANAGER: CERT_MANAGER_IMAGE_VALUES, UMBRELLA: IMAGE_VALUES}
"""Chart -> the images its release takes, each with its values key."""
RELEASE_FILE = "release.json"
IMMUTABLE_STATEFULSET = "Forbidden: updates to statefulset spec for fields other than"
"""What the API server answers when an upgrade changes a StatefulSet field fixed at creation."""


@dataclass(frozen=True)
class Release:
    """One `helm upgrade --install`: what is installed, where, with which values and images."""

    name: str
    namespace: str
    chart: Path  # the chart's folder: its name, values files and what tests render
    values: tuple[Path, ...]
    images: tuple[str, ...]
    source: str = ""  # what helm installs: the published oci://...@sha256 artefact
    registry: tuple[str, ...] = ()  # helm's options to pull `source` (login, CA)

    def args(self) -> list[str]:
        """What follows `helm upgrade --install` for this release."""
        arguments = install_args(
            self.chart, self.values, self.images, release=self.name, namespace=self.namespace
        )
        if self.source:
            arguments[1] = self.source
        return [*arguments, *self.registry]

    def published(self, chart: Mapping[str, str], registry: Sequence[str]) -> Release:
        """This release installing the artefact `publish` recorded for its chart, by digest."""
        return replace(
            self, source=f"{chart['reference']}@{chart['digest']}", registry=tuple(registry)
        )


def run(ctx: StageContext) -> None:
    """Upgrade or install cert-manager, then the umbrella release; record the umbrella's
    revisions in reports/deploy/release.json."""
    published = ctx.read_json("publish", "published.json", "the publish stage")
    values_name = f"values-{ctx.deploy_env}.yaml"
    ctx.require_path(f"{CHARTS}/{UMBRELLA}/{values_name}", "each deploy environment has one")
    outputs = environment_outputs(ctx)
    generated = [
        *_terraform_values(ctx, outputs),
        *_local_values(ctx),
        contract_values(ctx.report_dir),
    ]
    cluster = find_cluster(ctx)
    env = ctx.tool_env(cluster.env())
    helm = ctx.require_tool("helm", env, "run `make tools`")
    digests = published.get("digests") or {}
    if set(digests) != set(published["images"]):
        ctx.fail(
            "publish recorded no digest for some images: run publish "
            f"--target {ctx.options.target} again"
        )
    ensure_namespace(ctx, cluster, NAMESPACE)  # cert-manager's Role lives there
    if ctx.options.target == "local":
        local_platform.prepare(ctx, cluster, f"{published['images']['api']}@{digests['api']}")
        local_monitoring.install_api(ctx, cluster)
    previous = _current_revision(ctx, helm, env)
    release = [RELEASE, "--namespace", NAMESPACE]
    charts = published.get("charts") or {}
    missing = [name for name in RELEASED_CHARTS if name not in charts]
    if missing:
        ctx.fail(
            f"publish recorded no chart artefact for {', '.join(missing)}: run publish "
            f"--target {ctx.options.target} again"
        )
    pull = registry_login(ctx).helm_options()
    plan = releases(
        ctx.root / CHARTS,
        ctx.deploy_env,
        generated=generated,
        platform_values=cert_manager_values(ctx.report_dir),
        images=published["images"],
        digests=digests,
    )
    channel = delivery_channel(ctx, outputs)
    if channel is None:
        for step in plan:
            upgrade(ctx, helm, step.published(charts[step.chart.name], pull), env)
        delivered: dict[str, Any] = {"delivery": "push"}
    else:
        delivered = gitops_delivery.deliver(ctx, cluster, channel, flux_pins(plan, digests, charts))
    if ctx.options.target == "local":
        local_monitoring.deploy(ctx, cluster)
    status = ctx.run("helm status", [helm, "status", *release], timeout=120, env=env)
    for line in status.tail[:8]:
        ctx.note(line)
    current = _current_revision(ctx, helm, env)
    record = {"release": RELEASE, "namespace": NAMESPACE, "revision": current}
    ctx.write_json(RELEASE_FILE, {**record, "previous_revision": previous, **delivered})


def environment_outputs(ctx: StageContext) -> Mapping[str, Any] | None:
    """The environment's Terraform outputs on the azure target; None on the local one."""
    return load_outputs(ctx, ctx.deploy_env) if ctx.options.target == "azure" else None


def delivery_channel(
    ctx: StageContext, outputs: Mapping[str, Any] | None
) -> gitops_delivery.Channel | None:
    """Where the releases go by promotion commit for Flux, or None where the pipeline pushes
    them. The local target (no `outputs`) is always Flux; an Azure environment is what its
    tfvars chose (Terraform output delivery_mode)."""
    if outputs is None:
        return local_gitops.channel()
    try:
        mode = azure_gitops.delivery_mode(outputs)
    except azure_gitops.ChannelUnknown as unknown:
        ctx.fail(f"{unknown}: check iac/platform/outputs.tf and run infra-apply again")
    return azure_gitops.environment_channel(ctx, outputs) if mode == "flux" else None


def upgrade(ctx: StageContext, helm: str, step: Release, env: Mapping[str, str]) -> None:
    """`helm upgrade --install` one release; a refusal with a known remedy fails this step with
    what to do (upgrade_hint)."""
    ctx.run(
        f"helm upgrade {step.name}",
        [helm, "upgrade", "--install", *step.args()],
        timeout=TIMEOUT,
        env=env,
        remedy=upgrade_hint,
    )


def upgrade_hint(output: Sequence[str]) -> str | None:
    """What to do about a failed upgrade whose cause has a known remedy, else None."""
    if any(IMMUTABLE_STATEFULSET in line for line in output):
        return (
            "A StatefulSet field that Kubernetes fixes at creation differs from the running "
            "release (a database moving from one server to Patroni members changes "
            "podManagementPolicy and serviceName). helm cannot change it in place: move the "
            "environment into a fresh release by the restore-from-backup path of "
            "docs/disaster-recovery.md, then deploy again."
        )
    return None


def releases(
    charts: Path,
    env: str,
    *,
    generated: Sequence[Path],
    platform_values: Path,
    images: dict[str, str],
    digests: dict[str, str],
) -> list[Release]:
    """The releases in install order: cert-manager, whose API and Secrets the workloads need,
    then the umbrella. `charts` is the staged helm-charts folder."""
    names = contract.load().cert_manager
    (platform,) = (charts / chart for chart in PLATFORM_CHARTS)
    own = platform / f"values-{env}.yaml"
    cert_manager = Release(
        name=names["release"],
        namespace=names["namespace"],
        chart=platform,
        values=(*([own] if own.is_file() else []), platform_values),
        images=tuple(image_values(images, digests, CHART_IMAGES[CERT_MANAGER])),
    )
    umbrella = charts / UMBRELLA
    workloads = Release(
        name=RELEASE,
        namespace=NAMESPACE,
        chart=umbrella,
        values=tuple(values_files(umbrella, env, generated)),
        images=tuple(image_values(images, digests)),
    )
    return [cert_manager, workloads]


def flux_pins(
    plan: Sequence[Release], digests: Mapping[str, str], charts: Mapping[str, Mapping[str, str]]
) -> dict[str, gitops_delivery.Pinned]:
    """What the promotion commit pins for each release of the plan: the digests of the images
    it takes and of its chart's artefact, as publish recorded them."""
    pins = {}
    for step in plan:
        keys = CHART_IMAGES[step.chart.name]
        pins[step.name] = gitops_delivery.Pinned(
            {image: digests[image] for image in keys}, keys, charts[step.chart.name]["digest"]
        )
    return pins


def platform_api_versions(charts: Path) -> tuple[str, ...]:
    """The APIs the cluster serves once the platform releases are in, before the workloads:
    what their charts' CRDs serve (`charts`: a helm-charts folder)."""
    apis = {api for chart in PLATFORM_CHARTS for api in served_api_versions(charts / chart)}
    return tuple(sorted(apis))


def install_args(
    chart: Path,
    values: Sequence[Path],
    images: Sequence[str],
    *,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[str]:
    """What follows `helm upgrade --install`: release, chart, namespace, values files in order,
    image settings, and the atomic wait (`helm template` takes the same arguments)."""
    return [
        *[release, str(chart), "--namespace", namespace, "--create-namespace"],
        *[arg for path in values for arg in ("--values", str(path))],
        *images,
        *["--atomic", "--wait", "--timeout", HELM_TIMEOUT],
    ]


def values_files(chart: Path, env: str, generated: Sequence[Path]) -> list[Path]:
    """The environment's values file, then the generated ones (later files win in helm)."""
    return [chart / f"values-{env}.yaml", *generated]


def contract_values(report_dir: Path) -> Path:
    """The values file that sets the contract's names in the chart (iac/contract.yaml)."""
    return contract.write_values_file(report_dir / contract.VALUES_FILE, contract.load())


def cert_manager_values(report_dir: Path) -> Path:
    """The values file that points the cert-manager release at the workloads' namespace."""
    values = contract.cert_manager_values(contract.load())
    return contract.write_values(report_dir / contract.CERT_MANAGER_VALUES_FILE, values)


def terraform_values(report_dir: Path, outputs: Mapping[str, Any]) -> Path:
    """The values file generated from an environment's `terraform output -json` document."""
    return write_values_file(report_dir / VALUES_FILE, outputs)


def _terraform_values(ctx: StageContext, outputs: Mapping[str, Any] | None) -> list[Path]:
    """On azure, the values file generated from the env's Terraform `outputs`; none locally."""
    if outputs is None:
        return []
    try:
        path = terraform_values(ctx.report_dir, outputs)
    except MissingOutput as missing:
        ctx.fail(f"{missing}: check iac/platform/outputs.tf and run infra-apply again")
    ctx.note(f"Terraform outputs as chart values: {ctx.shown(path)}")
    return [path]


def local_values(report_dir: Path) -> Path:
    """The values file that makes the API trust the local token issuer (local_issuer)."""
    return local_issuer.write_values_file(report_dir / local_issuer.VALUES_FILE)


def _local_values(ctx: StageContext) -> list[Path]:
    """On local, the local token issuer's values file; none on azure."""
    if ctx.options.target != "local":
        return []
    path = local_values(ctx.report_dir)
    ctx.note(f"local token issuer as chart values: {ctx.shown(path)}")
    return [path]


def image_values(
    images: dict[str, str],
    digests: dict[str, str] | None = None,
    keys: Mapping[str, str] = IMAGE_VALUES,
) -> list[str]:
    """`--set` arguments putting each published reference (and digest, when the registry gave
    one) of the images a chart takes (`keys`: image -> values key) into its image values."""
    arguments = []
    for image, reference in images.items():
        if image not in keys:
            continue  # another release's image
        name, tag = reference.rsplit(":", 1)
        first, _, rest = name.partition("/")
        is_host = rest and ("." in first or ":" in first or first == "localhost")
        registry, repository = (first, rest) if is_host else ("", name)
        key = keys[image]
        for field, value in (("registry", registry), ("repository", repository), ("tag", tag)):
            arguments += ["--set-string", f"{key}.{field}={value}"]
        if digests and image in digests:
            arguments += ["--set-string", f"{key}.digest={digests[image]}"]
    return arguments


def _current_revision(ctx: StageContext, helm: str, env: dict[str, str]) -> int | None:
    """The release's deployed revision, or None before the first install."""
    result = ctx.run(
        "helm list",
        [helm, "list", "--namespace", NAMESPACE, "--filter", f"^{RELEASE}$", "--output", "json"],
        timeout=120,
        env=env,
    )
    listing = next((line for line in reversed(result.tail) if line.startswith("[")), "[]")
    releases = json.loads(listing)
    return int(releases[0]["revision"]) if releases else None
