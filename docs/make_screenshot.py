"""Regenerate docs/matrix-report.png: the HTML matrix of the shipped hosts, a failing pair opened.

``python docs/make_screenshot.py [--chromium PATH] [--out PNG]``; needs playwright (the ``test`` extra) and a
Chromium (Debian: ``apt-get install chromium``); playwright's own browser download is not used.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAIR = ("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "matrix-report.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        # Run from the checkout so the inputs read "specs/hosts", as a user of the repository sees them.
        run = subprocess.run([sys.executable, "-m", "abi_check", "matrix", "--format", "html", "-o", str(report)],
                             cwd=ROOT, capture_output=True, text=True, check=False)
        if not report.exists():  # the exit code says how the pairs fared; no file means the run failed
            sys.exit(run.stderr)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
            page.goto(report.as_uri())
            page.click(f'td.cell[data-src="{PAIR[0]}"][data-dst="{PAIR[1]}"]')
            page.hover(f'td.cell[data-src="{PAIR[0]}"][data-dst="{PAIR[1]}"]')
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
