"""The umbrella rendered as `deploy --target local` installs it, for the local stand-ins' tests.

Same arguments as the deploy stage (install_args, values-local.yaml, the contract's values) and
the API versions the local cluster serves once the monitoring APIs are installed; and the local
monitoring the deploy builds from it.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.charts import UMBRELLA, staged_charts
from pipelines.stages.deploy import contract_values, install_args, values_files
from pipelines.targets import local_monitoring as lm
from pipelines.targets import prometheus_config as config
from pipelines.targets.cluster import NAMESPACE
from tests.support.tools import REPO_ROOT, require_tool

Manifest = dict[str, Any]
NODE_IP = "192.0.2.10"  # documentation address: the tests never connect to it


def render_local_release(workdir: Path) -> list[Manifest]:
    """The documents `helm template` prints for the local target."""
    helm = require_tool("helm", "make tools")
    generated = [contract_values(workdir)]
    apis = [arg for api in lm.SERVED_APIS for arg in ("--api-versions", api)]
    with staged_charts(REPO_ROOT) as charts:
        chart = charts / UMBRELLA
        subprocess.run(
            [helm, "dependency", "build", "--skip-refresh", str(chart)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        args = install_args(chart, values_files(chart, "local", generated), [])
        out = subprocess.run(
            [helm, "template", *args, "--kube-version", "1.34.2", *apis],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


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
    return lm.build(
        of_kind(release, "ServiceMonitor"),
        of_kind(release, "PrometheusRule"),
        services(release),
        NODE_IP,
        rules_dir,
    )
