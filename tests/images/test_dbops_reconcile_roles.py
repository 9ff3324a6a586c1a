"""The reconciler under Patroni: which member applies what, and when it counts as applied.

Role settings and the password are catalogue writes: only the primary can make them (they reach
the replicas by replication). A replica must neither try (a read-only error every tick) nor
record them as applied, or the member it becomes after a failover would never apply them.
The real-server counterpart (a streaming standby, then promoted) is tests/backup/test_reconcile.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dbops import entrypoint, patroni_config, reconcile


@dataclass
class FakeServer(reconcile.Reconciler):
    """A Reconciler whose SQL goes to a list; `standby` is what pg_is_in_recovery() answers."""

    standby: bool = False
    statements: list[str] = field(default_factory=list)

    def _sql(self, sql: str, what: str) -> list[list[str]]:
        if sql.startswith("SELECT pg_is_in_recovery()"):
            return [["t" if self.standby else "f"]]
        self.statements.append(what)
        return []


@pytest.fixture
def fake(tmp_path: Path) -> FakeServer:
    (tmp_path / "postgresql.conf").write_text("work_mem = '4MB'\n")
    roles = tmp_path / "roles.json"
    roles.write_text(json.dumps({"roles": {"inventory": {"statement_timeout": "30000"}}}))
    password = tmp_path / "password"
    password.write_text("a-password-long-enough\n")
    return FakeServer(
        config_dir=tmp_path, roles_file=roles, password_file=password,
        password_role="inventory", env={},
    )  # fmt: skip


def test_a_replica_applies_nothing_to_the_catalogue(fake: FakeServer) -> None:
    fake.standby = True
    actions = fake.step()
    assert fake.statements == []
    assert actions == ["standby: role settings and the password come from the primary"]
    assert "roles" not in fake.applied
    assert "password" not in fake.applied
    assert fake.step() == []  # said once, not every tick


def test_a_replica_still_reloads_its_configuration(fake: FakeServer) -> None:
    fake.standby = True
    fake.step()
    (fake.config_dir / "postgresql.conf").write_text("work_mem = '8MB'\n")
    assert "reloaded the configuration" in fake.step()
    assert fake.statements[0] == "reloading the configuration"


def test_a_promoted_replica_applies_both_on_its_first_tick_as_primary(fake: FakeServer) -> None:
    fake.standby = True
    fake.step()
    fake.standby = False
    fake.step()
    assert fake.statements == ["applying role settings", "setting the password"]


def test_a_demoted_primary_applies_again_when_promoted_again(fake: FakeServer) -> None:
    """Between its two terms another member led and may have applied other files, or none."""
    fake.step()
    fake.standby = True
    fake.step()
    fake.standby = False
    fake.statements.clear()
    fake.step()
    assert fake.statements == ["applying role settings", "setting the password"]


def test_the_entrypoint_starts_the_reconciler_beside_patroni(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`patroni` as the argument: the reconciler is started before Patroni replaces the process."""
    calls: list[str] = []
    monkeypatch.delenv("BACKUP_AZURE_ACCOUNT", raising=False)
    monkeypatch.setattr(patroni_config, "write", lambda: tmp_path / "patroni.json")
    monkeypatch.setattr(
        entrypoint, "beside_the_server", lambda loop: calls.append(f"beside {loop.__module__}")
    )

    def execv(path: str, argv: list[str]) -> None:
        calls.append(f"exec {path}")
        raise SystemExit(0)

    monkeypatch.setattr("os.execv", execv)
    with pytest.raises(SystemExit):
        entrypoint.main(["patroni"])
    assert calls == ["beside dbops.reconcile", f"exec {patroni_config.PATRONI_BIN}"]
