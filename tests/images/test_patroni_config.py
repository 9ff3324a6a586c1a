"""The image's Patroni renderer: every setting validated with an error naming the variable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbops import patroni_config
from dbops.common import OpsError


@pytest.fixture
def pod_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The variables the chart sets, with password files in tmp_path."""
    for name in ("app", "superuser", "replication", "rewind"):
        (tmp_path / name).write_text(f"{name}-password-long-enough\n")
    values = {
        "PGDATA": str(tmp_path / "data"),
        "HA_SCOPE": "inventory-postgresql",
        "HA_MEMBER_NAME": "inventory-postgresql-1",
        "HA_NAMESPACE": "inventory",
        "HA_LABELS": json.dumps({"app.kubernetes.io/name": "postgresql"}),
        "HA_POD_IP": "10.244.0.9",
        "HA_CONFIG_FILE": str(tmp_path / "patroni.json"),
        "HA_SUPERUSER_PASSWORD_FILE": str(tmp_path / "superuser"),
        "HA_REPLICATION_PASSWORD_FILE": str(tmp_path / "replication"),
        "HA_REWIND_PASSWORD_FILE": str(tmp_path / "rewind"),
        "POSTGRES_PASSWORD_FILE": str(tmp_path / "app"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for key in ("BACKUP_AZURE_ACCOUNT", "RESTORE_FROM_BACKUP", "HA_SYNCHRONOUS_MODE"):
        monkeypatch.delenv(key, raising=False)
    return tmp_path


def _config() -> dict[str, Any]:
    return patroni_config.render()


@pytest.mark.usefixtures("pod_env")
def test_defaults_are_failsafe_rewind_and_kubernetes_endpoints() -> None:
    config = _config()
    dcs = config["bootstrap"]["dcs"]
    assert dcs["failsafe_mode"] is True
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["synchronous_mode"] is False
    assert config["kubernetes"]["use_endpoints"] is True
    assert config["kubernetes"]["scope_label"] == patroni_config.SCOPE_LABEL
    assert config["watchdog"] == {"mode": "off"}
    assert config["postgresql"]["connect_address"] == "10.244.0.9:5432"
    assert config["postgresql"]["create_replica_methods"] == ["basebackup"]


@pytest.mark.usefixtures("pod_env")
def test_strict_synchronous_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HA_SYNCHRONOUS_MODE", "strict")
    dcs = _config()["bootstrap"]["dcs"]
    assert (dcs["synchronous_mode"], dcs["synchronous_mode_strict"]) == (True, True)
    assert dcs["synchronous_node_count"] == 1


@pytest.mark.usefixtures("pod_env")
def test_backups_create_replicas_from_the_repository_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKUP_AZURE_ACCOUNT", "inventorybackups")
    monkeypatch.setenv("BACKUP_STANZA", "inventory")
    section = _config()["postgresql"]
    assert section["create_replica_methods"] == ["pgbackrest", "basebackup"]
    assert "--stanza=inventory" in section["pgbackrest"]["command"]
    assert "--type=standby" in section["pgbackrest"]["command"]
    assert section["recovery_conf"]["restore_command"].endswith("archive-get %f %p")


@pytest.mark.usefixtures("pod_env")
def test_restore_from_backup_bootstraps_from_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESTORE_FROM_BACKUP", "2026-11-30T12:00:00+00:00")
    with pytest.raises(OpsError, match="needs the backup repository"):
        _config()
    monkeypatch.setenv("BACKUP_AZURE_ACCOUNT", "inventorybackups")
    bootstrap = _config()["bootstrap"]
    assert bootstrap["method"] == "pgbackrest"
    assert "--type=time" in bootstrap["pgbackrest"]["command"]
    assert bootstrap["pgbackrest"]["recovery_conf"]["recovery_target_action"] == "promote"


@pytest.mark.usefixtures("pod_env")
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HA_SYNCHRONOUS_MODE", "always", "HA_SYNCHRONOUS_MODE must be one of"),
        ("HA_LOOP_WAIT", "15", "must not exceed HA_TTL"),
        ("HA_TTL", "10", "HA_TTL must be >= 20"),
        ("HA_LABELS", "[]", "HA_LABELS must be a non-empty JSON object"),
        ("HA_LABELS", "{", "HA_LABELS must be a JSON object"),
        ("HA_USE_ENDPOINTS", "yes", "HA_USE_ENDPOINTS must be true or false"),
        ("HA_POD_IP", "", "HA_POD_IP is required"),
    ],
)
def test_bad_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(OpsError, match=message):
        _config()


def test_a_short_password_file_is_refused(pod_env: Path) -> None:
    (pod_env / "replication").write_text("short\n")
    with pytest.raises(OpsError, match="shorter than 12 characters"):
        _config()


def test_written_file_is_private(pod_env: Path) -> None:
    path = patroni_config.write()
    assert path == pod_env / "patroni.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["name"] == "inventory-postgresql-1"


def test_an_unreadable_password_file_is_named_by_its_variable(pod_env: Path) -> None:
    (pod_env / "rewind").unlink()
    with pytest.raises(OpsError, match="HA_REWIND_PASSWORD_FILE: cannot read"):
        _config()


@pytest.mark.usefixtures("pod_env")
def test_a_kubeconfig_context_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pod Patroni uses the ServiceAccount; a context is for members outside a cluster."""
    assert "context" not in _config()["kubernetes"]
    monkeypatch.setenv("HA_KUBECONFIG_CONTEXT", "ha-test")
    assert _config()["kubernetes"]["context"] == "ha-test"


def _mounted(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory / "postgresql.conf"


def test_shared_parameters_are_seeded_from_the_mounted_files(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patroni's command line would otherwise impose its own max_connections (100) etc. on a
    new cluster, whatever the chart's tuning and memory budget say."""
    main = _mounted(pod_env / "etc", {
        "postgresql.conf": "port = 5432\nmax_connections = 500\ninclude_dir = 'conf.d'\n",
        "conf.d/10-tuning.conf": "max_connections = 30\nmax_worker_processes = 4  # cores\n",
        "conf.d/20-chart.conf": "work_mem = '4MB'\nmax_locks_per_transaction = '128'\n",
    })  # fmt: skip
    monkeypatch.setenv("HA_BASE_CONF", str(main))
    config = _config()
    parameters = config["bootstrap"]["dcs"]["postgresql"]["parameters"]
    assert parameters["max_connections"] == "30"  # conf.d is read after the main file
    assert parameters["max_worker_processes"] == "4"
    assert parameters["max_locks_per_transaction"] == "128"
    assert "work_mem" not in parameters  # the files apply it themselves (custom_conf)
    assert parameters["wal_log_hints"] == "on"  # replication settings stay Patroni's
    assert config["postgresql"]["custom_conf"] == str(main)


def test_no_mounted_configuration_seeds_nothing(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HA_BASE_CONF", "")
    config = _config()
    assert "max_connections" not in config["bootstrap"]["dcs"]["postgresql"]["parameters"]
    assert "custom_conf" not in config["postgresql"]
