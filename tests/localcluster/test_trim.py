"""Trimming lego's generated DNS-provider factory: exactly the excluded providers go."""

from __future__ import annotations

import pytest

from tools.localcluster.catalog import TRAEFIK
from tools.localcluster.trim import GO_HTTP_AUTH, LEGO, TRAEFIK_COPIES, trim_factory
from tools.toolchain.process import ToolchainError

PREFIX = "github.com/go-acme/lego/v5/providers/dns"
FACTORY = f'''\
package dns

import (
\t"fmt"

\t"github.com/go-acme/lego/v5/challenge"
\t"{PREFIX}/abion"
\t"{PREFIX}/edgedns"
\t"{PREFIX}/ucloud"
)

func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {{
\tswitch name {{
\tcase "abion":
\t\treturn abion.NewDNSProvider()
\tcase "edgedns", "fastdns":
\t\treturn edgedns.NewDNSProvider()
\tcase "ucloud":
\t\treturn ucloud.NewDNSProvider()
\tdefault:
\t\treturn nil, fmt.Errorf("unrecognized DNS provider: %s", name)
\t}}
}}
'''


def test_excluded_providers_lose_their_import_and_case() -> None:
    trimmed = trim_factory(FACTORY, PREFIX, ("edgedns", "ucloud"))
    assert "edgedns" not in trimmed
    assert "fastdns" not in trimmed
    assert "ucloud" not in trimmed
    assert f'"{PREFIX}/abion"' in trimmed
    assert "return abion.NewDNSProvider()" in trimmed
    assert 'unrecognized DNS provider: %s"' in trimmed
    assert trimmed.count("\n") == FACTORY.count("\n") - 6


def test_a_provider_the_file_does_not_have_is_a_precise_error() -> None:
    with pytest.raises(ToolchainError, match=r"cannot trim gone .*changed shape"):
        trim_factory(FACTORY, PREFIX, ("ucloud", "gone"))


def test_an_arm_that_is_not_one_return_line_is_refused() -> None:
    reshaped = FACTORY.replace(
        "\t\treturn ucloud.NewDNSProvider()", "\t\tp := ucloud.Config{}\n\t\treturn p, nil"
    )
    with pytest.raises(ToolchainError, match="ucloud"):
        trim_factory(reshaped, PREFIX, ("ucloud",))


def test_traefik_builds_against_every_prepared_copy_its_go_mod_replaces() -> None:
    assert TRAEFIK.prepared == TRAEFIK_COPIES
    go_mod = (TRAEFIK.directory / "go.mod").read_text(encoding="utf-8")
    for prepared in TRAEFIK_COPIES:
        assert f"replace {prepared.module} => ./{prepared.replace_dir}" in go_mod
    assert f"{LEGO.module} {LEGO.version} // indirect" in go_mod
    assert not (TRAEFIK.directory / LEGO.replace_dir).exists()  # made by the build only


def test_the_go_http_auth_stand_in_adds_the_forks_method() -> None:
    ((name, source),) = GO_HTTP_AUTH.added
    assert name.endswith(".go")
    assert source.startswith("package auth\n")
    assert "func (da *DigestAuth) RequireAuthStale(w http.ResponseWriter" in source
    assert "stale=true" in source
