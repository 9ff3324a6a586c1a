"""The smoke suite's configuration, read from the environment and checked before any test runs.

Why here and not in fixtures: a misconfigured run must stop at once with one message listing
every problem and what to set, instead of failing each test with a cluster error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SMOKE_DIR = Path(__file__).resolve().parent
UNIT_DIR = SMOKE_DIR / "unit"
"""The suite's own unit tests: they need no cluster, so `pytest tests` always collects them."""

BACKUP_MODES = ("run-job", "recent")
NETWORKPOLICY_FILE = "networkpolicy"
"""Written next to the local cluster's kubeconfig by its harness: `enforced` or
`not-enforced: <reason>`."""
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DEFAULT_JOB_TIMEOUT_SECONDS = 600

HELP = (
    "the smoke suite runs against a deployed release; set KUBECONFIG (kubeconfig file of the "
    "cluster) and INGRESS_URL (the API's public base URL, e.g. http://127.0.0.1:8088 locally or "
    "https://inventory.dev.example.org on AKS); optional: SMOKE_NAMESPACE (default inventory), "
    "SMOKE_RELEASE (default inventory-platform), SMOKE_BACKUP_MODE (run-job|recent), "
    "SMOKE_NETWORKPOLICY (enforced|not-enforced), SMOKE_JOB_TIMEOUT_SECONDS (default "
    f"{DEFAULT_JOB_TIMEOUT_SECONDS}), SMOKE_API_TOKEN (a bearer token with the read and write "
    "roles, needed where the API checks tokens), SMOKE_FAILOVER (off|run: delete the database "
    "primary and switch over under a writer), SMOKE_AUTOSCALING (off|run: load the API through "
    "the ingress until its HPA scales out, then wait for the scale-in), SMOKE_ALERTS (off, or "
    "HOST:PORT: the incident checks stop the database and fail a restore drill, and receive the "
    "alerts Alertmanager "
    "sends to http://HOST:PORT, an address of the host running the suite), SMOKE_GITOPS (off, or "
    "NAMESPACE/NAME of the Flux HelmRelease that delivers the release: the drift check edits an "
    "object it manages and waits for Flux to put it back). The pipeline sets them: "
    "`python -m pipelines smoke --target local`"
)


class ConfigError(Exception):
    """The environment does not describe a usable target; the message says what to set."""


@dataclass(frozen=True)
class NetworkPolicyState:
    """Whether the cluster enforces NetworkPolicy, why not, and who said so."""

    enforced: bool
    reason: str
    source: str

    def describe(self) -> str:
        """One line for reports: `enforced (source)` or `not-enforced: reason (source)`."""
        if self.enforced:
            return f"enforced (from {self.source})"
        return f"not-enforced: {self.reason} (from {self.source})"


@dataclass(frozen=True)
class SmokeSettings:
    """Everything the suite needs to find the release; the rest is discovered in the cluster."""

    kubeconfig: str
    ingress_url: str
    namespace: str
    release: str
    backup_mode: str
    networkpolicy: NetworkPolicyState
    job_timeout_seconds: int
    api_token: str = ""
    failover: bool = False  # SMOKE_FAILOVER=run: delete the primary and switch over on purpose
    autoscaling: bool = False  # SMOKE_AUTOSCALING=run: load the API until its HPA scales out
    alert_receiver: tuple[str, int] | None = None
    """SMOKE_ALERTS=HOST:PORT: where the incident checks receive Alertmanager's webhooks."""
    gitops: tuple[str, str] | None = None
    """SMOKE_GITOPS=NAMESPACE/NAME: the Flux HelmRelease that delivers the release."""


def opted_in(args: Sequence[str], env: Mapping[str, str], invocation_dir: Path) -> bool:
    """True when this run asked for the smoke suite: SMOKE=1, or a path inside tests/smoke
    (other than the unit tests) among the command-line arguments."""
    flag = env.get("SMOKE", "")
    if flag not in ("", "0", "1"):
        raise ConfigError(f"SMOKE must be 1 (run the smoke suite) or 0/unset, got {flag!r}")
    if flag == "1":
        return True
    for arg in args:
        path = (invocation_dir / arg.split("::", 1)[0]).resolve()
        inside_smoke = path == SMOKE_DIR or SMOKE_DIR in path.parents
        inside_unit = path == UNIT_DIR or UNIT_DIR in path.parents
        if inside_smoke and not inside_unit:
            return True
    return False


def parse_networkpolicy(text: str, source: str) -> NetworkPolicyState:
    """`enforced` or `not-enforced[: reason]`; anything else is a ConfigError naming `source`."""
    value = text.strip()
    if value == "enforced":
        return NetworkPolicyState(True, "", source)
    keyword, _, reason = value.partition(":")
    if keyword.strip() == "not-enforced":
        return NetworkPolicyState(False, reason.strip() or "no reason given", source)
    raise ConfigError(
        f"{source} must be `enforced` or `not-enforced: <reason>`, got {value[:80]!r}"
    )


