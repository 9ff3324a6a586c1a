"""The waiver file format: strict parsing with precise errors, expiry and matching semantics."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from policies.findings import Finding, Severity, Status, plan_source
from policies.gate import DEFAULT_WAIVERS, apply_waivers
from policies.waivers import Waiver, WaiverError, load_waivers

VALID = """
waivers:
  - check: CKV_AZURE_33
    resources: ["module.backup_storage.*"]
    reason: Queue logging does not apply, the account has no queues.
    owner: platform-team
    expires: 2027-01-31
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _failure(
    rule_id: str = "CKV_AZURE_33",
    resource: str = "module.backup_storage.azurerm_storage_account.backup",
) -> Finding:
    return Finding(
        "checkov",
        rule_id,
        "title",
        Severity.MEDIUM,
        Status.FAILED,
        "modules/backup-storage/main.tf",
        5,
        resource,
    )


def test_project_waiver_file_is_valid_and_every_entry_has_owner_reason_and_expiry() -> None:
    waivers = load_waivers(DEFAULT_WAIVERS)
    assert waivers, "the project waiver file should not be empty while checks are waived"
    for waiver in waivers:
        assert waiver.owner
        assert len(waiver.reason) >= 20
        assert waiver.expires > dt.date(2026, 1, 1)


def test_valid_waiver_is_parsed(tmp_path: Path) -> None:
    (waiver,) = load_waivers(_write(tmp_path, VALID))
    assert waiver == Waiver(
        check="CKV_AZURE_33",
        reason="Queue logging does not apply, the account has no queues.",
        owner="platform-team",
        expires=dt.date(2027, 1, 31),
        resources=("module.backup_storage.*",),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "waivers:\n  - check: X\n    reason: long enough reason for this\n    owner: a-team\n",
            "missing required field(s): expires",
        ),
        (VALID.replace("2027-01-31", "31.01.2027"), "'expires' must be a date YYYY-MM-DD"),
        (
            VALID.replace("owner: platform-team", "owner: Platform Team"),
            "'owner' must be an e-mail address or a team slug",
        ),
        (
            VALID.replace("Queue logging does not apply, the account has no queues.", "n/a"),
            "at least 20 characters",
        ),
        (VALID + "    ticket: PLAT-1\n", "unknown field(s): ticket"),
        (
            VALID.replace('resources: ["module.backup_storage.*"]', "resources: []"),
            "'resources' must be a non-empty list",
        ),
        (VALID + "    framework: cloudformation\n", "'framework' must be one of"),
        ("- check: X\n", "top level must be a mapping with the single key 'waivers'"),
    ],
    ids=[
        "no-expiry",
        "bad-date",
        "bad-owner",
        "short-reason",
        "unknown-field",
        "empty-globs",
        "bad-framework",
        "no-top-key",
    ],
)
def test_malformed_waiver_is_rejected_with_a_precise_message(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(WaiverError, match=r"waivers?") as error:
        load_waivers(_write(tmp_path, text))
    assert message in str(error.value)


def test_waiver_is_valid_through_its_expiry_day_and_not_after() -> None:
    (waiver,) = load_waivers(Path(__file__).parent / "fixtures" / "waivers-one.yaml")
    assert not waiver.is_expired(waiver.expires)
    assert waiver.is_expired(waiver.expires + dt.timedelta(days=1))


def test_waivers_cover_only_matching_check_and_resource_and_only_until_expiry(
    tmp_path: Path,
) -> None:
    waivers = load_waivers(_write(tmp_path, VALID))
    findings = [
        _failure(),
        _failure(rule_id="CKV_AZURE_59"),
        _failure(resource="azurerm_storage_account.state"),
    ]

    before = apply_waivers(findings, waivers, dt.date(2027, 1, 31))
    assert [f.status for f in before] == [Status.WAIVED, Status.FAILED, Status.FAILED]
    assert before[0].waiver == waivers[0].label

    after = apply_waivers(findings, waivers, dt.date(2027, 2, 1))
    assert [f.status for f in after] == [Status.FAILED] * 3


def test_waiver_for_another_framework_does_not_apply(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, VALID + "    framework: kubernetes\n"))
    (finding,) = apply_waivers([_failure()], waivers, dt.date(2026, 12, 1))
    assert finding.status is Status.FAILED


def test_waiver_scoped_to_environments_covers_only_their_plans(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, VALID + '    environments: ["dev", "stag*"]\n'))
    findings = [
        replace(_failure(), source=plan_source("dev")),
        replace(_failure(), source=plan_source("staging")),
        replace(_failure(), source=plan_source("prod")),
        _failure(),
    ]
    statuses = [f.status for f in apply_waivers(findings, waivers, dt.date(2026, 12, 1))]
    assert statuses == [Status.WAIVED, Status.WAIVED, Status.FAILED, Status.FAILED]


def test_unscoped_waiver_covers_the_hcl_and_every_plan_and_instance_keys(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, VALID))
    indexed = "module.backup_storage[0].azurerm_storage_account.backup[0]"
    findings = [_failure(), replace(_failure(resource=indexed), source=plan_source("prod"))]
    waived = apply_waivers(findings, waivers, dt.date(2026, 12, 1))
    assert [f.status for f in waived] == [Status.WAIVED, Status.WAIVED]


def test_environments_must_be_a_list_of_globs(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match="'environments' must be a non-empty list"):
        load_waivers(_write(tmp_path, VALID + "    environments: dev\n"))
