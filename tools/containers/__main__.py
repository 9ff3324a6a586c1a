"""CLI: `python -m tools.containers build IMAGE --tag TAG` prints the image reference last."""

from __future__ import annotations

import argparse
import subprocess
import sys

from tools.containers.base import ensure_base_image
from tools.containers.build import build_image
from tools.containers.catalog import CATALOG


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build, print the reference on stdout; errors go to stderr, exit 1."""
    parser = argparse.ArgumentParser(prog="python -m tools.containers")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build a catalog image")
    build.add_argument("image", choices=sorted(CATALOG))
    build.add_argument("--tag", required=True, help="image tag, e.g. the git commit")
    build.add_argument("--refresh-base", action="store_true", help="remake the base image")
    base = commands.add_parser("base", help="make (or find) the local debootstrap base image")
    base.add_argument("--refresh", action="store_true", help="remake it even when present")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            reference = build_image(args.image, args.tag, refresh_base=args.refresh_base)
        else:
            reference = ensure_base_image(refresh=args.refresh)
    except (RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
