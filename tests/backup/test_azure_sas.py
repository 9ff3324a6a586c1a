"""The workload-identity SAS signer (images/postgresql/dbops/azure_sas.py) produces exactly the
signature Microsoft's azure-storage-blob SDK computes for the same user delegation key, and the
renderer refuses to run without any credential."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from urllib.parse import parse_qs

from azure.storage.blob import ContainerSasPermissions, UserDelegationKey, generate_container_sas

from tests.support.tools import REPO_ROOT

KEY = {
    "oid": "11111111-2222-3333-4444-555555555555",
    "tid": "66666666-7777-8888-9999-000000000000",
    "start": "2026-11-26T07:00:00Z",
    "expiry": "2026-11-27T07:00:00Z",
    "service": "b",
    "version": "2026-10-06",
    "value": "c2VjcmV0LWRlbGVnYXRpb24ta2V5LWZvci10ZXN0cw==",
}
SIGNER = """
import json, sys
from dbops.azure_sas import DelegationKey, sign_container_sas
key = DelegationKey(**json.loads(sys.argv[1]))
print(sign_container_sas("stinventorybackup", "pgbackrest", key, sys.argv[2], sys.argv[3]))
"""


def _ours(start: str, expiry: str) -> dict[str, list[str]]:
    result = subprocess.run(
        ["/usr/bin/python3", "-c", SIGNER, json.dumps(KEY), start, expiry],
        env={"PYTHONPATH": str(REPO_ROOT / "images" / "postgresql")},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return parse_qs(result.stdout.strip())


def _sdk(start: str, expiry: str) -> dict[str, list[str]]:
    key = UserDelegationKey()  # type: ignore[no-untyped-call]
    key.signed_oid, key.signed_tid = KEY["oid"], KEY["tid"]
    key.signed_start, key.signed_expiry = KEY["start"], KEY["expiry"]
    key.signed_service, key.signed_version, key.value = KEY["service"], KEY["version"], KEY["value"]
    token = generate_container_sas(
        "stinventorybackup",
        "pgbackrest",
        user_delegation_key=key,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True,
                                           delete=True, list=True),
        start=dt.datetime.fromisoformat(start.replace("Z", "+00:00")),
        expiry=dt.datetime.fromisoformat(expiry.replace("Z", "+00:00")),
        protocol="https",
    )  # fmt: skip
    return parse_qs(token)


def test_signature_matches_the_azure_sdk() -> None:
    ours = _ours("2026-11-26T07:05:00Z", "2026-11-27T07:00:00Z")
    sdk = _sdk("2026-11-26T07:05:00Z", "2026-11-27T07:00:00Z")
    assert ours["sv"] == sdk["sv"], "the SDK moved to another SAS version: update SAS_VERSION"
    assert ours == sdk


def test_signature_changes_with_the_window() -> None:
    first = _ours("2026-11-26T07:05:00Z", "2026-11-27T07:00:00Z")
    second = _ours("2026-11-26T07:05:00Z", "2026-11-27T08:00:00Z")
    assert first["sig"] != second["sig"]


def test_sas_mode_without_key_or_identity_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.pgbackrest_conf", "--role", "db",
         "--output", str(tmp_path / "pgbackrest.conf")],
        env={"PYTHONPATH": str(REPO_ROOT / "images" / "postgresql"),
             "BACKUP_AZURE_ACCOUNT": "stinventorybackup", "BACKUP_AZURE_CONTAINER": "pgbackrest",
             "BACKUP_AZURE_KEY_TYPE": "sas"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no workload identity (AZURE_FEDERATED_TOKEN_FILE)" in result.stderr
