"""checkov's kubernetes framework over the rendered manifests: every failed check is either
fixed or covered by a dated waiver in policies/waivers.yaml (framework: kubernetes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.core.charts import CERT_MANAGER
from pipelines.stages.deploy import cert_manager_values
from policies.waivers import Waiver, load_waivers
from tests.helm.rendering import API, DIGEST_SETS, ENVIRONMENTS, REPO_ROOT, Rendered, Renderer
from tests.support.tools import require_tool

WAIVERS = REPO_ROOT / "policies" / "waivers.yaml"


def _write(path: Path, rendered: Rendered) -> None:
    path.write_text(yaml.safe_dump_all(rendered.docs, sort_keys=False), encoding="utf-8")


def _scan(checkov: str, directory: Path) -> list[dict[str, Any]]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [
            checkov,
            "--directory",
            str(directory),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )
    assert proc.stdout.strip(), proc.stderr
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    assert report["summary"]["resource_count"] > 0, "checkov scanned nothing"
    assert report["summary"]["parsing_errors"] == 0
    return list(report["results"]["failed_checks"])


def _unwaived(failed: list[dict[str, Any]], waivers: list[Waiver]) -> list[str]:
    k8s = [w for w in waivers if w.framework == "kubernetes"]
    return sorted(
        f"{f['check_id']} {f['resource']} in {f['file_path']}: {f['check_name']}"
        for f in failed
        if not any(w.matches(f["check_id"], f["resource"], f["file_path"].lstrip("/")) for w in k8s)
    )


BAD_FILE = "bad-privileged.yaml"


def _privileged(deploy: dict[str, Any]) -> dict[str, Any]:
    """The API Deployment with a privileged root container: checkov must flag it."""
    spec = deploy["spec"]["template"]["spec"]
    container = {**spec["containers"][0], "securityContext": {"privileged": True, "runAsUser": 0}}
    template = {**deploy["spec"]["template"], "spec": {**spec, "containers": [container]}}
    return {**deploy, "spec": {**deploy["spec"], "template": template}}


@pytest.fixture(scope="session")
def checkov_failures(
    renderer: Renderer, fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    """One checkov run over every environment, the backup-enabled database chart, the
    cert-manager release as deployed (by digest) and one deliberately bad manifest (proving the
    scan bites)."""
    checkov = require_tool("checkov", "make tools")
    scan_dir = tmp_path_factory.mktemp("checkov")
    for env in ENVIRONMENTS:
        _write(scan_dir / f"{env}.yaml", renderer.env_render(env))
    backup = renderer.render(
        "postgresql", values=[fixtures_dir / "backup-enabled.yaml"], sets=DIGEST_SETS["postgresql"]
    )
    _write(scan_dir / "postgresql-backup.yaml", backup)
    platform = renderer.render(
        CERT_MANAGER,
        values=[cert_manager_values(tmp_path_factory.mktemp("cert-manager"))],
        sets=["image.digest=sha256:" + "4" * 64],
    )
    _write(scan_dir / "cert-manager.yaml", platform)
    bad = _privileged(dict(renderer.env_render("local").one("Deployment", API)))
    (scan_dir / BAD_FILE).write_text(yaml.safe_dump(bad), encoding="utf-8")
    return _scan(checkov, scan_dir)


def _chart_failures(failures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in failures if f["file_path"].lstrip("/") != BAD_FILE]


def test_no_unwaived_checkov_failures(checkov_failures: list[dict[str, Any]]) -> None:
    waivers = load_waivers(WAIVERS)
    assert _unwaived(_chart_failures(checkov_failures), waivers) == []
    today = dt.date.today()
    assert not [w.label for w in waivers if w.framework == "kubernetes" and w.is_expired(today)]


def test_every_kubernetes_waiver_is_used(checkov_failures: list[dict[str, Any]]) -> None:
    """A waiver that matches nothing has outlived its reason and must be deleted."""
    failures = _chart_failures(checkov_failures)
    for waiver in (w for w in load_waivers(WAIVERS) if w.framework == "kubernetes"):
        assert any(
            waiver.matches(f["check_id"], f["resource"], f["file_path"].lstrip("/"))
            for f in failures
        ), f"unused waiver {waiver.label}"


def test_checkov_bites(checkov_failures: list[dict[str, Any]]) -> None:
    """The privileged root container yields unwaived failures."""
    bad = [f for f in checkov_failures if f["file_path"].lstrip("/") == BAD_FILE]
    problems = _unwaived(bad, load_waivers(WAIVERS))
    assert any(p.startswith("CKV_K8S_16 ") for p in problems), problems  # privileged
    assert any(p.startswith("CKV_K8S_20 ") for p in problems), problems  # privilege escalation
