"""Render Patroni's configuration file from the pod's environment.

Why a renderer instead of Patroni's own PATRONI_* variables: the passwords come from mounted
Secret files (never the environment), the pgBackRest replica method and DR bootstrap depend on
whether backups are configured, and every setting is validated here with an error that names
the variable. The output is JSON (a subset of YAML, which Patroni reads), mode 0600.

Design (docs/adr/0001-self-managed-postgresql-statefulset.md):
- Kubernetes API as the DCS: the leader lock lives in the Endpoints object `<scope>` that the
  read-write Service routes through (HA_USE_ENDPOINTS=true), so the Service can only ever point
  at the member holding the lock. Members are the pods carrying HA_LABELS plus the scope label.
- failsafe_mode: pods have no watchdog; a primary keeps running through an API-server outage
  only while every member it can reach agrees it is the leader.
- pg_rewind lets a demoted primary rejoin; a member whose rewind fails is re-cloned.
- WAL is archived by the primary only (archive_mode=on, from the chart's conf.d); replicas are
  created from the pgBackRest repository when backups are configured, else pg_basebackup.
- RESTORE_FROM_BACKUP=latest|<ISO 8601 time> makes the first member bootstrap from the
  repository (disaster recovery) instead of initdb.
- Patroni sets the parameters every member must share (max_connections and the like) from its
  dynamic configuration, over the mounted configuration files; a new cluster's dynamic
  configuration is seeded with the files' values (the chart's tuning and memory budget), which
  later change with `patronictl edit-config`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from dbops.common import PG_BIN, OpsError, int_setting, read_password, setting
from dbops.entrypoint import restore_target_options

SYNCHRONOUS_MODES = ("off", "on", "strict")
REPLICATION_USER = "replicator"
REWIND_USER = "rewinder"
SCOPE_LABEL = "inventory.example.org/cluster"
DEFAULT_CONFIG = "/tmp/patroni/patroni.json"  # noqa: S108 - the pod's private emptyDir
PATRONI_BIN = "/opt/patroni/bin/patroni"
DEFAULT_BASE_CONF = "/etc/postgresql/postgresql.conf"  # the chart mounts its ConfigMap there
# Parameters Patroni passes on the command line from its dynamic configuration (so the files'
# values never apply) that the chart tunes; the replication ones bootstrap_section sets itself.
SHARED_PARAMETERS = (
    "max_connections",
    "max_locks_per_transaction",
    "max_worker_processes",
    "max_prepared_transactions",
    "track_commit_timestamp",
)
CONF_LINE = re.compile(r"^\s*([a-z_][a-z0-9_.]*)\s*=?\s*('(?:[^']|'')*'|[^\s#]+)")


def _bool_setting(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "true" if default else "false")
    if raw not in ("true", "false"):
        raise OpsError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _labels() -> dict[str, str]:
    raw = setting("HA_LABELS")
    try:
        labels = json.loads(raw)
    except json.JSONDecodeError as error:
        raise OpsError(f"HA_LABELS must be a JSON object of pod labels: {error}") from None
    if (
        not isinstance(labels, dict)
        or not labels
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        raise OpsError(f"HA_LABELS must be a non-empty JSON object of strings, got {raw!r}")
    return labels


def _password(variable: str) -> str:
    """The password in the file `variable` names; an error says which variable."""
    try:
        return read_password(Path(setting(variable)))
    except OpsError as error:
        raise OpsError(f"{variable}: {error}") from None


def synchronous_settings() -> dict[str, Any]:
    """synchronous_mode / _strict / node count from HA_SYNCHRONOUS_MODE and its node count.

    `strict` refuses writes when no synchronous standby is left: with N members and N-1
    synchronous standbys required nothing, so losing any one member loses no acknowledged commit.
    """
    mode = os.environ.get("HA_SYNCHRONOUS_MODE", "off")
    if mode not in SYNCHRONOUS_MODES:
        raise OpsError(f"HA_SYNCHRONOUS_MODE must be one of {', '.join(SYNCHRONOUS_MODES)}")
    if mode == "off":
        return {"synchronous_mode": False}
    return {
        "synchronous_mode": True,
        "synchronous_mode_strict": mode == "strict",
        "synchronous_node_count": int_setting("HA_SYNCHRONOUS_NODE_COUNT", 1, minimum=1),
    }


def timing_settings() -> dict[str, int]:
    """ttl/loop_wait/retry_timeout; Patroni needs loop_wait + 2 * retry_timeout <= ttl."""
    ttl = int_setting("HA_TTL", 20, minimum=20)
    loop_wait = int_setting("HA_LOOP_WAIT", 5, minimum=1)
    retry_timeout = int_setting("HA_RETRY_TIMEOUT", 5, minimum=3)
    if loop_wait + 2 * retry_timeout > ttl:
        raise OpsError(
            f"HA_LOOP_WAIT ({loop_wait}) + 2 x HA_RETRY_TIMEOUT ({retry_timeout}) must not "
            f"exceed HA_TTL ({ttl}), or a leader could lose its lock while still retrying"
        )
    return {"ttl": ttl, "loop_wait": loop_wait, "retry_timeout": retry_timeout}


def _pgbackrest(*args: str) -> str:
    config = setting("BACKUP_CONFIG", "/tmp/pgbackrest/pgbackrest.conf")  # noqa: S108
    stanza = setting("BACKUP_STANZA", "main")
    return shlex.join(["pgbackrest", f"--config={config}", f"--stanza={stanza}", *args])


def pg_hba() -> list[str]:
    """Local peer for the superuser and exporter, passwords over TCP; who may connect at all
    is the NetworkPolicy's decision (replication and rewind only from the members)."""
    lines = [
        "local all postgres peer",
        "local all postgres_exporter peer map=exporter",
        "local all all scram-sha-256",
    ]
    for network in ("0.0.0.0/0", "::/0"):
        lines += [
            f"host replication {REPLICATION_USER} {network} scram-sha-256",
            f"host postgres {REWIND_USER} {network} scram-sha-256",
            f"host all all {network} scram-sha-256",
        ]
    return lines


