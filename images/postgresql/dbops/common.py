"""Shared plumbing: settings from the environment, subprocesses with precise errors, job records.

Every job records its outcome in `dbops.job_runs` of the primary database, which is where the
exporter reads "last successful backup/drill" from: the alerts then need no extra component.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_BIN = "/usr/lib/postgresql/15/bin"

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS dbops;
CREATE TABLE IF NOT EXISTS dbops.heartbeat (
    beat_at timestamptz PRIMARY KEY DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS dbops.job_runs (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    succeeded boolean NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS job_runs_job_finished ON dbops.job_runs (job, finished_at);
GRANT USAGE ON SCHEMA dbops TO pg_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA dbops TO pg_monitor;
"""


class OpsError(Exception):
    """A failure with a message precise enough to act on; the job exits non-zero with it."""


def setting(name: str, default: str | None = None) -> str:
    """An environment setting; a missing required one is an OpsError naming the variable."""
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise OpsError(f"environment variable {name} is required but not set")
    return value


def int_setting(name: str, default: int, minimum: int = 0) -> int:
    """An integer environment setting with a lower bound."""
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise OpsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise OpsError(f"{name} must be >= {minimum}, got {value}")
    return value


def run(
    args: Sequence[str],
    what: str,
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 3600,
) -> str:
    """Run a command; on failure raise OpsError with `what` and the tail of its output."""
    try:
        result = subprocess.run(
            list(args),
            input=stdin,
            capture_output=True,
            text=True,
            errors="replace",  # e.g. an encrypted file read without its key must not crash us
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise OpsError(f"{what}: {args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise OpsError(f"{what}: timed out after {timeout:.0f} s") from None
    if result.returncode != 0:
        output = (result.stderr.strip() + "\n" + result.stdout.strip()).strip()
        # pgBackRest logs its whole command line first: keep its warnings (the causes, e.g. why
        # a database was not reachable) and errors.
        errors = [line for line in output.splitlines() if "ERROR" in line or "WARN" in line]
        detail = "\n".join(errors)[-1500:] if errors else output[-1500:]
        raise OpsError(f"{what} failed (exit {result.returncode}): {detail}")
    return result.stdout


def libpq_env() -> dict[str, str]:
    """This environment, plus PGPASSWORD from DBOPS_PASSWORD_FILE (a mounted Secret) if set."""
    env = dict(os.environ)
    password_file = env.get("DBOPS_PASSWORD_FILE")
    if password_file and "PGPASSWORD" not in env:
        try:
            env["PGPASSWORD"] = Path(password_file).read_text().rstrip("\n")
        except OSError as error:
            raise OpsError(f"cannot read DBOPS_PASSWORD_FILE {password_file}: {error}") from None
    return env


def psql(sql: str, what: str, env: Mapping[str, str] | None = None) -> list[list[str]]:
    """Run SQL through psql (libpq settings from `env`, default libpq_env()); rows of strings."""
    out = run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        what,
        env=libpq_env() if env is None else env,
        stdin=sql,
        timeout=120,
    )
    return [line.split("\t") for line in out.splitlines() if line]


@dataclass(frozen=True)
class Endpoint:
    """A TCP service a job talks to, named for the log and the error."""

    host: str
    port: int
    what: str


def database_endpoint() -> Endpoint | None:
    """The primary as libpq reaches it (PGHOST/PGPORT); None for a Unix socket or no PGHOST."""
    host = os.environ.get("PGHOST", "")
    if not host or host.startswith("/"):
        return None
    return Endpoint(host, int_setting("PGPORT", 5432, minimum=1), "the database")


def tls_server_endpoint(host: str) -> Endpoint | None:
    """pgBackRest's TLS server in a database pod (one of BACKUP_PG_HOST), when the job uses it."""
    if not host:
        return None
    return Endpoint(
        host, int_setting("BACKUP_TLS_PORT", 8432, minimum=1), "the pgBackRest TLS server"
    )


def repo_env(repo: int, name: str) -> str:
    """The environment variable of one repository's setting: BACKUP_<NAME> for repo1,
    BACKUP_REPO<N>_<NAME> for another (repo2: the paired region's own account and identity)."""
    return f"BACKUP_{name}" if repo == 1 else f"BACKUP_REPO{repo}_{name}"


def repo_job(job: str, variable: str) -> str:
    """The name a job records in dbops.job_runs for the repository the environment `variable`
    names (BACKUP_TARGET_REPO, DRILL_REPO): `job` for repo1, `<job>-repo<N>` for another, so each
    repository's backups and drills have their own series (dbops_job_*{job_name}) and alerts.
    Read as text: the job body validates the number and records why it is wrong."""
    repo = os.environ.get(variable, "").strip() or "1"
    return job if repo == "1" else f"{job}-repo{repo}"


def storage_endpoint(repo: int = 1) -> Endpoint | None:
    """The blob service of a repository as pgBackRest addresses it (repoN-storage-host, else
    from the endpoint).

    BACKUP_AZURE_STORAGE_HOST wins; else `<account>.<endpoint>` (uri style `host`, Azure's
    default) or the endpoint itself (uri style `path`); port BACKUP_AZURE_STORAGE_PORT or 443
    (the BACKUP_REPO<N>_ twins for another repository).
    """
    account = os.environ.get(repo_env(repo, "AZURE_ACCOUNT"), "")
    if not account:
        return None
    endpoint = os.environ.get(repo_env(repo, "AZURE_ENDPOINT")) or "blob.core.windows.net"
    host = os.environ.get(repo_env(repo, "AZURE_STORAGE_HOST"), "")
    if not host:
        path_style = os.environ.get(repo_env(repo, "AZURE_URI_STYLE")) == "path"
        host = endpoint if path_style else f"{account}.{endpoint}"
    port = int_setting(repo_env(repo, "AZURE_STORAGE_PORT"), 443, minimum=1)
    what = "the backup storage" if repo == 1 else f"the backup storage of repo{repo}"
    return Endpoint(host, port, what)


def wait_reachable(
    endpoints: Iterable[Endpoint | None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wait until each endpoint accepts a TCP connection; OpsError after DBOPS_CONNECT_WAIT_SECONDS.

    Why: a network policy engine (kube-router, Azure NPM, Cilium) admits a new pod only after
    it has synced the pod's address, a second or two after the pod starts, and until then a
    connection is refused or dropped. A job's first connection waits for that instead of failing.
    """
    limit = int_setting("DBOPS_CONNECT_WAIT_SECONDS", 60, minimum=0)
    deadline = clock() + limit
    for endpoint in endpoints:
        if endpoint is None:
            continue
        attempt = 0
        while True:
            attempt += 1
            try:
                socket.create_connection((endpoint.host, endpoint.port), timeout=3).close()
                break
            except OSError as error:
                remaining = deadline - clock()
                target = f"{endpoint.what} at {endpoint.host}:{endpoint.port}"
                if remaining <= 0:
                    raise OpsError(
                        f"{target} is unreachable after {limit} s ({attempt} attempts, last: "
                        f"{error}); check the service, its pods and the NetworkPolicies"
                    ) from None
                pause = min(1.0, remaining)
                print(f"waiting for {target}: {error} (attempt {attempt})", file=sys.stderr)
                sleep(pause)


def read_password(path: Path) -> str:
    """The application role's password from the mounted secret file; a short one (empty or
    half-written) is refused."""
    try:
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise OpsError(f"cannot read the password file {path}: {error.strerror}") from None
    if len(password) < 12:
        raise OpsError(f"the password in {path} is shorter than 12 characters")
    return password


def beside_the_server(loop: Callable[[], object]) -> None:
    """Run `loop` in a grandchild process and return at once.

    Why two forks: the caller then execs postgres, and the postmaster treats any child that
    dies by a signal as a crashed backend and restarts every session. The grandchild is
    orphaned to PID 1 (tini), which reaps it, so its fate never touches the server.
    """
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    if os.fork():
        os._exit(0)
    try:
        loop()
    finally:
        os._exit(1)


def sql_literal(value: str) -> str:
    """Quote a string as an SQL literal (standard_conforming_strings is on since 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def record_job(job: str, started: float, succeeded: bool, detail: Mapping[str, Any]) -> None:
    """Store a job outcome in the primary (libpq PG* variables); skipped when PGHOST is unset."""
    if not os.environ.get("PGHOST"):
        return
    sql = (
        SCHEMA_SQL  # noqa: S608 - values pass through sql_literal or are numbers
        + "INSERT INTO dbops.job_runs (job, started_at, succeeded, detail) VALUES ("
        + f"{sql_literal(job)}, to_timestamp({started:.6f}), {str(succeeded).lower()}, "
        + f"{sql_literal(json.dumps(detail, sort_keys=True))}::jsonb);"
    )
    psql(sql, f"recording the {job} result in dbops.job_runs")


def job_main(job: str, body: Callable[[], dict[str, Any]]) -> int:
    """Run a job body: print a JSON report, record the outcome; exit 1 with the reason on error."""
    started = time.time()
    try:
        report = body()
    except (OpsError, OSError) as error:  # OSError: a volume or file the job cannot use
        report = {"job": job, "status": "failed", "error": str(error)}
        print(json.dumps(report, sort_keys=True))
        print(f"ERROR: {job}: {error}", file=sys.stderr)
        try:
            record_job(job, started, False, report)
        except OpsError as record_error:
            print(f"ERROR: {record_error}", file=sys.stderr)
        return 1
    report = {"job": job, "status": "ok", **report}
    print(json.dumps(report, sort_keys=True))
    try:
        record_job(job, started, True, report)
    except OpsError as error:
        print(f"ERROR: {job} succeeded but its result was not recorded: {error}", file=sys.stderr)
        return 2
    return 0
