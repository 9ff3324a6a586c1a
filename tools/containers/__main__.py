"""CLI: `python -m tools.containers build IMAGE --tag TAG` prints the image reference last;
`python -m tools.containers import REFERENCE --address SOCKET` copies an image into containerd."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tools.containers import containerd
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
    load = commands.add_parser("import", help="copy a podman image into a cluster's containerd")
    load.add_argument("reference", help="the image in podman's store, e.g. localhost/api:TAG")
    load.add_argument("--address", required=True, type=Path, help="containerd's socket")
    load.add_argument("--workdir", type=Path, default=Path("."), help="where the archive goes")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            reference = build_image(args.image, args.tag, refresh_base=args.refresh_base)
        elif args.command == "import":
            containerd.import_image(args.address, args.reference, args.workdir)
            reference = args.reference
        else:
            reference = ensure_base_image(refresh=args.refresh)
    except (RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