def postgresql_section(backups: bool) -> dict[str, Any]:
    """Patroni's `postgresql` block: addresses, users, files, replica creation."""
    port = int_setting("HA_PG_PORT", 5432, minimum=1)
    pod_ip = setting("HA_POD_IP")
    section: dict[str, Any] = {
        "listen": f"{setting('HA_PG_LISTEN', '*')}:{port}",
        "connect_address": f"{pod_ip}:{port}",
        "data_dir": setting("PGDATA"),
        "bin_dir": PG_BIN,
        "pgpass": str(Path(setting("HA_CONFIG_FILE", DEFAULT_CONFIG)).with_name("pgpass")),
        "use_unix_socket": True,
        "authentication": {
            "superuser": {
                "username": "postgres",
                "password": _password("HA_SUPERUSER_PASSWORD_FILE"),
            },
            "replication": {
                "username": REPLICATION_USER,
                "password": _password("HA_REPLICATION_PASSWORD_FILE"),
            },
            "rewind": {
                "username": REWIND_USER,
                "password": _password("HA_REWIND_PASSWORD_FILE"),
            },
        },
        "parameters": {
            "unix_socket_directories": setting("HA_SOCKET_DIR", "/var/run/postgresql"),
        },
        "pg_hba": pg_hba(),
        "pg_ident": ["exporter postgres postgres_exporter"],
        "use_pg_rewind": True,
        "remove_data_directory_on_rewind_failure": True,
        "remove_data_directory_on_diverged_timelines": True,
        "create_replica_methods": ["basebackup"],
        "basebackup": [{"checkpoint": "fast"}],
    }
    if base_conf := mounted_conf():
        section["custom_conf"] = base_conf
    if backups:
        section["create_replica_methods"] = ["pgbackrest", "basebackup"]
        section["pgbackrest"] = {
            "command": _pgbackrest("--delta", "--type=standby", "restore"),
            "keep_data": True,
            "no_params": True,
        }
        section["recovery_conf"] = {"restore_command": _pgbackrest("archive-get", "%f", "%p")}
    return section


def mounted_conf() -> str:
    """The mounted main configuration file Patroni includes (HA_BASE_CONF; empty: none)."""
    return os.environ.get("HA_BASE_CONF", DEFAULT_BASE_CONF)


def file_parameters(base_conf: Path, names: tuple[str, ...]) -> dict[str, str]:
    """The values `names` get from `base_conf` and the conf.d next to it, as PostgreSQL reads
    them (the main file, then conf.d in name order; the last assignment wins)."""
    values: dict[str, str] = {}
    for path in [base_conf, *sorted((base_conf.parent / "conf.d").glob("*.conf"))]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            match = CONF_LINE.match(line)
            if match and match.group(1) in names:
                raw = match.group(2)
                if raw.startswith("'"):
                    raw = raw[1:-1].replace("''", "'")
                values[match.group(1)] = raw
    return values


