"""The backup lab: Azurite over HTTPS, a primary that archives WAL with pgBackRest, and
pgBackRest's TLS server in front of it, wired exactly like the database pod and its CronJobs.

The jobs are the image's own scripts (images/postgresql/dbops), run with Debian's python3 as the
`postgres` user, so the tests (and benchmarks/postgres) execute what the CronJobs execute.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.azurite import Azurite, running_azurite
from tests.support.postgres import PostgresServer, free_port
from tests.support.tools import REPO_ROOT, require_tool

SCRIPTS = REPO_ROOT / "images" / "postgresql"
CONTAINER = "pgbackrest"
PAIRED_CONTAINER = "pgbackrest-paired"
CLIENT_CN = "pgbackrest-client"
APP_DB = "inventory"


def lab_owner() -> tuple[int, int] | None:
    """(uid, gid) of `postgres` when the tests run as root, else None (files stay ours)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _chown_postgres(*paths: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam("postgres")
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def as_postgres(args: list[str]) -> list[str]:
    """Run as the `postgres` OS user when the tests run as root (pg_ctl refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def make_tls(directory: Path) -> tuple[Path, Path]:
    """A CA, a server certificate for localhost and a client certificate (CN=CLIENT_CN).

    Returns the server and client directories, each holding tls.crt, tls.key and ca.crt.
    """
    openssl = require_tool("openssl", "apt-get install -y openssl")
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=test-ca", "-keyout", str(ca_key), "-out", str(ca_crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    dirs = []
    for name, cn, san in (("server", "localhost", "DNS:localhost"), ("client", CLIENT_CN, None)):
        out = directory / name
        out.mkdir()
        ext = ["-addext", f"subjectAltName={san}"] if san else []
        subprocess.run(
            [openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
             *ext, "-keyout", str(out / "tls.key"), "-out", str(out / "tls.csr")],
            check=True, capture_output=True,
        )  # fmt: skip
        extfile = out / "ext.cnf"
        extfile.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
        subprocess.run(
            [openssl, "x509", "-req", "-in", str(out / "tls.csr"), "-CA", str(ca_crt),
             "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(extfile),
             "-out", str(out / "tls.crt")],
            check=True, capture_output=True,
        )  # fmt: skip
        shutil.copy(ca_crt, out / "ca.crt")
        for file in out.iterdir():
            file.chmod(0o600)
            _chown_postgres(file)
        _chown_postgres(out)
        dirs.append(out)
    return dirs[0], dirs[1]


def chart_archive_timeout() -> int:
    """backup.archiveTimeoutSeconds of the PostgreSQL chart: what its configmap renders."""
    values = yaml.safe_load((REPO_ROOT / "helm-charts" / "postgresql" / "values.yaml").read_text())
    return int(values["backup"]["archiveTimeoutSeconds"])


def write_secret(path: Path, value: str) -> Path:
    """A secret in a 0600 file owned by postgres, as a mounted Secret would be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _chown_postgres(path.parent)
    path.write_text(value + "\n")
    path.chmod(0o600)
    _chown_postgres(path)
    return path


def write_passphrase(path: Path) -> Path:
    """A fresh repository passphrase file (the mounted Key Vault secret or local Secret)."""
    return write_secret(path, secrets.token_urlsafe(48))


@dataclass
class JobResult:
    """Exit code, parsed JSON report and stderr of one job run."""

    returncode: int
    report: dict[str, Any]
    stderr: str


@dataclass
class BackupLab:
    """A primary + pgBackRest TLS server + Azurite, and a way to run the image's jobs."""

    azurite: Azurite
    primary: PostgresServer
    work: Path
    base_env: dict[str, str]
    client_tls: Path
    server_tls: Path
    notes: dict[str, Any] = field(default_factory=dict)

    def job_env(self, **overrides: str) -> dict[str, str]:
        """Environment of a CronJob: repository settings plus libpq settings for the primary."""
        env = {
            **self.base_env,
            "BACKUP_PG_HOST": "localhost",
            "BACKUP_TLS_DIR": str(self.client_tls),
            "BACKUP_CONFIG": str(self.work / "client" / "pgbackrest.conf"),
            # The job's own lock/log directory, as in its own pod: sharing the database side's
            # would collide with the asynchronous archive-push's lock.
            "BACKUP_TMP_DIR": str(self.work / "client"),
            # Where the data and socket are inside the database pod (fixed paths in the chart).
            "PGDATA": str(self.primary.data_dir),
            "BACKUP_PG_SOCKET": str(self.primary.socket_dir),
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.primary.port),
            "PGUSER": self.primary.user,
            "PGPASSWORD": self.primary.password,
            "PGDATABASE": APP_DB,
        }
        env.update(overrides)
        return env

    def run_job(self, module: str, *args: str, env: Mapping[str, str]) -> JobResult:
        """Run `python3 -m dbops.MODULE ARGS` as postgres, like the CronJob's container does."""
        result = subprocess.run(
            as_postgres(["/usr/bin/python3", "-m", f"dbops.{module}", *args]),
            capture_output=True, text=True, env=dict(env), timeout=600, check=False,
        )  # fmt: skip
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        report = json.loads(lines[-1]) if lines else {}
        return JobResult(result.returncode, report, result.stderr)

    def app_sql(self, sql: str) -> list[list[Any]]:
        """Run SQL in the application database as the application role."""
        conn = self.primary.connect(APP_DB)
        try:
            return list(conn.run(sql) or [])
        finally:
            conn.close()

    def wait_archived(self, timeout: float = 60) -> None:
        """Switch WAL and wait until the segment is in the repository (async archive-push)."""
        segment = self.primary.superuser_sql("SELECT pg_walfile_name(pg_switch_wal())")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.primary.superuser_sql("SELECT last_archived_wal FROM pg_stat_archiver")
            if last and last >= segment:
                return
            time.sleep(0.3)
        raise AssertionError(f"WAL segment {segment} not archived within {timeout} s")


