"""The umbrella chart rendered as `deploy --target local` installs it, with the real helm.

Every argument comes from the deploy stage's own functions (release, namespace, values-file
order, the generated values files) and the API versions the local cluster serves (its Traefik's
CRDs, and the monitoring APIs the deploy installs), so the tests of the local stand-ins hold
their objects to what the release really renders; `extra` values files come last, for fixtures
that break a relation. Also the local monitoring the deploy builds from that release.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.charts import UMBRELLA, staged_charts
from pipelines.stages.deploy import (
    contract_values,
    install_args,
    local_values,
    platform_api_versions,
    values_files,
)
from pipelines.targets import local_monitoring as lm
from pipelines.targets import prometheus_config as config
from pipelines.targets.cluster import NAMESPACE
from tests.support.tools import REPO_ROOT, require_tool
from tools.localcluster import ingress

Manifest = dict[str, Any]
KUBE_VERSION = "1.34.2"
"""The local cluster's Kubernetes (tools/localcluster)."""
API_VERSIONS = (ingress.CRD_API, *lm.SERVED_APIS)
"""What the local cluster serves beyond Kubernetes' own APIs before the platform releases."""
NODE_IP = "192.0.2.10"  # documentation address: the tests never connect to it


def render_local(
    work: Path, extra: Sequence[Path] = (), *, only_extra: bool = False
) -> list[Manifest]:
    """The umbrella's documents for the local target (generated values written into `work`).
    With `only_extra`, the chart's own values.yaml and `extra` alone, as helm-controller merges
    a HelmRelease's valuesFrom and values (no push deploy values files)."""
    helm = require_tool("helm", "make tools")
    generated = [local_values(work), contract_values(work)]
    with staged_charts(REPO_ROOT) as charts:
        chart = charts / UMBRELLA
        subprocess.run(
            [helm, "dependency", "build", "--skip-refresh", str(chart)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        chosen = [] if only_extra else values_files(chart, "local", generated)
        values = [*chosen, *extra]
        apis = (*API_VERSIONS, *platform_api_versions(charts))
        return template(install_args(chart, values, []), apis)


def template(args: Sequence[str], apis: Sequence[str] = API_VERSIONS) -> list[Manifest]:
    """`helm template` with `args` (install_args) against the local cluster's Kubernetes and
    the API versions `apis` it serves."""
    helm = require_tool("helm", "make tools")
    out = subprocess.run(
        [
            *[helm, "template", *args, "--kube-version", KUBE_VERSION],
            *[arg for api in apis for arg in ("--api-versions", api)],
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The only document of `kind` named `name`."""
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def pod_labels(workload: Manifest) -> dict[str, str]:
    """The labels of a workload's pods (Deployment, StatefulSet, Job or CronJob)."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchLabels and `In` expressions."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    """Documents of `kind`, with the namespace the install gives them (helm omits it on some)."""
    found = [copy.deepcopy(d) for d in docs if d["kind"] == kind]
    for doc in found:
        doc["metadata"].setdefault("namespace", NAMESPACE)
    return found


def services(release: list[Manifest]) -> list[Manifest]:
    """The release's Services, as the deploy reads them back."""
    return of_kind(release, "Service")


def build(release: list[Manifest], rules_dir: str = config.RULES_DIR) -> lm.Monitoring:
    """The monitoring the deploy makes from `release`."""
    return lm.build(
        of_kind(release, "ServiceMonitor"),
        of_kind(release, "PrometheusRule"),
        services(release),
        NODE_IP,
        rules_dir,
    )
