"""The environment list is derived from iac/environments/* once; every layer reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.core.charts import CHARTS, UMBRELLA
from pipelines.core.environments import (
    ENVIRONMENTS_DIR,
    REQUIRED_FILES,
    IncompleteEnvironment,
    azure_environments,
)
from tests.support.tools import REPO_ROOT

JENKINS_CHOICES = re.compile(r"choice\(name: 'ENVIRONMENT', choices: \[([^\]]*)\]")
TERRAFORM_VALIDATION = re.compile(r"contains\(\[([^\]]*)\], var\.environment\)")
TFVARS_ENVIRONMENT = re.compile(r'^environment\s*=\s*"([^"]+)"', re.MULTILINE)


def environment_folder(root: Path, name: str, files: tuple[str, ...] = REQUIRED_FILES) -> None:
    folder = root / ENVIRONMENTS_DIR / name
    folder.mkdir(parents=True)
    for file in files:
        (folder / file).write_text("# test\n", encoding="utf-8")


def test_a_new_environment_folder_is_picked_up(tmp_path: Path) -> None:
    for name in ("dev", "prod", "staging"):
        environment_folder(tmp_path, name)
    assert azure_environments(tmp_path) == ("dev", "prod", "staging")

    environment_folder(tmp_path, "qa")

    assert azure_environments(tmp_path) == ("dev", "prod", "qa", "staging")


def test_a_folder_without_its_backend_is_refused_naming_the_file(tmp_path: Path) -> None:
    environment_folder(tmp_path, "dev")
    environment_folder(tmp_path, "qa", files=("terraform.tfvars",))

    with pytest.raises(IncompleteEnvironment) as refused:
        azure_environments(tmp_path)

    assert str(refused.value) == (
        "iac/environments/qa has no backend.hcl "
        "(every environment folder needs backend.hcl, terraform.tfvars)"
    )


def test_no_environment_folder_means_no_environment(tmp_path: Path) -> None:
    assert azure_environments(tmp_path) == ()


@pytest.mark.parametrize("env", azure_environments())
def test_every_environment_has_umbrella_values(env: str) -> None:
    values = REPO_ROOT / CHARTS / UMBRELLA / f"values-{env}.yaml"
    assert values.is_file(), f"{env} has a folder in iac/environments but no {values.name}"


def test_jenkins_offers_exactly_the_environment_folders() -> None:
    jenkinsfile = (REPO_ROOT / "Jenkinsfile").read_text(encoding="utf-8")
    match = JENKINS_CHOICES.search(jenkinsfile)
    assert match, "the Jenkinsfile has no ENVIRONMENT choice parameter"
    choices = re.findall(r"'([^']+)'", match.group(1))

    assert sorted(choices) == list(azure_environments()), (
        "the Jenkinsfile's ENVIRONMENT choices differ from the folders in iac/environments"
    )


def test_every_terraform_validation_admits_exactly_the_environment_folders() -> None:
    lists = {
        str(path.relative_to(REPO_ROOT)): sorted(re.findall(r'"([^"]+)"', found))
        for path in sorted((REPO_ROOT / "iac").rglob("*.tf"))
        for found in TERRAFORM_VALIDATION.findall(path.read_text(encoding="utf-8"))
    }
    assert lists, "no `contains([...], var.environment)` validation found under iac/"
    expected = list(azure_environments())
    wrong = {path: names for path, names in lists.items() if names != expected}
    assert not wrong, f"these validations disagree with the folders {expected}: {wrong}"


@pytest.mark.parametrize("env", azure_environments())
def test_each_environment_folder_declares_its_own_name(env: str) -> None:
    tfvars = REPO_ROOT / ENVIRONMENTS_DIR / env / "terraform.tfvars"
    assert TFVARS_ENVIRONMENT.findall(tfvars.read_text(encoding="utf-8")) == [env]


def test_bootstrap_makes_a_state_container_for_every_environment_folder() -> None:
    tfvars = (REPO_ROOT / "iac" / "bootstrap" / "terraform.tfvars").read_text(encoding="utf-8")
    block = re.search(r"^environments = \{(.*?)^\}", tfvars, re.S | re.M)
    assert block, 'iac/bootstrap/terraform.tfvars sets no "environments"'
    names = re.findall(r"^\s+([a-z][a-z0-9]*)\s*=\s*\{", block.group(1), re.M)
    assert sorted(names) == list(azure_environments())
