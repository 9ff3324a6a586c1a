"""Prepared copies of upstream modules, for a dependency graph the module proxy cannot serve.

Traefik links lego's DNS-provider factory, which imports every ACME DNS provider; thirteen of
them need SDK modules the Go module proxy refuses ("This module version is not available"). The
cluster's Traefik serves plain HTTP Ingress and never runs a DNS-01 challenge, so the build
copies lego from the module cache, drops those providers from the generated factory (asking
for one then fails with lego's own "unrecognized DNS provider"). Traefik also uses a fork of
go-http-auth the proxy refuses; the upstream commit it forked plus the one method the fork
adds stands in. The build runs in a work copy of the tools module holding these copies where
its go.mod's directory `replace`s point (see go/traefik/go.mod).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.toolchain.copies import writable_copy
from tools.toolchain.process import ToolchainError


@dataclass(frozen=True)
class PreparedCopy:
    """`module@version` copied to `replace_dir`; optionally its generated `factory` loses the
    `excluded` packages under `package_dir`, and `added` files (name, Go source) join it."""

    module: str
    version: str
    replace_dir: str  # the directory go.mod's replace names, relative to the work copy
    factory: str = ""  # the generated file, relative to the module root
    package_dir: str = ""  # the providers' parent directory, relative to the module root
    excluded: tuple[str, ...] = ()
    added: tuple[tuple[str, str], ...] = ()


def trim_factory(source: str, import_prefix: str, excluded: tuple[str, ...]) -> str:
    """`source` without the imports of the excluded packages and their `case` arms.

    A generated switch arm is a `case` line followed by one `return <pkg>.New...` line; an arm
    that returns anything else from an excluded package, or an import left unmatched, fails.
    """
    lines = source.splitlines(keepends=True)
    kept: list[str] = []
    dropped_imports, dropped_cases = set(), set()
    index = 0
    while index < len(lines):
        line = lines[index]
        imported = re.fullmatch(rf'\s*"{re.escape(import_prefix)}/([\w-]+)"\s*', line)
        if imported and imported.group(1) in excluded:
            dropped_imports.add(imported.group(1))
            index += 1
            continue
        if line.lstrip().startswith("case ") and index + 1 < len(lines):
            returned = re.match(r"\s*return (\w+)\.", lines[index + 1])
            if returned and returned.group(1) in excluded:
                dropped_cases.add(returned.group(1))
                index += 2
                continue
        kept.append(line)
        index += 1
    missing = set(excluded) - (dropped_imports & dropped_cases)
    if missing:
        raise ToolchainError(
            f"cannot trim {', '.join(sorted(missing))} from the generated factory: "
            "the upstream file changed shape; update tools/localcluster/trim.py"
        )
    text = "".join(kept)
    leftover = [name for name in excluded if re.search(rf"\b{re.escape(name)}\.", text)]
    if leftover:
        raise ToolchainError(f"the trimmed factory still uses {', '.join(leftover)}")
    return text


def add_prepared_copy(work: Path, prepared: PreparedCopy, module_root: Path) -> None:
    """Put the prepared copy of `module_root` where the work copy's go.mod replaces it."""
    target = work / prepared.replace_dir
    writable_copy(module_root, target)
    for name in prepared.excluded:
        shutil.rmtree(target / prepared.package_dir / name)
    if prepared.factory:
        factory = target / prepared.factory
        prefix = f"{prepared.module}/{prepared.package_dir}"
        trimmed = trim_factory(factory.read_text(encoding="utf-8"), prefix, prepared.excluded)
        factory.write_text(trimmed, encoding="utf-8")
    for name, source in prepared.added:
        (target / name).write_text(source, encoding="utf-8")


LEGO = PreparedCopy(
    module="github.com/go-acme/lego/v5",
    version="v5.4.1",  # what Traefik 3.7.13 requires
    replace_dir="lego",
    factory="providers/dns/zz_gen_dns_providers.go",
    package_dir="providers/dns",
    # provider: the SDK module the proxy refuses
    excluded=(
        "alidns",  # github.com/go-acme/alidns-20150109/v5
        "aliesa",  # github.com/go-acme/esa-20240910/v3
        "azion",  # github.com/aziontech/azionapi-go-sdk
        "dnsimple",  # github.com/dnsimple/dnsimple-go/v9
        "edgedns",  # github.com/akamai/AkamaiOPEN-edgegrid-golang/v13
        "edgeone",  # github.com/go-acme/tencentedgdeone
        "huaweicloud",  # github.com/huaweicloud/huaweicloud-sdk-go-v3 v0.1.213
        "oraclecloud",  # github.com/nrdcg/oci-go-sdk/{common,dns}/v1065
        "regfish",  # github.com/regfish/regfish-dnsapi-go
        "sakuracloud",  # github.com/sacloud/sacloud-sdk-go
        "tencentcloud",  # github.com/go-acme/tencentclouddnspod
        "ucloud",  # github.com/ucloud/ucloud-sdk-go
        "yandexcloud",  # github.com/yandex-cloud/go-sdk/services/dns
    ),
)

# Containous' fork (github.com/containous/go-http-auth, refused in every version) adds this one
# method, which Traefik's digest-auth middleware calls: the usual challenge plus `stale=true`
# (RFC 7616 3.3: the nonce expired, the credentials may be fine). Same body as RequireAuth.
REQUIRE_AUTH_STALE = """\
package auth

import (
	"fmt"
	"net/http"
	"time"
)

// RequireAuthStale is Containous' addition: RequireAuth's challenge with stale=true.
func (da *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	da.mutex.RLock()
	clientsLen := len(da.clients)
	da.mutex.RUnlock()

	if clientsLen > da.ClientCacheSize+da.ClientCacheTolerance {
		da.Purge(da.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()

	da.mutex.Lock()
	da.clients[nonce] = &digestClient{nc: 0, lastSeen: time.Now().UnixNano()}
	da.mutex.Unlock()

	da.mutex.RLock()
	w.Header().Set(contentType, da.Headers.V().UnauthContentType)
	w.Header().Set(da.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", `+
			`algorithm=MD5, qop="auth", stale=true`, da.Realm, nonce, da.Opaque))
	w.WriteHeader(da.Headers.V().UnauthCode)
	w.Write([]byte(da.Headers.V().UnauthResponse))
	da.mutex.RUnlock()
}
"""

GO_HTTP_AUTH = PreparedCopy(
    module="github.com/abbot/go-http-auth",
    version="v0.4.1-0.20220112235402-e1cee1c72f2f",  # the upstream commit the fork started from
    replace_dir="go-http-auth",
    added=(("zz_require_auth_stale.go", REQUIRE_AUTH_STALE),),
)

TRAEFIK_COPIES = (LEGO, GO_HTTP_AUTH)
