"""The monitoring image runs what the local deploy generates: Prometheus loads the configuration
and every rule group of the rendered local release, Alertmanager its webhook configuration, both
non-root on a read-only root filesystem, started with the Deployments' own commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pipelines.targets import local_monitoring as lm
from tests.pipeline.local_release import NODE_IP, build, render_local
from tests.support.postgres import free_port
from tools.containers import build_image, podman

pytestmark = pytest.mark.slow
START_SECONDS = 60.0


@pytest.fixture(scope="module")
def image() -> str:
    """The image under the tag the deploy uses, so a later local deploy reuses this build."""
    return build_image(lm.IMAGE, lm.image_tag())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[lm.Monitoring, Path]:
    """The local release's monitoring, written as the ConfigMaps mount it."""
    root = tmp_path_factory.mktemp("monitoring")
    monitoring = build(render_local(root / "deploy"))
    (root / "config").mkdir()
    (root / "rules").mkdir()
    (root / "config" / "prometheus.yml").write_text(monitoring.prometheus_yaml, encoding="utf-8")
    (root / "config" / "alertmanager.yml").write_text(
        monitoring.alertmanager_yaml, encoding="utf-8"
    )
    for name, text in monitoring.rules.items():
        (root / "rules" / name).write_text(text, encoding="utf-8")
    root.chmod(0o755)
    return monitoring, root


def container(name: str, monitoring: lm.Monitoring) -> dict[str, Any]:
    """The container spec of Deployment `name` as the deploy applies it."""
    for document in lm.manifests("image", monitoring, NODE_IP):
        if document["kind"] == "Deployment" and document["metadata"]["name"] == name:
            spec: dict[str, Any] = document["spec"]["template"]["spec"]["containers"][0]
            return spec
    raise AssertionError(f"no Deployment {name}")


def run(image: str, spec: dict[str, Any], mounts: dict[str, Path], port: int) -> str:
    """Start the container on the host network, its listen port moved to `port`."""
    args = [
        a.replace(f":{spec['ports'][0]['containerPort']}", f"127.0.0.1:{port}")
        for a in spec["args"]
    ]
    volumes = [arg for target, source in mounts.items() for arg in ("-v", f"{source}:{target}:ro")]
    writable = [m["mountPath"] for m in spec["volumeMounts"] if not m.get("readOnly")]
    tmpfs = [arg for path in writable for arg in ("--tmpfs", f"{path}:mode=1777")]
    result = podman(
        "run", "--detach", "--rm", "--read-only", "--cap-drop=ALL", "--network=host",
        "--security-opt=no-new-privileges", *volumes, *tmpfs,
        "--entrypoint", spec["command"][0], image, *spec["command"][1:], *args,
        capture=True,
    )  # fmt: skip
    return result.stdout.strip()


def wait_ready(url: str, name: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    logs = podman("logs", name, capture=True, check=False)
    raise AssertionError(f"{url} not ready in {START_SECONDS:.0f} s:\n{logs.stdout}{logs.stderr}")


@pytest.fixture(scope="module")
def prometheus(image: str, generated: tuple[lm.Monitoring, Path]) -> Iterator[str]:
    monitoring, root = generated
    port = free_port()
    mounts = {"/etc/prometheus/config": root / "config", "/etc/prometheus/rules": root / "rules"}
    name = run(image, container("prometheus", monitoring), mounts, port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", name)
        yield f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "--force", name, check=False, capture=True)


def test_prometheus_loads_every_rendered_rule_group(
    prometheus: str, generated: tuple[lm.Monitoring, Path]
) -> None:
    monitoring, _ = generated
    loaded = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    expected = {
        g["name"] for text in monitoring.rules.values() for g in yaml.safe_load(text)["groups"]
    }
    assert {group["name"] for group in loaded} == expected
    assert all(group["rules"] for group in loaded)


def test_alertmanager_starts_with_the_generated_webhook(
    image: str, generated: tuple[lm.Monitoring, Path]
) -> None:
    monitoring, root = generated
    port = free_port()
    name = run(
        image, container(lm.ALERTMANAGER, monitoring), {"/etc/alertmanager": root / "config"}, port
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/-/ready", name)
        status = requests.get(f"http://127.0.0.1:{port}/api/v2/status", timeout=10).json()
        assert f"{NODE_IP}:{lm.RECEIVER_PORT}{lm.RECEIVER_PATH}" in status["config"]["original"]
        user = podman("exec", name, "/usr/bin/id", "-u", capture=True).stdout.strip()
        assert user == str(lm.USER)
    finally:
        podman("rm", "--force", name, check=False, capture=True)
