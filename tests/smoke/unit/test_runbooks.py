"""Extraction of the runbooks' read-only commands (tests/smoke/runbooks.py), without a cluster:
what is extracted, that it is aimed at the deployed release and the image as they are, and that
a block which writes is refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipelines.targets.cluster import NAMESPACE, RELEASE
from tests.smoke.runbooks import RUNBOOKS, RunbookError, load, logical_lines, runbooks
from tests.support.tools import REPO_ROOT, require_tool

CHART = REPO_ROOT / "helm-charts" / "postgresql" / "templates"
# The pgBackRest configuration the database container renders, as the chart declares it.
CONFIG = re.search(r"- name: BACKUP_CONFIG\n\s+value: (\S+)", (CHART / "_helpers.tpl").read_text())
CONTAINERS = set(
    re.findall(
        r"^ {8}- name: ([a-z-]+)\n {10}image:", (CHART / "statefulset.yaml").read_text(), re.M
    )
)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "runbook.md"
    path.write_text(f"# A runbook\n```sh read-only\nNS=x\nRELEASE=y\n{body}\n```\n")
    return path


def test_the_database_runbooks_have_read_only_commands() -> None:
    names = {runbook.name for runbook in runbooks()}
    assert {"postgres-backup-too-old", "postgres-wal-archiving-failing"} <= names


@pytest.mark.parametrize("runbook", runbooks(), ids=lambda r: r.name)
def test_runbooks_name_the_deployed_namespace_and_release(runbook: object) -> None:
    assert runbook.variables() == {"NS": NAMESPACE, "RELEASE": RELEASE}  # type: ignore[attr-defined]


def test_every_runbook_command_matches_the_image_and_the_pod() -> None:
    """All blocks, read-only or not: pgBackRest with the config the image renders, and exec
    into a container the database pod has."""
    assert CONFIG
    assert "postgresql" in CONTAINERS
    for path in sorted(RUNBOOKS.glob("*.md")):
        for line in logical_lines(path.read_text()):
            if re.search(r"\bpgbackrest\s+--", line) or re.search(r"--\s+pgbackrest\b", line):
                assert f"--config={CONFIG.group(1)}" in line, f"{path.name}: {line}"
            if re.search(r"\bkubectl\b.*\bexec\b", line):
                container = re.search(r"\s-c\s+(\S+)\s+--", line)
                assert container, f"{path.name}: no -c CONTAINER in {line}"
                assert container.group(1) in CONTAINERS, f"{path.name}: {line}"


def test_the_script_is_aimed_at_the_given_release_and_parses() -> None:
    bash = require_tool("bash", "apt-get install -y bash")
    for runbook in runbooks():
        script = runbook.script("elsewhere", "other-release")
        assert script.startswith("set -euo pipefail\n")
        assert "NS=elsewhere\n" in script
        assert "RELEASE=other-release\n" in script
        assert f"NS={NAMESPACE}\n" not in script
        parsed = subprocess.run(
            [bash, "-n"], input=script, text=True, capture_output=True, check=False
        )
        assert parsed.returncode == 0, (runbook.name, parsed.stderr)


def test_untagged_blocks_are_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, "kubectl -n $NS get pods")
    path.write_text(path.read_text() + "```sh\nkubectl -n $NS delete pod x\n```\n")
    runbook = load(path)
    assert runbook is not None
    assert len(runbook.blocks) == 1


@pytest.mark.parametrize(
    "command",
    [
        'kubectl -n "$NS" delete pod "$DB_POD"',
        'kubectl -n "$NS" create job --from=cronjob/x y',
        "kubectl -n $NS exec $DB_POD -c postgresql -- \\\n  pgbackrest --config=c --stanza=s check",
        'kubectl -n $NS exec $DB_POD -c postgresql -- psql -c "DROP TABLE products"',
        "kubectl -n $NS exec $DB_POD -c postgresql -- psql -c 'SELECT pg_terminate_backend(1)'",
    ],
)
def test_a_read_only_block_that_writes_is_refused(tmp_path: Path, command: str) -> None:
    with pytest.raises(RunbookError, match="a read-only block writes"):
        load(write(tmp_path, command))


def test_a_runbook_without_its_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runbook.md"
    path.write_text("```sh read-only\nkubectl get pods\n```\n")
    runbook = load(path)
    assert runbook is not None
    with pytest.raises(RunbookError, match=r"never set \['NS', 'RELEASE'\]"):
        runbook.script("a", "b")
