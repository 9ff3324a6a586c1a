"""The local token issuer and the API it serves: what the release trusts is what the issuer
publishes and what the smoke stage's token carries.

Real parts throughout: the umbrella rendered by helm as `deploy --target local` installs it, the
JWKS served by the issuer pod's own `http.server` command from the ConfigMap's file layout, and
the token checked by the API's own validator (inventory_api.auth) with the rendered settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from inventory_api.auth.keys import KeySet
from inventory_api.auth.settings import AuthSettings, load_auth_settings
from inventory_api.auth.tokens import InvalidToken, Principal, TokenValidator

from pipelines.core import contract
from pipelines.targets import local_issuer as issuer
from tests.helm.rendering import Rendered, restricted_context_problems
from tests.pipeline.local_release import Manifest, one, pod_labels, render_local, selects

API = contract.load().fullnames["inventory-api"]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IMAGE = "localhost/inventory-platform/inventory-api:test"


@pytest.fixture(scope="module")
def key() -> bytes:
    return issuer.new_signing_key()


@pytest.fixture(scope="module")
def local_release(tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    return render_local(tmp_path_factory.mktemp("deploy"))


def api_settings(docs: list[Manifest]) -> AuthSettings:
    """The rendered API container's settings, judged by the API's own validation."""
    (container,) = one(docs, "Deployment", API)["spec"]["template"]["spec"]["containers"]
    return load_auth_settings({e["name"]: e["value"] for e in container["env"] if "value" in e})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, key: bytes) -> Iterator[str]:
    """The issuer pod's server, run as its manifest says, on the ConfigMap's file layout;
    yields its base URL (host-side address instead of the pod's)."""
    manifests = issuer.manifests(IMAGE, key)
    configmap = one(manifests, "ConfigMap", issuer.JWKS_CONFIGMAP)
    pod = one(manifests, "Deployment", issuer.NAME)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    root = tmp_path_factory.mktemp("mount")
    for item in volume["configMap"]["items"]:
        path = root / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(configmap["data"][item["key"]], encoding="utf-8")
    command = container["command"][container["command"].index("python") + 1 :]
    port = _free_port()
    moved = {str(issuer.PORT): str(port), "0.0.0.0": "127.0.0.1", mount["mountPath"]: str(root)}  # noqa: S104
    args = [moved.get(arg, arg) for arg in container["args"]]
    server = subprocess.Popen([sys.executable, *command, *args], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the issuer's server did not start"
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def validate(settings: AuthSettings, served: str, token: str) -> Principal:
    """The API's validator, fetching keys from the served issuer at the rendered URL's path."""
    local = dataclasses.replace(settings, jwks_url=served + urlsplit(settings.jwks_url).path)

    async def check() -> Principal:
        return await TokenValidator(local, KeySet(local)).validate(token)

    return asyncio.run(check())


def test_the_release_accepts_the_smoke_token_with_both_roles(
    local_release: list[Manifest], served: str, key: bytes
) -> None:
    settings = api_settings(local_release)
    principal = validate(settings, served, issuer.mint_token(key))
    assert {settings.read_role, settings.write_role} <= principal.roles


def test_a_foreign_audience_refuses_the_token(tmp_path: Path, served: str, key: bytes) -> None:
    broken = render_local(tmp_path, [FIXTURES / "local-foreign-audience.yaml"])
    with pytest.raises(InvalidToken, match=r"(?i)audience"):
        validate(api_settings(broken), served, issuer.mint_token(key))


def test_a_token_of_another_key_is_refused(local_release: list[Manifest], served: str) -> None:
    with pytest.raises(InvalidToken, match="unknown signing key"):
        validate(api_settings(local_release), served, issuer.mint_token(issuer.new_signing_key()))


def test_an_expired_token_is_refused(
    local_release: list[Manifest], served: str, key: bytes
) -> None:
    stale = time.time() - issuer.TOKEN_LIFETIME_SECONDS - 3600
    with pytest.raises(InvalidToken, match=r"(?i)expired"):
        validate(api_settings(local_release), served, issuer.mint_token(key, now=stale))


def test_the_published_keys_hold_no_private_part(served: str, key: bytes) -> None:
    with urllib.request.urlopen(served + issuer.JWKS_PATH, timeout=10) as response:  # noqa: S310
        (jwk,) = json.load(response)["keys"]
    assert set(jwk) == {"kty", "n", "e", "kid", "use", "alg"}
    assert (
        jwk["kid"]
        == issuer.public_jwk(key)["kid"]
        != issuer.public_jwk(issuer.new_signing_key())["kid"]
    )


def test_only_the_api_pods_may_reach_the_issuer(local_release: list[Manifest]) -> None:
    manifests = issuer.manifests(IMAGE, issuer.new_signing_key())
    policy = one(manifests, "NetworkPolicy", issuer.NAME)["spec"]
    assert selects(policy["podSelector"], pod_labels(one(manifests, "Deployment", issuer.NAME)))
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["egress"] == []  # the issuer connects nowhere
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": issuer.PORT, "protocol": "TCP"}]
    (source,) = rule["from"]
    allowed = {
        doc["metadata"]["name"]
        for doc in local_release
        if doc["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")
        and selects(source["podSelector"], pod_labels(doc))
    }
    assert allowed == {API}  # the serving pods; not the migrations Job nor the database


def test_the_api_reaches_the_issuer_pods_behind_the_jwks_url(
    local_release: list[Manifest],
) -> None:
    """The rendered key set URL names the issuer's Service; the API's egress admits the pods
    behind it on the port the Service forwards to (policies match after the translation)."""
    manifests = issuer.manifests(IMAGE, issuer.new_signing_key())
    service = one(manifests, "Service", issuer.NAME)
    url = urlsplit(api_settings(local_release).jwks_url)
    assert url.hostname == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    (port,) = service["spec"]["ports"]
    assert url.port == port["port"]
    (container,) = one(manifests, "Deployment", issuer.NAME)["spec"]["template"]["spec"][
        "containers"
    ]
    (served,) = [p for p in container["ports"] if p["name"] == port["targetPort"]]
    assert keys_ports(local_release, manifests) == [served["containerPort"]]


def keys_ports(release: list[Manifest], manifests: list[Manifest]) -> list[int]:
    """The ports on which the API's NetworkPolicy lets it reach the issuer's pods."""
    issuer_pods = pod_labels(one(manifests, "Deployment", issuer.NAME))
    egress = one(release, "NetworkPolicy", API)["spec"]["egress"]
    return [
        port["port"]
        for rule in egress
        if any("podSelector" in peer and selects(peer["podSelector"], issuer_pods)
               for peer in rule["to"])
        for port in rule["ports"]
    ]  # fmt: skip


def test_egress_to_the_service_port_instead_of_the_pods_is_caught(tmp_path: Path) -> None:
    broken = render_local(tmp_path, [FIXTURES / "local-keys-egress-elsewhere.yaml"])
    manifests = issuer.manifests(IMAGE, issuer.new_signing_key())
    assert keys_ports(broken, manifests) == [issuer.SERVICE_PORT] != [issuer.PORT]


def test_the_issuer_pod_runs_restricted_without_a_token() -> None:
    manifests = issuer.manifests(IMAGE, issuer.new_signing_key())
    assert restricted_context_problems(Rendered(tuple(manifests))) == []
    pod = one(manifests, "Deployment", issuer.NAME)["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert all(mount["readOnly"] for mount in container["volumeMounts"])


def test_a_new_key_set_rolls_the_server() -> None:
    def annotations(key: bytes) -> dict[str, str]:
        deployment = one(issuer.manifests(IMAGE, key), "Deployment", issuer.NAME)
        return dict(deployment["spec"]["template"]["metadata"]["annotations"])

    key = issuer.new_signing_key()
    assert annotations(key) == annotations(key)
    assert annotations(key) != annotations(issuer.new_signing_key())
