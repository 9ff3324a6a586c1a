"""The database image reads a local storage key from a mounted Secret file, never the environment.

Why here: the postgresql chart mounts `backup.local.storageKeySecret` as a file (checkov's
CKV_K8S_35: secrets as files), so dbops must copy it into pgbackrest.conf (mode 0600).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.tools import REPO_ROOT

BASE = {
    "PYTHONPATH": str(REPO_ROOT / "images" / "postgresql"),
    "BACKUP_AZURE_ACCOUNT": "inventorylocal",
    "BACKUP_AZURE_CONTAINER": "pgbackrest",
    "BACKUP_AZURE_KEY_TYPE": "shared",
}


def render(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.pgbackrest_conf", "--role", "drill",
         "--output", str(tmp_path / "pgbackrest.conf")],
        env={**BASE, "DRILL_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_key_file_lands_in_the_private_config(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("c2VjcmV0LWtleQ==\n")
    result = render(tmp_path, BACKUP_AZURE_KEY_FILE=str(key))
    assert result.returncode == 0, result.stderr
    conf = tmp_path / "pgbackrest.conf"
    assert "repo1-azure-key=c2VjcmV0LWtleQ==\n" in conf.read_text()
    assert conf.stat().st_mode & 0o777 == 0o600


def test_a_missing_or_empty_key_file_names_the_variable(tmp_path: Path) -> None:
    missing = render(tmp_path, BACKUP_AZURE_KEY_FILE=str(tmp_path / "absent"))
    assert missing.returncode == 1
    assert f"BACKUP_AZURE_KEY_FILE {tmp_path / 'absent'} cannot be read" in missing.stderr
    (tmp_path / "empty").write_text("\n")
    empty = render(tmp_path, BACKUP_AZURE_KEY_FILE=str(tmp_path / "empty"))
    assert empty.returncode == 1
    assert "must hold exactly one key line" in empty.stderr
