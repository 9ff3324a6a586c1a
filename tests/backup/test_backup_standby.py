"""Backups under Patroni: every member is a pg host, and the files come from a streaming standby
when one is up, else from the primary (the backup never fails because a standby is down).

The rendered files are read back by the host's pgBackRest 2.45 (`help`, which loads and
validates the configuration), so an option or value that version refuses fails here.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from dbops import backup_source, pgbackrest_conf
from dbops.common import OpsError

from tests.support.tools import require_tool

HOSTS = {n: tuple(f"db-{i}.db-headless" for i in range(n)) for n in (1, 2, 3)}


def member(index: int, role: str, state: str, lag: int | str | None = 0) -> dict[str, Any]:
    """One entry of Patroni's GET /cluster `members` list."""
    entry: dict[str, Any] = {"name": f"db-{index}", "role": role, "state": state}
    if lag is not None:
        entry["lag"] = lag
    return entry


# Patroni's /cluster documents; member 1 leads in the HA ones (a failover happened).
CLUSTERS: dict[str, dict[str, Any]] = {
    "two-streaming": {"members": [member(0, "sync_standby", "streaming"),
                                  member(1, "leader", "running", None)]},
    "three-streaming": {"members": [member(0, "replica", "streaming", 4096),
                                    member(1, "leader", "running", None),
                                    member(2, "sync_standby", "streaming", 0)]},
    # The rule's breaking fixtures: the only standby stopped, or still catching up from WAL.
    "standby-down": {"members": [member(0, "replica", "stopped", "unknown"),
                                 member(1, "leader", "running", None)]},
    "standby-not-streaming": {"members": [member(0, "replica", "running", 2**30),
                                          member(1, "leader", "running", None)]},
}  # fmt: skip


def always(_host: str) -> bool:
    return True


