#!/usr/bin/env python3
"""Render the talk: its Graphviz diagrams to SVG and the deck to a committed PDF, in one command.

    python docs/render-presentation.py            # docs/diagrams/*.svg, docs/presentation.pdf
    python docs/render-presentation.py --html     # also reports/presentation/presentation.html
    python docs/render-presentation.py --mermaid  # also render (syntax-check) docs' Mermaid blocks
    python docs/render-presentation.py --check    # is the committed PDF current? (no browser)

Never part of `make test`. Rendering needs Debian's graphviz, chromium and poppler-utils, and
npx for the pinned Marp CLI from the npm registry. Each render records a digest of every source
(the deck, the diagram sources and their SVGs, this script) and of the PDF in
docs/presentation.pdf.json, so a test can tell that the committed PDF is current without a
browser: `--check` and tests/docs run the same `stale_reasons`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MARP_CLI = "@marp-team/marp-cli@4.5.1"
MERMAID_CLI = "@mermaid-js/mermaid-cli@12.2.0"
ROOT = Path(__file__).resolve().parents[1]
DECK = Path("docs/presentation.md")
PDF = Path("docs/presentation.pdf")
RECORD = Path("docs/presentation.pdf.json")
DIAGRAMS = Path("docs/diagrams")
RENDERER = Path("docs/render-presentation.py")
# The render tooling's Debian packages, by the command each provides.
DEBIAN_PACKAGES = {"dot": "graphviz", "chromium": "chromium", "pdfinfo": "poppler-utils"}
RERENDER = "python docs/render-presentation.py"


def sources(root: Path) -> list[Path]:
    """Every file the PDF is made from, relative to the repository root, in a stable order."""
    diagrams = sorted(
        p.relative_to(root)
        for p in (root / DIAGRAMS).glob("*")
        if p.suffix in {".dot", ".svg"} and p.is_file()
    )
    return [DECK, RENDERER, *diagrams]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(root: Path) -> dict[str, str]:
    """SHA-256 of each source, keyed by its repository path."""
    return {str(path): _sha256(root / path) for path in sources(root)}


def stale_reasons(root: Path) -> list[str]:
    """Why the committed PDF is not the render of the committed sources (empty when current)."""
    record_file = root / RECORD
    if not record_file.is_file():
        return [f"{RECORD} is missing: run `{RERENDER}`"]
    record = json.loads(record_file.read_text(encoding="utf-8"))
    reasons: list[str] = []
    pdf = root / PDF
    if not pdf.is_file():
        reasons.append(f"{PDF} is missing")
    elif _sha256(pdf) != record.get("pdf_sha256"):
        reasons.append(f"{PDF} is not the file the last render wrote")
    recorded: dict[str, str] = record.get("sources", {})
    current = digests(root)
    for path in sorted(recorded.keys() | current.keys()):
        if path not in current:
            reasons.append(f"{path} was rendered but no longer exists")
        elif path not in recorded:
            reasons.append(f"{path} is new since the last render")
        elif recorded[path] != current[path]:
            reasons.append(f"{path} changed since the last render")
    unrendered = [
        dot.relative_to(root)
        for dot in sorted((root / DIAGRAMS).glob("*.dot"))
        if not dot.with_suffix(".svg").is_file()
    ]
    reasons += [f"{dot} has no rendered SVG beside it" for dot in unrendered]
    if reasons:
        reasons.append(f"regenerate with `{RERENDER}` and commit the result")
    return reasons


def _require(*commands: str) -> dict[str, str]:
    found = {command: shutil.which(command) for command in commands}
    missing = sorted({DEBIAN_PACKAGES.get(c, c) for c, path in found.items() if path is None})
    if missing:
        sys.exit(f"rendering the talk needs: apt-get install -y {' '.join(missing)}")
    return {command: path for command, path in found.items() if path is not None}


def _npx(package: str, *args: str) -> None:
    npx = shutil.which("npx")
    if npx is None:
        sys.exit("npx not found: install Node.js and npm (Debian: apt-get install -y npm)")
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1", "CHROME_NO_SANDBOX": "1"}
    subprocess.run([npx, "--yes", "-p", package, *args], env=env, check=True, timeout=900)


def render_diagrams(root: Path, dot: str) -> list[Path]:
    """Graphviz: each docs/diagrams/NAME.dot to NAME.svg beside it (fails on a syntax error)."""
    written = []
    for source in sorted((root / DIAGRAMS).glob("*.dot")):
        target = source.with_suffix(".svg")
        subprocess.run([dot, "-Tsvg", str(source), "-o", str(target)], check=True, timeout=120)
        written.append(target)
    return written


def render_pdf(root: Path, browser: str) -> Path:
    """Marp through Chromium: one page per slide, speaker notes as PDF annotations."""
    _npx(
        MARP_CLI,
        "marp",
        str(root / DECK),
        "--allow-local-files",
        "--pdf",
        "--pdf-notes",
        "--browser-path",
        browser,
        "-o",
        str(root / PDF),
    )
    return root / PDF


def page_count(pdfinfo: str, pdf: Path) -> int:
    """Pages of a PDF as poppler's pdfinfo reports them."""
    info = subprocess.run(
        [pdfinfo, str(pdf)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    match = re.search(r"^Pages:\s+(\d+)$", info, flags=re.MULTILINE)
    if match is None:
        sys.exit(f"pdfinfo did not report a page count for {pdf}:\n{info}")
    return int(match.group(1))


def write_record(root: Path, pages: int) -> Path:
    """Record what this render was made from, for `stale_reasons`."""
    record = {
        "command": RERENDER,
        "pages": pages,
        "pdf_sha256": _sha256(root / PDF),
        "sources": digests(root),
    }
    (root / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return root / RECORD


def render_html(root: Path, out: Path) -> Path:
    """Marp: the deck as one self-contained HTML file (no browser needed)."""
    target = out / "presentation.html"
    _npx(MARP_CLI, "marp", str(root / DECK), "--allow-local-files", "-o", str(target))
    return target


def render_mermaid(root: Path, out: Path, browser: str) -> list[Path]:
    """mermaid-cli: each document's Mermaid blocks as SVG files (fails on a parse error)."""
    config = out / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": browser, "args": ["--no-sandbox"]}))
    rendered: list[Path] = []
    for doc in sorted((root / "docs").rglob("*.md")):
        if "```mermaid" not in doc.read_text(encoding="utf-8"):
            continue
        target = out / "mermaid" / doc.relative_to(root / "docs")
        target.parent.mkdir(parents=True, exist_ok=True)
        _npx(MERMAID_CLI, "mmdc", "-q", "-p", str(config), "-i", str(doc), "-o", str(target))
        rendered.append(target)
    return rendered


def main() -> int:
    """Parse the arguments, check or render, print what was written."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the PDF is current")
    parser.add_argument("--html", action="store_true", help="also render the deck as HTML")
    parser.add_argument("--mermaid", action="store_true", help="also render every Mermaid block")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "presentation")
    args = parser.parse_args()
    if args.check:
        reasons = stale_reasons(ROOT)
        print("\n".join(reasons) or f"{PDF} is current")
        return 1 if reasons else 0
    tools = _require("dot", "chromium", "pdfinfo")
    for path in render_diagrams(ROOT, tools["dot"]):
        print(path.relative_to(ROOT))
    pdf = render_pdf(ROOT, tools["chromium"])
    pages = page_count(tools["pdfinfo"], pdf)
    print(f"{PDF} ({pages} pages)")
    print(write_record(ROOT, pages).relative_to(ROOT))
    if args.html or args.mermaid:
        args.out.mkdir(parents=True, exist_ok=True)
    if args.html:
        print(render_html(ROOT, args.out))
    if args.mermaid:
        for target in render_mermaid(ROOT, args.out, tools["chromium"]):
            print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
