"""Command line: `python -m policies --iac iac --reports DIR [--offline-plans | --plan ENV=FILE]`.

Exit status 0 when the gate passes, 1 when it fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from pipelines.core.environments import IncompleteEnvironment, environments_in
from policies.checkov_runner import DEFAULT_CHECKOV, CheckovError
from policies.gate import DEFAULT_WAIVERS, run_gate
from policies.hcl2.engine import HclParseError
from policies.offline_plan import OfflinePlanError, plan_environments
from policies.plans import PlanInputError
from policies.waivers import WaiverError

PLANS_DIR = "plans"
"""Where --offline-plans writes each environment's plan document, under --reports."""


def _plan_argument(value: str) -> tuple[str, Path]:
    env, separator, path = value.partition("=")
    if not separator or not env or not path:
        raise argparse.ArgumentTypeError(
            f"--plan takes ENV=FILE (a `terraform show -json` document), not {value!r}"
        )
    return env, Path(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m policies", description=__doc__)
    parser.add_argument("--iac", type=Path, required=True, help="IaC tree to scan, e.g. iac")
    parser.add_argument(
        "--reports", type=Path, required=True, help="directory for policy.junit.xml and policy.md"
    )
    parser.add_argument(
        "--waivers", type=Path, default=DEFAULT_WAIVERS, help="waiver file (default: %(default)s)"
    )
    parser.add_argument(
        "--checkov",
        type=Path,
        default=DEFAULT_CHECKOV,
        help="checkov executable (default: %(default)s)",
    )
    plans = parser.add_mutually_exclusive_group()
    plans.add_argument(
        "--plan",
        type=_plan_argument,
        action="append",
        default=[],
        metavar="ENV=FILE",
        help="an environment's plan as `terraform show -json` prints it (repeat per environment)",
    )
    plans.add_argument(
        "--offline-plans",
        action="store_true",
        help="plan every environment offline (terraform test, mocked azurerm) and scan the plans",
    )
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="date for waiver expiry, YYYY-MM-DD (default: today)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the gate; print the verdict and where the reports are."""
    args = _parser().parse_args(argv)
    if not args.iac.is_dir():
        print(f"policy gate: --iac {args.iac} is not a directory", file=sys.stderr)
        return 2
    try:
        plans = dict(args.plan)
        if args.offline_plans:
            environments = environments_in(args.iac / "environments")
            plans = plan_environments(args.iac, environments, args.reports / PLANS_DIR)
        result = run_gate(
            args.iac, args.reports, args.waivers, args.checkov, args.today, plans=plans
        )
    except (
        CheckovError,
        HclParseError,
        WaiverError,
        PlanInputError,
        OfflinePlanError,
        IncompleteEnvironment,
    ) as error:
        print(f"policy gate: cannot run: {error}", file=sys.stderr)
        return 2
    verdict = "PASSED" if result.passed else "FAILED"
    print(
        f"policy gate {verdict}: {result.resource_count} resources, "
        f"{len(result.failures)} unwaived failures, "
        f"{len(result.waived)} waived, {len(result.cleared)} cleared by the plans of "
        f"{', '.join(sorted(result.plan_resource_counts)) or 'no environment'}, "
        f"{len(result.expired_waivers)} expired waivers"
    )
    for message in result.errors:
        print(f"  error: {message}")
    for finding in result.failures:
        print(
            f"  FAILED {finding.rule_id} {finding.resource} "
            f"({finding.origin}, {finding.location}): {finding.message or finding.title}"
        )
    for waiver in result.expired_waivers:
        print(f"  EXPIRED waiver {waiver.label}")
    print(f"  reports: {args.reports / 'policy.md'}, {args.reports / 'policy.junit.xml'}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
