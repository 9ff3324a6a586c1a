"""The runbooks' read-only commands run against the deployed release and succeed, so they work
mid-incident as written (extraction and its rules: tests/smoke/runbooks.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.smoke.runbooks import Runbook, runbooks
from tests.smoke.settings import SmokeSettings
from tests.support.tools import require_tool


@pytest.mark.parametrize("runbook", runbooks(), ids=lambda r: r.name)
def test_read_only_runbook_commands_succeed(runbook: Runbook, settings: SmokeSettings) -> None:
    require_tool("kubectl", "make cluster-up  (builds kubectl)  or  apt-get install -y kubectl")
    result = subprocess.run(
        ["bash", "-c", runbook.script(settings.namespace, settings.release)],
        env={**os.environ, "KUBECONFIG": settings.kubeconfig},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"{runbook.path}:\n{result.stdout}\n{result.stderr}"
    assert "database pod: pod/" in result.stdout, result.stdout
