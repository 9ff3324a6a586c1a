"""`terraform init` in the pipeline agrees with ADR-0009 (no committed lock files)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.targets.terraform_outputs import (
    LOCK_FILE,
    PLATFORM_ROOT,
    EnvironmentRoot,
    lockfile_args,
)
from tests.support.tools import REPO_ROOT

ADR = REPO_ROOT / "docs" / "adr" / "0009-no-committed-terraform-lock-files.md"


def _committed_lock_files() -> list[str]:
    listing = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", f"*{LOCK_FILE}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listing.stdout.split()


def _init(root: Path) -> list[str]:
    environment = EnvironmentRoot(
        terraform="terraform",
        chdir=f"-chdir={root}",
        backend_config="-backend-config=../environments/prod/backend.hcl",
        var_file="-var-file=../environments/prod/terraform.tfvars",
        env={},
        lockfile=lockfile_args(root),
    )
    return environment.init()


def test_the_repository_commits_no_lock_file_as_the_adr_decides() -> None:
    assert "Lock files are not committed" in ADR.read_text(encoding="utf-8")
    assert _committed_lock_files() == []


def test_init_of_the_platform_root_does_not_demand_the_lock_file_nobody_commits() -> None:
    args = _init(REPO_ROOT / PLATFORM_ROOT)
    assert not any(arg.startswith("-lockfile") for arg in args)
    assert args[1:] == [
        f"-chdir={REPO_ROOT / PLATFORM_ROOT}",
        "init",
        "-input=false",
        "-reconfigure",
        "-backend-config=../environments/prod/backend.hcl",
    ]


def test_a_committed_lock_file_is_enforced_read_only(tmp_path: Path) -> None:
    (tmp_path / LOCK_FILE).write_text("# provider hashes\n", encoding="utf-8")
    assert "-lockfile=readonly" in _init(tmp_path)
