"""The smoke stage checks backups by running them locally and by their schedules on Azure,
disrupts the database only locally or when asked, and hands the suite a token: minted by the
local token issuer locally, the caller's on Azure.

Why: a fresh local cluster has no backup history, so the suite starts the jobs (`run-job`);
long-lived Azure environments must not take a full backup on every deploy (`recent`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from pipelines.core.stage import TARGETS, Options, StageContext
from pipelines.stages import STAGES, smoke
from pipelines.stages.deploy import RELEASE_FILE
from pipelines.targets import local_issuer, local_platform
from pipelines.targets.cluster import Cluster
from pipelines.targets.local_monitoring import RECEIVER_PORT
from tests.smoke.settings import BACKUP_MODES, parse_alert_receiver

SMOKE = next(stage for stage in STAGES if stage.name == "smoke")


@dataclass(frozen=True)
class Passed:
    ok: bool = True


def test_every_target_has_a_mode_the_suite_accepts() -> None:
    assert {smoke.backup_mode(target) for target in TARGETS} <= set(BACKUP_MODES)
    assert smoke.backup_mode("local") == "run-job"
    assert smoke.backup_mode("azure") == "recent"


PUSHED = {"release": "inventory-platform", "revision": 2, "delivery": "push"}
"""deploy's record of a release it pushed."""


def run_stage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    env: str | None,
    record: Mapping[str, object] = PUSHED,
) -> dict[str, str]:
    """Run the stage against a stand-in suite after a deploy that left `record`; returns the
    environment the suite got."""
    (tmp_path / "tests" / "smoke").mkdir(parents=True)
    deployed = tmp_path / "reports" / "deploy" / RELEASE_FILE
    deployed.parent.mkdir(parents=True)
    deployed.write_text(json.dumps(record), encoding="utf-8")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    # The cluster lookup has its own tests (test_targets); here only the suite's environment.
    monkeypatch.setattr(smoke, "find_cluster", lambda _ctx: Cluster(kubeconfig, target))
    monkeypatch.setenv("INGRESS_URL", "https://inventory.example.org")
    monkeypatch.setattr(smoke, "detect_node_ip", lambda: "192.0.2.5")
    seen: dict[str, str] = {}
    # Alertmanager is restarted against the live cluster in the end-to-end run; here, when.
    restarted: list[Cluster] = []
    monkeypatch.setattr(smoke, "forget_notifications", lambda _ctx, c: restarted.append(c))

    def fake_pytest(
        ctx: StageContext, suites: Mapping[str, str], *, env: Mapping[str, str], check: bool
    ) -> Passed:
        del ctx, suites, check
        # Locally the suite's incidents must page anew: Alertmanager forgot earlier runs first.
        assert len(restarted) == (1 if target == "local" else 0)
        seen.update(env)
        return Passed()

    monkeypatch.setattr(smoke, "run_pytest", fake_pytest)
    options = Options(root=tmp_path, reports=tmp_path / "reports", target=target, env=env)
    smoke.run(StageContext(SMOKE, options, echo=lambda _line: None))
    assert seen["KUBECONFIG"] == str(kubeconfig)
    assert len(restarted) == (1 if target == "local" else 0)
    # Incidents where the pipeline runs Alertmanager itself, at the port it sends to.
    receiver = parse_alert_receiver(seen["SMOKE_ALERTS"])
    assert receiver == (("192.0.2.5", RECEIVER_PORT) if target == "local" else None)
    return seen


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The local issuer's key, as the Secret in the cluster would hand it to the stage."""
    key = local_issuer.new_signing_key()
    monkeypatch.setattr(local_platform, "signing_key", lambda _ctx, _cluster: key)
    return key


@pytest.mark.usefixtures("signing_key")
@pytest.mark.parametrize(
    ("target", "env", "mode"), [("local", None, "run-job"), ("azure", "staging", "recent")]
)
def test_the_suite_runs_with_the_targets_backup_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, env: str | None, mode: str
) -> None:
    assert run_stage(tmp_path, monkeypatch, target, env)["SMOKE_BACKUP_MODE"] == mode


@pytest.mark.usefixtures("signing_key")
@pytest.mark.parametrize("setting", ["SMOKE_FAILOVER", "SMOKE_AUTOSCALING"])
@pytest.mark.parametrize(
    ("target", "asked", "mode"),
    [
        ("local", None, "run"),
        ("azure", None, "off"),
        ("azure", "run", "run"),
        ("local", "off", "off"),
    ],
)
def test_disruptive_families_run_locally_and_on_azure_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, setting: str, target: str,
    asked: str | None, mode: str,
) -> None:  # fmt: skip
    """Failover and autoscaling disrupt or load the release on purpose: never a side effect of a
    deploy to Azure."""
    if asked is None:
        monkeypatch.delenv(setting, raising=False)
    else:
        monkeypatch.setenv(setting, asked)
    env = "staging" if target == "azure" else None
    assert run_stage(tmp_path, monkeypatch, target, env)[setting] == mode


@pytest.mark.usefixtures("signing_key")
@pytest.mark.parametrize(("target", "env"), [("local", None), ("azure", "prod")])
def test_the_gitops_check_runs_where_flux_delivered_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, env: str | None
) -> None:
    fluxed = {**PUSHED, "delivery": "flux", "helm_release": "flux-system/inventory-platform"}
    assert run_stage(tmp_path / "flux", monkeypatch, target, env, fluxed)["SMOKE_GITOPS"] == (
        "flux-system/inventory-platform"
    )
    assert run_stage(tmp_path / "push", monkeypatch, target, env)["SMOKE_GITOPS"] == "off"


def test_locally_the_suite_gets_a_short_lived_token_of_the_local_issuer_with_both_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_key: bytes
) -> None:
    monkeypatch.setenv("SMOKE_API_TOKEN", "a-token-from-elsewhere")
    token = run_stage(tmp_path, monkeypatch, "local", None)["SMOKE_API_TOKEN"]
    public = jwt.PyJWK(local_issuer.public_jwk(signing_key))
    claims = jwt.decode(
        token, public.key, algorithms=[local_issuer.ALGORITHM],
        audience=local_issuer.AUDIENCE, issuer=local_issuer.ISSUER,
    )  # fmt: skip
    assert claims["roles"] == list(local_issuer.ROLES)
    assert claims["exp"] - claims["iat"] == local_issuer.TOKEN_LIFETIME_SECONDS
    other = jwt.PyJWK(local_issuer.public_jwk(local_issuer.new_signing_key()))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other.key, algorithms=[local_issuer.ALGORITHM],
                   audience=local_issuer.AUDIENCE)  # fmt: skip


def test_on_azure_the_callers_token_passes_through_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_cluster_secret(_ctx: StageContext, _cluster: Cluster) -> bytes:
        raise AssertionError("the azure smoke stage read the local issuer's key")

    monkeypatch.setattr(local_platform, "signing_key", no_cluster_secret)
    monkeypatch.setenv("SMOKE_API_TOKEN", "a-token-entra-id-issued")
    seen = run_stage(tmp_path, monkeypatch, "azure", "staging")
    assert seen["SMOKE_API_TOKEN"] == "a-token-entra-id-issued"
