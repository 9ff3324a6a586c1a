"""Session fixtures for chart tests: one private chart copy and one render cache per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.rendering import ENVIRONMENTS, Rendered, Renderer
from tests.support.tools import require_tool


@pytest.fixture(scope="session")
def helm() -> str:
    return require_tool("helm", "make tools")


@pytest.fixture(scope="session")
def renderer(helm: str, tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    r = Renderer(helm=helm, workdir=tmp_path_factory.mktemp("helm"))
    r.prepare()
    return r


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def env_manifests(renderer: Renderer, env: str) -> Rendered:
    return renderer.env_render(env)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return Path(__file__).resolve().parent / "fixtures"
