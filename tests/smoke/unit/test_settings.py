"""Configuration of the smoke suite: defaults, precise errors, and the NetworkPolicy declaration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.smoke.settings import (
    SMOKE_DIR,
    ConfigError,
    load_settings,
    networkpolicy_state,
    opted_in,
    parse_alert_receiver,
    parse_networkpolicy,
)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig file in a directory of its own (where a harness file may sit beside it)."""
    path = tmp_path / "admin.kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    return path


def test_defaults(kubeconfig: Path) -> None:
    settings = load_settings(
        {"KUBECONFIG": str(kubeconfig), "INGRESS_URL": "http://127.0.0.1:8088/"}
    )
    assert settings.ingress_url == "http://127.0.0.1:8088"
    assert (settings.namespace, settings.release) == ("inventory", "inventory-platform")
    assert settings.backup_mode == "run-job"
    assert settings.job_timeout_seconds == 600
    assert settings.networkpolicy.enforced, "assumed enforced until declared otherwise"
    assert settings.alert_receiver is None, "no incidents unless a receiver address is given"


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    env = {
        "KUBECONFIG": str(tmp_path / "missing"),
        "INGRESS_URL": "ftp://example.org/api",
        "SMOKE_NAMESPACE": "Inventory",
        "SMOKE_BACKUP_MODE": "nightly",
        "SMOKE_JOB_TIMEOUT_SECONDS": "5",
        "SMOKE_NETWORKPOLICY": "maybe",
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    message = str(raised.value)
    for expected in (
        f"KUBECONFIG names {tmp_path / 'missing'}, which is not a file",
        "INGRESS_URL must be http(s)://HOST[:PORT], got 'ftp://example.org/api'",
        "SMOKE_NAMESPACE must be a DNS label",
        "SMOKE_BACKUP_MODE must be run-job or recent, got 'nightly'",
        "SMOKE_JOB_TIMEOUT_SECONDS must be an integer from 30 to 21600, got '5'",
        "SMOKE_NETWORKPOLICY must be `enforced` or `not-enforced: <reason>`, got 'maybe'",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://inventory.dev.example.org/api", "no path"),
        ("http://127.0.0.1:notaport", "invalid port"),
        ("inventory.localtest", "http(s)://HOST[:PORT]"),
    ],
)
def test_bad_ingress_urls(kubeconfig: Path, url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings({"KUBECONFIG": str(kubeconfig), "INGRESS_URL": url})


def test_harness_file_next_to_the_kubeconfig_declares_enforcement(kubeconfig: Path) -> None:
    (kubeconfig.parent / "networkpolicy").write_text(
        "not-enforced: kube-router failed to start\n", encoding="utf-8"
    )
    state = networkpolicy_state({}, str(kubeconfig))
    assert not state.enforced
    assert state.reason == "kube-router failed to start"
    assert state.describe().startswith("not-enforced: kube-router failed to start (from ")


def test_environment_overrides_the_harness_file(kubeconfig: Path) -> None:
    (kubeconfig.parent / "networkpolicy").write_text("not-enforced: x\n", encoding="utf-8")
    state = networkpolicy_state({"SMOKE_NETWORKPOLICY": "enforced"}, str(kubeconfig))
    assert (state.enforced, state.source) == (True, "SMOKE_NETWORKPOLICY")


def test_garbled_harness_file_names_itself(kubeconfig: Path) -> None:
    recorded = kubeconfig.parent / "networkpolicy"
    recorded.write_text("yes\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{recorded} must be `enforced`")):
        networkpolicy_state({}, str(kubeconfig))


def test_not_enforced_without_reason_says_so() -> None:
    assert parse_networkpolicy("not-enforced", "X").reason == "no reason given"


@pytest.mark.parametrize(
    ("args", "env", "wanted"),
    [
        (["tests"], {}, False),
        ([], {}, False),
        (["tests/smoke"], {}, True),
        (["tests/smoke/test_api.py::test_readyz_is_200_through_the_ingress"], {}, True),
        (["tests/smoke/unit"], {}, False),
        (["tests/smoke/unit/test_cron.py"], {}, False),
        (["tests/smoke/../smoke/unit/../test_pods.py"], {}, True),
        (["tests"], {"SMOKE": "1"}, True),
        (["tests/smoke"], {"SMOKE": "0"}, True),
        (["tests"], {"SMOKE": "0"}, False),
    ],
)
def test_opting_in(args: list[str], env: dict[str, str], wanted: bool) -> None:
    assert opted_in(args, env, SMOKE_DIR.parents[1]) is wanted


def test_alert_receiver_address(kubeconfig: Path) -> None:
    env = {"KUBECONFIG": str(kubeconfig), "INGRESS_URL": "http://127.0.0.1:8088"}
    settings = load_settings({**env, "SMOKE_ALERTS": "192.0.2.7:19093"})
    assert settings.alert_receiver == ("192.0.2.7", 19093)
    assert parse_alert_receiver("off") is None


@pytest.mark.parametrize("value", ["on", "192.0.2.7", "192.0.2.7:0", ":19093", "host:http"])
def test_a_bad_alert_receiver_says_what_to_set(kubeconfig: Path, value: str) -> None:
    env = {"KUBECONFIG": str(kubeconfig), "INGRESS_URL": "http://127.0.0.1:8088"}
    with pytest.raises(ConfigError, match=re.escape("SMOKE_ALERTS must be off or HOST:PORT")):
        load_settings({**env, "SMOKE_ALERTS": value})


def test_autoscaling_runs_only_when_asked(kubeconfig: Path) -> None:
    env = {"KUBECONFIG": str(kubeconfig), "INGRESS_URL": "http://127.0.0.1:8088"}
    assert load_settings(env).autoscaling is False, "it loads the API: off unless asked"
    assert load_settings({**env, "SMOKE_AUTOSCALING": "off"}).autoscaling is False
    assert load_settings({**env, "SMOKE_AUTOSCALING": "run"}).autoscaling is True


@pytest.mark.parametrize("value", ["on", "yes", "RUN", "1"])
def test_a_bad_autoscaling_mode_says_what_to_set(kubeconfig: Path, value: str) -> None:
    env = {"KUBECONFIG": str(kubeconfig), "INGRESS_URL": "http://127.0.0.1:8088"}
    with pytest.raises(ConfigError, match=re.escape("SMOKE_AUTOSCALING must be off or run")):
        load_settings({**env, "SMOKE_AUTOSCALING": value})
