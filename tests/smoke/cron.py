"""Just enough of the CronJob schedule format to find when a schedule last fired.

Why: in `recent` mode a backup CronJob's lastSuccessfulTime is judged against its own schedule
(a weekly full backup may be six days old, a daily one not), and no cron library is in the lock
file. Kubernetes' format: five fields (minute hour day-of-month month day-of-week) with `*`,
lists, ranges, steps, month/day names, and the @hourly/@daily/@weekly/@monthly/@yearly macros.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}  # fmt: skip
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 7))  # fmt: skip
SEARCH_LIMIT = dt.timedelta(days=366 * 5)


class CronError(ValueError):
    """A schedule this module cannot read; the message names the field."""


def _number(text: str, name: str) -> int:
    value = NAMES.get(text.lower()) if not text.isdigit() else int(text)
    if value is None:
        raise CronError(f"{name}: {text!r} is not a number or a month/day name")
    return value


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    """The values one field allows."""
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise CronError(f"{name}: step {step_text!r} must be a positive integer")
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _number(first, name), _number(last, name)
        else:
            start = _number(body, name)
            end = high if step else start
        if not low <= start <= end <= high:
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step or 1))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; `previous` finds firing times."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def _day_matches(self, moment: dt.datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # cron: Sunday is 0
        day_ok, weekday_ok = moment.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:  # cron: both restricted means either matches
            return day_ok and weekday_ok
        return day_ok or weekday_ok

    def previous(self, before: dt.datetime) -> dt.datetime:
        """The latest firing time at or before `before` (in the time zone of `before`)."""
        moment = before.replace(second=0, microsecond=0)
        limit = before - SEARCH_LIMIT
        while moment > limit:
            if moment.month not in self.months or not self._day_matches(moment):
                moment = moment.replace(hour=0, minute=0) - dt.timedelta(minutes=1)
            elif moment.hour not in self.hours:
                moment = moment.replace(minute=0) - dt.timedelta(minutes=1)
            elif moment.minute not in self.minutes:
                moment -= dt.timedelta(minutes=1)
            else:
                return moment
        raise CronError(f"the schedule never fires in the {SEARCH_LIMIT.days} days before {before}")


def parse(schedule: str) -> Schedule:
    """Parse a CronJob schedule; CronError says which field is wrong."""
    text = MACROS.get(schedule.strip(), schedule.strip())
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise CronError(f"{schedule!r}: expected 5 fields or a macro, got {len(parts)} fields")
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in values[4])
    return Schedule(
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        any_day=parts[2] in ("*", "?"),
        any_weekday=parts[4] in ("*", "?"),
    )
