"""The common result type both engines report in, so waivers and reports treat them alike."""

from __future__ import annotations

import enum
from dataclasses import dataclass

HCL_SOURCE = "hcl"
PLAN_PREFIX = "plan:"


def plan_source(environment: str) -> str:
    """The source of a finding from `environment`'s plan."""
    return f"{PLAN_PREFIX}{environment}"


class Severity(enum.StrEnum):
    """How much a failure matters; the gate fails on any unwaived failure regardless."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Status(enum.StrEnum):
    """Outcome of one check on one resource (or one rule over the tree)."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    CLEARED = "cleared"
    """An HCL failure the plans of every environment resolve (the check passes there)."""


@dataclass(frozen=True)
class Finding:
    """One check result: which engine and rule, where, and why it failed (if it did)."""

    engine: str
    rule_id: str
    title: str
    severity: Severity
    status: Status
    file: str
    line: int | None
    resource: str
    message: str = ""
    waiver: str = ""
    source: str = HCL_SOURCE
    """`hcl` (the Terraform source) or `plan:<env>` (that environment's plan)."""

    @property
    def environment(self) -> str | None:
        """The environment whose plan produced this finding; None for the source."""
        return self.source.removeprefix(PLAN_PREFIX) if self.source != HCL_SOURCE else None

    @property
    def origin(self) -> str:
        """`HCL` or `plan of <env>`, as reports show it."""
        return "HCL" if self.environment is None else f"plan of {self.environment}"

    @property
    def location(self) -> str:
        """`file:line` (or just the file) for reports."""
        return f"{self.file}:{self.line}" if self.line else self.file
