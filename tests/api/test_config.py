"""Configuration: valid values load, each bad variable is named in one line, the process exits."""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_api.config import ConfigError, load_settings

from tests.api.apiprocess import run_cli

URL = "postgresql+pg8000://inventory@db.example:5432/inventory"


def test_defaults_and_overrides() -> None:
    settings = load_settings({"DATABASE_URL": URL})
    assert settings.port == 8080
    assert (settings.pool_size, settings.max_overflow, settings.db_workers) == (4, 0, 4)
    tuned = load_settings(
        {"DATABASE_URL": URL, "PORT": "9000", "DB_POOL_SIZE": "8", "DB_MAX_OVERFLOW": "2"}
    )
    assert (tuned.port, tuned.db_workers) == (9000, 10)
    assert settings.transaction_pooler is False
    assert load_settings({"DATABASE_URL": URL, "DB_TRANSACTION_POOLER": "true"}).transaction_pooler


def test_plain_postgresql_scheme_means_pg8000() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://u@h/d"})
    assert settings.database_url.drivername == "postgresql+pg8000"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/d"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql+pg8000://u@h"}, "DATABASE_URL"),
        ({"DATABASE_URL": URL, "PORT": "http"}, "PORT"),
        ({"DATABASE_URL": URL, "PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": URL, "DB_POOL_SIZE": "0"}, "DB_POOL_SIZE"),
        ({"DATABASE_URL": URL, "DB_MAX_OVERFLOW": "-1"}, "DB_MAX_OVERFLOW"),
        ({"DATABASE_URL": URL, "DB_STATEMENT_TIMEOUT_MS": "5s"}, "DB_STATEMENT_TIMEOUT_MS"),
        ({"DATABASE_URL": URL, "READINESS_TIMEOUT_SECONDS": "nan"}, "READINESS_TIMEOUT_SECONDS"),
        ({"DATABASE_URL": URL, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DATABASE_URL": URL, "DB_TRANSACTION_POOLER": "yes"}, "DB_TRANSACTION_POOLER"),
        ({"DATABASE_URL": URL, "HOST": "localhost"}, "HOST"),
        (
            {"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": "/nonexistent/pw"},
            "DATABASE_PASSWORD_FILE",
        ),
        (
            {"DATABASE_URL": "postgresql://u:pw@h/d", "DATABASE_PASSWORD_FILE": "/etc/hostname"},
            "DATABASE_PASSWORD_FILE",
        ),
    ],
)
def test_bad_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"invalid configuration: {variable}: ")


def test_empty_password_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "pw"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match=r"DATABASE_PASSWORD_FILE: .* is empty"):
        load_settings({"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(empty)})


@pytest.mark.parametrize("command", [(), ("migrate",)])
def test_process_exits_2_with_one_line_naming_the_variable(command: tuple[str, ...]) -> None:
    result = run_cli({"DATABASE_URL": URL, "DB_POOL_SIZE": "many"}, *command)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invalid configuration: DB_POOL_SIZE: expected an integer, got 'many'"
    ]
