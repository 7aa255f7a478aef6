"""What the gate prints when one line changes many pairs: root causes once, on the changed line, several formats
from one run, a Markdown comment under GitHub's limit, and waivers written for adoption."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from abi_check.report.markdown import COMMENT_LIMIT
from abi_check.resources import catalogue_dir
from tests.test_gate import gate, git, line_of, repo
from tests.test_reporters import sarif_errors

ROOT = Path(__file__).resolve().parent.parent
CAUSE = re.compile(r"^(error|warning|note) (\S+) on (\d+) pair\(s\): ")


@pytest.fixture
def one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped catalogue in a repository; linux-6.15 then turns a VENDOR_HYP_BMAP_2 bit on by default."""
    root = repo(tmp_path / "repo", {"README": "fleet\n"})
    shutil.copytree(catalogue_dir(), root / "specs")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "fleet")
    kernel = root / "specs" / "kernels" / "linux-6.15.yaml"
    text = kernel.read_text()
    assert text.count("    defaults: []\n") == 1
    kernel.write_text(text.replace("    defaults: []\n", "    defaults: [DISCOVER_IMPL_VER]\n"))
    monkeypatch.chdir(root)
    return root


def test_a_one_line_change_prints_each_root_cause_once_on_the_changed_line(one_line: Path) -> None:
    code, out, err = gate("--against", "HEAD", "specs", "-f", "json")
    assert code == 4, err
    findings = [f for p in json.loads(out)["pairs"] for f in p["findings"]]
    causes = {(f["rule"], f["subject"], json.dumps(f["location"])) for f in findings}
    assert len(findings) > 3 * len(causes)  # the flood: the same causes on pair after pair
    changed = line_of(one_line / "specs/kernels/linux-6.15.yaml", "defaults: [DISCOVER_IMPL_VER]")
    # Every finding is on the line the change made, not at line 1 of an unchanged VMM spec.
    assert {(f["location"]["path"], f["location"]["line"]) for f in findings} == {
        ("specs/kernels/linux-6.15.yaml", changed)}
    assert f"in {len(causes)} root cause(s)" in err

    code, text, _ = gate("--against", "HEAD", "specs")
    entries = [CAUSE.match(line) for line in text.splitlines()]
    printed = [m.group(2) for m in entries if m]
    assert sorted(printed) == sorted(rule for rule, _, _ in causes)  # one entry per root cause
    assert sum(int(m.group(3)) for m in entries if m) == len(findings)

    code, annotations, _ = gate("--against", "HEAD", "specs", "-f", "github")
    commands = [line for line in annotations.splitlines() if line.startswith("::")]
    assert len(commands) == len(causes)
    assert all(f"file=specs/kernels/linux-6.15.yaml,line={changed}," in c for c in commands)


def test_one_run_writes_sarif_junit_and_markdown(one_line: Path) -> None:
    code, out, err = gate("--against", "HEAD", "specs", "-f", "github", "-f", "sarif=out/abi.sarif",
                          "--format", "junit=abi.xml", "-f", "markdown=abi.md")
    assert code == 2 and "cannot write the report to out/abi.sarif" in err  # no such directory: input error
    (one_line / "out").mkdir()
    code, out, err = gate("--against", "HEAD", "specs", "-f", "github", "-f", "sarif=out/abi.sarif",
                          "--format", "junit=abi.xml", "-f", "markdown=abi.md")
    assert code == 4, err
    assert out.startswith("::warning ")  # the main format still goes to stdout
    sarif = json.loads((one_line / "out/abi.sarif").read_text())
    assert sarif_errors(sarif) == []
    results = sarif["runs"][0]["results"]
    suite = ET.parse(one_line / "abi.xml").getroot()
    assert int(suite.get("failures") or 0) > 0 and int(suite.get("tests") or 0) > 0
    comment = (one_line / "abi.md").read_text()
    assert len(comment) < COMMENT_LIMIT and "root cause(s)" in comment
    assert len(results) > comment.count("- **warning**")  # SARIF keeps every finding; the comment groups them

    for bad, hint in (("sarf=x.sarif", "did you mean 'sarif'"), ("json", "without a file"), ("junit=", "no file")):
        args = ["--against", "HEAD", "specs", "-f", "text", "-f", bad]
        code, _, err = gate(*args)
        assert code == 2 and hint in err, err


def _fleet_module() -> object:
    spec = importlib.util.spec_from_file_location("fleet", ROOT / "benchmarks" / "fleet.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_comment_of_a_large_change_stays_under_githubs_limit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A synthetic fleet added in one change: thousands of findings, hundreds of root causes."""
    root = repo(tmp_path / "repo", {"README": "fleet\n"})
    _fleet_module().generate(root / "specs", 30)  # type: ignore[attr-defined]
    monkeypatch.chdir(root)
    code, comment, err = gate("--against", "HEAD", "specs", "-f", "markdown", "-f", "json=full.json")
    assert code & 8, err
    assert len(comment) < COMMENT_LIMIT
    data = json.loads((root / "full.json").read_text())
    findings = sum(len(p["findings"]) for p in data["pairs"])
    assert findings > 1000
    assert "**Cut short:**" in comment and "`full.json` (json)" in comment  # where the rest is
    assert len(comment.encode()) > COMMENT_LIMIT // 2  # it uses the room it has


def test_write_waivers_accepts_todays_findings_once_a_person_gives_reasons(one_line: Path) -> None:
    code, out, err = gate("--against", "HEAD", "specs", "-f", "json", "--write-waivers", "abi-waivers.yaml")
    assert code == 4
    reported = sum(len(p["findings"]) for p in json.loads(out)["pairs"])
    written = (one_line / "abi-waivers.yaml").read_text()
    assert written.count("- rule:") == reported and "wrote" in err
    # The gate refuses the file as written: a waiver needs a reason a reviewer can read.
    code, _, err = gate("--against", "HEAD", "specs", "--waivers", "abi-waivers.yaml")
    assert code == 2 and "the reason is empty" in err
    (one_line / "abi-waivers.yaml").write_text(written.replace('reason: ""', 'reason: "known; FLEET-1"'))
    code, out, err = gate("--against", "HEAD", "specs", "--waivers", "abi-waivers.yaml", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert all(not p["findings"] for p in data["pairs"]) and data["waivers"] == []
    assert sum(len(p["waived"]) for p in data["pairs"]) == reported
    # An existing file is never overwritten: its reasons would be lost.
    code, _, err = gate("--against", "HEAD", "specs", "--write-waivers", "abi-waivers.yaml")
    assert code == 2 and "the file exists" in err
