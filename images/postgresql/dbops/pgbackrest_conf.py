"""Render pgbackrest.conf from environment variables, for the three places pgBackRest runs.

Roles:
- `db`: inside the database pod (archive-push, and the TLS server the CronJobs talk to).
- `client`: a backup CronJob (the repository host); reaches the database files only through
  the TLS servers (`pgN-host-type=tls`), so no job ever needs `kubectl exec` into a database
  pod. Under HA every member is pg1..pgN and `backup-standby` says whether the files come from
  a standby (dbops.backup_source decides both per run); without HA pg1 is the one server.
- `drill`: a restore drill; restores into its own throwaway data directory.

Credentials: a storage key or SAS in PGBACKREST_REPO1_AZURE_KEY stays in the environment
(pgBackRest reads it there). A key in a file (BACKUP_AZURE_KEY_FILE, a mounted Secret: the
local environment's Azurite key, kept out of the environment) is copied into the file. With
workload identity and neither of those, a short-lived user delegation SAS is minted
(dbops.azure_sas) and written into the file (mode 0600, rewritten atomically), which the
entrypoint refreshes while the pod runs.

Encryption: with BACKUP_CIPHER_PASS_FILE (a mounted file: Key Vault through the Secrets Store
CSI driver in Azure, a Secret locally) the repository is encrypted client-side with
aes-256-cbc; the passphrase goes into the 0600 file, never into the image or the environment.
Without the passphrase an encrypted repository cannot be read at all, so the drill proves the
key is where a restore needs it.

Two repositories: with BACKUP_REPO2_AZURE_ACCOUNT set, repo2 (the paired region's storage
account, its own key or SAS, minted with its own identity BACKUP_REPO2_AZURE_CLIENT_ID, and its
own passphrase: the BACKUP_REPO2_* twins of the settings above) is added; archive-push then
writes every WAL segment to both, backups go to the
repository BACKUP_TARGET_REPO names, and a drill's file holds only the repository it restores
from (DRILL_REPO), as its repo1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dbops import azure_sas, backup_source
from dbops.common import OpsError, int_setting, repo_env, setting

ROLES = ("db", "client", "drill")
KEY_TYPES = ("shared", "sas")
CIPHER_TYPE = "aes-256-cbc"
MIN_PASSPHRASE_CHARS = 32
DEFAULT_PGDATA = "/var/lib/postgresql/data/pgdata"


def configured_repos() -> list[int]:
    """repo1, plus repo2 when BACKUP_REPO2_AZURE_ACCOUNT is set."""
    return [1, 2] if os.environ.get(repo_env(2, "AZURE_ACCOUNT")) else [1]


def _repo_key(repo: int, key_type: str, prefix: str) -> list[str]:
    """The storage key or SAS: from a file, from the environment, or minted with the
    repository's own identity (azure_sas.client_id_variable)."""
    if key_file := os.environ.get(repo_env(repo, "AZURE_KEY_FILE")):
        return [f"{prefix}-azure-key={_key_from_file(Path(key_file), repo)}"]
    if key := os.environ.get(f"PGBACKREST_REPO{repo}_AZURE_KEY"):
        # pgBackRest reads its own index's variable; under another index it goes into the file.
        return [] if prefix == f"repo{repo}" else [f"{prefix}-azure-key={key}"]
    if key_type != "sas" or not azure_sas.workload_identity_available():
        raise OpsError(
            f"PGBACKREST_REPO{repo}_AZURE_KEY (storage key or SAS token) is not set and no "
            "workload identity (AZURE_FEDERATED_TOKEN_FILE) is available to mint a SAS"
            + ("" if repo == 1 else f"; set {repo_env(repo, 'AZURE_KEY_FILE')}")
        )
    hours = int_setting("BACKUP_SAS_HOURS", 24, minimum=1)
    return [f"{prefix}-azure-key={azure_sas.mint_sas(hours, repo)}"]


