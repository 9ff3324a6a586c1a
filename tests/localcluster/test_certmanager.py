"""cert-manager's controller image: tagged by its build, and named as the chart and the
registry push expect."""

from __future__ import annotations

import yaml

from pipelines.stages.publish import remote_reference
from tests.support.tools import REPO_ROOT
from tools.localcluster.catalog import CERT_MANAGER, CERT_MANAGER_VERSION
from tools.localcluster.certmanager import PROGRAM, REFERENCE, image_tag


def test_the_tag_is_the_version_and_the_build() -> None:
    first, second = "a" * 64, "b" * 64
    assert image_tag(first) == f"{CERT_MANAGER_VERSION}-{'a' * 12}"
    assert image_tag(first) != image_tag(second), "a rebuilt binary gets a new tag"


def test_the_image_holds_the_binary_the_component_builds() -> None:
    assert PROGRAM in CERT_MANAGER.binaries


def test_the_pushed_repository_is_the_charts_default() -> None:
    values = REPO_ROOT / "helm-charts" / "cert-manager" / "values.yaml"
    repository = yaml.safe_load(values.read_text(encoding="utf-8"))["image"]["repository"]
    pushed = remote_reference("cr.azurecr.io", f"{REFERENCE}:{image_tag('c' * 64)}")
    assert pushed.split(":")[0] == f"cr.azurecr.io/{repository}"
