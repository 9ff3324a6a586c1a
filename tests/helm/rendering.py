"""Render the charts with the real `helm` CLI once per input and hand out parsed documents.

Rendering is the slow part of chart tests (a process per render), so every distinct input is
rendered once per session and cached; tests only read the parsed objects.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

import yaml

from pipelines.core import contract
from pipelines.core.environments import azure_environments
from pipelines.stages.deploy import contract_values, local_values, platform_api_versions
from pipelines.targets import local_issuer
from pipelines.targets.local_monitoring import SERVED_APIS as LOCAL_MONITORING_APIS
from tools.localcluster import ingress

REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS_SRC = REPO_ROOT / "helm-charts"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
UMBRELLA = "inventory-platform"
AZURE_ENVIRONMENTS = azure_environments()
ENVIRONMENTS = (*AZURE_ENVIRONMENTS, "local")
MONITORING_API = "monitoring.coreos.com/v1"
MANAGED_PROMETHEUS_API = "azmonitoring.coreos.com/v1"
TRAEFIK_API = ingress.CRD_API
"""What the local cluster's Traefik serves (its kubernetescrd provider's CRDs)."""
PLATFORM_APIS = platform_api_versions(CHARTS_SRC)
"""What the platform releases the deploy stage installs first serve (cert-manager.io/v1)."""
PLATFORM_API_ARGS = [arg for api in PLATFORM_APIS for arg in ("--api-versions", api)]
APP_ROUTING_API = "approuting.kubernetes.azure.com/v1alpha1"
"""The AKS application routing add-on (on in every Azure environment)."""
CONTRACT = contract.load()
RELEASE = CONTRACT.release
"""The release the deploy stage installs, so rendered names are the deployed names."""
NAMESPACE = CONTRACT.namespace
API = CONTRACT.fullnames["inventory-api"]
"""Name prefix of the API chart's objects (Deployment, Service, ServiceAccount, ...)."""
DB = CONTRACT.fullnames["postgresql"]
"""Name prefix of the database chart's objects (StatefulSet, Services, CronJobs, ...)."""
# What the pipeline passes for the database chart on its own: deploy by digest.
DIGEST_SETS = {
    "postgresql": [
        "image.digest=sha256:" + "2" * 64,
        "exporter.image.digest=sha256:" + "3" * 64,
        "pooler.image.digest=sha256:" + "4" * 64,
    ],
}

Manifest = dict[str, Any]


class Apis(TypedDict, total=False):
    """The API groups a render offers, as render()'s keyword flags."""

    monitoring_crds: bool
    managed_prometheus_crds: bool
    platform_apis: bool
    app_routing_crds: bool
    traefik_crds: bool


def env_apis(env: str) -> Apis:
    """The API groups `env`'s cluster serves, as render() flags: every target runs the platform
    releases (cert-manager), Azure clusters the managed Prometheus (monitor_metrics), the local
    one the APIs its monitoring installs and its Traefik's CRD provider."""
    azure = env in AZURE_ENVIRONMENTS
    return Apis(
        monitoring_crds=env == "local" and MONITORING_API in LOCAL_MONITORING_APIS,
        managed_prometheus_crds=azure,
        platform_apis=True,
        traefik_crds=not azure,
    )


class RenderError(Exception):
    """helm refused the input; the message is helm's own stderr."""


class DuplicateKey(RenderError):
    """A rendered mapping names one key twice: helm applies it (the last wins), but Flux's
    helm-controller post-renders every release through kustomize, which refuses it."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice."""


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise DuplicateKey(f"mapping key {key!r} given twice {key_node.start_mark}")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_rendered(text: str) -> tuple[Manifest, ...]:
    """helm template's documents, each mapping key unique (DuplicateKey otherwise)."""
    return tuple(d for d in yaml.load_all(text, Loader=_StrictLoader) if d)


