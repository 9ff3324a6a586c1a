"""The pinned external tools (helm, checkov, terraform or tofu, providers, tflint).

`python -m tools.toolchain build|check`; other code passes `tool_env()` to subprocesses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tools.toolchain.paths import Layout
from tools.toolchain.terraform import stage_iac

__all__ = ["Layout", "stage_iac", "terraform_cli", "tool_env"]


def tool_env(base: Mapping[str, str] | None = None, layout: Layout | None = None) -> dict[str, str]:
    """The full environment for running project tools: `base` (default os.environ) plus
    `.tools/bin` first on PATH, the mirror CLI config, and the offline switches the tools need.
    """
    layout = layout or Layout.default()
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.pathsep.join(
        [str(layout.bin_dir), *(entry for entry in env.get("PATH", "").split(os.pathsep) if entry)]
    )
    env.update(
        TF_CLI_CONFIG_FILE=str(layout.cli_config),
        CHECKPOINT_DISABLE="1",  # no Terraform version/alert phone-home
        BC_SKIP_MAPPING="TRUE",  # checkov: no Bridgecrew mapping download
        TFLINT_PLUGIN_DIR=str(layout.tflint_plugin_dir),
    )
    return env


def terraform_cli(layout: Layout | None = None) -> Path:
    """The Terraform-compatible CLI the build exposed (`terraform`, else `tofu`)."""
    layout = layout or Layout.default()
    for name in ("terraform", "tofu"):
        candidate = layout.bin_dir / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"neither terraform nor tofu in {layout.bin_dir}: run `make tools`")
