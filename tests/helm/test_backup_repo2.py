"""The second repository (backup.repo2, the paired region's) as the chart renders it: every
container that talks to the repository gets repo2's settings under the names the image reads
(dbops.common.repo_env, the twins of repo1's), one weekly full backup and one drill target repo2
alone, and a misconfigured repo2 is refused with what to set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dbops.azure_sas import client_id_variable
from dbops.common import repo_env

from tests.helm.rendering import DB, Rendered, Renderer, containers
from tests.helm.test_backup_dr import env_of, repository_containers

REPO_SETTINGS = ("AZURE_ACCOUNT", "AZURE_CONTAINER", "AZURE_ENDPOINT", "AZURE_URI_STYLE")
"""Storage settings each repository has (dbops.pgbackrest_conf reads them per repository)."""


@pytest.fixture(scope="module")
def repo2_values(fixtures_dir: Path) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((fixtures_dir / "backup-repo2.yaml").read_text())
    return dict(values["backup"]["repo2"])


@pytest.fixture(scope="module")
def with_repo2(renderer: Renderer, fixtures_dir: Path) -> Rendered:
    return renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml", fixtures_dir / "backup-repo2.yaml"],
        sets=["monitoring.enabled=true"],
        monitoring_crds=True,
    )


@pytest.fixture(scope="module")
def without_repo2(renderer: Renderer, fixtures_dir: Path) -> Rendered:
    return renderer.render(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml"],
        sets=["monitoring.enabled=true"],
        monitoring_crds=True,
    )


def cronjob_env(rendered: Rendered, name: str) -> dict[str, str]:
    (container,) = containers(rendered.one("CronJob", f"{DB}-{name}"))
    return env_of(container)


def test_every_repository_container_gets_repo2_as_the_image_reads_it(
    with_repo2: Rendered, repo2_values: dict[str, Any]
) -> None:
    """The database (archive-push to both), the TLS server, the backup and drill jobs."""
    found = repository_containers(with_repo2)
    assert {c["name"] for c in found} >= {"postgresql", "pgbackrest-server", "backup"}
    for container in found:
        env = env_of(container)
        for setting in REPO_SETTINGS:
            assert repo_env(1, setting) in env, (container["name"], setting)
        twins = {setting: env.get(repo_env(2, setting)) for setting in REPO_SETTINGS}
        assert twins["AZURE_ACCOUNT"] == repo2_values["azure"]["account"]
        assert twins["AZURE_CONTAINER"] == "pgbackrest"
        assert env[repo_env(2, "AZURE_KEY_TYPE")] == "sas"  # minted with its own identity
        assert env[client_id_variable(2)] == repo2_values["clientId"]
        assert env[repo_env(2, "CIPHER_PASS_FILE")] == env[repo_env(1, "CIPHER_PASS_FILE")]


def test_one_full_backup_and_one_drill_target_repo2_alone(
    with_repo2: Rendered, renderer: Renderer
) -> None:
    schedules = yaml.safe_load(renderer.chart_dir("postgresql").joinpath("values.yaml").read_text())
    repo2_schedules = schedules["backup"]["repo2"]["schedules"]
    full = with_repo2.one("CronJob", f"{DB}-backup-full-repo2")
    assert full["spec"]["schedule"] == repo2_schedules["full"]
    assert cronjob_env(with_repo2, "backup-full-repo2")["BACKUP_TARGET_REPO"] == "2"
    (backup,) = containers(full)
    assert backup["args"] == ["dbops.backup", "--type", "full"]
    drill = with_repo2.one("CronJob", f"{DB}-restore-drill-repo2")
    assert drill["spec"]["schedule"] == repo2_schedules["restoreDrill"]
    assert cronjob_env(with_repo2, "restore-drill-repo2")["DRILL_REPO"] == "2"
    for name in ("backup-full", "backup-diff", "restore-drill"):
        env = cronjob_env(with_repo2, name)
        assert "BACKUP_TARGET_REPO" not in env
        assert "DRILL_REPO" not in env


def test_without_a_repo2_account_nothing_of_repo2_is_rendered(without_repo2: Rendered) -> None:
    names = {c["metadata"]["name"] for c in without_repo2.of_kind("CronJob")}
    assert not {n for n in names if n.endswith("-repo2")}
    for container in repository_containers(without_repo2):
        assert not [name for name in env_of(container) if name.startswith(repo_env(2, ""))]


def _groups(rendered: Rendered) -> set[str]:
    (rule,) = rendered.of_kind("PrometheusRule")
    return {group["name"] for group in rule["spec"]["groups"]}


def test_repo2_alerts_are_rendered_where_repo2_is(
    with_repo2: Rendered, without_repo2: Rendered
) -> None:
    assert _groups(with_repo2) - _groups(without_repo2) == {"postgresql.backup-repo2"}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["backup.repo2.clientId="], "backup.repo2.azure.account needs backup.repo2.clientId"),
        (["backup.serviceAccount.clientId="], "backup.repo2 needs backup.serviceAccount.clientId"),
        (["backup.local.storageKeySecret=azurite-key"], "backup.repo2 is Azure only"),
        (["backup.repo2.azure.account=stinventorybackup"], "is repo1's account"),
    ],
)
def test_a_misconfigured_repo2_is_refused(
    renderer: Renderer, fixtures_dir: Path, sets: list[str], message: str
) -> None:
    error = renderer.render_error(
        "postgresql",
        values=[fixtures_dir / "backup-enabled.yaml", fixtures_dir / "backup-repo2.yaml"],
        sets=sets,
    )
    assert message in error