@pytest.fixture
def client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the chart gives a backup job (repository settings of the renderer's own tests)."""
    for key, value in {
        "BACKUP_AZURE_ACCOUNT": "stinventorybackup",
        "BACKUP_AZURE_CONTAINER": "pgbackrest",
        "PGBACKREST_REPO1_AZURE_KEY": "c2FzLXRva2Vu",
        "BACKUP_STANZA": "main",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("BACKUP_REPO2_AZURE_ACCOUNT", "BACKUP_PATRONI_PORT", "BACKUP_TLS_PORT"):
        monkeypatch.delenv(key, raising=False)


def conf_of(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hosts: tuple[str, ...],
    cluster: Mapping[str, Any] | None, accepts: Any = always,
) -> tuple[backup_source.Source, dict[str, str], Path]:  # fmt: skip
    """The source chosen for `cluster` and the client file rendered with it."""
    monkeypatch.setenv("BACKUP_PG_HOST", ",".join(hosts))
    source = backup_source.choose(hosts, cluster, accepts)
    path = pgbackrest_conf.write("client", tmp_path / "pgbackrest.conf", source)
    lines = path.read_text().splitlines()
    return source, dict(line.split("=", 1) for line in lines if "=" in line), path


def pg_hosts(conf: Mapping[str, str]) -> list[str]:
    return [conf[f"pg{i}-host"] for i in range(1, 9) if f"pg{i}-host" in conf]


def pgbackrest_current(path: Path, option: str) -> str:
    """The value pgBackRest 2.45 reads for a backup option from the file."""
    pgbackrest = require_tool("pgbackrest", "make bootstrap  (Debian package pgbackrest)")
    result = subprocess.run(
        [pgbackrest, f"--config={path}", "--stanza=main", "help", "backup", option],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (current,) = [line for line in result.stdout.splitlines() if line.startswith("current:")]
    return current.split(":", 1)[1].strip()


@pytest.mark.usefixtures("client_env")
def test_one_member_backs_up_from_the_server_as_before(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source, conf, path = conf_of(monkeypatch, tmp_path, HOSTS[1], None)
    assert pg_hosts(conf) == ["db-0.db-headless"]
    assert conf["backup-standby"] == "n"
    assert conf["pg1-host-type"] == "tls"
    assert source.leader == "db-0.db-headless"
    assert source.report()["backup_from"] == "primary"
    assert pgbackrest_current(path, "backup-standby") == "false"


@pytest.mark.usefixtures("client_env")
@pytest.mark.parametrize(("members", "cluster"), [(2, "two-streaming"), (3, "three-streaming")])
def test_every_member_is_a_pg_host_and_a_streaming_standby_serves_the_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, members: int, cluster: str
) -> None:
    source, conf, path = conf_of(monkeypatch, tmp_path, HOSTS[members], CLUSTERS[cluster])
    assert sorted(pg_hosts(conf)) == list(HOSTS[members]), "the repository host knows them all"
    assert conf["backup-standby"] == "y"
    assert source.leader == "db-1.db-headless"
    # pgBackRest takes the first standby it finds: the least-lagging streaming one is pg1.
    assert conf["pg1-host"] == ("db-2.db-headless" if members == 3 else "db-0.db-headless")
    for index in range(1, members + 1):
        assert conf[f"pg{index}-host-type"] == "tls"
        assert conf[f"pg{index}-host-port"] == "8432"
        assert conf[f"pg{index}-host-ca-file"] == "/etc/pgbackrest/tls/ca.crt"
        assert conf[f"pg{index}-host-cert-file"] == "/etc/pgbackrest/tls/tls.crt"
        assert conf[f"pg{index}-path"] == "/var/lib/postgresql/data/pgdata"
    assert source.report()["backup_from"] == "standby"
    assert pgbackrest_current(path, "backup-standby") == "true"


@pytest.mark.usefixtures("client_env")
@pytest.mark.parametrize("cluster", ["standby-down", "standby-not-streaming"])
def test_without_a_streaming_standby_the_primary_serves_the_backup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cluster: str
) -> None:
    """backup-standby=y with no standby makes pgBackRest 2.45 abort the backup."""
    source, conf, path = conf_of(monkeypatch, tmp_path, HOSTS[2], CLUSTERS[cluster])
    assert conf["backup-standby"] == "n"
    assert sorted(pg_hosts(conf)) == list(HOSTS[2]), "the primary is found among all members"
    assert source.leader == "db-1.db-headless"
    assert pgbackrest_current(path, "backup-standby") == "false"


@pytest.mark.usefixtures("client_env")
def test_a_standby_whose_tls_server_is_down_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def only_primary_and_lagging(host: str) -> bool:
        return host != "db-2.db-headless"

    source, conf, _ = conf_of(
        monkeypatch, tmp_path, HOSTS[3], CLUSTERS["three-streaming"], only_primary_and_lagging
    )
    assert source.standbys == ("db-0.db-headless",)
    assert conf["pg1-host"] == "db-0.db-headless"
    assert conf["backup-standby"] == "y"
    source, conf, _ = conf_of(
        monkeypatch, tmp_path, HOSTS[2], CLUSTERS["two-streaming"], lambda _host: False
    )
    assert conf["backup-standby"] == "n"


@pytest.mark.usefixtures("client_env")
def test_without_an_answer_from_patroni_the_primary_serves_the_backup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source, conf, _ = conf_of(monkeypatch, tmp_path, HOSTS[3], None)
    assert conf["backup-standby"] == "n"
    assert pg_hosts(conf) == list(HOSTS[3])
    assert source.leader is None


@pytest.mark.usefixtures("client_env")
def test_a_source_for_other_hosts_than_the_job_knows_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKUP_PG_HOST", ",".join(HOSTS[2]))
    stray = backup_source.Source(("db-0.db-headless", "elsewhere"), standby=True)
    with pytest.raises(OpsError, match="not BACKUP_PG_HOST"):
        pgbackrest_conf.render("client", stray)
    with pytest.raises(OpsError, match="lists a host twice"):
        backup_source.pg_hosts("db-0.db-headless,db-0.db-headless")


class _Patroni(BaseHTTPRequestHandler):
    document: bytes = b"{}"

    def do_GET(self) -> None:
        status = 200 if self.path == "/cluster" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document if status == 200 else b"{}")

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.fixture
def patroni() -> Iterator[int]:
    """A REST API on 127.0.0.1 answering GET /cluster with the three-member document."""
    _Patroni.document = json.dumps(CLUSTERS["three-streaming"]).encode()
    server = HTTPServer(("127.0.0.1", 0), _Patroni)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_cluster_comes_from_the_first_member_that_answers(patroni: int) -> None:
    document = backup_source.fetch_cluster(["127.0.0.2.invalid", "127.0.0.1"], patroni, 1.0)
    assert document == CLUSTERS["three-streaming"]
    assert backup_source.fetch_cluster(["127.0.0.1"], _closed_port(), 1.0) is None


def test_decide_asks_patroni_only_under_ha(monkeypatch: pytest.MonkeyPatch, patroni: int) -> None:
    """BACKUP_PATRONI_PORT (set by the chart only under HA) turns the question on."""
    real, asked = backup_source.fetch_cluster, []

    def local(hosts: list[str], port: int) -> dict[str, Any] | None:
        asked.append(port)
        return real(["127.0.0.1"], port)  # the members' names do not resolve here

    monkeypatch.setattr(backup_source, "tls_accepts", always)
    monkeypatch.setattr(backup_source, "fetch_cluster", local)
    monkeypatch.delenv("BACKUP_PATRONI_PORT", raising=False)
    assert backup_source.decide(HOSTS[3]).standby is False
    assert asked == []
    monkeypatch.setenv("BACKUP_PATRONI_PORT", str(patroni))
    chosen = backup_source.decide(HOSTS[3])
    assert asked == [patroni]
    assert chosen.standby is True
    assert chosen.hosts[0] == "db-2.db-headless"
