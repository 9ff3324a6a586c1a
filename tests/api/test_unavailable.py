"""Which database failures mean "retry shortly" (503 + Retry-After), against a real server."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from inventory_api.unavailable import is_database_unavailable
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.postgres import Database, free_port


def _error(url: str, statement: str, **startup: str) -> BaseException:
    engine = create_engine(url, poolclass=NullPool, connect_args={"startup_params": startup})
    with pytest.raises(sqlalchemy.exc.SQLAlchemyError) as caught, engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()
    return caught.value


def test_a_read_only_server_is_unavailable_for_writes(fresh_db: Database) -> None:
    """What a just-demoted primary answers: read_only_sql_transaction (25006)."""
    error = _error(
        fresh_db.sqlalchemy_url, "CREATE TABLE t (id int)", default_transaction_read_only="on"
    )
    assert "25006" in str(error)
    assert is_database_unavailable(error)


def test_a_refused_connection_is_unavailable(fresh_db: Database) -> None:
    port = free_port()  # nothing listens there
    url = fresh_db.sqlalchemy_url.replace(f":{fresh_db.server.port}/", f":{port}/")
    assert is_database_unavailable(_error(url, "SELECT 1"))


def test_a_bad_statement_is_not_unavailable(fresh_db: Database) -> None:
    """A syntax error is a bug (500), never something a retry would fix."""
    assert not is_database_unavailable(_error(fresh_db.sqlalchemy_url, "SELEKT 1"))
    assert not is_database_unavailable(None)


def test_a_reset_socket_raised_as_such_by_the_pre_ping_is_unavailable() -> None:
    assert is_database_unavailable(ConnectionResetError(104, "Connection reset by peer"))
    assert not is_database_unavailable(ValueError("not a connection problem"))