def networkpolicy_state(env: Mapping[str, str], kubeconfig: str) -> NetworkPolicyState:
    """SMOKE_NETWORKPOLICY, else the local harness's file next to the kubeconfig, else
    `enforced`: a cluster is assumed to enforce the policies the charts ship until told not."""
    explicit = env.get("SMOKE_NETWORKPOLICY")
    if explicit:
        return parse_networkpolicy(explicit, "SMOKE_NETWORKPOLICY")
    first = kubeconfig.split(":", 1)[0]
    recorded = Path(first).parent / NETWORKPOLICY_FILE
    if first and recorded.is_file():
        return parse_networkpolicy(recorded.read_text(encoding="utf-8"), str(recorded))
    return NetworkPolicyState(True, "", "default: no SMOKE_NETWORKPOLICY and no harness file")


def _ingress_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"INGRESS_URL must be http(s)://HOST[:PORT], got {url!r}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"INGRESS_URL must have no path, query or fragment, got {url!r}"
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"INGRESS_URL has an invalid port: {url!r}"
    return None


def parse_alert_receiver(value: str) -> tuple[str, int] | None:
    """`off` -> None; `HOST:PORT` -> (host, port); anything else is a ConfigError saying so."""
    if value == "off":
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"SMOKE_ALERTS must be off or HOST:PORT (the address Alertmanager sends to), "
            f"got {value!r}"
        )
    return host, int(port)


def load_settings(env: Mapping[str, str]) -> SmokeSettings:
    """The settings from `env`, or ConfigError listing every problem and the help text."""
    problems = []
    kubeconfig = env.get("KUBECONFIG", "")
    if not kubeconfig:
        problems.append("KUBECONFIG is not set")
    else:
        missing = [part for part in kubeconfig.split(":") if part and not Path(part).is_file()]
        problems += [f"KUBECONFIG names {part}, which is not a file" for part in missing]
    ingress_url = env.get("INGRESS_URL", "").rstrip("/")
    if not ingress_url:
        problems.append("INGRESS_URL is not set")
    elif (problem := _ingress_url_problem(ingress_url)) is not None:
        problems.append(problem)
    names = {
        "SMOKE_NAMESPACE": env.get("SMOKE_NAMESPACE") or "inventory",
        "SMOKE_RELEASE": env.get("SMOKE_RELEASE") or "inventory-platform",
    }
    problems += [
        f"{key} must be a DNS label (lower case, digits, '-'), got {value!r}"
        for key, value in names.items()
        if not DNS_LABEL.match(value)
    ]
    backup_mode = env.get("SMOKE_BACKUP_MODE") or "run-job"
    if backup_mode not in BACKUP_MODES:
        problems.append(f"SMOKE_BACKUP_MODE must be run-job or recent, got {backup_mode!r}")
    raw_timeout = env.get("SMOKE_JOB_TIMEOUT_SECONDS") or str(DEFAULT_JOB_TIMEOUT_SECONDS)
    timeout = int(raw_timeout) if raw_timeout.isdigit() else 0
    if not 30 <= timeout <= 6 * 3600:
        problems.append(
            f"SMOKE_JOB_TIMEOUT_SECONDS must be an integer from 30 to 21600, got {raw_timeout!r}"
        )
    failover = env.get("SMOKE_FAILOVER") or "off"
    if failover not in ("off", "run"):
        problems.append(f"SMOKE_FAILOVER must be off or run, got {failover!r}")
    autoscaling = env.get("SMOKE_AUTOSCALING") or "off"
    if autoscaling not in ("off", "run"):
        problems.append(f"SMOKE_AUTOSCALING must be off or run, got {autoscaling!r}")
    receiver = None
    try:
        receiver = parse_alert_receiver(env.get("SMOKE_ALERTS") or "off")
    except ConfigError as error:
        problems.append(str(error))
    gitops = None
    try:
        gitops = parse_gitops(env.get("SMOKE_GITOPS") or "off")
    except ConfigError as error:
        problems.append(str(error))
    state = NetworkPolicyState(True, "", "unchecked")
    try:
        state = networkpolicy_state(env, kubeconfig)
    except ConfigError as error:
        problems.append(str(error))
    if problems:
        raise ConfigError("; ".join(problems) + ".\n" + HELP)
    return SmokeSettings(
        kubeconfig=kubeconfig,
        ingress_url=ingress_url,
        namespace=names["SMOKE_NAMESPACE"],
        release=names["SMOKE_RELEASE"],
        backup_mode=backup_mode,
        networkpolicy=state,
        job_timeout_seconds=timeout,
        api_token=env.get("SMOKE_API_TOKEN", "").strip(),
        failover=failover == "run",
        autoscaling=autoscaling == "run",
        alert_receiver=receiver,
        gitops=gitops,
    )


def parse_gitops(text: str) -> tuple[str, str] | None:
    """`off`, or NAMESPACE/NAME of a HelmRelease (both DNS labels)."""
    value = text.strip()
    if value == "off":
        return None
    namespace, _, name = value.partition("/")
    if not (DNS_LABEL.match(namespace) and DNS_LABEL.match(name)):
        raise ConfigError(f"SMOKE_GITOPS must be off or NAMESPACE/NAME, got {value[:80]!r}")
    return namespace, name
