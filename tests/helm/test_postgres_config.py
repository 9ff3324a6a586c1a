"""The chart's generated PostgreSQL configuration is accepted by a real PostgreSQL 15: every
environment's files parse with the server's own validation (`postgres -C`), and the local
environment's configuration starts a server with pg_stat_statements loaded and the computed
settings in effect."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helm.rendering import DB, Rendered, Renderer
from tests.support.postgres import free_port
from tests.support.tools import require_tool

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL = "apt-get install -y postgresql-15"
CONFIG_MAP = f"{DB}-config"


def _as_postgres(*args: str) -> list[str]:
    """initdb and postgres refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_postgres(*args), capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture(scope="session")
def cluster() -> Iterator[Path]:
    """An initialised, stopped data directory owned by the postgres user (outside pytest's
    root-only temp tree, which the postgres user cannot enter)."""
    initdb = require_tool(str(PG_BIN / "initdb"), INSTALL)
    root = Path(tempfile.mkdtemp(prefix="helm-pgconf-"))
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
        moved = text.replace("/etc/postgresql", str(target))
        moved = moved.replace("/var/run/postgresql", str(target / "run"))
        path.write_text(moved.replace("/tmp/pgbackrest", str(target / "pgbackrest")), "utf-8")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in [target, *target.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    return target / "postgresql.conf"


def _show(data: Path, config: Path, name: str) -> str:
    proc = _run(
        str(PG_BIN / "postgres"), "-D", str(data), "-c", f"config_file={config}", "-C", name
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_every_environment_config_is_valid(
    cluster: Path, env_manifests: Rendered, env: str
) -> None:
    config = _materialise(env_manifests, cluster.parent / f"etc-{env}")
    tuning = env_manifests.one("ConfigMap", CONFIG_MAP)["data"]["10-tuning.conf"]
    line = next(ln for ln in tuning.splitlines() if ln.startswith("shared_buffers"))
    megabytes = int(line.split("=")[1].strip().removesuffix("MB"))
    # `postgres -C` reports shared_buffers in 8 kB pages.
    assert int(_show(cluster, config, "shared_buffers")) == megabytes * 1024 // 8
    assert _show(cluster, config, "password_encryption") == "scram-sha-256"
    assert _show(cluster, config, "hba_file") == str(config.parent / "pg_hba.conf")


def test_invalid_setting_is_refused(cluster: Path, renderer: Renderer) -> None:
    """The check bites: a value the server rejects makes `postgres -C` fail."""
    config = _materialise(renderer.env_render("local"), cluster.parent / "etc-broken")
    (config.parent / "conf.d" / "99-broken.conf").write_text("wal_compression = zip\n")
    proc = _run(
        str(PG_BIN / "postgres"),
        "-D",
        str(cluster),
        "-c",
        f"config_file={config}",
        "-C",
        "wal_compression",
    )
    assert proc.returncode != 0
    assert 'invalid value for parameter "wal_compression"' in proc.stderr


def test_local_config_starts_a_server(cluster: Path, renderer: Renderer) -> None:
    """Start PostgreSQL on the local environment's files (512 MiB limit) and look inside."""
    rendered = renderer.env_render("local")
    config = _materialise(rendered, cluster.parent / "etc-start")
    socket_dir = config.parent / "run"
    port = str(free_port())
    options = f"-c config_file={config} -c port={port} -c listen_addresses=''"
    pg_ctl = str(PG_BIN / "pg_ctl")
    log = config.parent / "server.log"
    started = _run(
        pg_ctl, "start", "-w", "-t", "60", "-D", str(cluster), "-l", str(log), "-o", options
    )
    assert started.returncode == 0, started.stderr + log.read_text(errors="replace")
    try:
        sql = (
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
            "SELECT count(*) >= 0 FROM pg_stat_statements;"
            "SHOW shared_buffers; SHOW work_mem; SHOW random_page_cost; SHOW data_checksums;"
            "SHOW huge_pages; SHOW jit; SHOW hash_mem_multiplier; SHOW autovacuum_work_mem;"
        )
        proc = _run(
            str(PG_BIN / "psql"),
            "-h",
            str(socket_dir),
            "-p",
            port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            sql,
        )
        assert proc.returncode == 0, proc.stderr
        tuning = rendered.one("ConfigMap", CONFIG_MAP)["data"]["10-tuning.conf"]
        pairs = (line.partition("=") for line in tuning.splitlines())
        computed = {key.strip(): value.strip() for key, _, value in pairs}
        assert proc.stdout.split() == [
            "CREATE", "EXTENSION", "t", "128MB", computed["work_mem"], "1.1", "on", "off",
            "off", "2", computed["autovacuum_work_mem"],
        ]  # fmt: skip
    finally:
        stopped = _run(pg_ctl, "stop", "-m", "fast", "-w", "-D", str(cluster))
        assert stopped.returncode == 0, stopped.stderr
