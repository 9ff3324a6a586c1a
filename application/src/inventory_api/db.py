"""Database access: a bounded connection pool plus a thread pool of the same size.

Why: pg8000 and the SQLAlchemy ORM are blocking. Running every unit of work in an executor with
one thread per connection the pool may hand out keeps the IOLoop free and means a thread never
waits for a connection. Each connection carries a server-side statement timeout, and the socket
timeout is a little longer so a lost server cannot hang a thread forever.

Round trips: pooled connections sit in driver autocommit mode, so the pre-ping and a single-
statement read each cost one round trip (no BEGIN/ROLLBACK around them; one statement is atomic
on its own). Writes switch the connection to transactional mode for their unit of work, so
everything a write does commits or rolls back together.

Behind a transaction pooler (PgBouncer, pool_mode=transaction) a read is wrapped in BEGIN and
COMMIT, both sent as simple queries: pg8000 sends a statement with parameters as Parse, Sync,
Describe, Sync, Bind, Execute, Sync, and at each Sync outside a transaction the pooler may give
the server connection to another client, so the Bind could run another client's unnamed
statement. Inside the transaction the pooler keeps one server connection for all three.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from inventory_api.config import Settings, read_password

T = TypeVar("T")


def make_engine(settings: Settings) -> Engine:
    """Engine with QueuePool, pre-ping, pool limits and per-connection timeouts."""
    statement_timeout = settings.statement_timeout_ms
    engine = create_engine(
        settings.database_url,
        poolclass=QueuePool,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.connect_timeout_seconds + statement_timeout / 1000,
            "application_name": "inventory-api",
            "startup_params": {
                "statement_timeout": str(statement_timeout),
                "idle_in_transaction_session_timeout": str(statement_timeout * 2),
                "lock_timeout": str(statement_timeout),
            },
        },
    )

    @event.listens_for(engine, "connect")
    def _autocommit_when_idle(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.autocommit = True

    password_file = settings.database_password_file
    if password_file is not None:

        @event.listens_for(engine, "do_connect")
        def _password_from_file(
            _dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]
        ) -> None:
            cparams["password"] = read_password(password_file)

    return engine


class Database:
    """The engine, a session factory and the executor that runs blocking work off the IOLoop."""

    def __init__(self, engine: Engine, workers: int, *, transaction_pooler: bool = False) -> None:
        self.engine = engine
        self.transaction_pooler = transaction_pooler
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")
        self.workers = workers
        self.pending = 0

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in one transaction on a DB thread; commit on success."""
        return await self.call(functools.partial(self._in_transaction, work))

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run a single-statement read `work(connection)` on a DB thread, in autocommit."""
        return await self.call(functools.partial(self._read, work))

    async def call(self, fn: Callable[[], T]) -> T:
        """Run a blocking callable on a DB thread, keeping the caller's log context."""
        context = contextvars.copy_context()
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, context.run, fn)
        finally:
            self.pending -= 1

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with self.sessions() as session:
            dbapi_connection = session.connection().connection.dbapi_connection
            assert dbapi_connection is not None  # a checked-out connection always has one
            dbapi_connection.autocommit = False  # the driver sends BEGIN before the first statement
            try:
                result = work(session)
                session.commit()
                return result
            finally:
                # Back to idle mode; on failure closing the session still rolls back, because
                # the driver tracks the open transaction from the server's status.
                dbapi_connection.autocommit = True

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection:
            if not self.transaction_pooler:
                return work(connection)
            # Statements without parameters go as simple queries: one message, one server.
            connection.exec_driver_sql("BEGIN")
            result = work(connection)
            connection.exec_driver_sql("COMMIT")
            return result

    def ping(self) -> None:
        """A round trip to the server (readiness)."""
        self._read(lambda connection: connection.execute(text("SELECT 1")))

    def close(self) -> None:
        """Finish queued work, then close every pooled connection."""
        self.executor.shutdown(wait=True, cancel_futures=False)
        self.engine.dispose()