def _repo_options(repo: int, index: int | None = None) -> list[str]:
    """pgBackRest options of repository `repo`, written as repo<index> (default: its own)."""

    def env(name: str) -> str:
        return repo_env(repo, name)

    key_type = setting(env("AZURE_KEY_TYPE"), "shared")
    if key_type not in KEY_TYPES:
        raise OpsError(
            f"{env('AZURE_KEY_TYPE')} must be one of {', '.join(KEY_TYPES)} (pgBackRest 2.45 "
            f"has no managed-identity type; workload identity hands it a SAS), got {key_type!r}"
        )
    uri_style = setting(env("AZURE_URI_STYLE"), "host")
    if uri_style not in ("host", "path"):
        raise OpsError(f"{env('AZURE_URI_STYLE')} must be host or path, got {uri_style!r}")
    prefix = f"repo{index or repo}"
    lines = [
        f"{prefix}-type=azure",
        f"{prefix}-azure-account={setting(env('AZURE_ACCOUNT'))}",
        f"{prefix}-azure-container={setting(env('AZURE_CONTAINER'))}",
        f"{prefix}-azure-key-type={key_type}",
        f"{prefix}-azure-endpoint={setting(env('AZURE_ENDPOINT'), 'blob.core.windows.net')}",
        f"{prefix}-azure-uri-style={uri_style}",
        f"{prefix}-path={setting('BACKUP_REPO_PATH', '/pgbackrest')}",
        f"{prefix}-retention-full={int_setting('BACKUP_RETENTION_FULL', 2, minimum=1)}",
        f"{prefix}-retention-diff={int_setting('BACKUP_RETENTION_DIFF', 7, minimum=1)}",
        f"{prefix}-retention-full-type=count",
        *_repo_key(repo, key_type, prefix),
    ]
    if host := os.environ.get(env("AZURE_STORAGE_HOST")):
        lines.append(f"{prefix}-storage-host={host}")
    if os.environ.get(env("AZURE_STORAGE_PORT")):
        lines.append(f"{prefix}-storage-port={int_setting(env('AZURE_STORAGE_PORT'), 443, 1)}")
    if ca_file := os.environ.get(env("STORAGE_CA_FILE")):
        lines.append(f"{prefix}-storage-ca-file={ca_file}")
    if pass_file := os.environ.get(env("CIPHER_PASS_FILE")):
        lines += [
            f"{prefix}-cipher-type={CIPHER_TYPE}",
            f"{prefix}-cipher-pass={_passphrase(Path(pass_file), env('CIPHER_PASS_FILE'))}",
        ]
    return lines


def _passphrase(path: Path, variable: str) -> str:
    """The repository passphrase from its mounted file: one line of at least 32 characters."""
    try:
        passphrase = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise OpsError(f"{variable} {path} cannot be read: {error.strerror}") from None
    if "\n" in passphrase or len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise OpsError(
            f"{variable} {path} must hold one line of at least "
            f"{MIN_PASSPHRASE_CHARS} characters (e.g. openssl rand -base64 48)"
        )
    return passphrase


def _key_from_file(path: Path, repo: int) -> str:
    """The storage key in a mounted Secret file; an unreadable or empty file is an OpsError."""
    variable = repo_env(repo, "AZURE_KEY_FILE")
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise OpsError(f"{variable} {path} cannot be read: {error.strerror}") from None
    if not key or "\n" in key:
        raise OpsError(f"{variable} {path} must hold exactly one key line")
    return key


def _tls_files(prefix: str) -> list[str]:
    tls_dir = Path(setting("BACKUP_TLS_DIR", "/etc/pgbackrest/tls"))
    return [
        f"{prefix}-cert-file={tls_dir / 'tls.crt'}",
        f"{prefix}-key-file={tls_dir / 'tls.key'}",
        f"{prefix}-ca-file={tls_dir / 'ca.crt'}",
    ]


def drill_repo() -> int:
    """The repository a drill restores from: DRILL_REPO (default 1), one that is configured."""
    repo = int_setting("DRILL_REPO", 1, minimum=1)
    if repo not in configured_repos():
        raise OpsError(
            f"DRILL_REPO={repo} is not configured (set {repo_env(repo, 'AZURE_ACCOUNT')})"
        )
    return repo


def _member_options(index: int, host: str) -> list[str]:
    """pg<index>: one database pod, through its pgBackRest TLS server."""
    prefix = f"pg{index}"
    return [
        f"{prefix}-host={host}",
        f"{prefix}-host-type=tls",
        f"{prefix}-host-port={int_setting('BACKUP_TLS_PORT', 8432, minimum=1)}",
        *_tls_files(f"{prefix}-host"),
        f"{prefix}-path={setting('PGDATA', DEFAULT_PGDATA)}",
        f"{prefix}-socket-path={setting('BACKUP_PG_SOCKET', '/var/run/postgresql')}",
        f"{prefix}-port={int_setting('PGPORT', 5432, minimum=1)}",
    ]


