"""The orchestrator reaches the local cluster harness through one narrow interface only."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.tools import REPO_ROOT

HARNESS = "tools.localcluster"
INTERFACE = f"{HARNESS}.interface"


def harness_imports(source: str) -> set[str]:
    """Modules of the harness a Python source imports (absolute imports only)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == HARNESS:
            names = [f"{HARNESS}.{alias.name}" for alias in node.names]  # from the package
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name == HARNESS or name.startswith(f"{HARNESS}.")}
    return found


def offenders(root: Path) -> dict[str, set[str]]:
    """Files under `root` that import the harness other than through its interface."""
    result = {}
    for path in sorted(root.rglob("*.py")):
        imports = harness_imports(path.read_text(encoding="utf-8"))
        wrong = {name for name in imports if not name.startswith(INTERFACE)}
        if imports and wrong:
            result[str(path.relative_to(root))] = wrong
    return result


def test_the_pipeline_imports_the_harness_only_through_its_interface() -> None:
    assert offenders(REPO_ROOT / "pipelines") == {}


def test_the_check_bites_on_a_direct_import(tmp_path: Path) -> None:
    (tmp_path / "stage.py").write_text(
        "from tools.localcluster.interface import state_paths\n"
        "from tools.localcluster import pki\n"
        "import tools.localcluster.settings\n",
        encoding="utf-8",
    )

    assert offenders(tmp_path) == {
        "stage.py": {"tools.localcluster.pki", "tools.localcluster.settings"}
    }
