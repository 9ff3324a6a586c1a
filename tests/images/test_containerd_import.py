"""`python -m tools.containers import`: the one image import into a cluster's containerd (used
by the publish stage and the local cluster) fails naming the step and leaves no archive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.tools import REPO_ROOT, require_tool


def test_an_image_podman_does_not_hold_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    require_tool("podman", "make bootstrap")
    workdir = tmp_path / "work"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.containers",
            "import",
            "localhost/absent-image:0",
            "--address",
            str(tmp_path / "containerd.sock"),
            "--workdir",
            str(workdir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: podman save localhost/absent-image:0 failed: ")
    assert "image not known" in result.stderr
    assert list(workdir.iterdir()) == []
