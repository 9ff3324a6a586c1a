"""The common result type both engines report in, so waivers and reports treat them alike."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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

    @property
    def location(self) -> str:
        """`file:line` (or just the file) for reports."""
        return f"{self.file}:{self.line}" if self.line else self.file
