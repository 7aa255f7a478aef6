"""The HTML matrix: one offline page whose data cannot become markup, and that works in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abi_check.report.formats import MatrixFormat, matrix_reporter
from abi_check.report.matrix_html import SCRIPTS, script_json
from tests.conftest import host_path

ROOT = Path(__file__).resolve().parent.parent
FAILING = ("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2")
# Host names are restricted to [a-z0-9.-]; hostile text comes in through a rule's templates and a directory name.
MESSAGE = "</script><script>alert(1)</script> <b>&amp; \u2028{src}\u2029 </SCRIPT >"
FIX = "<img src=x onerror=alert(1)>"
RULE = f"""rule hostile-message
  name "</script><b>name</b>"  summary "<i>s</i>"  severity warning  category test  reference "javascript:alert(1)"
when src.vcpus > 0
report "{MESSAGE}"
fix "{FIX}"
"""
HOSTILE_DIR = "<b>&amp;\"x'"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def report(out: Path, *args: str, cwd: Path = ROOT) -> Path:
    done = run("matrix", "--format", "html", "-o", str(out), *args, cwd=cwd)
    assert done.returncode in (0, 4, 8, 12), done.stderr
    return out


def data_block(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "rules").mkdir()
    (tmp / "rules" / "hostile-message.rule").write_text(RULE, encoding="utf-8")
    hosts = tmp / HOSTILE_DIR
    hosts.mkdir()
    for name in FAILING:
        shutil.copy(host_path(name), hosts)
    return report(tmp / "report.html", "--rules", str(tmp / "rules"), HOSTILE_DIR, cwd=tmp)


def test_html_is_a_matrix_format() -> None:
    assert matrix_reporter(MatrixFormat("html")).__module__ == "abi_check.report.matrix_html"


@given(st.text())
def test_script_json_round_trips_and_cannot_close_a_script(text: str) -> None:
    encoded = script_json({"k": text})
    assert json.loads(encoded) == {"k": text}
    assert not set(encoded) & {"<", ">", "&", "\u2028", "\u2029"}


def test_spec_text_never_becomes_markup(hostile: Path) -> None:
    page = hostile.read_text(encoding="utf-8")
    for raw in ("<script>alert(1)", "<b>", "<i>", "<img", "</SCRIPT", "\u2028", "\u2029", HOSTILE_DIR):
        assert raw not in page
    count = 1 + len(SCRIPTS)  # the data block and the page's own scripts, no other
    assert page.lower().count("<script") == count and page.lower().count("</script") == count
    tags = Tags()
    tags.feed(page)
    names = {tag for tag, _ in tags.tags}
    assert not names & {"b", "i", "img", "a", "iframe", "object"}, names
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "data"}] + [{}] * len(SCRIPTS)
    # What was escaped comes back intact from the data block.
    data = data_block(page)
    assert data["header"]["inputs"] == [HOSTILE_DIR]
    messages = {f[2] for row in data["rows"] for cell in row[1] for f in cell}
    assert MESSAGE.replace("{src}", FAILING[0]) in messages
    assert FIX in {f[3] for row in data["rows"] for cell in row[1] for f in cell}


def test_the_page_fetches_nothing_and_runs_only_its_own_code(tmp_path: Path) -> None:
    page = report(tmp_path / "r.html", "--no-findings").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp and "default-src 'none'" in csp.group(1) and "unsafe-inline" not in csp.group(1)
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)
    data = data_block(page)
    assert len(data["rows"]) == 18 and all(len(row) == 1 and len(row[0]) == 18 for row in data["rows"])
    assert data["withFindings"] is False


# -- in Chromium ----------------------------------------------------------------------------------------------------


def _missing(what: str) -> None:
    """Skipped on a developer's machine that lacks it; in CI (CI=true) a missing browser is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI must install it")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = os.environ.get("ABI_CHECK_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        _missing(f"no Chromium at {executable} (apt-get install -y chromium, or set ABI_CHECK_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install '.[test]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a report; after the test, no console error and no uncaught exception may have happened."""
    errors: list[str] = []
    dialogs: list[str] = []
    pages: list[Any] = []

    def open_(path: Path, query: str = "") -> Any:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(10_000)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri() + query)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()
    assert errors == [] and dialogs == []


def cell(src: str, dst: str) -> str:
    return f'td.cell[data-src="{src}"][data-dst="{dst}"]'


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report(tmp_path_factory.mktemp("shipped") / "report.html")


def test_grid_details_and_filters_in_chromium(open_page: Any, shipped: Path) -> None:
    page = open_page(shipped)
    assert page.locator("td.cell").count() == 324
    failing = page.locator(cell(*FAILING))
    assert "v-fails" in failing.get_attribute("class") and failing.text_content() == "\u2717"
    failing.click()
    details = page.locator("#details")
    text = details.inner_text()
    assert "bitmap-register-unknown" in text and "VENDOR_HYP_BMAP_2" in text
    assert "specs/kernels/linux-6.15.yaml:22:15" in text
    heading = page.locator("#details h3").first
    assert heading.text_content() == "Findings (3)"

    page.uncheck("#sev-error")  # the two errors hidden: the cell is compatible for the filter, hatched
    assert failing.get_attribute("class").split() == ["cell", "v-compatible", "dim", "sel"]
    text = details.inner_text()
    assert "bitmap-register-unknown" not in text and "psci-default-unpinned" in text
    assert "2 findings hidden by the filters" in text
    assert "0 fail" in page.locator("#filtered").inner_text()
    page.check("#sev-error")
    page.click("details.rules summary")
    page.uncheck('input[data-rule="bitmap-register-unknown"]')  # psci-not-implemented still fails it
    assert "v-fails" in failing.get_attribute("class") and "dim" not in failing.get_attribute("class")
    assert heading.text_content() == "Findings (2 of 3 shown)"

    page.select_option("#order", "domain")  # regrouped, same cells
    assert page.locator("td.cell").count() == 324 and "sel" in failing.get_attribute("class")


def test_canvas_grid_click_opens_the_pair(open_page: Any, shipped: Path) -> None:
    page = open_page(shipped, "?grid=canvas")  # the representation used above 150 hosts
    assert page.locator("td.cell").count() == 0
    box = page.locator("canvas.heat").bounding_box()
    names = [h["name"] for h in data_block(shipped.read_text(encoding="utf-8"))["header"]["hosts"]]
    size = box["width"] / len(names)
    row, column = names.index(FAILING[0]), names.index(FAILING[1])
    page.mouse.click(box["x"] + (column + 0.5) * size, box["y"] + (row + 0.5) * size)
    assert page.locator("#details .pair").inner_text().split() == [FAILING[0], "\u2192", FAILING[1]]
    assert "VENDOR_HYP_BMAP_2" in page.locator("#details").inner_text()


def test_pointer_and_separation_examples_in_chromium(open_page: Any, shipped: Path) -> None:
    page = open_page(shipped)
    page.hover(cell(*FAILING))  # the status line names the pair under the pointer, its header cells light up
    status = page.locator("#status").inner_text()
    assert FAILING[0] in status and FAILING[1] in status and "fails" in status
    assert page.locator("table.heat th.hl").count() == 2
    page.hover(cell(FAILING[1], FAILING[1]))
    assert "\u2713 compatible" in page.locator("#status").inner_text()
    example = page.locator("#separations-list button.example").first
    src, dst = example.get_attribute("data-src"), example.get_attribute("data-dst")
    example.click()  # opens the example pair, as a click on its cell would
    assert page.locator("#details .pair").inner_text().split() == [src, "\u2192", dst]
    assert "sel" in page.locator(cell(src, dst)).get_attribute("class")


def test_host_panel_rollback_and_search_in_chromium(open_page: Any, shipped: Path) -> None:
    """An operator's questions: where can a VM go from this host and come back from, and is the way back open?"""
    page = open_page(shipped)
    page.click(cell(*FAILING))
    back = page.locator("#details dd", has_text="\u2192").last
    assert f"{FAILING[1]} \u2192 {FAILING[0]}" in back.inner_text()
    page.locator("#details button.open-pair").first.click()  # the rollback, opened from the upgrade
    assert page.locator("#details .pair").inner_text().split() == [FAILING[1], "\u2192", FAILING[0]]

    data = data_block(shipped.read_text(encoding="utf-8"))
    names = [h["name"] for h in data["header"]["hosts"]]
    page.click(f'th.name[data-host="{names.index(FAILING[0])}"]')
    details = page.locator("#details")
    assert details.locator("h2").inner_text() == "Host details"
    headings = details.locator("h3").all_text_contents()
    assert headings[0].startswith("From here a VM can go to (") and headings[1].startswith("and come back from (")
    targets = details.locator(".to-hosts button.open-pair").all_text_contents()
    assert FAILING[1] not in targets  # the failing move is not offered
    if targets:
        details.locator(".to-hosts button.open-pair").first.click()
        assert page.locator("#details .pair").inner_text().split() == [FAILING[0], "\u2192", targets[0]]

    page.fill("#host-search", FAILING[1])
    page.dispatch_event("#host-search", "change")
    assert page.locator("#details .pair").inner_text() == FAILING[1]


