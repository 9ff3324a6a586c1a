"""Command line: `python -m inventory_api` serves, `migrate` migrates, `revision -m MESSAGE`
writes the migration for what the models changed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from inventory_api.auth.settings import AuthSettings, load_auth_settings
from inventory_api.config import ConfigError, Settings, load_settings
from inventory_api.logs import configure_logging
from inventory_api.migrate import (
    NothingToGenerate,
    current_revision,
    migration_engine,
    revision,
    upgrade,
    wait_for_database,
)
from inventory_api.server import serve


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _database_failure(exc: SQLAlchemyError) -> str:
    """One line: the server's or driver's own words when there are any."""
    cause = exc.orig if isinstance(exc, DBAPIError) else None
    return _first_line(cause or exc)


def _migrate(settings: Settings, wait_seconds: float) -> int:
    engine = migration_engine(settings)
    try:
        wait_for_database(engine, wait_seconds)
        upgrade(engine)
        revision_id = current_revision(engine)
    except SQLAlchemyError as exc:
        print(f"migration failed: {_database_failure(exc)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    logging.getLogger("inventory_api.migrate").info("migrated", extra={"revision": revision_id})
    return 0


def _revision(settings: Settings, message: str) -> int:
    engine = migration_engine(settings)
    try:
        path = revision(engine, message)
    except NothingToGenerate as exc:
        print(f"revision: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"revision failed: {_database_failure(exc)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(path)
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def main(argv: list[str] | None = None) -> int:
    """Validate configuration, then serve, migrate or write a revision; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m inventory_api")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve HTTP (the default)")
    migrate = commands.add_parser("migrate", help="bring the database to the newest revision")
    migrate.add_argument(
        "--wait-seconds",
        type=_seconds,
        default=0.0,
        help="keep connecting for up to this long while the database refuses (default 0)",
    )
    new = commands.add_parser(
        "revision", help="migrate, then write the revision for what the models add or change"
    )
    new.add_argument("-m", "--message", required=True, help="what the revision does")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        # Only serving answers requests: migrate and revision need no token issuer.
        serving = args.command in (None, "serve")
        auth = load_auth_settings() if serving else AuthSettings(mode="off")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "migrate":
        return _migrate(settings, args.wait_seconds)
    if args.command == "revision":
        return _revision(settings, args.message)
    asyncio.run(serve(settings, auth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
