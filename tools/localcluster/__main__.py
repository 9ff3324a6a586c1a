"""Command line of the local cluster harness (see the package docstring)."""

from __future__ import annotations

import argparse
import sys

from tools.localcluster import certmanager, cluster, images, verify
from tools.localcluster.build import build_all
from tools.localcluster.settings import Paths, default_state_dir
from tools.toolchain.process import ToolchainError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.localcluster")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the cluster's binaries (cached)")
    commands.add_parser(
        "cert-manager-image",
        help="build cert-manager's controller (cached) and its image; print the reference",
    )
    commands.add_parser("up", help="start the cluster (idempotent)")
    commands.add_parser("status", help="show processes and node readiness")
    down = commands.add_parser("down", help="stop the cluster and clean the host")
    down.add_argument("--purge", action="store_true", help="also delete the state directory")
    load = commands.add_parser("import", help="copy podman images into the cluster's containerd")
    load.add_argument("references", nargs="+", metavar="IMAGE")
    proofs = commands.add_parser("verify", help="prove the add-ons work on the live cluster")
    proofs.add_argument(
        "proofs", nargs="*", metavar="PROOF", help=f"any of {', '.join(verify.PROOFS)}"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(getattr(args, "proofs", ())) - set(verify.PROOFS))
    if unknown:
        parser.error(f"unknown proof {', '.join(unknown)}; choose from {', '.join(verify.PROOFS)}")
    paths = Paths(default_state_dir())
    try:
        if args.command == "build":
            build_all()
        elif args.command == "cert-manager-image":
            print(certmanager.build_image(), flush=True)
        elif args.command == "up":
            cluster.up(paths)
        elif args.command == "status":
            return 0 if cluster.status(paths) else 1
        elif args.command == "down":
            cluster.down(paths, purge=args.purge)
        elif args.command == "verify":
            for name in args.proofs or verify.PROOFS:
                for observation in verify.PROOFS[name](paths):
                    print(f"{name}: {observation}", flush=True)
                print(f"{name}: proved", flush=True)
        else:
            for reference in args.references:
                images.import_image(paths, reference)
                print(f"imported {reference}")
    except (RuntimeError, ToolchainError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
