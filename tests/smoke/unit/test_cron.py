"""The cron subset that dates a CronJob's due runs."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.smoke import cron

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware UTC time from `YYYY-MM-DD HH:MM`."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        # the chart's defaults: weekly full on Sunday, daily differential Monday to Saturday
        ("15 1 * * 0", "2026-11-26 09:00", "2026-11-22 01:15"),  # Thursday -> last Sunday
        ("15 1 * * 1-6", "2026-11-26 09:00", "2026-11-26 01:15"),
        ("15 1 * * 1-6", "2026-11-23 01:14", "2026-11-21 01:15"),  # Monday early -> Saturday
        ("45 3 * * *", "2026-11-26 03:45", "2026-11-26 03:45"),  # at the minute itself
        ("* * * * *", "2026-11-26 09:07:31", "2026-11-26 09:07"),
        ("*/5 * * * *", "2026-11-26 09:07", "2026-11-26 09:05"),
        ("10/20 * * * *", "2026-11-26 09:07", "2026-11-26 08:50"),
        ("0 0 1 * *", "2026-03-15 12:00", "2026-03-01 00:00"),
        ("@weekly", "2026-11-26 09:00", "2026-11-22 00:00"),
        ("0 12 * jan,feb sun", "2026-11-26 09:00", "2026-02-22 12:00"),
        ("0 0 * * 7", "2026-11-26 09:00", "2026-11-22 00:00"),  # 7 is Sunday too
        # day of month and day of week both restricted: either one matches
        ("0 0 13 * 5", "2026-11-26 09:00", "2026-11-20 00:00"),
        ("0 0 25 * 5", "2026-11-26 09:00", "2026-11-25 00:00"),
    ],
)
def test_previous_firing(schedule: str, now: str, expected: str) -> None:
    assert cron.parse(schedule).previous(at(now)) == at(expected)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("15 1 * *", "expected 5 fields or a macro, got 4"),
        ("61 * * * *", "minute: '61' is outside 0-59"),
        ("0 0 * * mon-xyz", "day of week: 'xyz' is not a number"),
        ("*/0 * * * *", "minute: step '0' must be a positive integer"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_bad_schedules(schedule: str, message: str) -> None:
    with pytest.raises(cron.CronError, match=message):
        cron.parse(schedule).previous(at("2026-11-26 09:00"))
