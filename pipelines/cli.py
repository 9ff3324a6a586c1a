"""Command line: `python -m pipelines list | all | STAGE [--env ENV] [--target TARGET]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.core.environments import IncompleteEnvironment, azure_environments
from pipelines.core.orchestrator import run_pipeline
from pipelines.core.stage import TARGETS, Options, Stage
from pipelines.stages import STAGES

REPO_ROOT = Path(__file__).resolve().parents[1]
EXIT_USAGE = 2
"""argparse's status for a usage error; an incomplete environment folder is one too."""


def main(
    argv: Sequence[str] | None = None,
    *,
    registry: Sequence[Stage] = STAGES,
    root: Path = REPO_ROOT,
) -> int:
    """Parse the command line and run; `registry` and `root` are parameters for the tests."""
    names = [stage.name for stage in registry]
    try:
        environments = azure_environments()
    except IncompleteEnvironment as error:
        print(f"python -m pipelines: {error}", file=sys.stderr)
        return EXIT_USAGE
    parser = _parser(names, environments)
    args = parser.parse_args(argv)
    if args.stage == "list":
        width = max(len(name) for name in names)
        for stage in registry:
            print(f"{stage.name:<{width}}  {stage.summary}")
        return 0
    if args.stage == "all" and args.target == "azure" and args.env is None:
        parser.error("--target azure runs deploy stages: give --env " + "|".join(environments))
    reports = Path(args.reports).resolve() if args.reports else root / "reports"
    if args.check and args.stage != "tools":
        parser.error("--check goes with the `tools` stage only")
    options = Options(
        root=root, reports=reports, target=args.target, env=args.env, check_only=args.check
    )
    selected = list(registry) if args.stage == "all" else [registry[names.index(args.stage)]]
    return run_pipeline(selected, registry, options)


def _parser(names: list[str], environments: Sequence[str]) -> argparse.ArgumentParser:
    """The argument parser; stage names come from the registry so `list` and parsing agree."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Run the delivery pipeline's stages (the same ones Jenkins runs).",
        epilog="Exit status: 0 passed, 1 a stage failed, 2 usage error, "
        "3 the target cannot go further (e.g. no local cluster).",
    )
    parser.add_argument(
        "stage",
        choices=["list", "all", *names],
        metavar="STAGE",
        help="`list`, `all`, or one of: " + ", ".join(names),
    )
    parser.add_argument(
        "--env",
        choices=environments,
        help="Azure environment (plan-tests: only this one; deploy stages: its values/registry)",
    )
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="local",
        help="where to publish and deploy: the local cluster or AKS (default: local)",
    )
    parser.add_argument("--reports", help="report folder (default: reports/ in the repository)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="with `tools`: build nothing, only verify every pinned tool and print its version",
    )
    return parser