def bootstrap_section(backups: bool) -> dict[str, Any]:
    """The first member's bootstrap: initdb (or the repository) plus the dynamic settings."""
    dcs: dict[str, Any] = {
        **timing_settings(),
        "maximum_lag_on_failover": int_setting("HA_MAXIMUM_LAG_BYTES", 16 * 1024 * 1024),
        "failsafe_mode": True,
        **synchronous_settings(),
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {
                "wal_level": "replica",
                "hot_standby": "on",
                "wal_log_hints": "on",
                "max_wal_senders": 10,
                "max_replication_slots": 10,
                "wal_keep_size": setting("HA_WAL_KEEP_SIZE", "1GB"),
            },
        },
    }
    if base_conf := mounted_conf():
        dcs["postgresql"]["parameters"].update(file_parameters(Path(base_conf), SHARED_PARAMETERS))
    section: dict[str, Any] = {
        "dcs": dcs,
        "initdb": [
            "data-checksums",
            {"encoding": "UTF8"},
            {"locale": "C.UTF-8"},
            {"auth-local": "peer"},
            {"auth-host": "scram-sha-256"},
        ],
        "post_bootstrap": shlex.join([sys.executable, "-m", "dbops.patroni_bootstrap"]),
    }
    if target := os.environ.get("RESTORE_FROM_BACKUP"):
        if not backups:
            raise OpsError("RESTORE_FROM_BACKUP needs the backup repository (BACKUP_AZURE_*)")
        section["method"] = "pgbackrest"
        section["pgbackrest"] = {
            "command": _pgbackrest(*restore_target_options(target), "restore"),
            "keep_existing_recovery_conf": True,
            "no_params": True,
            "recovery_conf": {
                "recovery_target_action": "promote",
                "recovery_target_timeline": "latest",
                "restore_command": _pgbackrest("archive-get", "%f", "%p"),
            },
        }
    return section


def render() -> dict[str, Any]:
    """The whole configuration; raises OpsError naming the first bad setting."""
    backups = bool(os.environ.get("BACKUP_AZURE_ACCOUNT"))
    api_port = int_setting("HA_API_PORT", 8008, minimum=1)
    pg_port = int_setting("HA_PG_PORT", 5432, minimum=1)
    labels = _labels()
    kubernetes: dict[str, Any] = {
        "namespace": setting("HA_NAMESPACE"),
        "labels": labels,
        "scope_label": SCOPE_LABEL,
        "role_label": "role",
        "use_endpoints": _bool_setting("HA_USE_ENDPOINTS", True),
        "pod_ip": setting("HA_POD_IP"),
        "ports": [{"name": "postgresql", "port": pg_port}],
        "bypass_api_service": _bool_setting("HA_BYPASS_API_SERVICE", False),
    }
    # In a pod Patroni uses the ServiceAccount; elsewhere (host tests) a kubeconfig context.
    if context := os.environ.get("HA_KUBECONFIG_CONTEXT"):
        kubernetes["context"] = context
    return {
        "scope": setting("HA_SCOPE"),
        "name": setting("HA_MEMBER_NAME"),
        "log": {
            "level": setting("HA_LOG_LEVEL", "INFO"),
            "format": "%(asctime)s %(levelname)s: %(message)s",
        },
        "restapi": {
            "listen": f"{setting('HA_API_LISTEN', '0.0.0.0')}:{api_port}",  # noqa: S104
            "connect_address": f"{setting('HA_POD_IP')}:{api_port}",
        },
        "kubernetes": kubernetes,
        "bootstrap": bootstrap_section(backups),
        "postgresql": postgresql_section(backups),
        "watchdog": {"mode": "off"},
        "tags": {
            "nofailover": False,
            "noloadbalance": False,
            "clonefrom": False,
            "nosync": False,
        },
    }


def write(path: Path | None = None) -> Path:
    """Render and write the configuration (mode 0600, atomically); returns its path."""
    target = path or Path(setting("HA_CONFIG_FILE", DEFAULT_CONFIG))
    text = json.dumps(render(), indent=2, sort_keys=True) + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".new")
    staging.touch(mode=0o600)
    staging.chmod(0o600)
    staging.write_text(text)
    os.replace(staging, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI: `python3 -m dbops.patroni_config [OUTPUT]` prints the written file's path."""
    args = sys.argv[1:] if argv is None else argv
    try:
        print(write(Path(args[0]) if args else None))
    except OpsError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
