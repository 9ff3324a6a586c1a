"""Folders of tests that drive the host's one live cluster: collected only when the folder (or a
file in it) is named on the command line, as the Makefile's targets name them, so `pytest tests`
and `pytest tests/<layer>` leave them out."""

from __future__ import annotations

from pathlib import Path

import pytest


def named(folder: Path, config: pytest.Config) -> bool:
    """Whether the command line names `folder` or something inside it."""
    root = config.invocation_params.dir
    for argument in config.args:
        path = (root / argument.split("::", 1)[0]).resolve()
        if path == folder or folder in path.parents:
            return True
    return False


def ignore_unless_named(folder: Path, collection_path: Path, config: pytest.Config) -> bool | None:
    """pytest_ignore_collect's answer for a live `folder`."""
    if collection_path.resolve() == folder and not named(folder, config):
        return True
    return None
