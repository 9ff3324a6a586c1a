"""The workload-identity SAS path over real HTTP: token exchange, Get User Delegation Key, a SAS
that pgBackRest uses against the repository, the entrypoint's refresher, and failures.

Azurite (`--oauth basic`, HTTPS) is the blob service: it issues the delegation key and verifies
every SAS signature. Entra ID is the stand-in of tests/backup/entra.py (the real one cannot run
here). Azurite 3.35 implements service versions up to 2025-11-05, so the minted SAS is signed
with that version's layout (BACKUP_SAS_VERSION); the production layout (2026-10-06) is checked
against the azure-storage-blob SDK in test_azure_sas.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest

from tests.backup.entra import OAUTH_ARGS, TokenEndpoint, running_token_endpoint
from tests.backup.lab import SCRIPTS, as_postgres, lab_owner
from tests.support.azurite import Azurite, running_azurite
from tests.support.postgres import PostgresServer, running_postgres
from tests.support.tools import require_tool

CONTAINER = "pgbackrest"
REPO2_CONTAINER = "pgbackrest-repo2"
AZURITE_SAS_VERSION = "2025-11-05"
# The refresher sleeps BACKUP_SAS_REFRESH_MINUTES (at least 5) between rewrites; the test runs
# the entrypoint's own loop with time.sleep scaled down by this factor (5 min -> 2 s).
TIME_SCALE = 150
REFRESHER = """
import signal, sys, time
real_sleep = time.sleep
time.sleep = lambda seconds: real_sleep(seconds / float(sys.argv[1]))
from dbops import entrypoint
entrypoint.render_backup_config()
signal.pause()  # the refresher runs in a grandchild in this process group
"""


@dataclass
class SasLab:
    """Azurite with OAuth, the token stand-in, a PostgreSQL server and the db-role environment."""

    azurite: Azurite
    entra: TokenEndpoint
    server: PostgresServer
    work: Path
    env: dict[str, str]

    @property
    def conf(self) -> Path:
        return Path(self.env["BACKUP_CONFIG"])

    def render(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        """`python3 -m dbops.pgbackrest_conf --role db` as postgres, like the entrypoint does."""
        return subprocess.run(
            as_postgres(["/usr/bin/python3", "-m", "dbops.pgbackrest_conf", "--role", "db"]),
            env={**self.env, **overrides}, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip

    def pgbackrest(self, *args: str, conf: Path | None = None) -> subprocess.CompletedProcess[str]:
        """pgBackRest as postgres with only the config file: no key in the environment."""
        return subprocess.run(
            as_postgres(["pgbackrest", f"--config={conf or self.conf}", "--stanza=main", *args]),
            env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip


def sas_in(conf: Path, repo: int = 1) -> str:
    """The repo<N>-azure-key (the SAS) written into a pgbackrest.conf."""
    option = f"repo{repo}-azure-key="
    for line in conf.read_text().splitlines():
        if line.startswith(option):
            return line.removeprefix(option)
    raise AssertionError(f"no {option} in {conf}")


def expiry(sas: str) -> dt.datetime:
    """The SAS's signed expiry (se) as an aware datetime."""
    return dt.datetime.fromisoformat(parse_qs(sas)["se"][0].replace("Z", "+00:00"))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 40) -> None:
    """Poll until condition() holds; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def _owned_by_postgres(*paths: Path) -> None:
    owner = lab_owner()
    for path in paths:
        if owner is not None:
            os.chown(path, *owner)


@pytest.fixture(scope="module")
def sas_lab() -> Iterator[SasLab]:
    """Everything a database pod with workload identity has, on loopback."""
    require_tool("pgbackrest", "make bootstrap  (Debian package pgbackrest)")
    work = Path(tempfile.mkdtemp(prefix="inventory-sas-"))
    work.chmod(0o755)
    try:
        with (
            running_token_endpoint() as entra,
            running_azurite(work / "azurite", OAUTH_ARGS) as azurite,
            running_postgres(prefix="inventory-sas-pg-") as server,
        ):
            for container in (CONTAINER, REPO2_CONTAINER):  # shared key: Terraform's job
                azurite.create_container(container)
            token_file = work / "azure-identity-token"
            token_file.write_text(entra.federated_token + "\n")
            token_file.chmod(0o600)
            for name in ("tmp", "spool", "conf"):
                (work / name).mkdir()
            _owned_by_postgres(token_file, work / "tmp", work / "spool", work / "conf")
            env = {
                "PATH": os.environ["PATH"],
                "PYTHONPATH": str(SCRIPTS),
                # What the chart and the workload identity webhook put into the pod.
                "BACKUP_CONFIG": str(work / "conf" / "pgbackrest.conf"),
                "BACKUP_STANZA": "main",
                "BACKUP_AZURE_ACCOUNT": azurite.account,
                "BACKUP_AZURE_CONTAINER": CONTAINER,
                "BACKUP_AZURE_ENDPOINT": azurite.host,
                "BACKUP_AZURE_STORAGE_PORT": str(azurite.port),
                "BACKUP_AZURE_URI_STYLE": "path",
                "BACKUP_AZURE_KEY_TYPE": "sas",
                "BACKUP_STORAGE_CA_FILE": str(azurite.ca_file),
                "BACKUP_SAS_VERSION": AZURITE_SAS_VERSION,
                "BACKUP_SAS_HOURS": "1",
                "BACKUP_REPO_PATH": "/inventory",
                "BACKUP_TMP_DIR": str(work / "tmp"),
                "BACKUP_SPOOL_PATH": str(work / "spool"),
                "PGDATA": str(server.data_dir),
                "PGPORT": str(server.port),
                "BACKUP_PG_SOCKET": str(server.socket_dir),
                "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
                "AZURE_AUTHORITY_HOST": entra.url,
                "AZURE_TENANT_ID": entra.tenant_id,
                "AZURE_CLIENT_ID": entra.client_id,
            }
            yield SasLab(azurite, entra, server, work, env)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


@pytest.fixture
def entra_ok(sas_lab: SasLab) -> Iterator[TokenEndpoint]:
    """The token endpoint in working order, also after a test that broke it."""
    sas_lab.entra.fail = False
    yield sas_lab.entra
    sas_lab.entra.fail = False


def test_minted_sas_lets_pgbackrest_write_and_read_the_repository(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    issued = entra_ok.issued
    rendered = sas_lab.render()
    assert rendered.returncode == 0, rendered.stderr
    assert entra_ok.issued == issued + 1
    sas = sas_in(sas_lab.conf)
    fields = {k: v[0] for k, v in parse_qs(sas).items()}
    assert fields["skoid"] == entra_ok.object_id  # the key is bound to the identity's token
    assert fields["sktid"] == entra_ok.tenant_id
    assert (fields["sv"], fields["sr"], fields["sp"], fields["spr"]) == (
        AZURITE_SAS_VERSION, "c", "racwdl", "https",
    )  # fmt: skip
    lifetime = expiry(sas) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=58) < lifetime <= dt.timedelta(hours=1)
    assert oct(sas_lab.conf.stat().st_mode & 0o777) == "0o600"

    created = sas_lab.pgbackrest("stanza-create")
    assert created.returncode == 0, created.stdout + created.stderr
    written = set(sas_lab.azurite.blob_names(CONTAINER, "inventory/"))  # shared-key oracle
    assert {"inventory/backup/main/backup.info", "inventory/archive/main/archive.info"} <= written
    read = sas_lab.pgbackrest("repo-get", "backup/main/backup.info")
    assert read.returncode == 0, read.stderr
    assert "db-system-id" in read.stdout


def test_the_second_repository_mints_its_sas_with_its_own_identity(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    """repo2 (the paired region's account) exchanges the same ServiceAccount token as
    BACKUP_REPO2_AZURE_CLIENT_ID, another identity federated to it: its SAS is bound to that
    identity (never repo1's), scoped to repo2's container, and pgBackRest writes repo2 with it."""
    client_id, object_id = entra_ok.add_identity()
    repo1 = {name: value for name, value in sas_lab.env.items() if name.startswith("BACKUP_AZURE_")}
    repo2 = {
        **{name.replace("BACKUP_", "BACKUP_REPO2_", 1): value for name, value in repo1.items()},
        "BACKUP_REPO2_AZURE_CONTAINER": REPO2_CONTAINER,
        "BACKUP_REPO2_STORAGE_CA_FILE": sas_lab.env["BACKUP_STORAGE_CA_FILE"],
        "BACKUP_REPO2_AZURE_CLIENT_ID": client_id,
    }
    issued = entra_ok.issued
    rendered = sas_lab.render(**repo2)
    assert rendered.returncode == 0, rendered.stderr
    assert entra_ok.issued == issued + 2  # one token per repository's identity
    signed = {repo: parse_qs(sas_in(sas_lab.conf, repo)) for repo in (1, 2)}
    assert signed[1]["skoid"] == [entra_ok.object_id]
    assert signed[2]["skoid"] == [object_id]

    created = sas_lab.pgbackrest("stanza-create")
    assert created.returncode == 0, created.stdout + created.stderr
    written = set(sas_lab.azurite.blob_names(REPO2_CONTAINER, "inventory/"))
    assert "inventory/backup/main/backup.info" in written


def test_a_tampered_sas_is_refused_by_the_blob_service(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    assert sas_lab.render().returncode == 0
    good = sas_lab.conf.read_text()
    sas = sas_in(sas_lab.conf)
    forged = "&".join(
        f"sig={quote(base64.b64encode(bytes(32)).decode(), safe='')}" if part.startswith("sig=")
        else part
        for part in sas.split("&")
    )  # fmt: skip
    assert forged != sas
    tampered = sas_lab.work / "conf" / "tampered.conf"
    tampered.write_text(good.replace(sas, forged))
    _owned_by_postgres(tampered)
    assert sas_lab.pgbackrest("repo-ls").returncode == 0
    refused = sas_lab.pgbackrest("repo-ls", conf=tampered)
    assert refused.returncode != 0
    assert "403" in refused.stdout + refused.stderr


def test_refresher_rewrites_the_sas_before_expiry_and_keeps_it_when_entra_fails(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    sas_lab.conf.unlink(missing_ok=True)
    log = sas_lab.work / "refresher.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            as_postgres(["/usr/bin/python3", "-c", REFRESHER, str(TIME_SCALE)]),
            env={**sas_lab.env, "BACKUP_SAS_REFRESH_MINUTES": "5"},
            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(sas_lab.conf.exists, "the entrypoint's first pgbackrest.conf")
        first = sas_in(sas_lab.conf)
        wait_for(lambda: sas_in(sas_lab.conf) != first, "a refreshed SAS")
        second = sas_in(sas_lab.conf)
        assert expiry(first) > dt.datetime.now(dt.UTC)  # rewritten while the old one was valid
        assert expiry(second) > expiry(first)
        listed = sas_lab.pgbackrest("repo-ls")
        assert listed.returncode == 0, listed.stderr

        entra_ok.fail = True
        refused = entra_ok.refused
        wait_for(lambda: entra_ok.refused >= refused + 2, "two refused refreshes")
        kept = sas_lab.conf.read_text()
        wait_for(lambda: entra_ok.refused >= refused + 3, "a third refused refresh")
        assert sas_lab.conf.read_text() == kept  # the old SAS stays in place
        errors = log.read_text()
        assert "entrypoint: SAS refresh failed: Entra ID token at " in errors
        assert "HTTP 401" in errors
        assert "AADSTS700213" in errors
        still = sas_lab.pgbackrest("repo-ls")
        assert still.returncode == 0, still.stderr  # backups keep working until it expires

        entra_ok.fail = False
        wait_for(lambda: sas_in(sas_lab.conf) not in kept, "recovery after Entra ID is back")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_failing_token_endpoint_is_a_clear_error_and_the_old_file_stays(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    assert sas_lab.render().returncode == 0
    before = sas_lab.conf.read_bytes()
    entra_ok.fail = True
    result = sas_lab.render()
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"ERROR: Entra ID token at {entra_ok.url}{entra_ok.tenant_id}/oauth2/v2.0/token: "
        "HTTP 401 Unauthorized: "
    )
    assert "AADSTS700213: No matching federated identity record" in result.stderr
    assert sas_lab.conf.read_bytes() == before


def test_untrusted_storage_certificate_names_the_step_and_url(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    result = sas_lab.render(BACKUP_STORAGE_CA_FILE="/etc/ssl/certs/ca-certificates.crt")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "ERROR: Get User Delegation Key at "
        f"https://localhost:{sas_lab.azurite.port}/{sas_lab.azurite.account}/"
    )
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr


def test_unknown_sas_version_is_refused_before_any_request(
    sas_lab: SasLab, entra_ok: TokenEndpoint
) -> None:
    seen = entra_ok.issued + entra_ok.refused
    result = sas_lab.render(BACKUP_SAS_VERSION="2019-02-02")
    assert result.returncode == 1
    assert "BACKUP_SAS_VERSION '2019-02-02' has no known SAS layout" in result.stderr
    assert entra_ok.issued + entra_ok.refused == seen
