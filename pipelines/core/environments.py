"""The Azure environments: every folder under iac/environments, declared nowhere else.

Adding an environment is adding its folder; the CLI's `--env` choices, the per-environment plan
tests, the chart tests and the Jenkinsfile checks all read this list. A folder that lacks one
of the files every environment needs is refused here, naming the folder and the file.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_DIR = Path("iac") / "environments"
REQUIRED_FILES = ("backend.hcl", "terraform.tfvars")
"""The environment's Terraform state location and its values for the one root iac/platform."""


class IncompleteEnvironment(ValueError):
    """An environment folder misses a file every environment needs."""


def azure_environments(root: Path = REPO_ROOT) -> tuple[str, ...]:
    """The environment names under `root`/iac/environments, sorted; raises IncompleteEnvironment
    when a folder lacks one of REQUIRED_FILES."""
    return environments_in(root / ENVIRONMENTS_DIR)


def environments_in(folder: Path) -> tuple[str, ...]:
    """The environment folders under `folder` (an IaC tree's environments/), validated as
    azure_environments does; none when `folder` does not exist."""
    names = (
        sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []
    )
    problems = [
        f"{ENVIRONMENTS_DIR / name} has no {required}"
        for name in names
        for required in REQUIRED_FILES
        if not (folder / name / required).is_file()
    ]
    if problems:
        raise IncompleteEnvironment(
            "; ".join(problems) + f" (every environment folder needs {', '.join(REQUIRED_FILES)})"
        )
    return tuple(names)
