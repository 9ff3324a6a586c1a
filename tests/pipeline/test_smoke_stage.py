"""The smoke stage checks backups by running them locally and by their schedules on Azure.

Why: a fresh local cluster has no backup history, so the suite starts the jobs (`run-job`);
long-lived Azure environments must not take a full backup on every deploy (`recent`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.core.stage import TARGETS, Options, StageContext
from pipelines.stages import STAGES, smoke
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


@pytest.mark.parametrize(
    ("target", "env", "mode"), [("local", None, "run-job"), ("azure", "staging", "recent")]
)
def test_the_suite_runs_with_the_targets_backup_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, env: str | None, mode: str
) -> None:
    (tmp_path / "tests" / "smoke").mkdir(parents=True)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    # The cluster lookup has its own tests (test_targets); here only the suite's environment.
    monkeypatch.setattr(smoke, "find_cluster", lambda _ctx: Cluster(kubeconfig, target))
    monkeypatch.setenv("INGRESS_URL", "https://inventory.example.org")
    monkeypatch.setattr(smoke, "detect_node_ip", lambda: "192.0.2.5")
    seen: dict[str, str] = {}

    def fake_pytest(
        ctx: StageContext, suites: Mapping[str, str], *, env: Mapping[str, str], check: bool
    ) -> Passed:
        del ctx, suites, check
        seen.update(env)
        return Passed()

    monkeypatch.setattr(smoke, "run_pytest", fake_pytest)
    options = Options(root=tmp_path, reports=tmp_path / "reports", target=target, env=env)
    smoke.run(StageContext(SMOKE, options, echo=lambda _line: None))
    assert seen["SMOKE_BACKUP_MODE"] == mode
    assert seen["KUBECONFIG"] == str(kubeconfig)
    # Incidents where the pipeline runs Alertmanager itself, at the port it sends to.
    receiver = parse_alert_receiver(seen["SMOKE_ALERTS"])
    assert receiver == (("192.0.2.5", RECEIVER_PORT) if target == "local" else None)
