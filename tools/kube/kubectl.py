"""kubectl against one cluster: the one place that builds a kubectl command line.

The pipeline's logged steps take `argv()` and run it through their own runner (so the step lands
in the stage's report); everything else runs `run()`, which captures the output and raises
with kubectl's stderr when a checked call fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT = 300.0


class KubectlError(RuntimeError):
    """A checked kubectl call exited non-zero; the message carries the command and its stderr."""


@dataclass(frozen=True)
class Kubectl:
    """One kubectl binary pointed at one cluster (kubeconfig) and, optionally, one namespace."""

    binary: str
    kubeconfig: Path | None = None
    namespace: str | None = None
    env: Mapping[str, str] | None = None
    """The subprocess environment (None: inherit); KUBECONFIG there is honoured by kubectl."""

    def argv(self, *args: str) -> list[str]:
        """The full command line of `kubectl ARGS` for this cluster and namespace."""
        argv = [self.binary]
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.namespace is not None:
            argv += ["--namespace", self.namespace]
        return [*argv, *args]

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run `kubectl ARGS` with captured output; with `check`, a failure raises KubectlError."""
        argv = self.argv(*args)
        result = subprocess.run(
            argv,
            input=stdin,
            env=None if self.env is None else dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(
                f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}"
            )
        return result