def test_without_findings_the_panel_gives_the_pair_command(open_page: Any, tmp_path: Path) -> None:
    path = report(tmp_path / "r.html", "--no-findings")
    hosts = {h["name"]: h["path"] for h in data_block(path.read_text(encoding="utf-8"))["header"]["hosts"]}
    page = open_page(path)
    page.click(cell(*FAILING))
    text = page.locator("#details").inner_text()
    assert f"abi-check pair {hosts[FAILING[0]]} {hosts[FAILING[1]]}" in text
    assert "bitmap-register-unknown" in text and "does not include findings" in text
    # The outcome's example pair keeps its findings: the messages an operator acts on, with their YAML lines.
    assert "findings of a pair with the same outcome" in text.lower() and "VENDOR_HYP_BMAP_2 is saved by" in text
    page.keyboard.press("ArrowUp")  # the grid took the focus: the arrow keys walk the pairs
    assert page.locator("#details .pair").inner_text().split()[0] == "n1-linux-6.13-qemu-10.2"


def test_hostile_text_shows_as_text_in_chromium(open_page: Any, hostile: Path) -> None:
    page = open_page(hostile)
    page.click(cell(*FAILING))
    details = page.locator("#details")
    assert MESSAGE.replace("{src}", FAILING[0]).replace("\u2028", "").replace("\u2029", "")[:40] in details.inner_text()
    assert FIX in details.inner_text()
    assert page.locator("#meta").inner_text().count(HOSTILE_DIR) == 1
    assert page.locator("#details .finding p > :not(a, code)").count() == 0  # message, fix, reference: text only
    assert page.locator("script").count() == 1 + len(SCRIPTS)
    assert page.locator("img, iframe, #details b:has-text('&amp;')").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
