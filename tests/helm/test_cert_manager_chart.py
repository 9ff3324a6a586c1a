"""The cert-manager chart as the deploy stage installs it: pinned CRDs, namespaced least
privilege, a restricted pod, and the controller's flags and RBAC naming the same objects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core.charts import CERT_MANAGER, CRD_FILES
from pipelines.stages.deploy import cert_manager_values
from tests.helm.rendering import (
    CONTRACT,
    Rendered,
    Renderer,
    RenderError,
    pod_spec,
    restricted_context_problems,
)
from tools.localcluster.catalog import CERT_MANAGER as COMPONENT
from tools.localcluster.catalog import CERT_MANAGER_VERSION

NAMES = CONTRACT.cert_manager
Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def chart(renderer: Renderer) -> Path:
    return renderer.chart_dir(CERT_MANAGER)


def _render(renderer: Renderer, chart: Path, *extra: str) -> Rendered:
    args = ["template", NAMES["release"], str(chart), "--namespace", NAMES["namespace"]]
    args += ["--kube-version", "1.33.0", *extra]
    return Rendered(tuple(d for d in yaml.safe_load_all(renderer.run(*args)) if d))


@pytest.fixture(scope="module")
def deployed(renderer: Renderer, chart: Path, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The chart with the values file the deploy stage generates from the contract."""
    values = cert_manager_values(tmp_path_factory.mktemp("cert-manager"))
    return _render(renderer, chart, "--values", str(values))


def _args(rendered: Rendered) -> dict[str, str]:
    (container,) = pod_spec(rendered.one("Deployment"))["containers"]
    return dict(arg.removeprefix("--").split("=", 1) for arg in container["args"])


def test_the_pod_is_restricted_non_root_and_read_only(deployed: Rendered) -> None:
    assert restricted_context_problems(deployed) == []
    pod = pod_spec(deployed.one("Deployment"))
    (token,) = [v for v in pod["volumes"] if "projected" in v]
    sources = token["projected"]["sources"]
    assert any("serviceAccountToken" in source for source in sources), "the API token is projected"


def test_it_serves_the_workloads_namespace_with_roles_only(deployed: Rendered) -> None:
    assert not deployed.of_kind("ClusterRole")
    assert not deployed.of_kind("ClusterRoleBinding")
    assert _args(deployed)["namespace"] == CONTRACT.namespace
    roles = {r["metadata"]["namespace"]: r for r in deployed.of_kind("Role")}
    assert set(roles) == {CONTRACT.namespace, NAMES["namespace"]}
    account = deployed.one("ServiceAccount")
    for binding in deployed.of_kind("RoleBinding"):
        assert binding["roleRef"]["kind"] == "Role"
        role = roles[binding["metadata"]["namespace"]]
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        (subject,) = binding["subjects"]
        assert (subject["name"], subject["namespace"]) == (
            account["metadata"]["name"],
            NAMES["namespace"],
        )
        assert (
            account["metadata"]["name"]
            == pod_spec(deployed.one("Deployment"))["serviceAccountName"]
        )
    served = roles[CONTRACT.namespace]["rules"]
    assert {"cert-manager.io"} <= {group for rule in served for group in rule["apiGroups"]}
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in served)


def test_the_lease_it_elects_with_is_the_one_rbac_grants(deployed: Rendered) -> None:
    args = _args(deployed)
    assert args["leader-election-namespace"] == NAMES["namespace"]
    election = next(
        r for r in deployed.of_kind("Role") if r["metadata"]["namespace"] == NAMES["namespace"]
    )
    named = [rule for rule in election["rules"] if rule.get("resourceNames")]
    assert [rule["resourceNames"] for rule in named] == [[args["leader-election-name"]]]


def _vendored(chart: Path) -> dict[str, Manifest]:
    documents = (yaml.safe_load(p.read_text(encoding="utf-8")) for p in chart.glob(CRD_FILES))
    return {d["metadata"]["name"]: d for d in documents}


def test_the_crds_are_the_vendored_ones_kept_on_uninstall(deployed: Rendered, chart: Path) -> None:
    vendored = _vendored(chart)
    rendered = {d["metadata"]["name"]: d for d in deployed.of_kind("CustomResourceDefinition")}
    assert set(rendered) == set(vendored)
    for name, crd in rendered.items():
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["spec"] == vendored[name]["spec"], name


def test_the_vendored_crds_are_the_pinned_modules(chart: Path) -> None:
    """files/crds are byte for byte the pinned cert-manager module's deploy/crds."""
    module = f"{COMPONENT.module}@{COMPONENT.module_version}"
    download = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=COMPONENT.directory,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    upstream = Path(json.loads(download.stdout)["Dir"]) / "deploy" / "crds"
    for path in chart.glob(CRD_FILES):
        assert path.read_bytes() == (upstream / path.name).read_bytes(), path.name


def test_the_chart_pins_the_catalogs_version(chart: Path) -> None:
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    assert metadata["appVersion"] == values["image"]["tag"] == CERT_MANAGER_VERSION


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "leaderElection.renewDeadlineSeconds=60",
            "leaderElection.renewDeadlineSeconds (60) must be less than",
        ),
        (
            "leaderElection.retryPeriodSeconds=40",
            "leaderElection.retryPeriodSeconds (40) must be less than",
        ),
        ("image.tag=latest", "image.tag"),
        ("servedNamespace=Inventory", "servedNamespace"),
    ],
)
def test_bad_values_are_refused_naming_the_value(
    renderer: Renderer, chart: Path, setting: str, message: str
) -> None:
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _render(renderer, chart, "--set", setting)
