"""Where built tools live: a per-user cache outside the clone, exposed through `.tools/`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN_DIR = Path(__file__).resolve().parent
GO_MODULES_DIR = TOOLCHAIN_DIR / "go"
IAC_DIR = REPO_ROOT / "iac"
CHECKOV_LOCK = REPO_ROOT / "pipelines" / "requirements" / "checkov.lock"

# Overrides, mainly so tests can point the toolchain at an empty or scratch location.
TOOLS_DIR_ENV = "INVENTORY_TOOLS_DIR"
CACHE_DIR_ENV = "INVENTORY_TOOL_CACHE"


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "inventory-platform"


@dataclass(frozen=True)
class Layout:
    """The two roots: `tools_dir` (links + generated config) and `cache_dir` (artifacts)."""

    tools_dir: Path
    cache_dir: Path

    @classmethod
    def default(cls) -> Layout:
        """The layout named by the environment, else `.tools/` and the XDG per-user cache."""
        tools = os.environ.get(TOOLS_DIR_ENV)
        cache = os.environ.get(CACHE_DIR_ENV)
        return cls(
            tools_dir=Path(tools).resolve() if tools else REPO_ROOT / ".tools",
            cache_dir=Path(cache).resolve() if cache else _default_cache_dir(),
        )

    @property
    def is_default(self) -> bool:
        """True when this is the layout `make tools` builds (so `make tools` is the fix)."""
        return (self.tools_dir.resolve(), self.cache_dir.resolve()) == (
            (REPO_ROOT / ".tools").resolve(),
            _default_cache_dir().resolve(),
        )

    @property
    def bin_dir(self) -> Path:
        return self.tools_dir / "bin"

    @property
    def providers_dir(self) -> Path:
        """The Terraform filesystem mirror (links into the cache)."""
        return self.tools_dir / "providers"

    @property
    def cli_config(self) -> Path:
        """The generated Terraform/OpenTofu CLI config (TF_CLI_CONFIG_FILE)."""
        return self.tools_dir / "terraform.rc"

    @property
    def tflint_plugin_dir(self) -> Path:
        """Where tflint looks for plugins; kept project-owned so ~/.tflint.d never leaks in."""
        return self.cache_dir / "tools" / "tflint-plugins"

    @property
    def go_build_cache(self) -> Path:
        return self.cache_dir / "go-build"

    def artifact_dir(self, tool: str, version: str) -> Path:
        """The cache directory of one tool at one version."""
        return self.cache_dir / "tools" / tool / version
