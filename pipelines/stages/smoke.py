"""Stage `smoke`: the smoke suite against the deployed release; roll back when it fails.

The suite targets any cluster given KUBECONFIG and INGRESS_URL, so it runs the same
against the local cluster and AKS. Its backup checks differ by target (SMOKE_BACKUP_MODE):
- local (`run-job`): the cluster is fresh, so a heartbeat, a full backup and the restore drill
  are started from their CronJobs and must succeed now;
- azure (`recent`): environments are long-lived and back up on their schedules, so each backup
  CronJob's `lastSuccessfulTime` must be no older than its schedule's latest due run; starting
  a full backup on every deploy would load production and churn retention.
Its incident checks (SMOKE_ALERTS) run where the pipeline runs the monitoring itself: locally,
Alertmanager's one receiver is the suite's webhook on the node (pipelines/targets/
local_monitoring), and the stage restarts Alertmanager first so no earlier run's incident
counts as paged already; on Azure alerts go to the environment's action groups, so they are
off.
Its failover checks (SMOKE_FAILOVER) delete the primary, switch over and roll every member under a
writer: locally on every run; on Azure only when the caller sets SMOKE_FAILOVER=run (a game day
in a chosen environment, never a side effect of a deploy to production).
Its autoscaling checks (SMOKE_AUTOSCALING) load the API through the ingress until its HPA scales
out and wait for the scale-in: locally on every run (the harness runs metrics-server, and the
local values shorten the scale-down window); on Azure only when the caller sets
SMOKE_AUTOSCALING=run (a load test is a decision, not a side effect of a deploy).
Its GitOps check (SMOKE_GITOPS) runs where Flux delivered the release (deploy's record: the
local target, and the Azure environments delivered by Flux): it edits an object the HelmRelease
manages and waits for Flux to put it back.
On failure the stage rolls back as the release was delivered: by reverting the promotion commit
(Flux) or by `helm rollback` to the revision before the deploy (push).
The API checks bearer tokens on both: on azure SMOKE_API_TOKEN comes from the environment (a
token Entra ID issued); on local the stage mints one with the local token issuer's key
(pipelines/targets/local_issuer), with both roles, valid for the suite's run only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pipelines.core.stage import StageContext, StageFailed
from pipelines.core.testsuite import run_pytest
from pipelines.stages.deploy import RELEASE_FILE, delivery_channel, environment_outputs
from pipelines.targets import gitops_delivery, local_issuer, local_platform
from pipelines.targets.cluster import Cluster, find_cluster, ingress_url
from pipelines.targets.local_monitoring import RECEIVER_PORT, forget_notifications
from tools.localcluster.interface import detect_node_ip

ROLLBACK_TIMEOUT = "10m"
BACKUP_MODES = {"local": "run-job", "azure": "recent"}
FAILOVER_MODES = {"local": "run", "azure": "off"}
AUTOSCALING_MODES = {"local": "run", "azure": "off"}


def backup_mode(target: str) -> str:
    """The suite's SMOKE_BACKUP_MODE for a target (see the module docstring)."""
    return BACKUP_MODES[target]


def alert_receiver(target: str) -> str:
    """The suite's SMOKE_ALERTS: `<node address>:<port>` the local Alertmanager sends to, or
    `off` on Azure (see the module docstring)."""
    return f"{detect_node_ip()}:{RECEIVER_PORT}" if target == "local" else "off"


def failover_mode(target: str) -> str:
    """The suite's SMOKE_FAILOVER for a target (see the module docstring)."""
    return FAILOVER_MODES[target]


def autoscaling_mode(target: str) -> str:
    """The suite's SMOKE_AUTOSCALING for a target (see the module docstring)."""
    return AUTOSCALING_MODES[target]


def gitops_mode(release: Mapping[str, Any]) -> str:
    """The suite's SMOKE_GITOPS: the HelmRelease that delivered the release where Flux did
    (NAMESPACE/NAME, from deploy's record), else `off`."""
    return str(release["helm_release"]) if release.get("delivery") == "flux" else "off"


def token_env(ctx: StageContext, cluster: Cluster) -> dict[str, str]:
    """SMOKE_API_TOKEN minted by the local token issuer on local; on azure nothing is set here
    (the caller's SMOKE_API_TOKEN, if any, passes through)."""
    if ctx.options.target != "local":
        return {}
    token = local_issuer.mint_token(local_platform.signing_key(ctx, cluster))
    ctx.note(f"SMOKE_API_TOKEN: minted by {local_issuer.ISSUER} ({', '.join(local_issuer.ROLES)})")
    return {"SMOKE_API_TOKEN": token}


def run(ctx: StageContext) -> None:
    """Run tests/smoke; on failure roll the release back to the revision before this deploy."""
    cluster = find_cluster(ctx)
    release = ctx.read_json("deploy", RELEASE_FILE, "the deploy stage")
    env = ctx.tool_env(
        {
            **cluster.env(),
            "INGRESS_URL": ingress_url(ctx),
            "SMOKE_BACKUP_MODE": backup_mode(ctx.options.target),
            "SMOKE_ALERTS": alert_receiver(ctx.options.target),
            "SMOKE_FAILOVER": os.environ.get("SMOKE_FAILOVER") or failover_mode(ctx.options.target),
            "SMOKE_AUTOSCALING": (
                os.environ.get("SMOKE_AUTOSCALING") or autoscaling_mode(ctx.options.target)
            ),
            "SMOKE_GITOPS": gitops_mode(release),
            **token_env(ctx, cluster),
        }
    )
    if ctx.options.target == "local":
        forget_notifications(ctx, cluster)
    result = run_pytest(ctx, ["tests/smoke"], env=env, check=False)
    if result.ok:
        return
    channel = (
        delivery_channel(ctx, environment_outputs(ctx))
        if release.get("delivery") == "flux"
        else None
    )
    if channel is not None:
        revision = gitops_delivery.revert(ctx, cluster, channel, release)
        raise StageFailed(
            f"smoke tests failed; reverted promotion {release['commit'][:12]} to "
            f"{release['previous_commit'][:12]}, which Flux reconciled ({revision})"
        )
    previous = release["previous_revision"]
    if previous is None:
        raise StageFailed(
            f"smoke tests failed; {release['release']} revision {release['revision']} is the "
            "first release, so there is nothing to roll back to (left in place for inspection)"
        )
    helm = ctx.require_tool("helm", env, "run `make tools`")
    ctx.run(
        "helm rollback",
        [
            helm,
            "rollback",
            release["release"],
            str(previous),
            "--namespace",
            release["namespace"],
            "--wait",
            "--timeout",
            ROLLBACK_TIMEOUT,
        ],
        timeout=15 * 60.0,
        env=env,
    )
    raise StageFailed(
        f"smoke tests failed; rolled {release['release']} back from revision "
        f"{release['revision']} to revision {previous}"
    )
