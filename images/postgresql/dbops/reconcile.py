"""Keep the running server in step with its mounted files, without a restart.

Why: Kubernetes updates a mounted ConfigMap, Secret or Key Vault CSI volume in place, but
PostgreSQL reads its configuration only at start or on a reload, and the application role's
password lives in the catalogue, set once at initdb. This loop runs beside postgres (the
entrypoint starts it) and closes both gaps:
- a configuration file changed: `pg_reload_conf()`. Settings that need a restart are reported
  from `pg_settings.pending_restart`; the chart rolls the pod for exactly those.
- the role settings file changed (and on start): `ALTER ROLE ... SET` for each role, after a
  `RESET ALL`, so a removed setting does not linger.
- the password file changed (and on start, in case it rotated while the server was down):
  `ALTER ROLE ... PASSWORD`, with statement logging off for that session so the password never
  reaches the server log. Open sessions stay authenticated; new ones need the new password,
  which the API reads from its own copy of the file for every new connection.
A failed step is logged and retried on the next tick, never fatal: postgres keeps serving.

Under Patroni the same loop runs beside Patroni on every member. Each member reloads its own
configuration; role settings and the password are catalogue changes, which only the primary
can make and which reach the replicas by replication. A replica therefore leaves them alone and
forgets what it applied before, so a member that becomes primary (failover, switchover) applies
both on its first tick as primary, whatever the previous primary did or missed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbops.common import OpsError, int_setting, psql, read_password, run, setting, sql_literal

SETTING_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MISSING = "missing"


def fingerprint(paths: Iterable[Path]) -> str:
    """sha256 over the names and contents of `paths` (a missing file counts as a state too)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(MISSING.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def config_files(config_dir: Path) -> list[Path]:
    """Every configuration file the server reads from `config_dir` and its conf.d.

    Kubernetes projects a volume's files through `..data` symlinks that it swaps atomically;
    reading the visible names through the links sees each update whole.
    """
    return sorted([*config_dir.glob("*.conf"), *(config_dir / "conf.d").glob("*.conf")])


def role_settings_sql(spec: Mapping[str, Any]) -> str:
    """ALTER ROLE statements for {"roles": {role: {setting: value}}}, in one transaction."""
    roles = spec.get("roles")
    if not isinstance(roles, dict):
        raise OpsError('role settings: expected {"roles": {ROLE: {SETTING: VALUE}}}')
    statements = ["BEGIN;"]
    for role, settings in sorted(roles.items()):
        if not ROLE_NAME.match(role) or not isinstance(settings, dict):
            raise OpsError(f"role settings: bad role {role!r} or settings {settings!r}")
        statements.append(f"ALTER ROLE {role} RESET ALL;")
        for name, value in sorted(settings.items()):
            if not SETTING_NAME.match(name):
                raise OpsError(f"role settings: bad setting name {name!r} for role {role}")
            statements.append(f"ALTER ROLE {role} SET {name} = {sql_literal(str(value))};")
    statements.append("COMMIT;")
    return "\n".join(statements) + "\n"


def password_sql(role: str, password: str) -> str:
    """Set the role's password; this session logs no statement text (the literal is secret)."""
    if not ROLE_NAME.match(role):
        raise OpsError(f"password role {role!r}: use lower-case letters, digits and underscores")
    return (
        "SET log_statement = 'none';\nSET log_min_duration_statement = -1;\n"
        "SET log_min_error_statement = 'panic';\n"
        f"ALTER ROLE {role} PASSWORD {sql_literal(password)};\n"
    )


@dataclass
class Reconciler:
    """What was applied last, so each tick acts only on what changed since."""

    config_dir: Path
    roles_file: Path
    password_file: Path
    password_role: str
    env: Mapping[str, str]
    applied: dict[str, str] = field(default_factory=dict)

    def _sql(self, sql: str, what: str) -> list[list[str]]:
        return psql(sql, what, env=self.env)

    def server_ready(self) -> bool:
        """pg_isready on the server the libpq environment names."""
        try:
            run(["pg_isready", "-q"], "pg_isready", env=self.env, timeout=10)
        except OpsError:
            return False
        return True

    def in_recovery(self) -> bool:
        """True on a standby (a Patroni replica): its catalogue is read-only."""
        rows = self._sql("SELECT pg_is_in_recovery();", "asking whether the server is a standby")
        return bool(rows) and rows[0][0] == "t"

    def step(self) -> list[str]:
        """Apply whatever changed since the last successful step; the actions taken."""
        actions: list[str] = []
        config = fingerprint(config_files(self.config_dir))
        if self.applied.get("config") not in (None, config):
            self._sql("SELECT pg_reload_conf();", "reloading the configuration")
            actions.append("reloaded the configuration")
            pending = self.pending_restart()
            if pending:
                actions.append("needs a restart for: " + ", ".join(pending))
        self.applied["config"] = config
        if self.in_recovery():
            # Nothing recorded as applied: the first tick as primary applies both again.
            self.applied.pop("roles", None)
            self.applied.pop("password", None)
            if self.applied.get("recovery") != "standby":
                actions.append("standby: role settings and the password come from the primary")
            self.applied["recovery"] = "standby"
            return actions
        self.applied["recovery"] = "primary"
        roles = fingerprint([self.roles_file])
        if self.roles_file.exists() and self.applied.get("roles") != roles:
            spec = json.loads(self.roles_file.read_text(encoding="utf-8"))
            self._sql(role_settings_sql(spec), "applying role settings")
            actions.append(f"applied role settings from {self.roles_file}")
            self.applied["roles"] = roles
        password = fingerprint([self.password_file])
        if self.applied.get("password") != password:
            sql = password_sql(self.password_role, read_password(self.password_file))
            self._sql(sql, "setting the password")
            actions.append(f"set the password of role {self.password_role}")
            self.applied["password"] = password
        return actions

    def pending_restart(self) -> list[str]:
        """Settings changed in the files that the running server cannot apply until a restart."""
        time.sleep(0.5)  # the postmaster re-reads the files asynchronously after the signal
        rows = self._sql(
            "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name;",
            "reading pending_restart",
        )
        return [row[0] for row in rows]


def from_environment() -> Reconciler:
    """The reconciler of this container: the files where the chart mounts them, the socket
    (under Patroni the socket directory and port Patroni's configuration gives the server)."""
    env = dict(os.environ)
    env.setdefault("PGHOST", os.environ.get("HA_SOCKET_DIR", "/var/run/postgresql"))
    env.setdefault("PGPORT", os.environ.get("HA_PG_PORT", "5432"))
    env.update({"PGUSER": "postgres", "PGDATABASE": "postgres"})
    config_file = Path(setting("POSTGRES_CONFIG_FILE", "/etc/postgresql/postgresql.conf"))
    return Reconciler(
        config_dir=config_file.parent,
        roles_file=Path(setting("POSTGRES_ROLES_FILE", str(config_file.parent / "roles.json"))),
        password_file=Path(setting("POSTGRES_PASSWORD_FILE")),
        password_role=setting("POSTGRES_USER", "inventory"),
        env=env,
    )


def main() -> int:
    """Reconcile forever, every DBOPS_RECONCILE_SECONDS; log what was done or what failed."""
    interval = int_setting("DBOPS_RECONCILE_SECONDS", 10, minimum=1)
    reconciler = from_environment()
    while True:
        if reconciler.server_ready():
            try:
                for action in reconciler.step():
                    print(f"reconcile: {action}", flush=True)
            except (OpsError, OSError, ValueError) as error:  # retried on the next tick
                print(f"reconcile: ERROR: {error}", file=sys.stderr, flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
