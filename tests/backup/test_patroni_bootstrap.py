"""Patroni's post_bootstrap step on a new cluster and on one restored from the repository.

Patroni runs the step after every bootstrap, initdb or the repository's (the disaster-recovery
path). On a restored cluster the roles and the database are already in the catalogue: the step
must succeed without touching them, or Patroni would throw the restored data away.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbops import patroni_bootstrap

from tests.support.postgres import PostgresServer, running_postgres

SUPERUSER_PASSWORD = secrets.token_urlsafe(18)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    with running_postgres(prefix="dbops-post-bootstrap-") as pg:
        pg.superuser_sql(f"ALTER ROLE postgres PASSWORD '{SUPERUSER_PASSWORD}'")
        yield pg


def superuser_connstring(server: PostgresServer) -> str:
    """What Patroni passes: a superuser connection string (over TCP here, with its password)."""
    return (
        f"host={server.host} port={server.port} user=postgres "
        f"password={SUPERUSER_PASSWORD} dbname=postgres"
    )


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    password = tmp_path / "password"
    password.write_text("a-password-long-enough\n")
    monkeypatch.setenv("POSTGRES_USER", name)
    monkeypatch.setenv("POSTGRES_DB", name)
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(password))


def test_a_new_cluster_gets_the_application_role_and_database(
    server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _env(monkeypatch, tmp_path, "shop")
    assert patroni_bootstrap.main([superuser_connstring(server)]) == 0
    owner = server.superuser_sql(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop'"
    )
    assert owner == "shop"
    assert server.superuser_sql("SELECT count(*) FROM pg_roles WHERE rolname = 'postgres_exporter'")


def test_a_restored_cluster_keeps_what_it_holds(
    server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The catalogue already has role and database, as after a restore: nothing is created."""
    _env(monkeypatch, tmp_path, "restored")
    server.superuser_sql("CREATE ROLE restored LOGIN")
    server.superuser_sql("CREATE DATABASE restored OWNER restored")
    server.superuser_sql("CREATE TABLE kept (n int)", dbname="restored")
    assert patroni_bootstrap.main([superuser_connstring(server)]) == 0
    assert "restored from the repository" in capsys.readouterr().out
    assert server.superuser_sql("SELECT count(*) FROM kept", dbname="restored") == "0"


def test_a_half_made_cluster_fails_loudly(
    server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A role without its database is neither new nor restored: the step fails (exit 1)."""
    _env(monkeypatch, tmp_path, "halfmade")
    server.superuser_sql("CREATE ROLE halfmade LOGIN")
    assert patroni_bootstrap.main([superuser_connstring(server)]) == 1
