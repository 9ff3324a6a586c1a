"""AUTH_* variables: validated at start, with one line naming the bad variable."""

from __future__ import annotations

import pytest
from inventory_api.auth.guard import READ_METHODS, required_role
from inventory_api.auth.settings import ALGORITHMS, REFUSED_ALGORITHMS, load_auth_settings
from inventory_api.config import ConfigError

ENTRA = {
    "AUTH_ISSUER": "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000001/v2.0",
    "AUTH_AUDIENCE": "api://inventory-api,11111111-1111-4111-8111-111111111111",
    "AUTH_JWKS_URL": "https://login.microsoftonline.com/00000000-0000-4000-8000-000000000001"
    "/discovery/v2.0/keys",
}


def test_entra_settings_and_defaults() -> None:
    settings = load_auth_settings(ENTRA)
    assert settings.enabled
    assert settings.audiences == ("api://inventory-api", "11111111-1111-4111-8111-111111111111")
    assert settings.algorithms == ("RS256",)
    assert (settings.read_role, settings.write_role) == ("Inventory.Read", "Inventory.Write")
    assert not settings.public_reads


def test_off_needs_nothing_else() -> None:
    assert not load_auth_settings({"AUTH_MODE": "off"}).enabled


@pytest.mark.parametrize("missing", sorted(ENTRA))
def test_each_issuer_setting_is_required(missing: str) -> None:
    env = {key: value for key, value in ENTRA.items() if key != missing}
    with pytest.raises(ConfigError, match=missing) as error:
        load_auth_settings(env)
    assert error.value.variable == missing


@pytest.mark.parametrize("algorithm", REFUSED_ALGORITHMS)
def test_symmetric_and_none_algorithms_are_refused(algorithm: str) -> None:
    with pytest.raises(ConfigError, match=f"AUTH_ALGORITHMS: {algorithm} is refused"):
        load_auth_settings({**ENTRA, "AUTH_ALGORITHMS": f"RS256,{algorithm}"})


def test_every_allowed_algorithm_is_asymmetric() -> None:
    assert all(name[:2] in ("RS", "PS", "ES") for name in ALGORITHMS)
    assert load_auth_settings({**ENTRA, "AUTH_ALGORITHMS": "ES256, RS256"}).algorithms == (
        "ES256",
        "RS256",
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AUTH_MODE": "maybe"}, "AUTH_MODE"),
        ({"AUTH_JWKS_URL": "http://issuer.example/keys"}, "AUTH_JWKS_URL"),
        ({"AUTH_JWKS_URL": "file:///etc/keys.json"}, "AUTH_JWKS_URL"),
        ({"AUTH_JWKS_ALLOW_HTTP": "yes"}, "AUTH_JWKS_ALLOW_HTTP"),
        ({"AUTH_PUBLIC_READS": "1"}, "AUTH_PUBLIC_READS"),
        ({"AUTH_READ_ROLE": "Inventory Read"}, "AUTH_READ_ROLE"),
        ({"AUTH_WRITE_ROLE": "Inventory.Read"}, "AUTH_WRITE_ROLE"),
        ({"AUTH_LEEWAY_SECONDS": "3600"}, "AUTH_LEEWAY_SECONDS"),
        ({"AUTH_JWKS_TIMEOUT_SECONDS": "0"}, "AUTH_JWKS_TIMEOUT_SECONDS"),
        ({"AUTH_JWKS_REFRESH_INTERVAL_SECONDS": "nan"}, "AUTH_JWKS_REFRESH_INTERVAL_SECONDS"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_auth_settings({**ENTRA, **env})
    assert error.value.variable == variable


def test_http_keys_only_when_allowed() -> None:
    env = {**ENTRA, "AUTH_JWKS_URL": "http://issuer.inventory.svc/keys"}
    assert load_auth_settings({**env, "AUTH_JWKS_ALLOW_HTTP": "true"}).jwks_url.startswith("http:")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])
def test_roles_per_method(method: str) -> None:
    settings = load_auth_settings(ENTRA)
    reads = method in READ_METHODS
    assert required_role(settings, False, method) == (
        settings.read_role if reads else settings.write_role
    )
    assert required_role(settings, True, method) is None
    public_reads = load_auth_settings({**ENTRA, "AUTH_PUBLIC_READS": "true"})
    assert required_role(public_reads, False, method) == (None if reads else settings.write_role)
    assert required_role(load_auth_settings({"AUTH_MODE": "off"}), False, method) is None


def test_rate_limits_apply_with_and_without_authentication() -> None:
    off = load_auth_settings({"AUTH_MODE": "off", "RATE_LIMIT_PER_SECOND": "0"})
    assert off.rate_limit_per_second == 0
    tuned = load_auth_settings({**ENTRA, "RATE_LIMIT_PER_SECOND": "5", "RATE_LIMIT_BURST": "9"})
    assert (tuned.rate_limit_per_second, tuned.rate_limit_burst) == (5, 9)
    for env in ({"RATE_LIMIT_PER_SECOND": "-1"}, {"RATE_LIMIT_BURST": "0"}):
        with pytest.raises(ConfigError) as error:
            load_auth_settings({**ENTRA, **env})
        assert error.value.variable == next(iter(env))
