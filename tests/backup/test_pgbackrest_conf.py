"""The pgbackrest.conf renderer: the right options per role, precise errors for bad settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT

BASE = {
    "PYTHONPATH": str(REPO_ROOT / "images" / "postgresql"),
    "BACKUP_AZURE_ACCOUNT": "stinventorybackup",
    "BACKUP_AZURE_CONTAINER": "pgbackrest",
    "PGBACKREST_REPO1_AZURE_KEY": "c2FzLXRva2Vu",
}


def render(tmp_path: Path, role: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the renderer the way the jobs do; output goes to tmp_path/pgbackrest.conf."""
    return subprocess.run(
        ["/usr/bin/python3", "-m", "dbops.pgbackrest_conf", "--role", role,
         "--output", str(tmp_path / "pgbackrest.conf")],
        env={**BASE, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def options(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "pgbackrest.conf").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_db_role_pushes_wal_asynchronously_and_serves_tls(tmp_path: Path) -> None:
    result = render(tmp_path, "db", BACKUP_TLS_SERVER="true", BACKUP_TLS_CLIENT_CN="backup-job")
    assert result.returncode == 0, result.stderr
    conf = options(tmp_path)
    assert conf["repo1-type"] == "azure"
    assert conf["repo1-azure-endpoint"] == "blob.core.windows.net"
    assert conf["archive-async"] == "y"
    assert conf["spool-path"] == "/var/spool/pgbackrest"
    assert conf["tls-server-auth"] == "backup-job=main"
    assert conf["tls-server-cert-file"] == "/etc/pgbackrest/tls/tls.crt"
    assert conf["pg1-path"] == "/var/lib/postgresql/data/pgdata"
    assert conf["repo1-retention-full"] == "2"
    assert "repo1-azure-key" not in conf  # the secret stays in the environment
    assert (tmp_path / "pgbackrest.conf").stat().st_mode & 0o077 == 0


def test_client_role_reaches_the_database_only_through_tls(tmp_path: Path) -> None:
    result = render(
        tmp_path, "client", BACKUP_PG_HOST="db-0.db-headless", BACKUP_RETENTION_DIFF="3"
    )
    assert result.returncode == 0, result.stderr
    conf = options(tmp_path)
    assert conf["pg1-host"] == "db-0.db-headless"
    assert conf["pg1-host-type"] == "tls"
    assert conf["pg1-host-port"] == "8432"
    assert conf["repo1-retention-diff"] == "3"
    assert "archive-async" not in conf
    assert "tls-server-auth" not in conf


@pytest.mark.parametrize(
    ("role", "env", "message"),
    [
        ("db", {"BACKUP_AZURE_ACCOUNT": ""}, "BACKUP_AZURE_ACCOUNT is required"),
        ("db", {"PGBACKREST_REPO1_AZURE_KEY": ""}, "PGBACKREST_REPO1_AZURE_KEY"),
        (
            "db",
            {"BACKUP_AZURE_KEY_TYPE": "auto"},
            "BACKUP_AZURE_KEY_TYPE must be one of shared, sas",
        ),
        ("db", {"BACKUP_RETENTION_FULL": "two"}, "BACKUP_RETENTION_FULL must be an integer"),
        ("db", {"BACKUP_RETENTION_FULL": "0"}, "BACKUP_RETENTION_FULL must be >= 1"),
        (
            "db",
            {"BACKUP_AZURE_URI_STYLE": "virtual"},
            "BACKUP_AZURE_URI_STYLE must be host or path",
        ),
        ("client", {}, "BACKUP_PG_HOST is required"),
        ("drill", {}, "DRILL_DATA_DIR is required"),
    ],
)
def test_bad_settings_fail_with_the_variable_named(
    tmp_path: Path, role: str, env: dict[str, str], message: str
) -> None:
    result = render(tmp_path, role, **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "pgbackrest.conf").exists()


def test_passphrase_file_encrypts_the_repository(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("x" * 48 + "\n")
    result = render(tmp_path, "drill", DRILL_DATA_DIR="/restore/pgdata",
                    BACKUP_CIPHER_PASS_FILE=str(secret))  # fmt: skip
    assert result.returncode == 0, result.stderr
    conf = options(tmp_path)
    assert conf["repo1-cipher-type"] == "aes-256-cbc"
    assert conf["repo1-cipher-pass"] == "x" * 48


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("short\n", "must hold one line of at least 32 characters"),
        ("a" * 40 + "\n" + "b" * 40 + "\n", "must hold one line of at least 32 characters"),
        (None, "cannot be read"),
    ],
)
def test_bad_passphrase_file_is_refused(tmp_path: Path, content: str | None, message: str) -> None:
    secret = tmp_path / "passphrase"
    if content is not None:
        secret.write_text(content)
    result = render(tmp_path, "db", BACKUP_CIPHER_PASS_FILE=str(secret))
    assert result.returncode == 1
    assert f"BACKUP_CIPHER_PASS_FILE {secret}" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "pgbackrest.conf").exists()


def paired_env(tmp_path: Path) -> dict[str, str]:
    """repo2 of the paired region: its own account, key file and passphrase."""
    key, secret = tmp_path / "repo2-key", tmp_path / "repo2-pass"
    key.write_text("cGFpcmVkLWtleQ==\n")
    secret.write_text("p" * 40 + "\n")
    return {
        "BACKUP_REPO2_AZURE_ACCOUNT": "stinventoryprdneu2c3dbak",
        "BACKUP_REPO2_AZURE_CONTAINER": "pgbackrest",
        "BACKUP_REPO2_AZURE_KEY_FILE": str(key),
        "BACKUP_REPO2_CIPHER_PASS_FILE": str(secret),
    }


def test_db_role_archives_to_both_repositories(tmp_path: Path) -> None:
    result = render(tmp_path, "db", **paired_env(tmp_path))
    assert result.returncode == 0, result.stderr
    conf = options(tmp_path)
    assert conf["repo1-azure-account"] == "stinventorybackup"
    assert conf["repo2-azure-account"] == "stinventoryprdneu2c3dbak"
    assert conf["repo2-azure-key"] == "cGFpcmVkLWtleQ=="
    assert conf["repo2-cipher-pass"] == "p" * 40
    assert conf["repo2-retention-full"] == conf["repo1-retention-full"]


def test_drill_role_renders_only_the_repository_it_restores_from(tmp_path: Path) -> None:
    env = {**paired_env(tmp_path), "DRILL_DATA_DIR": "/restore/pgdata", "DRILL_REPO": "2"}
    result = render(tmp_path, "drill", **env)
    assert result.returncode == 0, result.stderr
    conf = options(tmp_path)
    assert conf["repo1-azure-account"] == "stinventoryprdneu2c3dbak"  # repo2, as the file's only
    assert conf["repo1-azure-key"] == "cGFpcmVkLWtleQ=="
    assert conf["repo1-cipher-pass"] == "p" * 40
    assert not [key for key in conf if key.startswith("repo2-")]


def test_paired_repository_without_a_key_is_refused(tmp_path: Path) -> None:
    env = paired_env(tmp_path)
    del env["BACKUP_REPO2_AZURE_KEY_FILE"]
    result = render(tmp_path, "db", **env)
    assert result.returncode == 1
    assert "PGBACKREST_REPO2_AZURE_KEY" in result.stderr
    assert "set BACKUP_REPO2_AZURE_KEY_FILE" in result.stderr
