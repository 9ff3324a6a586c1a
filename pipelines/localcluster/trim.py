"""Trimmed copies of upstream modules whose full dependency graph the module proxy cannot serve.

Traefik links lego's DNS-provider factory, which imports every ACME DNS provider; thirteen of
them need SDK modules the proxy here refuses ("This module version is not available"). The
cluster's Traefik serves plain HTTP Ingress and never runs a DNS-01 challenge, so the build
copies lego from the module cache, drops those providers from the generated factory (asking
for one then fails with lego's own "unrecognized DNS provider") and builds against the copy
through a directory `replace` in a work copy of the tools module (see go/traefik/go.mod).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelines.toolchain.gobuild import go_binary, go_env
from pipelines.toolchain.paths import Layout
from pipelines.toolchain.process import ToolchainError


@dataclass(frozen=True)
class ModuleTrim:
    """Which generated factory of `module` loses which provider packages, and where it lives."""

    module: str
    version: str
    replace_dir: str  # the directory go.mod's replace names, relative to the work copy
    factory: str  # the generated file, relative to the module root
    package_dir: str  # the providers' parent directory, relative to the module root
    excluded: tuple[str, ...]


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
            "the upstream file changed shape; update pipelines/localcluster/trim.py"
        )
    text = "".join(kept)
    leftover = [name for name in excluded if re.search(rf"\b{re.escape(name)}\.", text)]
    if leftover:
        raise ToolchainError(f"the trimmed factory still uses {', '.join(leftover)}")
    return text


def module_source(module: str, version: str, module_dir: Path, layout: Layout) -> Path:
    """The read-only module-cache directory of `module@version` (downloaded when missing)."""
    argv = [str(go_binary()), "mod", "download", "-json", f"{module}@{version}"]
    result = subprocess.run(
        argv, cwd=module_dir, env=go_env(layout), capture_output=True, text=True, check=False
    )
    try:
        listing = json.loads(result.stdout)
    except ValueError:
        listing = {"Error": result.stderr.strip()}
    if result.returncode != 0 or "Dir" not in listing:
        raise ToolchainError(f"go mod download {module}@{version}: {listing.get('Error')}")
    return Path(listing["Dir"])


def prepare_work_copy(source_dir: Path, work: Path, trim: ModuleTrim, module_root: Path) -> None:
    """Copy the tools module to `work` and put the trimmed upstream copy where it is replaced."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source_dir, work)
    target = work / trim.replace_dir
    shutil.copytree(module_root, target)
    for path in target.rglob("*"):  # the module cache is read-only
        path.chmod(0o755 if path.is_dir() else 0o644)
    target.chmod(0o755)
    for name in trim.excluded:
        shutil.rmtree(target / trim.package_dir / name)
    factory = target / trim.factory
    prefix = f"{trim.module}/{trim.package_dir}"
    factory.write_text(
        trim_factory(factory.read_text(encoding="utf-8"), prefix, trim.excluded), encoding="utf-8"
    )


LEGO_TRIM = ModuleTrim(
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