def paired_repository(azurite: Azurite, work: Path) -> dict[str, str]:
    """repo2 settings: a second storage service (its own endpoint, certificate, key file and
    passphrase), as the paired region's account with its own identity would be."""
    key_file = work / "paired-key" / "key"
    write_secret(key_file, azurite.key)
    return {
        "BACKUP_REPO2_AZURE_ACCOUNT": azurite.account,
        "BACKUP_REPO2_AZURE_CONTAINER": PAIRED_CONTAINER,
        "BACKUP_REPO2_AZURE_ENDPOINT": azurite.host,
        "BACKUP_REPO2_AZURE_STORAGE_PORT": str(azurite.port),
        "BACKUP_REPO2_AZURE_URI_STYLE": "path",
        "BACKUP_REPO2_STORAGE_CA_FILE": str(azurite.ca_file),
        "BACKUP_REPO2_AZURE_KEY_FILE": str(key_file),
        "BACKUP_REPO2_CIPHER_PASS_FILE": str(write_passphrase(work / "paired-cipher" / "pass")),
    }


def _wait_tls_server(server: subprocess.Popen[bytes], port: int, timeout: float = 30) -> None:
    """The first backup reaches the database through this server: a backup that starts before
    it listens fails with pgBackRest's `unable to find primary cluster`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise RuntimeError(f"pgbackrest server exited {server.returncode}: {error}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"pgbackrest server not listening on {port} after {timeout:.0f} s")


@contextlib.contextmanager
def running_backup_lab(
    primary_settings: Mapping[str, str] | None = None, *, paired: bool = False
) -> Iterator[BackupLab]:
    """Azurite, certificates, a primary archiving to the repository, and the TLS server.

    `primary_settings` replace the primary's fast test settings (benchmarks want durability);
    `paired` adds repo2 on a second Azurite (the paired region's repository).
    """
    require_tool("pgbackrest", "make bootstrap  (Debian package pgbackrest)")
    work = Path(tempfile.mkdtemp(prefix="inventory-backup-"))
    work.chmod(0o755)
    with contextlib.ExitStack() as stack:
        azurite = stack.enter_context(running_azurite(work / "azurite"))
        azurite.create_container(CONTAINER)
        repo2: dict[str, str] = {}
        notes: dict[str, Any] = {}
        if paired:
            second = stack.enter_context(running_azurite(work / "azurite-paired"))
            second.create_container(PAIRED_CONTAINER)
            repo2 = paired_repository(second, work)
            notes["paired_azurite"] = second
        tls_dir = work / "tls"
        tls_dir.mkdir()
        server_tls, client_tls = make_tls(tls_dir)
        tmp = work / "pgbackrest-tmp"
        spool = work / "spool"
        for path in (tmp, spool, work / "client"):
            path.mkdir()
            _chown_postgres(path)
        base_env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(SCRIPTS),
            "BACKUP_STANZA": "main",
            "BACKUP_AZURE_ACCOUNT": azurite.account,
            "BACKUP_AZURE_CONTAINER": CONTAINER,
            "BACKUP_AZURE_ENDPOINT": azurite.host,
            "BACKUP_AZURE_STORAGE_PORT": str(azurite.port),
            "BACKUP_AZURE_URI_STYLE": "path",
            "BACKUP_STORAGE_CA_FILE": str(azurite.ca_file),
            "PGBACKREST_REPO1_AZURE_KEY": azurite.key,
            "BACKUP_REPO_PATH": "/inventory",
            "BACKUP_TMP_DIR": str(tmp),
            "BACKUP_SPOOL_PATH": str(spool),
            "BACKUP_TLS_PORT": str(free_port()),
            "BACKUP_TLS_CLIENT_CN": CLIENT_CN,
            "BACKUP_CIPHER_PASS_FILE": str(write_passphrase(work / "cipher" / "passphrase")),
            **repo2,
        }
        # Data checksums on, as the image's initdb: the drill verifies every restored page.
        primary = PostgresServer(work / "primary", settings=primary_settings, data_checksums=True)
        db_conf = work / "db" / "pgbackrest.conf"
        db_conf.parent.mkdir()
        _chown_postgres(db_conf.parent)
        db_env = {
            **base_env,
            "PGDATA": str(primary.data_dir),
            "PGPORT": str(primary.port),
            "BACKUP_PG_SOCKET": str(primary.socket_dir),
            "BACKUP_TLS_SERVER": "true",
            "BACKUP_TLS_DIR": str(server_tls),
        }
        subprocess.run(
            as_postgres(["/usr/bin/python3", "-m", "dbops.pgbackrest_conf", "--role", "db",
                         "--output", str(db_conf)]),
            env=db_env, check=True, capture_output=True,
        )  # fmt: skip
        # What the chart's 30-archive.conf sets, with the test's config path.
        primary.settings.update(
            {
                "archive_mode": "on",
                "archive_command": f"pgbackrest --config={db_conf} --stanza=main archive-push %p",
                "wal_level": "replica",
                "max_wal_senders": "3",
            }
        )
        primary.settings.setdefault("archive_timeout", str(chart_archive_timeout()))
        # The primary's archive-push reads the storage key from its environment, as in the pod.
        os.environ["PGBACKREST_REPO1_AZURE_KEY"] = azurite.key
        server: subprocess.Popen[bytes] | None = None
        try:
            primary.init()
            primary.superuser_sql(f"CREATE DATABASE {APP_DB} OWNER {primary.user}")
            server = subprocess.Popen(
                as_postgres(["pgbackrest", f"--config={db_conf}", "server"]),
                env=db_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            _wait_tls_server(server, int(base_env["BACKUP_TLS_PORT"]))
            _chown_postgres(work)
            yield BackupLab(azurite, primary, work, base_env, client_tls, server_tls, notes)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            primary.destroy()
            os.environ.pop("PGBACKREST_REPO1_AZURE_KEY", None)
            shutil.rmtree(work, ignore_errors=True)
