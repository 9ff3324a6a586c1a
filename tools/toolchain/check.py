"""`check`: prove each exposed tool runs at its pinned version, or say exactly how to fix it."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.toolchain import gobuild, terraform
from tools.toolchain.catalog import (
    HELM,
    OPENTOFU,
    PROVIDERS,
    TERRAFORM_RANGE,
    TFLINT,
    checkov_version,
    terraform_supported,
)
from tools.toolchain.paths import Layout
from tools.toolchain.process import ToolchainError, run_text


@dataclass(frozen=True)
class Result:
    """One line of the report; `problem` is None when the tool is usable as pinned."""

    tool: str
    version: str
    path: Path
    problem: str | None = None
    note: str = ""


def _probe(
    tool: str, link: Path, argv: list[str], pattern: str, expected: str, *, note: str = ""
) -> Result:
    """Run `link argv`, extract the version with `pattern`, compare it with `expected`."""
    if not os.path.lexists(link):
        return Result(tool, "-", link, f"missing {link}")
    if not link.exists():
        return Result(tool, "-", link, f"{link} is a dangling link (to {os.readlink(link)})")
    try:
        output = run_text([str(link), *argv])
    except ToolchainError as error:
        return Result(tool, "-", link, str(error))
    match = re.search(pattern, output)
    found = match.group(1) if match else f"unparsable output {output.strip()[:80]!r}"
    if found != expected:
        return Result(tool, found, link, f"version {found}, pinned {expected}")
    return Result(tool, found, link.resolve(), note=note)


def check_helm(layout: Layout) -> list[Result]:
    argv = ["version", "--template", "{{.Version}}"]
    return [_probe("helm", layout.bin_dir / "helm", argv, r"v(\S+)", HELM.version)]


def check_checkov(layout: Layout) -> list[Result]:
    link = layout.bin_dir / "checkov"
    return [_probe("checkov", link, ["--version"], r"^(\S+)", checkov_version())]


def check_tflint(layout: Layout) -> list[Result]:
    link = layout.bin_dir / "tflint"
    pattern = r"TFLint version (\S+)"
    return [_probe("tflint", link, ["--version"], pattern, TFLINT.version, note="no plugins")]


def check_terraform(layout: Layout) -> list[Result]:
    """Whichever CLI is linked: terraform within TERRAFORM_RANGE, or the pinned OpenTofu."""
    for name in terraform.CLI_NAMES:
        link = layout.bin_dir / name
        if not os.path.lexists(link):
            continue
        try:
            version = terraform.cli_version(link)
        except ToolchainError as error:
            return [Result(name, "-", link, str(error))]
        if name == "terraform" and not terraform_supported(version):
            return [Result(name, version, link, f"version {version}, supported {TERRAFORM_RANGE}")]
        if name == "tofu" and version != OPENTOFU.version:
            return [Result(name, version, link, f"version {version}, pinned {OPENTOFU.version}")]
        origin = "from PATH" if name == "terraform" else "OpenTofu built from source"
        return [Result(name, version, link.resolve(), note=f"{origin}; this CLI runs the IaC")]
    return [Result("terraform", "-", layout.bin_dir / "terraform", "no terraform or tofu link")]


def check_providers(layout: Layout) -> list[Result]:
    """Each provider's mirror links resolve to a current build of the pinned version."""
    results = []
    entries = terraform.mirror_entries(layout)
    for provider in PROVIDERS:
        name = f"{provider.namespace}/{provider.type}"
        links = [link for link, target in entries.items() if target.name == provider.build.output]
        problems = [f"missing {link}" for link in links if not link.exists()]
        if not problems and not gobuild.is_built(provider.build, layout):
            problems.append(f"the build in {gobuild.artifact(provider.build, layout)} is stale")
        version = "-" if problems else provider.version
        results.append(Result(name, version, links[0], problems[0] if problems else None))
    return results


def check_cli_config(layout: Layout) -> list[Result]:
    path = layout.cli_config
    try:
        current = path.read_text(encoding="utf-8") == terraform.render_cli_config(layout)
    except OSError:
        return [Result("terraform.rc", "-", path, f"missing {path}")]
    problem = None if current else f"{path} differs from what the build generates"
    return [Result("terraform.rc", "-", path, problem, "TF_CLI_CONFIG_FILE")]


CHECKS: tuple[Callable[[Layout], list[Result]], ...] = (
    check_helm,
    check_checkov,
    check_terraform,
    check_providers,
    check_cli_config,
    check_tflint,
)


def fix_command(layout: Layout) -> str:
    """The exact command that rebuilds this layout."""
    if layout.is_default:
        return "make tools"
    return (
        f"{sys.executable} -m tools.toolchain --tools-dir {layout.tools_dir} "
        f"--cache-dir {layout.cache_dir} build"
    )


def check(layout: Layout) -> bool:
    """Print one line per tool; on any problem print it with the fix and return False."""
    results = [result for run in CHECKS for result in run(layout)]
    for result in results:
        status = "ok" if result.problem is None else "FAIL"
        detail = result.problem or result.note
        print(f"{status:4}  {result.tool:18} {result.version:8} {result.path}  {detail}".rstrip())
    failed = [result for result in results if result.problem is not None]
    if failed:
        print(f"\n{len(failed)} tool(s) missing or wrong; run: {fix_command(layout)}")
    return not failed
