"""Building one pinned Go tool from its tools module into the per-user cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.toolchain import provider_subset
from tools.toolchain.catalog import GoTool
from tools.toolchain.paths import GO_MODULES_DIR, IAC_DIR, Layout
from tools.toolchain.process import Measurement, Progress, ToolchainError, run_measured
from tools.toolchain.stamps import Stamp, digest, is_current, newest_stamp, write_stamp

GO_FALLBACK = Path("/usr/local/go/bin/go")


def go_binary() -> Path:
    """The Go toolchain; a precise error when there is none."""
    found = shutil.which("go")
    if found:
        return Path(found)
    if GO_FALLBACK.exists():
        return GO_FALLBACK
    raise ToolchainError(
        "no Go toolchain: install Go >= 1.26 (https://go.dev/dl/) so that `go` is on PATH"
    )


def go_version(go: Path) -> str:
    """The toolchain version, read from GOROOT/VERSION so a warm run never starts `go`."""
    version_file = go.resolve().parent.parent / "VERSION"
    try:
        return version_file.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


def module_dir(tool: GoTool) -> Path:
    return GO_MODULES_DIR / tool.module_dir


def module_source(module: str, version: str, layout: Layout) -> Path:
    """The read-only module-cache directory of `module@version` (downloaded when missing).
    Run outside any module: a tools module's replaces may name directories not made yet."""
    argv = [str(go_binary()), "mod", "download", "-json", f"{module}@{version}"]
    with tempfile.TemporaryDirectory(prefix="toolchain-modsrc-") as outside:
        result = subprocess.run(
            argv, cwd=outside, env=go_env(layout), capture_output=True, text=True, check=False
        )
    try:
        listing = json.loads(result.stdout)
    except ValueError:
        listing = {"Error": result.stderr.strip()}
    if result.returncode != 0 or "Dir" not in listing:
        raise ToolchainError(f"go mod download {module}@{version}: {listing.get('Error')}")
    return Path(listing["Dir"])


def verify_pin(tool: GoTool) -> None:
    """Fail when go.mod and the catalog disagree about the upstream version."""
    verify_go_mod_pin(module_dir(tool), tool.module, tool.module_version)


def verify_go_mod_pin(directory: Path, module: str, version: str) -> None:
    """Fail unless `directory`/go.mod requires `module` at exactly `version` (the catalog's)."""
    go_mod = (directory / "go.mod").read_text(encoding="utf-8")
    pinned = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (\S+)", go_mod, re.MULTILINE)
    if pinned is None or pinned.group(1) != version:
        found = pinned.group(1) if pinned else "nothing"
        raise ToolchainError(
            f"{directory}/go.mod requires {module} at {found}, but the catalog "
            f"pins {version}: update one to match the other"
        )


def inputs_digest(tool: GoTool) -> str:
    """Everything that determines the binary: what is built, how, and the exact module graph."""
    directory = module_dir(tool)
    return digest(
        tool.name,
        tool.version,
        tool.package,
        " ".join(tool.ldflags),
        (directory / "go.mod").read_bytes(),
        (directory / "go.sum").read_bytes(),
        *((provider_subset.inputs(IAC_DIR),) if tool.iac_services_only else ()),
    )


def artifact(tool: GoTool, layout: Layout) -> Path:
    return layout.artifact_dir(tool.name, tool.version) / tool.output


def is_built(tool: GoTool, layout: Layout) -> bool:
    return artifact(tool, layout).is_file() and is_current(
        layout.artifact_dir(tool.name, tool.version), inputs_digest(tool)
    )


def go_env(layout: Layout) -> dict[str, str]:
    """A reproducible, offline-friendly Go environment; GOFLAGS from the caller are appended."""
    env = dict(os.environ)
    extra = env.get("GOFLAGS", "")
    env.update(
        GOCACHE=str(layout.go_build_cache),
        GOTOOLCHAIN="local",  # never download another toolchain
        GOWORK="off",
        CGO_ENABLED="0",  # static binaries, like the upstream releases
        GOFLAGS=f"-mod=readonly -buildvcs=false {extra}".strip(),
    )
    return env


def last_build_seconds(layout: Layout, tool: str) -> float | None:
    """How long the newest recorded build of `tool` (any version) took, for progress lines."""
    stamp = newest_stamp(layout.artifact_dir(tool, "_").parent)
    return stamp.seconds if stamp is not None else None


def compile_binary(
    go: Path,
    package: str,
    output: Path,
    *,
    module: Path,
    ldflags: Sequence[str],
    layout: Layout,
    log: Path,
    progress: Progress | None = None,
) -> Measurement:
    """`go build` one package of a tools module into `output`, niced so a cold build leaves the
    machine usable; the binary appears atomically, so an interrupted build never looks done."""
    partial = output.with_name(f".{output.name}.partial")
    measurement = run_measured(
        [
            "nice",
            "-n",
            "10",
            str(go),
            "build",
            "-trimpath",
            "-ldflags",
            " ".join(("-s", "-w", *ldflags)),
            "-o",
            str(partial),
            package,
        ],
        cwd=module,
        env=go_env(layout),
        log=log,
        progress=progress,
    )
    os.replace(partial, output)
    return measurement


def build(tool: GoTool, layout: Layout) -> Stamp | None:
    """Build `tool` unless its stamp is current; return the new stamp, or None when current."""
    verify_pin(tool)
    if is_built(tool, layout):
        return None
    inputs = inputs_digest(tool)  # before building: an edit made meanwhile must not be stamped
    go = go_binary()
    target_dir = layout.artifact_dir(tool.name, tool.version)
    target_dir.mkdir(parents=True, exist_ok=True)
    module = module_dir(tool)
    if tool.iac_services_only:
        module = target_dir / "work"
        source = module_source(tool.module, tool.module_version, layout)
        subset = provider_subset.prepare(tool, source, IAC_DIR, module)
        print(f"{tool.name} {tool.version}: {subset.describe()}", flush=True)
    measurement = compile_binary(
        go,
        tool.package,
        target_dir / tool.output,
        module=module,
        ldflags=tool.ldflags,
        layout=layout,
        log=target_dir / "build.log",
        progress=Progress(f"{tool.name} {tool.version}", last_build_seconds(layout, tool.name)),
    )
    stamp = Stamp(
        tool=tool.name,
        version=tool.version,
        inputs=inputs,
        builder=go_version(go),
        seconds=round(measurement.seconds, 1),
        peak_memory_bytes=measurement.peak_tree_bytes,
    )
    write_stamp(target_dir, stamp)
    if tool.iac_services_only:
        shutil.rmtree(module)  # the work copy: 85 MB the next build recreates anyway
    print(f"built {tool.name} {tool.version}: {measurement.describe()}", flush=True)
    return stamp
