"""Dated waivers: every skipped check names a reason, an owner and an expiry date.

An expired waiver fails the gate even if nothing matches it any more, so waivers cannot
silently outlive their reason. Waivers for other frameworks (e.g. kubernetes, used by the
chart layer) live in the same file and are validated here too.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FRAMEWORKS = ("terraform", "kubernetes", "helm", "hcl2")
_REQUIRED = ("check", "reason", "owner", "expires")
_OPTIONAL = ("framework", "resources", "paths", "environments")
_OWNER = re.compile(r"^[^@\s]+@[^@\s]+$|^[a-z][a-z0-9-]+$")


class WaiverError(ValueError):
    """The waiver file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Waiver:
    """Skip `check` for resources and files matching the globs, until `expires` (inclusive)."""

    check: str
    reason: str
    owner: str
    expires: dt.date
    framework: str = "terraform"
    resources: tuple[str, ...] = ("*",)
    paths: tuple[str, ...] = ("*",)
    environments: tuple[str, ...] | None = None
    """Only findings of these environments' plans (globs); None: the HCL and every plan."""

    def is_expired(self, today: dt.date) -> bool:
        """A waiver is valid through its expiry date and expired the day after."""
        return today > self.expires

    def matches(self, check: str, resource: str, path: str, environment: str | None = None) -> bool:
        """Whether this waiver covers `check` on `resource` declared in `path`, found in
        `environment`'s plan (None: in the HCL)."""
        in_scope = self.environments is None or (
            environment is not None
            and any(fnmatch.fnmatchcase(environment, glob) for glob in self.environments)
        )
        return (
            check == self.check
            and in_scope
            and any(fnmatch.fnmatchcase(resource, glob) for glob in self.resources)
            and any(fnmatch.fnmatchcase(path, glob) for glob in self.paths)
        )

    @property
    def label(self) -> str:
        """Short identification for reports."""
        return f"{self.check} (owner {self.owner}, until {self.expires.isoformat()})"


def _globs(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, ["*"])
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise WaiverError(f"{where}: '{key}' must be a non-empty list of glob strings")
    return tuple(value)


def _parse_entry(entry: object, index: int) -> Waiver:
    where = f"waivers[{index}]"
    if not isinstance(entry, dict):
        raise WaiverError(f"{where}: must be a mapping")
    where = f"waivers[{index}] ({entry.get('check', '?')})"
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise WaiverError(f"{where}: missing required field(s): {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise WaiverError(f"{where}: unknown field(s): {', '.join(unknown)}")
    for key in ("check", "reason", "owner"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise WaiverError(f"{where}: '{key}' must be a non-empty string")
    if len(entry["reason"].strip()) < 20:
        raise WaiverError(f"{where}: 'reason' must explain the waiver (at least 20 characters)")
    if not _OWNER.match(entry["owner"]):
        raise WaiverError(f"{where}: 'owner' must be an e-mail address or a team slug")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError as error:
            raise WaiverError(f"{where}: 'expires' must be a date YYYY-MM-DD") from error
    if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
        raise WaiverError(f"{where}: 'expires' must be a date YYYY-MM-DD")
    framework = entry.get("framework", "terraform")
    if framework not in FRAMEWORKS:
        raise WaiverError(f"{where}: 'framework' must be one of {', '.join(FRAMEWORKS)}")
    return Waiver(
        check=entry["check"].strip(),
        reason=" ".join(entry["reason"].split()),
        owner=entry["owner"],
        expires=expires,
        framework=framework,
        resources=_globs(entry, "resources", where),
        paths=_globs(entry, "paths", where),
        environments=_globs(entry, "environments", where) if "environments" in entry else None,
    )


def load_waivers(path: Path) -> list[Waiver]:
    """Parse and validate the waiver file; raise WaiverError with the offending entry."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise WaiverError(f"{path}: cannot read waivers: {error}") from error
    if document is None:
        return []
    if not isinstance(document, dict) or set(document) != {"waivers"}:
        raise WaiverError(f"{path}: top level must be a mapping with the single key 'waivers'")
    entries = document["waivers"] or []
    if not isinstance(entries, list):
        raise WaiverError(f"{path}: 'waivers' must be a list")
    return [_parse_entry(entry, index) for index, entry in enumerate(entries)]
