"""Patroni members as host processes: the image's own renderer and the image's pinned Patroni.

Each member is what a database pod runs: `python3 -m dbops.patroni_config` renders the
configuration from HA_* variables (as the chart sets them), then Patroni from
images/postgresql/patroni/requirements.lock starts and supervises PostgreSQL 15. Members listen
on the host's own address (the API server refuses loopback addresses in Endpoints), each on its
own ports, and run as the `postgres` OS user when the tests run as root.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.native
import pytest
import urllib3
import yaml
from dbops.patroni_config import SCOPE_LABEL
from kubernetes import client

from tests.ha.kubeapi import KUBECONFIG_CONTEXT, NAMESPACE, KubeApi
from tests.support.postgres import free_port
from tests.support.tools import REPO_ROOT

IMAGE_DIR = REPO_ROOT / "images" / "postgresql"
LOCK = IMAGE_DIR / "patroni" / "requirements.lock"
ROLE_RULES = REPO_ROOT / "helm-charts" / "postgresql" / "files" / "patroni-role-rules.yaml"
SYSTEM_PYTHON = "/usr/bin/python3"  # the image's interpreter (Debian's python3)
SCOPE = "ha-postgresql"
LABELS = {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "ha"}
APP_USER = "inventory"
APP_DB = "inventory"
MEMBER_IDENTITY = "ha-member"  # the client certificate's CN, bound to the chart's Patroni Role
# As the Dockerfile installs the lock: wheels only, except ydiff (pure Python, published as sdist).
PIP_BINARY_OPTIONS = ("--only-binary=:all:", "--no-binary=ydiff")


def grant_member_role(api: KubeApi) -> None:
    """The chart's Patroni Role (its rules file), bound to the members' certificate identity."""
    rbac = client.RbacAuthorizationV1Api(api.api_client())
    rules = yaml.safe_load(ROLE_RULES.read_text())
    meta = client.V1ObjectMeta(name="patroni")
    rbac.create_namespaced_role(NAMESPACE, client.V1Role(metadata=meta, rules=[
        client.V1PolicyRule(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
        for r in rules
    ]))  # fmt: skip
    rbac.create_namespaced_role_binding(NAMESPACE, client.V1RoleBinding(
        metadata=meta,
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                  name="patroni"),
        subjects=[client.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind="User",
                                       name=MEMBER_IDENTITY)],
    ))  # fmt: skip


def patroni_venv() -> Path:
    """A virtualenv holding exactly the image's Patroni lock, cached by the lock's hash.

    It lives under the system temp directory because the members' OS user must read it.
    """
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"inventory-patroni-{digest}"
    if (venv / "bin" / "patroni").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
         "--require-hashes", *PIP_BINARY_OPTIONS, "-r", str(LOCK)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        pytest.fail(
            f"installing {LOCK} failed (needs PyPI and apt-get install python3-venv):\n"
            f"{result.stderr[-2000:]}",
            pytrace=False,
        )
    return venv


def host_address() -> str:
    """The host's first global IPv4 address (Endpoints may not hold a loopback address)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    pytest.fail("no global IPv4 address on this host for the members to listen on", pytrace=False)


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _write_secret(path: Path, value: str) -> Path:
    path.write_text(value + "\n")
    path.chmod(0o600)
    if owner := _owner():
        os.chown(path, *owner)
    return path


@dataclass
class Member:
    """One Patroni member: its ports, directory and (while running) its process."""

    name: str
    address: str
    pg_port: int
    api_port: int
    directory: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.directory / "patroni.log"

    @property
    def config(self) -> Path:
        return self.directory / "patroni.json"

    def rest(self, path: str = "patroni") -> dict[str, Any]:
        """GET on the member's REST API (any HTTP status: Patroni answers JSON on 503 too)."""
        url = f"http://{self.address}:{self.api_port}/{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as error:
            body = json.load(error)
        return body

    def metrics(self) -> dict[str, float]:
        """Patroni's Prometheus series on its REST port (name -> value; labels dropped)."""
        url = f"http://{self.address}:{self.api_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
        series = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                series[name.split("{")[0]] = float(value)
        return series

    def postmaster_pid(self) -> int | None:
        pid_file = Path(self.env["PGDATA"]) / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None


