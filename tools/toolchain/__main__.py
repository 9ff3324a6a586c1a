"""`python -m tools.toolchain build [TARGET...]` and `python -m tools.toolchain check`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tools.toolchain.build import TARGETS, build
from tools.toolchain.check import check
from tools.toolchain.paths import Layout
from tools.toolchain.process import ToolchainError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; also what `python -m pipelines tools` can delegate to."""
    parser = argparse.ArgumentParser(prog="python -m tools.toolchain", description=__doc__)
    parser.add_argument("--tools-dir", type=Path, help="links + config (default: .tools)")
    parser.add_argument("--cache-dir", type=Path, help="artifacts (default: per-user cache)")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build what is missing or stale")
    build_parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help=f"any of {', '.join(TARGETS)} (default: all)"
    )
    commands.add_parser("check", help="print tool, version, path; fail with the fix")
    args = parser.parse_args(argv)

    default = Layout.default()
    layout = Layout(
        tools_dir=(args.tools_dir or default.tools_dir).resolve(),
        cache_dir=(args.cache_dir or default.cache_dir).resolve(),
    )
    if args.command == "check":
        return 0 if check(layout) else 1
    started = time.monotonic()
    try:
        build(layout, args.targets)
    except (ToolchainError, ValueError) as error:
        print(f"toolchain build failed: {error}", file=sys.stderr)
        return 1
    print(f"toolchain current in {time.monotonic() - started:.1f} s ({layout.tools_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
