"""The local git server, run as the harness runs it (its Service's argv and environment) with
real git clients: smart HTTP over TLS verified with the cluster CA, the pipeline's account
fetches and pushes (large pushes too), Flux's account only fetches, nobody else gets in."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gitserver import Running, prepare, running_server, serve
from tests.support.postgres import free_port
from tools.localcluster import gitserver, pki
from tools.localcluster.processes import Service
from tools.localcluster.registry import Credentials
from tools.localcluster.settings import GIT_HOST, GIT_PORT, GIT_SERVER, Paths

POST_BUFFER = 1024 * 1024  # git's default http.postBuffer: bigger pushes are sent chunked


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_server(tmp_path_factory.mktemp("git-state")) as server:
        yield server


def _git_env(running: Running, home: Path) -> dict[str, str]:
    """A git client that trusts only the cluster CA, reads no user configuration and never
    prompts (a refused credential fails instead of waiting)."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSL_CAINFO": str(running.paths.pki / f"{pki.CA_NAME}.crt"),
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }


def _git(
    running: Running,
    account: Credentials,
    *args: str,
    cwd: Path,
    check: bool = True,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """git with the account's credentials in a header, never in the URL."""
    result = subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: Basic {account.basic}", *args],
        cwd=cwd,
        env={**_git_env(running, cwd), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"git {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def _clone(running: Running, account: Credentials, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    _git(running, account, "clone", "--quiet", running.url, str(target), cwd=target.parent)
    return target


def _commit(running: Running, account: Credentials, clone: Path, name: str, data: bytes) -> str:
    (clone / name).write_bytes(data)
    _git(running, account, "add", name, cwd=clone)
    _git(running, account, "commit", "--quiet", "-m", f"add {name}", cwd=clone)
    return _git(running, account, "rev-parse", "HEAD", cwd=clone).stdout.strip()


def _server_state(running: Running) -> tuple[str, frozenset[str]]:
    """The bare repository's refs and object files: what a push would change."""
    repository = running.paths.git_repositories / gitserver.REPOSITORY
    refs = subprocess.run(
        ["git", "-C", str(repository), "for-each-ref"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    objects = frozenset(
        str(path.relative_to(repository)) for path in (repository / "objects").rglob("*")
    )
    return refs, objects


def _request(
    running: Running,
    path: str,
    account: Credentials | None,
    *,
    data: bytes | None = None,
    content_type: str = "",
) -> tuple[int, dict[str, str]]:
    context = ssl.create_default_context(cafile=str(running.paths.pki / f"{pki.CA_NAME}.crt"))
    headers = {"Content-Type": content_type} if content_type else {}
    if account is not None:
        headers["Authorization"] = f"Basic {account.basic}"
    request = urllib.request.Request(f"https://{running.server}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            return int(response.status), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def test_the_url_is_the_one_repository_on_the_settings_address() -> None:
    assert gitserver.url() == f"https://{GIT_SERVER}/{gitserver.REPOSITORY}"
    service = gitserver.service(Paths(Path("/state")))
    assert service.argv[service.argv.index("--port") + 1] == str(GIT_PORT)
    assert service.argv[service.argv.index("--state") + 1] == "/state"


def test_a_changed_program_is_another_command_line(tmp_path: Path) -> None:
    """`up` restarts a process whose command line changed: the server's names its source."""
    source = Path(gitserver.__file__).read_bytes()
    digest = service_source(gitserver.service(Paths(tmp_path)))
    assert digest == hashlib.sha256(source).hexdigest()[:12]


def service_source(service: Service) -> str:
    return service.argv[service.argv.index("--source") + 1]


def test_the_pusher_pushes_and_a_fresh_clone_sees_the_commit(
    running: Running, tmp_path: Path
) -> None:
    pusher = running.accounts[gitserver.PUSHER]
    clone = _clone(running, pusher, tmp_path / "work")
    head = _commit(running, pusher, clone, "promotion.txt", b"release 1\n")
    _git(running, pusher, "push", "--quiet", "origin", f"HEAD:{gitserver.BRANCH}", cwd=clone)
    fresh = _clone(running, pusher, tmp_path / "fresh")
    assert _git(running, pusher, "rev-parse", "HEAD", cwd=fresh).stdout.strip() == head
    assert (fresh / "promotion.txt").read_bytes() == b"release 1\n"
    gitserver.ensure_repository(running.paths)  # a second `up` keeps what was pushed
    again = _clone(running, pusher, tmp_path / "again")
    assert _git(running, pusher, "rev-parse", "HEAD", cwd=again).stdout.strip() == head


def test_a_push_bigger_than_the_post_buffer_arrives_intact(
    running: Running, tmp_path: Path
) -> None:
    pusher = running.accounts[gitserver.PUSHER]
    clone = _clone(running, pusher, tmp_path / "work")
    data = os.urandom(POST_BUFFER + POST_BUFFER // 2)  # incompressible: the pack stays big
    head = _commit(running, pusher, clone, "large.bin", data)
    pushed = _git(
        running,
        pusher,
        "push",
        "origin",
        f"HEAD:{gitserver.BRANCH}",
        cwd=clone,
        extra_env={"GIT_TRACE_CURL": "1", "GIT_TRACE_CURL_NO_DATA": "1"},
    )
    assert "Transfer-Encoding: chunked" in pushed.stderr, "the push took the chunked path"
    fresh = _clone(running, pusher, tmp_path / "fresh")
    assert _git(running, pusher, "rev-parse", "HEAD", cwd=fresh).stdout.strip() == head
    assert hashlib.sha256((fresh / "large.bin").read_bytes()).digest() == (
        hashlib.sha256(data).digest()
    )


def test_the_reader_fetches_but_its_push_is_refused(running: Running, tmp_path: Path) -> None:
    reader = running.accounts[gitserver.READER]
    clone = _clone(running, reader, tmp_path / "work")
    _commit(running, reader, clone, "forbidden.txt", b"flux never pushes\n")
    before = _server_state(running)
    refused = _git(
        running, reader, "push", "origin", f"HEAD:{gitserver.BRANCH}", cwd=clone, check=False
    )
    assert refused.returncode != 0
    assert "403" in refused.stderr
    assert _server_state(running) == before, "nothing reached the server"


def test_the_reader_is_refused_on_both_receive_pack_endpoints(running: Running) -> None:
    reader = running.accounts[gitserver.READER]
    pusher = running.accounts[gitserver.PUSHER]
    advert = f"/{gitserver.REPOSITORY}/info/refs?service={gitserver.RECEIVE_PACK}"
    assert _request(running, advert, pusher)[0] == 200
    assert _request(running, advert, reader)[0] == 403
    before = _server_state(running)
    post = f"/{gitserver.REPOSITORY}/{gitserver.RECEIVE_PACK}"
    status, _ = _request(
        running,
        post,
        reader,
        data=b"0000",
        content_type=f"application/x-{gitserver.RECEIVE_PACK}-request",
    )
    assert status == 403
    assert _server_state(running) == before


def test_anonymous_and_wrong_passwords_get_401(running: Running, tmp_path: Path) -> None:
    advert = f"/{gitserver.REPOSITORY}/info/refs?service={gitserver.UPLOAD_PACK}"
    for user in gitserver.ACCOUNTS:
        assert _request(running, advert, running.accounts[user])[0] == 200
        wrong = Credentials(user, running.accounts[user].password + "x")
        assert _request(running, advert, wrong)[0] == 401
    swapped = Credentials(gitserver.READER, running.accounts[gitserver.PUSHER].password)
    assert _request(running, advert, swapped)[0] == 401
    assert _request(running, advert, Credentials("nobody", "x"))[0] == 401
    status, headers = _request(running, advert, None)
    assert status == 401
    assert headers["www-authenticate"] == f'Basic realm="{gitserver.REALM}"'
    anonymous = subprocess.run(
        ["git", "ls-remote", running.url],
        cwd=tmp_path,
        env=_git_env(running, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert anonymous.returncode != 0
    # git asks for a user name only after a 401; prompts are off, so it gives up
    assert "could not read Username" in anonymous.stderr


def test_only_the_smart_protocol_of_the_one_repository_is_served(running: Running) -> None:
    pusher = running.accounts[gitserver.PUSHER]
    assert _request(running, "/other.git/info/refs?service=git-upload-pack", pusher)[0] == 404
    for dumb in ("info/refs", "HEAD", "objects/info/packs"):
        assert _request(running, f"/{gitserver.REPOSITORY}/{dumb}", pusher)[0] == 404, dumb
    escape = f"/{gitserver.REPOSITORY}/../{gitserver.REPOSITORY}/HEAD"
    assert _request(running, escape, pusher)[0] == 404


def test_the_access_log_names_requests_but_no_credentials(running: Running) -> None:
    advert = f"/{gitserver.REPOSITORY}/info/refs?service={gitserver.UPLOAD_PACK}"
    assert _request(running, advert, running.accounts[gitserver.READER])[0] == 200
    log = running.log.read_text(errors="replace")
    assert f"{gitserver.READER} [" in log
    assert f"GET {advert} HTTP/1.1" in log
    for account in running.accounts.values():
        assert account.password not in log
        assert account.basic not in log


def test_the_accounts_are_private_distinct_and_kept(running: Running) -> None:
    for user in gitserver.ACCOUNTS:
        assert running.paths.git_password(user).stat().st_mode & 0o777 == 0o600, user
    passwords = {account.password for account in running.accounts.values()}
    assert len(passwords) == len(gitserver.ACCOUNTS)
    assert gitserver.ensure_accounts(running.paths) == running.accounts, (
        "a second `up` keeps the credentials Flux and the pipeline hold"
    )


def test_answers_only_while_it_serves_flux_its_own_password(tmp_path: Path) -> None:
    paths, accounts = prepare(tmp_path / "state")
    port = free_port()
    server = f"{GIT_HOST}:{port}"
    with serve(paths, port, tmp_path / "git-server.log") as process:
        assert gitserver.answers(paths, server)
        reader_password = paths.git_password(gitserver.READER)
        pki.write_private(reader_password, b"not-the-password\n")  # the server read the real one
        try:
            assert not gitserver.answers(paths, server)
        finally:
            pki.write_private(
                reader_password, (accounts[gitserver.READER].password + "\n").encode()
            )
        assert gitserver.answers(paths, server)
    assert process.returncode == 0, "SIGTERM stops it cleanly"
    assert not gitserver.answers(paths, server)


def _tls_1_1_client(paths: Paths) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # on purpose: the old protocol
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL offer TLS 1.1 at all
    context.load_verify_locations(paths.pki / f"{pki.CA_NAME}.crt")
    return context


def test_tls_below_1_2_is_refused(running: Running) -> None:
    client = _tls_1_1_client(running.paths)
    # Control: this client does complete a TLS 1.1 handshake with a server that allows it,
    # so the refusal below is the git server's, not the client's inability.
    permissive = gitserver.tls_context(running.paths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        permissive.minimum_version = ssl.TLSVersion.TLSv1_1
    permissive.set_ciphers("DEFAULT:@SECLEVEL=0")
    left, right = socket.socketpair()
    accepted: list[str | None] = []

    def accept() -> None:
        with contextlib.suppress(ssl.SSLError, OSError):
            accepted.append(permissive.wrap_socket(left, server_side=True).version())

    thread = threading.Thread(target=accept)
    thread.start()
    with client.wrap_socket(right, server_hostname=GIT_HOST) as control:
        assert control.version() == "TLSv1.1"
    thread.join(timeout=10)
    left.close()
    assert accepted == ["TLSv1.1"]

    host, port = running.server.rsplit(":", 1)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        client.wrap_socket(raw, server_hostname=GIT_HOST)
    modern = ssl.create_default_context(cafile=str(running.paths.pki / f"{pki.CA_NAME}.crt"))
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        modern.wrap_socket(raw, server_hostname=GIT_HOST) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
