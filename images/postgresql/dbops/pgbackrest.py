"""Thin wrapper around the pgbackrest CLI: one config file, JSON `info`, precise errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbops.common import OpsError, run, setting

# How pgBackRest 2.45 reports an info file read with the wrong passphrase, or without one.
CIPHER_ERRORS = ("[FormatError]", "[CryptoError]")


# Commands that work on one repository; stanza-create, check and archive-push use them all.
SINGLE_REPO_COMMANDS = frozenset({"backup", "expire", "info", "restore", "verify"})


class PgBackRest:
    """pgbackrest bound to a rendered config file, the stanza and (optionally) one repository."""

    def __init__(self, config: Path, repo: int | None = None) -> None:
        self.config, self.repo = config, repo
        self.stanza = setting("BACKUP_STANZA", "main")

    def __call__(self, command: str, *options: str, what: str | None = None) -> str:
        """Run `pgbackrest COMMAND OPTIONS`; raise OpsError saying what failed."""
        repo = [f"--repo={self.repo}"] if self.repo and command in SINGLE_REPO_COMMANDS else []
        return run(
            ["pgbackrest", f"--config={self.config}", f"--stanza={self.stanza}", *repo, *options,
             command],
            what or f"pgbackrest {command}" + (f" (repo{self.repo})" if self.repo else ""),
        )  # fmt: skip

    def info(self) -> dict[str, Any]:
        """The stanza's `info` document; OpsError when the repository is unusable."""
        raw = self("info", "--output=json", what="reading the repository (pgbackrest info)")
        try:
            # strict=False: a file decrypted with the wrong key puts raw bytes into the message.
            stanzas: list[dict[str, Any]] = json.loads(raw, strict=False)
        except json.JSONDecodeError:
            raise OpsError(f"pgbackrest info returned no JSON: {raw[:300]}") from None
        if not stanzas:
            raise OpsError(f"stanza {self.stanza} not found in the repository")
        info = stanzas[0]
        status = info.get("status", {})
        if status.get("code") != 0:
            details = [
                repo.get("status", {}).get("message", "")
                for repo in info.get("repo", [])
                if repo.get("status", {}).get("code") != 0
            ]
            hint = (
                "; the repository is encrypted with another passphrase or none: check "
                "BACKUP_CIPHER_PASS_FILE"
                if any(error in detail for detail in details for error in CIPHER_ERRORS)
                else ""
            )
            raise OpsError(
                f"repository unusable for stanza {self.stanza}: {status.get('message', status)}"
                + "".join(f"; {detail[:300]}" for detail in details if detail)
                + hint
            )
        return info