@dataclass(frozen=True)
class Rendered:
    """The documents of one render, with lookups by kind and name."""

    docs: tuple[Manifest, ...]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [d for d in self.docs if d.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> Manifest:
        found = [d for d in self.of_kind(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {str(d.get("kind")) for d in self.docs}


def pod_spec(workload: Manifest) -> Manifest:
    """The pod spec of a Deployment, StatefulSet, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def containers(workload: Manifest) -> Iterator[Manifest]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet")


def workloads(rendered: Rendered) -> list[Manifest]:
    return [d for d in rendered.docs if d["kind"] in WORKLOAD_KINDS]


def is_token_volume(volume: Manifest) -> bool:
    """A projected volume carrying a ServiceAccount token (a credential for the API server)."""
    return any("serviceAccountToken" in s for s in volume.get("projected", {}).get("sources", []))


def token_holders(rendered: Rendered) -> set[str]:
    """`Kind/name/container` of every container that mounts a projected API token: with
    auto-mounting off everywhere, these are the only processes able to call the API server."""
    holders = set()
    for workload in workloads(rendered):
        tokens = {v["name"] for v in pod_spec(workload).get("volumes", []) if is_token_volume(v)}
        for c in containers(workload):
            if tokens & {m["name"] for m in c.get("volumeMounts", [])}:
                holders.add(f"{workload['kind']}/{workload['metadata']['name']}/{c['name']}")
    return holders


def restricted_context_problems(rendered: Rendered) -> list[str]:
    """Containers lacking resources, probes (long-running ones) or the restricted profile;
    container settings win over pod settings, as in Kubernetes."""
    problems = []
    for workload in workloads(rendered):
        pod = pod_spec(workload)
        pod_sc = pod.get("securityContext", {})
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: service account token mounted")
        for c in containers(workload):
            where = f"{name}/{c['name']}"
            sc = {**pod_sc, **c.get("securityContext", {})}
            res = c.get("resources", {})
            checks = {
                "cpu/memory requests": {"cpu", "memory"} <= res.get("requests", {}).keys(),
                "cpu/memory limits": {"cpu", "memory"} <= res.get("limits", {}).keys(),
                "runAsNonRoot": sc.get("runAsNonRoot") is True,
                "numeric non-root uid": sc.get("runAsUser", 0) > 0,
                "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
                "allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
                "drop ALL capabilities": sc.get("capabilities", {}).get("drop") == ["ALL"],
                "seccomp RuntimeDefault": sc.get("seccompProfile", {}).get("type")
                == "RuntimeDefault",
            }
            if workload["kind"] in ("Deployment", "StatefulSet"):
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    checks[probe] = probe in c
            problems += [f"{where}: {what}" for what, ok in checks.items() if not ok]
    return problems


@dataclass
class Renderer:
    """Runs `helm template` on a private copy of helm-charts/ (dependencies built there)."""

    helm: str
    workdir: Path
    _cache: dict[tuple[object, ...], Rendered] = field(default_factory=dict)

    def prepare(self) -> None:
        """Copy the charts, build the umbrella's file:// dependencies in the copy, and write the
        values files the deploy stage generates for the umbrella (the contract's names, and the
        local token issuer's values the local target adds)."""
        target = self.workdir / "helm-charts"
        shutil.copytree(CHARTS_SRC, target, ignore=shutil.ignore_patterns("charts", "*.tgz"))
        self.run("dependency", "build", str(target / UMBRELLA))
        contract_values(self.workdir)
        local_values(self.workdir)

    def chart_dir(self, chart: str) -> Path:
        return self.workdir / "helm-charts" / chart

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            [self.helm, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if proc.returncode != 0:
            raise RenderError(proc.stderr.strip())
        return proc.stdout

    def values_files(self, chart: str, env: str | None) -> list[Path]:
        """The values files the pipeline passes for `env` (ids and image digests for Azure envs,
        plus what only that environment's outputs carry; the local token issuer's values locally),
        and for the umbrella the contract's names, last as the deploy stage passes them."""
        files = [] if env is None else [self.chart_dir(chart) / f"values-{env}.yaml"]
        if env in AZURE_ENVIRONMENTS:
            files.append(FIXTURES / "pipeline-outputs.yaml")
            own = FIXTURES / f"pipeline-outputs-{env}.yaml"
            if own.is_file():
                files.append(own)
        if env == "local":
            files.append(self.workdir / local_issuer.VALUES_FILE)
        if chart == UMBRELLA:
            files.append(self.workdir / contract.VALUES_FILE)
        return files

    def template_args(
        self,
        chart: str,
        env: str | None = None,
        values: Sequence[Path] = (),
        sets: Sequence[str] = (),
        *,
        monitoring_crds: bool = False,
        platform_apis: bool = False,
        managed_prometheus_crds: bool = False,
        app_routing_crds: bool = False,
        traefik_crds: bool = False,
    ) -> list[str]:
        args = ["template", RELEASE, str(self.chart_dir(chart)), "--namespace", NAMESPACE]
        args += ["--kube-version", "1.33.0"]
        for path in [*self.values_files(chart, env), *values]:
            args += ["--values", str(path)]
        for item in sets:
            args += ["--set", item]
        if monitoring_crds:
            args += ["--api-versions", MONITORING_API]
        if platform_apis:
            args += PLATFORM_API_ARGS
        if managed_prometheus_crds:
            args += ["--api-versions", MANAGED_PROMETHEUS_API]
        if app_routing_crds or env in AZURE_ENVIRONMENTS:  # every AKS cluster runs app routing
            args += ["--api-versions", APP_ROUTING_API]
        if traefik_crds:
            args += ["--api-versions", TRAEFIK_API]
        return args

    def render(
        self,
        chart: str,
        env: str | None = None,
        values: Sequence[Path] = (),
        sets: Sequence[str] = (),
        *,
        monitoring_crds: bool = False,
        platform_apis: bool = False,
        managed_prometheus_crds: bool = False,
        app_routing_crds: bool = False,
        traefik_crds: bool = False,
    ) -> Rendered:
        key = (
            chart,
            env,
            tuple(values),
            tuple(sets),
            monitoring_crds,
            platform_apis,
            managed_prometheus_crds,
            app_routing_crds,
            traefik_crds,
        )
        if key not in self._cache:
            args = self.template_args(
                chart,
                env,
                values,
                sets,
                monitoring_crds=monitoring_crds,
                platform_apis=platform_apis,
                managed_prometheus_crds=managed_prometheus_crds,
                app_routing_crds=app_routing_crds,
                traefik_crds=traefik_crds,
            )
            self._cache[key] = Rendered(load_rendered(self.run(*args)))
        return self._cache[key]

    def render_error(
        self,
        chart: str,
        sets: Sequence[str] = (),
        values: Sequence[Path] = (),
        **apis: Unpack[Apis],
    ) -> str:
        """Render input that must be refused, against a cluster the platform releases are in
        (so the refusal is the input's own); return helm's message."""
        offered: Apis = {"platform_apis": True}
        offered.update(apis)
        try:
            self.run(*self.template_args(chart, values=values, sets=sets, **offered))
        except RenderError as refused:
            return str(refused)
        raise AssertionError(f"helm accepted {chart} with {list(sets)} {list(values)}")

    def env_render(self, env: str) -> Rendered:
        """The umbrella as deployed to `env`."""
        return self.render(UMBRELLA, env, **env_apis(env))