@dataclass
class HaCluster:
    """N members sharing one scope on one API server, plus helpers to observe and break them."""

    api: KubeApi
    venv: Path
    members: list[Member] = field(default_factory=list)
    app_password: str = "app-password-for-ha-tests"

    def start(self, member: Member) -> None:
        """Render the configuration with the image's renderer, then run Patroni on it."""
        owner = _owner()
        run_as: dict[str, Any] = {"user": owner[0], "group": owner[1]} if owner else {}
        subprocess.run(
            [SYSTEM_PYTHON, "-m", "dbops.patroni_config"], env=member.env, check=True,
            capture_output=True, **run_as,
        )  # fmt: skip
        log = member.log.open("ab")
        member.process = subprocess.Popen(
            [str(self.venv / "bin" / "patroni"), str(member.config)],
            env=member.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            **run_as,
        )  # fmt: skip
        member.starts += 1

    def kill(self, member: Member) -> None:
        """Lose the member the way a node loss does: SIGKILL Patroni and the postmaster."""
        postmaster = member.postmaster_pid()
        if member.process is not None:
            member.process.kill()
            member.process.wait()
            member.process = None
        if postmaster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGKILL)
        wait_until(lambda: not _port_open(member.address, member.pg_port), 30, "postgres gone")

    def stop(self, member: Member) -> None:
        """A graceful stop (SIGTERM): Patroni stops PostgreSQL and releases the lock."""
        if member.process is None:
            return
        member.process.terminate()
        try:
            member.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill(member)
        member.process = None

    def leader_name(self) -> str | None:
        """The member holding the leader lock, read from the DCS (the `<scope>` Endpoints)."""
        try:
            endpoints = self.api.core().read_namespaced_endpoints(SCOPE, NAMESPACE)
        except (client.ApiException, urllib3.exceptions.HTTPError):  # not found, or API gone
            return None
        annotations: dict[str, str] = (endpoints.metadata and endpoints.metadata.annotations) or {}
        return annotations.get("leader")

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def states(self) -> dict[str, dict[str, Any]]:
        """Each running member's own view (GET /patroni)."""
        views = {}
        for member in self.members:
            with contextlib.suppress(OSError, ValueError):
                views[member.name] = member.rest()
        return views

    def wait_healthy(self, timeout: float = 120) -> str:
        """Wait for one primary, every other member streaming from it and, in synchronous mode,
        a synchronous standby chosen (until then no member may be promoted); returns the leader."""
        synchronous = self.members[0].env["HA_SYNCHRONOUS_MODE"] != "off"

        def healthy() -> bool:
            views = self.states()
            if len(views) != len(self.members):
                return False
            primaries = [n for n, v in views.items() if v.get("role") == "primary"]
            replicas = [n for n, v in views.items() if v.get("replication_state") == "streaming"]
            chosen = any(v.get("sync_standby") for v in views.values()) or not synchronous
            return len(primaries) == 1 and len(replicas) == len(self.members) - 1 and chosen

        wait_until(
            healthy,
            timeout,
            "a primary and streaming replicas",
            lambda: "".join(
                f"\n{m.name}: {m.rest() if m.process else 'stopped'}\n{_tail(m.log, 15)}"
                for m in self.members
            ),
        )
        leader = self.leader_name()
        assert leader is not None
        return leader

    def connect(self, member: Member, timeout: float = 3) -> pg8000.native.Connection:
        """The application role over TCP, as the API connects."""
        return pg8000.native.Connection(
            APP_USER, host=member.address, port=member.pg_port, database=APP_DB,
            password=self.app_password, timeout=timeout,
        )  # fmt: skip

    def patronictl(self, *args: str) -> str:
        owner = _owner()
        run_as: dict[str, Any] = {"user": owner[0], "group": owner[1]} if owner else {}
        leader = self.members[0]
        result = subprocess.run(
            [str(self.venv / "bin" / "patronictl"), "-c", str(leader.config), *args],
            env=leader.env, capture_output=True, text=True, check=False, **run_as,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return str(result.stdout)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    detail: Callable[[], str] = lambda: "",
) -> None:
    """Poll `predicate`; fail naming `what` (and `detail()`, read at the time) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail()}", pytrace=False)


def _member_env(
    api: KubeApi, name: str, *, address: str, pg_port: int, api_port: int, directory: Path,
    secrets: dict[str, Path], synchronous_mode: str,
) -> dict[str, str]:  # fmt: skip
    api.issue_client(f"member-{name}", MEMBER_IDENTITY)
    return {
        "PATH": "/usr/lib/postgresql/15/bin:/usr/bin:/bin",
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(IMAGE_DIR),
        "PYTHONDONTWRITEBYTECODE": "1",
        "KUBECONFIG": str(api.kubeconfig(directory / "kubeconfig", f"member-{name}")),
        "PGDATA": str(directory / "data"),
        "POSTGRES_USER": APP_USER,
        "POSTGRES_DB": APP_DB,
        "POSTGRES_PASSWORD_FILE": str(secrets["app"]),
        "HA_SUPERUSER_PASSWORD_FILE": str(secrets["superuser"]),
        "HA_REPLICATION_PASSWORD_FILE": str(secrets["replication"]),
        "HA_REWIND_PASSWORD_FILE": str(secrets["rewind"]),
        "HA_SCOPE": SCOPE,
        "HA_MEMBER_NAME": name,
        "HA_NAMESPACE": NAMESPACE,
        "HA_LABELS": json.dumps(LABELS),
        "HA_POD_IP": address,
        "HA_PG_LISTEN": address,
        "HA_API_LISTEN": address,
        "HA_PG_PORT": str(pg_port),
        "HA_API_PORT": str(api_port),
        "HA_SOCKET_DIR": str(directory / "run"),
        "HA_CONFIG_FILE": str(directory / "patroni.json"),
        "HA_BASE_CONF": "",
        "HA_BYPASS_API_SERVICE": "false",
        "HA_KUBECONFIG_CONTEXT": KUBECONFIG_CONTEXT,
        "HA_SYNCHRONOUS_MODE": synchronous_mode,
        # Shortest timings Patroni accepts, so a lost leader is replaced quickly in tests.
        "HA_TTL": "20",
        "HA_LOOP_WAIT": "2",
        "HA_RETRY_TIMEOUT": "5",
    }


def _create_pod(api: KubeApi, name: str, labels: dict[str, str]) -> None:
    """The Pod object Patroni annotates with its state (no kubelet runs it: it stays Pending)."""
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(
            automount_service_account_token=False,
            containers=[client.V1Container(name="postgresql", image="inventory-postgresql:test")],
        ),
    )
    api.core().create_namespaced_pod(NAMESPACE, pod)


@contextlib.contextmanager
def running_cluster(
    api: KubeApi, work: Path, count: int, synchronous_mode: str
) -> Iterator[HaCluster]:
    """`count` members bootstrapped from empty data directories; all stopped afterwards."""
    venv = patroni_venv()
    address = host_address()
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    cluster = HaCluster(api, venv)
    secrets_dir = work / "secrets"
    secrets_dir.mkdir()
    secrets_dir.chmod(0o755)
    secrets = {
        "app": _write_secret(secrets_dir / "app", cluster.app_password),
        "superuser": _write_secret(secrets_dir / "superuser", "superuser-password-ha"),
        "replication": _write_secret(secrets_dir / "replication", "replication-password"),
        "rewind": _write_secret(secrets_dir / "rewind", "rewind-password-ha"),
    }
    for index in range(count):
        name = f"{SCOPE}-{index}"
        directory = work / name
        (directory / "run").mkdir(parents=True)
        if owner := _owner():
            for path in (directory, directory / "run"):
                os.chown(path, *owner)
        pg_port, api_port = free_port(), free_port()
        env = _member_env(
            api, name, address=address, pg_port=pg_port, api_port=api_port,
            directory=directory, secrets=secrets, synchronous_mode=synchronous_mode,
        )  # fmt: skip
        _create_pod(api, name, {**LABELS, SCOPE_LABEL: SCOPE})
        cluster.members.append(Member(name, address, pg_port, api_port, directory, env))
    try:
        cluster.start(cluster.members[0])  # the first member bootstraps; the others clone it
        first = cluster.members[0]
        wait_until(
            lambda: cluster.leader_name() is not None,
            120,
            "the first leader",
            lambda: f"; {first.name}'s log ends:\n{_tail(first.log)}",
        )
        for member in cluster.members[1:]:
            cluster.start(member)
        yield cluster
    finally:
        for member in cluster.members:
            cluster.stop(member)
        for member in cluster.members:  # a postmaster Patroni could not stop in time
            if (pid := member.postmaster_pid()) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _forget(api, [member.name for member in cluster.members])


def _forget(api: KubeApi, pods: list[str]) -> None:
    """Remove the members' pods and the scope's state in the DCS, so the next cluster on the same
    API server bootstraps anew (an `initialize` key left behind would make it join this one)."""
    core = api.core()
    for pod in pods:
        with contextlib.suppress(client.ApiException):
            core.delete_namespaced_pod(pod, NAMESPACE, grace_period_seconds=0)
    scope = f"{SCOPE_LABEL}={SCOPE}"
    core.delete_collection_namespaced_endpoints(NAMESPACE, label_selector=scope)
    for service in core.list_namespaced_service(NAMESPACE, label_selector=scope).items:
        if service.metadata is not None and service.metadata.name:
            core.delete_namespaced_service(service.metadata.name, NAMESPACE)
