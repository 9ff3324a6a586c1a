"""Backup layer fixtures: one backup lab (tests/backup/lab.py) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.backup.lab import BackupLab, running_backup_lab


@pytest.fixture(scope="session")
def backup_lab() -> Iterator[BackupLab]:
    """Azurite, a primary archiving WAL to it, and pgBackRest's TLS server."""
    with running_backup_lab() as lab:
        yield lab
