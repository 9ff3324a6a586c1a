"""Stage `tools`: make sure every pinned tool is built and on .tools/bin, and record versions."""

from __future__ import annotations

from pipelines.core.stage import StageContext

BUILD_TIMEOUT = 90 * 60.0
"""A cold build compiles Helm, Terraform providers and tflint from source (see ADR-0008)."""


def run(ctx: StageContext) -> None:
    """Build what is missing (a no-op when current; skipped with --check), then print tool,
    version and path; `check` fails with the command to run when a tool is missing or stale."""
    if not ctx.options.check_only:
        ctx.run(
            "toolchain build",
            [ctx.python, "-m", "tools.toolchain", "build"],
            timeout=BUILD_TIMEOUT,
        )
    result = ctx.run("toolchain check", [ctx.python, "-m", "tools.toolchain", "check"], timeout=300)
    for line in result.tail:
        if line.strip():
            ctx.note(line.strip())