def client_hosts() -> tuple[str, ...]:
    """The database pods a backup job knows (BACKUP_PG_HOST: one, or every member under HA)."""
    return backup_source.pg_hosts(setting("BACKUP_PG_HOST"))


def render(role: str, source: backup_source.Source | None = None) -> str:
    """The pgbackrest.conf text for `role`; raises OpsError naming any bad setting.

    `source` (role `client`): the member order and `backup-standby` of this run; by default
    every host in BACKUP_PG_HOST's order, from the primary.
    """
    if role not in ROLES:
        raise OpsError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    stanza = setting("BACKUP_STANZA", "main")
    tmp = setting("BACKUP_TMP_DIR", "/tmp")  # noqa: S108 - the pod's private emptyDir
    # A drill restores from one repository only (DRILL_REPO, written as the file's repo1), so
    # archive-get cannot quietly fetch WAL from another one and prove less than it claims.
    if role == "drill":
        repo_lines = _repo_options(drill_repo(), index=1)
    else:
        repo_lines = [line for repo in configured_repos() for line in _repo_options(repo)]
    global_lines = [
        *repo_lines,
        f"process-max={int_setting('BACKUP_PROCESS_MAX', 2, minimum=1)}",
        f"compress-type={setting('BACKUP_COMPRESS_TYPE', 'lz4')}",
        "start-fast=y",
        "delta=y",
        f"lock-path={tmp}/pgbackrest-lock",
        f"log-path={tmp}",
        "log-level-file=off",
        "log-level-console=info",
        "log-timestamp=n",
    ]
    stanza_lines = (
        [] if role == "client" else [f"pg1-port={int_setting('PGPORT', 5432, minimum=1)}"]
    )
    if role == "db":
        global_lines += [
            "archive-async=y",
            f"spool-path={setting('BACKUP_SPOOL_PATH', '/var/spool/pgbackrest')}",
            f"archive-push-queue-max={setting('BACKUP_ARCHIVE_QUEUE_MAX', '4GiB')}",
        ]
        if os.environ.get("BACKUP_TLS_SERVER", "") == "true":
            global_lines += [
                "tls-server-address=*",
                f"tls-server-port={int_setting('BACKUP_TLS_PORT', 8432, minimum=1)}",
                f"tls-server-auth={setting('BACKUP_TLS_CLIENT_CN', 'pgbackrest-client')}={stanza}",
                *_tls_files("tls-server"),
            ]
        stanza_lines += [
            f"pg1-path={setting('PGDATA', DEFAULT_PGDATA)}",
            f"pg1-socket-path={setting('BACKUP_PG_SOCKET', '/var/run/postgresql')}",
        ]
    elif role == "client":
        hosts = client_hosts()
        if source is None:
            source = backup_source.Source(hosts, standby=False)
        elif set(source.hosts) != set(hosts):
            raise OpsError(f"the backup source lists {source.hosts}, not BACKUP_PG_HOST {hosts}")
        global_lines.append(f"backup-standby={'y' if source.standby else 'n'}")
        for index, host in enumerate(source.hosts, start=1):
            stanza_lines += _member_options(index, host)
    else:
        stanza_lines += [f"pg1-path={setting('DRILL_DATA_DIR')}"]
    return (
        "[global]\n"
        + "\n".join(global_lines)
        + f"\n\n[{stanza}]\n"
        + "\n".join(stanza_lines)
        + "\n"
    )


def write(role: str, path: Path | None = None, source: backup_source.Source | None = None) -> Path:
    """Render and write the file (mode 0600); returns its path."""
    default = "/tmp/pgbackrest/pgbackrest.conf"  # noqa: S108 - the pod's private emptyDir
    target = path or Path(setting("BACKUP_CONFIG", default))
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(role, source)
    staging = target.with_name(target.name + ".new")
    staging.touch(mode=0o600)
    staging.chmod(0o600)
    staging.write_text(text)
    os.replace(staging, target)  # atomic: archive-push never reads a half-written file
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: `python3 -m dbops.pgbackrest_conf --role db [--output FILE]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--output", type=Path, help="default: $BACKUP_CONFIG")
    args = parser.parse_args(argv)
    try:
        print(write(args.role, args.output))
    except OpsError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
