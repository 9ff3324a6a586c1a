"""Stage `app-tests`: the API against real PostgreSQL, and backups/restores against Azurite."""

from __future__ import annotations

from pipelines.core.stage import StageContext
from pipelines.core.testsuite import run_pytest


def run(ctx: StageContext) -> None:
    """Run tests/api and tests/backup in one pytest session (one PostgreSQL per session)."""
    run_pytest(ctx, ["tests/api", "tests/backup"])
