"""Render the sample's HTML report in headless Chromium and save a screenshot (``make report-screenshot``).

Also the helpers the browser test uses: :func:`chromium` finds the Debian ``chromium`` binary (the Makefile
installs it when missing), :func:`run_chromium` starts it headless with a fresh profile and no background
networking, :func:`screenshot` and :func:`dump_dom` drive it through its command-line switches (no driver, no
download).

Usage::

    python scripts/report_screenshot.py                      # docs/report.png from data/sample
    python scripts/report_screenshot.py --out /tmp/r.png --height 4000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
)
TIMEOUT = 120


def chromium() -> str:
    """Path of the Chromium binary; :class:`FileNotFoundError` saying how to install it when there is none."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("chromium is not installed: `make chromium` (apt-get install -y chromium)")


def run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile directory and the given extra switches / URL."""
    with tempfile.TemporaryDirectory(prefix="sockpuppet-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )


def screenshot(html: Path, png: Path, *, width: int = 1400, height: int = 2600) -> Path:
    """Save a PNG of ``html`` (opened from disk) as Chromium renders it in a ``width`` x ``height`` window."""
    png.parent.mkdir(parents=True, exist_ok=True)
    run_chromium(f"--window-size={width},{height}", f"--screenshot={png.resolve()}", html.resolve().as_uri())
    return png


def dump_dom(html: Path, *, width: int = 1400, height: int = 2600) -> str:
    """The DOM of ``html`` after Chromium loaded it and ran its scripts, serialised."""
    return run_chromium(f"--window-size={width},{height}", "--dump-dom", html.resolve().as_uri()).stdout


def main(argv: list[str] | None = None) -> int:
    """Write the sample's report (all signals) and its screenshot."""
    from sockpuppet.cli import main as sockpuppet

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png", help="PNG to write")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sockpuppet-report-") as tmp:
        html = Path(tmp) / "report.html"
        argv_ = ["pairs", "--posts", str(SAMPLE / "posts.tsv"), "--accounts", str(SAMPLE / "accounts.tsv")]
        if sockpuppet([*argv_, "--hashtag", "diedsuddenly", "--format", "html", "-o", str(html)]) != 0:
            return 1
        screenshot(html, args.out, width=args.width, height=args.height)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
