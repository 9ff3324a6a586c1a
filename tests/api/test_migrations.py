"""Migrations: apply from scratch through the CLI, match the models, downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from inventory_api.migrate import alembic_config, current_revision, upgrade
from inventory_api.models import Base
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from tests.api.apiprocess import run_cli
from tests.support.postgres import Database, PostgresServer

HEAD = "0001"


def test_cli_migrates_an_empty_database_with_the_password_from_a_file(
    postgres_server: PostgresServer, tmp_path: object
) -> None:
    database = postgres_server.create_database()
    password_file = postgres_server.base_dir / f"{database.name}.pw"
    password_file.write_text(postgres_server.password + "\n")
    env = {
        "DATABASE_URL": database.url_without_password,
        "DATABASE_PASSWORD_FILE": str(password_file),
    }
    for _ in range(2):  # the second run is a no-op
        result = run_cli(env, "migrate")
        assert result.returncode == 0, result.stderr
    assert '"revision": "0001"' in result.stdout
    engine = create_engine(database.sqlalchemy_url, poolclass=NullPool)
    assert current_revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) >= {
        "products",
        "stock_movements",
        "idempotency_keys",
        "alembic_version",
    }


def test_cli_reports_an_unreachable_database_in_one_line() -> None:
    env = {
        "DATABASE_URL": "postgresql+pg8000://u:p@127.0.0.1:1/d",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
    }
    result = run_cli(env, "migrate")
    assert result.returncode == 1
    assert result.stderr.startswith("migration failed: Can't create a connection to host")
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrated_schema_matches_the_models(fresh_db: Database) -> None:
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(fresh_db: Database) -> None:
    engine = create_engine(fresh_db.sqlalchemy_url, poolclass=NullPool)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert current_revision(engine) is None
    assert "products" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == HEAD
