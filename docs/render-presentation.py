#!/usr/bin/env python3
"""Render docs/presentation.md to HTML or PDF, and optionally every Mermaid diagram in docs/.

Optional and never part of `make test`: it fetches pinned renderers from the npm registry with
`npx`. HTML needs no browser; PDF and diagrams need Chromium (`apt-get install chromium`).

    python docs/render-presentation.py              # reports/presentation/presentation.html
    python docs/render-presentation.py --pdf        # reports/presentation/presentation.pdf
    python docs/render-presentation.py --diagrams   # also reports/presentation/diagrams/*.svg

`--diagrams` is the real syntax check of the Mermaid blocks (tests/docs checks only their
shape): mermaid-cli exits non-zero with the parse error when a diagram would not render.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

MARP_CLI = "@marp-team/marp-cli@4.5.1"
MERMAID_CLI = "@mermaid-js/mermaid-cli@12.2.0"
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        sys.exit("this needs Chromium: apt-get install chromium (plain HTML does not)")
    return found


def _npx(package: str, *args: str, env: dict[str, str]) -> None:
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("npx not found: install Node.js and npm (Debian: apt-get install npm)")
    subprocess.run([npx, "--yes", "-p", package, *args], env=env, check=True, timeout=900)


def render_slides(out: Path, pdf: bool, env: dict[str, str]) -> Path:
    """Marp: the deck as one self-contained HTML file, or a PDF through Chromium."""
    target = out / ("presentation.pdf" if pdf else "presentation.html")
    extra = ["--pdf", "--browser-path", _browser()] if pdf else []
    source = str(DOCS / "presentation.md")
    _npx(MARP_CLI, "marp", source, "--allow-local-files", *extra, "-o", str(target), env=env)
    return target


def render_diagrams(out: Path, env: dict[str, str]) -> list[Path]:
    """mermaid-cli: each document's Mermaid blocks as SVG files (fails on a parse error)."""
    config = out / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": _browser(), "args": ["--no-sandbox"]}))
    rendered: list[Path] = []
    for doc in sorted(DOCS.rglob("*.md")):
        if "```mermaid" not in doc.read_text(encoding="utf-8"):
            continue
        target = out / "diagrams" / doc.relative_to(DOCS)
        target.parent.mkdir(parents=True, exist_ok=True)
        _npx(
            MERMAID_CLI, "mmdc", "-q", "-p", str(config), "-i", str(doc), "-o", str(target), env=env
        )
        rendered.append(target)
    return rendered


def main() -> int:
    """Parse the arguments, render, print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", action="store_true", help="render the deck as PDF")
    parser.add_argument("--diagrams", action="store_true", help="render every Mermaid block")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "presentation")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    print(render_slides(args.out, args.pdf, env))
    if args.diagrams:
        for target in render_diagrams(args.out, env):
            print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
