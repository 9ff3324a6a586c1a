"""Command line: `python -m inventory_api` serves; `python -m inventory_api migrate` migrates."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from inventory_api.config import ConfigError, load_settings
from inventory_api.logs import configure_logging
from inventory_api.migrate import current_revision, migration_engine, upgrade
from inventory_api.server import serve


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def main(argv: list[str] | None = None) -> int:
    """Validate configuration, then serve or migrate; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m inventory_api")
    parser.add_argument("command", nargs="?", choices=("serve", "migrate"), default="serve")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "migrate":
        engine = migration_engine(settings)
        try:
            upgrade(engine)
            revision = current_revision(engine)
        except DBAPIError as exc:
            print(f"migration failed: {_first_line(exc.orig or exc)}", file=sys.stderr)
            return 1
        except SQLAlchemyError as exc:
            print(f"migration failed: {_first_line(exc)}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        logging.getLogger("inventory_api.migrate").info("migrated", extra={"revision": revision})
        return 0
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
