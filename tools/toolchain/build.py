"""`build`: make every pinned tool current and expose it under `.tools/`.

Each target is skipped when its stamp matches its inputs, so a warm run only reads stamps,
refreshes links and asks `terraform version`. Targets run cheapest-first so that the tools
others wait for (helm, checkov) appear before the long provider builds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tools.toolchain import checkov, gobuild, terraform
from tools.toolchain.catalog import HELM, PROVIDERS, TFLINT
from tools.toolchain.links import ensure_file, ensure_link, remove_link
from tools.toolchain.paths import Layout


def build_helm(layout: Layout) -> None:
    gobuild.build(HELM, layout)
    ensure_link(layout.bin_dir / "helm", gobuild.artifact(HELM, layout))


def build_checkov(layout: Layout) -> None:
    checkov.build(layout)
    ensure_link(layout.bin_dir / "checkov", checkov.wrapper(layout))


def build_terraform(layout: Layout) -> None:
    cli = terraform.select_cli(layout)
    ensure_link(layout.bin_dir / cli.name, cli.path)
    for other in terraform.CLI_NAMES:
        if other != cli.name:
            remove_link(layout.bin_dir / other)


def build_providers(layout: Layout) -> None:
    """Build each provider, link the mirror, and only then write the CLI config (the signal)."""
    for provider in PROVIDERS:
        gobuild.build(provider.build, layout)
    for link, target in terraform.mirror_entries(layout).items():
        ensure_link(link, target)
    ensure_file(layout.cli_config, terraform.render_cli_config(layout))


def build_tflint(layout: Layout) -> None:
    gobuild.build(TFLINT, layout)
    layout.tflint_plugin_dir.mkdir(parents=True, exist_ok=True)
    ensure_link(layout.bin_dir / "tflint", gobuild.artifact(TFLINT, layout))


TARGETS: dict[str, Callable[[Layout], None]] = {
    "helm": build_helm,
    "checkov": build_checkov,
    "terraform": build_terraform,
    "providers": build_providers,
    "tflint": build_tflint,
}


def build(layout: Layout, only: Sequence[str] = ()) -> None:
    """Build the named targets (all when empty), in catalog order."""
    unknown = sorted(set(only) - set(TARGETS))
    if unknown:
        raise ValueError(f"unknown target(s) {unknown}; choose from {sorted(TARGETS)}")
    for name, step in TARGETS.items():
        if not only or name in only:
            step(layout)
