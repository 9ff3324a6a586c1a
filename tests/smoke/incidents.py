"""What the incident checks expect of an alert, read from the charts' rule sources, and the
bounded load that drives the API into its error budget.

Why the rule sources: the alert's severity, runbook and `for:` duration are declared once
there (helm-charts/*/rules/*.yaml); the checks wait `for:` plus the time Prometheus and
Alertmanager need to notice and notify, so a rule whose duration changes moves its wait too.
"""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.helm import rule_source
from tests.support.outage import BackgroundLoop

NOTIFY_MARGIN_SECONDS = 180.0
"""Detection (two scrapes for a rate), evaluation, Alertmanager's group wait, and slack."""
_DURATION = re.compile(r"^(\d+)([smh])$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def alert_rule(name: str) -> dict[str, Any]:
    """The rule of alert `name` in the charts' rule sources; KeyError naming it if none."""
    for chart in rule_source.RULE_FILES:
        for rule in rule_source.rules(chart):
            if rule.get("alert") == name:
                return rule
    raise KeyError(f"no alert {name!r} in {', '.join(map(str, rule_source.RULE_FILES.values()))}")


def seconds(duration: str) -> float:
    """`90s`, `5m`, `2h` as seconds; ValueError for anything else (e.g. an unfilled parameter)."""
    match = _DURATION.match(duration.strip())
    if match is None:
        raise ValueError(f"not a single-unit Prometheus duration: {duration!r}")
    return float(int(match[1]) * _UNIT[match[2]])


def notify_timeout(rule: Mapping[str, Any]) -> float:
    """How long a firing notification may take once the condition holds."""
    return seconds(str(rule.get("for", "0s"))) + NOTIFY_MARGIN_SECONDS


@dataclass
class BoundedLoad(BackgroundLoop):
    """GETs to one URL every `pause` seconds until stopped or `limit` requests were sent."""

    url: str
    headers: Mapping[str, str]
    pause: float = 0.5
    limit: int = 2000
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)

    def _run(self) -> None:
        session = requests.Session()
        for _ in range(self.limit):
            if self._stop.is_set():
                return
            try:
                status = str(
                    session.get(self.url, headers=dict(self.headers), timeout=5).status_code
                )
            except requests.RequestException as error:
                status = type(error).__name__
            self.statuses[status] += 1
            time.sleep(self.pause)

    def server_errors(self) -> int:
        """Responses with a 5xx status."""
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))
