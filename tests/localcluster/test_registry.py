"""The local registry, run from the binary the cluster build makes with the configuration the
harness writes: TLS verified with the cluster CA, only its account admitted, and the publish
stage's own push recording a digest the registry then serves."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipelines.core.charts import CERT_MANAGER, CHART_REPOSITORY, CHARTS, chart_version
from pipelines.core.stage import Options, StageContext, StageFailed
from pipelines.stages import STAGES
from pipelines.stages.publish import push_charts, push_images
from pipelines.targets.registry_login import RegistryLogin
from tests.support.postgres import free_port
from tests.support.tools import REPO_ROOT, require_tool
from tools.localcluster import pki, registry
from tools.localcluster.build import binary
from tools.localcluster.catalog import PAUSE, REGISTRY
from tools.localcluster.images import build_scratch_image
from tools.localcluster.settings import REGISTRY_HOST, Paths

PROGRAM = binary(REGISTRY, "registry")
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


@dataclass(frozen=True)
class Running:
    paths: Paths
    server: str
    credentials: registry.Credentials


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not PROGRAM.is_file():
        pytest.fail(f"{PROGRAM} is missing: run `python -m tools.localcluster build`")
    paths = Paths(tmp_path_factory.mktemp("registry-state"))
    ca = pki.ensure_ca(paths.pki)
    pki.ensure_cert(paths.pki, registry.SERVING_CERT, ca)
    registry.ensure_trust(paths)
    server = f"{REGISTRY_HOST}:{free_port()}"
    credentials = registry.ensure_credentials(paths, PROGRAM, server)
    config = paths.config / "registry.yml"
    config.parent.mkdir(parents=True)
    config.write_text(registry.config(paths, int(server.rsplit(":", 1)[1])), encoding="utf-8")
    log = (paths.root / "registry.log").open("wb")
    service = registry.service(PROGRAM.parent, paths)  # what the harness starts
    env = dict(service.env or {})
    process = subprocess.Popen(service.argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not registry.answers(paths, server):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((paths.root / "registry.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        yield Running(paths, server, credentials)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _status(
    running: Running, path: str, basic: str | None, accept: str = ""
) -> tuple[int, dict[str, str]]:
    context = ssl.create_default_context(cafile=str(running.paths.pki / f"{pki.CA_NAME}.crt"))
    headers = {"Accept": accept} if accept else {}
    if basic is not None:
        headers["Authorization"] = f"Basic {basic}"
    request = urllib.request.Request(f"https://{running.server}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            return int(response.status), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def test_only_its_account_is_admitted(running: Running) -> None:
    assert _status(running, "/v2/", running.credentials.basic)[0] == 200
    anonymous, headers = _status(running, "/v2/", None)
    assert anonymous == 401
    assert headers["www-authenticate"] == f'Basic realm="{registry.REALM}"'
    wrong = registry.Credentials(registry.USER, running.credentials.password + "x")
    assert _status(running, "/v2/", wrong.basic)[0] == 401
    assert not registry.answers(running.paths, running.server.replace(REGISTRY_HOST, "127.0.0.2"))


def test_the_account_is_private_hashed_and_kept(running: Running) -> None:
    paths = running.paths
    for secret in (paths.registry_password, paths.registry_htpasswd, paths.registry_auth_file):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    user, hashed = paths.registry_htpasswd.read_text(encoding="utf-8").strip().split(":", 1)
    assert user == registry.USER
    assert hashed.startswith("$2"), "bcrypt, the one scheme distribution checks"
    assert running.credentials.password not in paths.registry_htpasswd.read_text(encoding="utf-8")
    again = registry.ensure_credentials(paths, PROGRAM, running.server)
    assert again == running.credentials, "a second `up` keeps the account containerd holds"
    auth = json.loads(paths.registry_auth_file.read_text(encoding="utf-8"))
    assert auth == {"auths": {running.server: {"auth": running.credentials.basic}}}


def test_hash_password_refuses_an_empty_password() -> None:
    result = subprocess.run(
        [str(PROGRAM), "hash-password", registry.USER],
        input="\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "the password on standard input is empty" in result.stderr
    assert "Usage:" not in result.stderr


def _publish_context(root: Path) -> StageContext:
    stage = next(stage for stage in STAGES if stage.name == "publish")
    options = Options(root=root, reports=root / "reports", target="local")
    return StageContext(stage, options, echo=print)


def _login(running: Running) -> RegistryLogin:
    paths = running.paths
    return RegistryLogin(running.server, paths.registry_auth_file, paths.registry_cert_dir)


def test_the_publish_push_records_the_digest_the_registry_serves(
    running: Running, tmp_path: Path
) -> None:
    reference = build_scratch_image(
        "localhost/inventory-registry-test/pause:1", binary(PAUSE, "pause")
    )
    ctx = _publish_context(tmp_path)
    published, digests = push_images(ctx, {"pause": reference}, _login(running))
    assert published == {"pause": f"{running.server}/pause:1"}
    path = f"/v2/pause/manifests/{digests['pause']}"
    status, headers = _status(running, path, running.credentials.basic, MANIFEST_TYPES)
    assert status == 200
    assert headers["docker-content-digest"] == digests["pause"]
    assert _status(running, path, None, MANIFEST_TYPES)[0] == 401


def test_a_published_chart_is_pulled_back_by_its_digest(running: Running, tmp_path: Path) -> None:
    """The artefact deploy installs (reference@digest) is the chart at its content version."""
    helm = require_tool("helm", "make tools")
    ctx = _publish_context(REPO_ROOT)
    ctx.options = Options(root=REPO_ROOT, reports=tmp_path / "reports", target="local")
    login = _login(running)
    (pushed,) = push_charts(ctx, helm, login, names=(CERT_MANAGER,)).values()
    assert pushed["reference"] == f"oci://{running.server}/{CHART_REPOSITORY}/{CERT_MANAGER}"
    assert pushed["version"] == chart_version(REPO_ROOT / CHARTS / CERT_MANAGER)
    shown = subprocess.run(
        [helm, "show", "chart", f"{pushed['reference']}@{pushed['digest']}", *login.helm_options()],
        capture_output=True,
        text=True,
        check=True,
    )
    assert yaml.safe_load(shown.stdout)["version"] == pushed["version"]
    pushes = len([step for step in ctx.steps if step.name.startswith("helm push")])
    again = push_charts(ctx, helm, login, names=(CERT_MANAGER,))
    assert len([step for step in ctx.steps if step.name.startswith("helm push")]) == pushes
    assert again[CERT_MANAGER]["digest"] == pushed["digest"], (
        "a published version is kept, not pushed again"
    )


def test_a_registry_that_refuses_the_lookup_fails_publish_saying_so(
    running: Running, tmp_path: Path
) -> None:
    helm = require_tool("helm", "make tools")
    ctx = _publish_context(REPO_ROOT)
    ctx.options = Options(root=REPO_ROOT, reports=tmp_path / "reports", target="local")
    wrong = registry.Credentials(registry.USER, "not-the-password")
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {running.server: {"auth": wrong.basic}}}))
    login = RegistryLogin(running.server, auth_file, running.paths.registry_cert_dir)
    with pytest.raises(StageFailed, match=r"cannot tell whether oci://.*cert-manager .* published"):
        push_charts(ctx, helm, login, names=(CERT_MANAGER,))
    assert not [step for step in ctx.steps if step.name.startswith("helm push")]
