"""Waivers: a reason is required, a waived finding is reported but not counted, expired ones count again,
stale ones are reported; every problem in the file is located."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.config.waivers import apply_waivers, load_waivers
from abi_check.errors import InputErrors, Span
from abi_check.verdict.findings import INTERNAL_ERROR, Severity, make_finding
from abi_check.verdict.result import PairResult, Result, exit_code
from tests.conftest import host_path

ROLLBACK = [str(host_path("n1-linux-6.13-qemu-10.2")), str(host_path("n1-linux-6.12-qemu-10.2"))]
RULES = ["psci-not-implemented", "psci-default-unpinned", "bitmap-bit-unknown"]
TODAY = datetime.date(2026, 6, 1)


def cli(*args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(_app(), list(args))
    return out.exit_code, out.stdout, out.stderr


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)


def finding(rule: str = "psci-not-implemented", src: str = "a", dst: str = "b", subject: str = "PSCI_VERSION"):  # type: ignore[no-untyped-def]
    return make_finding(rule=rule, severity=Severity.ERROR, source=src, destination=dst, subject=subject,
                        message="m", fix="f", reference="r", span=None, category="c")


def waivers(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def test_waived_expired_and_stale(tmp_path: Path) -> None:
    path = waivers(tmp_path, """waivers:
  - rule: psci-not-implemented
    source: a
    reason: the fleet pins PSCI elsewhere
    expires: 2026-06-01
  - rule: bitmap-bit-unknown
    hosts: [b]
    bit: PTP
    reason: no longer needed
  - fingerprint: "000000000000"
    reason: nothing has this fingerprint
""")
    loaded = load_waivers(path, RULES)
    result = Result("pair", (PairResult("a", "b", (finding(),)),), (), tuple(RULES))
    on_the_day = apply_waivers(result, loaded, TODAY)
    assert on_the_day.findings == [] and [w.finding.rule for w in on_the_day.waived] == ["psci-not-implemented"]
    assert on_the_day.waived[0].reason == "the fleet pins PSCI elsewhere"
    assert exit_code(on_the_day.findings, on_the_day.fail_on) == 0
    assert [(n.status, n.where.line) for n in on_the_day.waiver_notes] == [("stale", 6), ("stale", 10)]

    day_after = apply_waivers(result, loaded, TODAY + datetime.timedelta(days=1))
    assert [f.rule for f in day_after.findings] == ["psci-not-implemented"] and day_after.waived == []
    assert exit_code(day_after.findings, day_after.fail_on) == 8
    expired = [n for n in day_after.waiver_notes if n.status == "expired"]
    assert len(expired) == 1 and expired[0].where == Span("waivers.yaml", 2, 5)
    assert "expired on 2026-06-01" in expired[0].message


def test_matching_by_fields_and_fingerprint() -> None:
    target = finding("bitmap-bit-unknown", "h1", "h1@base", "VENDOR_HYP_BMAP_2.NEW_SVC")
    result = Result("gate", (PairResult("h1", "h1@base", (target,)),), (), tuple(RULES))
    cases = {
        f'fingerprint: "{target.fingerprint}"': True,
        "rule: bitmap-bit-unknown\n    hosts: [h1]": True,  # either version of h1
        "rule: bitmap-bit-unknown\n    destination: h1@base": True,
        "rule: bitmap-bit-unknown\n    destination: h1": False,  # the working-tree version is not the ref's
        "rule: bitmap-bit-unknown\n    register: VENDOR_HYP_BMAP_2\n    bit: NEW_SVC": True,
        "rule: bitmap-bit-unknown\n    bit: OTHER": False,
        "rule: psci-not-implemented\n    hosts: [h1]": False,
        "rule: bitmap-bit-unknown\n    subject: VENDOR_HYP_BMAP_2.NEW_SVC\n    source: h1": True,
    }
    for match, waived in cases.items():
        path = waivers(Path.cwd(), f"waivers:\n  - {match}\n    reason: test\n")
        out = apply_waivers(result, load_waivers(path, RULES), TODAY)
        assert bool(out.waived) is waived, match


def test_a_crashed_rule_is_never_waived() -> None:
    crashed = finding(INTERNAL_ERROR, subject="psci-not-implemented")
    path = waivers(Path.cwd(), f'waivers:\n  - fingerprint: "{crashed.fingerprint}"\n    reason: hide it\n')
    out = apply_waivers(Result("pair", (PairResult("a", "b", (crashed,)),), (), ()), load_waivers(path, RULES), TODAY)
    assert out.findings == [crashed] and exit_code(out.findings, out.fail_on) & 1
    path = waivers(Path.cwd(), "waivers:\n  - rule: internal-error\n    hosts: [a]\n    reason: hide it\n")
    with pytest.raises(InputErrors, match="1 input error"):
        load_waivers(path, RULES)


def test_every_problem_in_a_waiver_file_is_located(tmp_path: Path) -> None:
    path = waivers(tmp_path, """waivers:
  - rule: psci-not-implemented
    hosts: [a]
  - rule: psci-not-implmented
    hosts: [a]
    reason: typo in the rule
  - rule: psci-not-implemented
    reason: "  "
    source: a
  - rule: psci-not-implemented
    reason: no match keys
  - fingerprint: xyz
    reason: bad fingerprint
    expires: next week
    colour: blue
""")
    code, _, err = cli("pair", "--waivers", str(path), *ROLLBACK)
    assert code == 2 and "Traceback" not in err
    assert "waivers.yaml:2:5: waiver error: missing required key 'reason'" in err
    assert "waivers.yaml:12:18: waiver error: 'xyz' is not valid here" in err
    assert "waivers.yaml:14:14: waiver error: expected a date, found 'next week'" in err
    assert "waivers.yaml:15:5: waiver error: unknown key 'colour'" in err
    # The shape is right now; the rule ids and reasons are checked next.
    first_two = "  - rule: psci-not-implemented\n    hosts: [a]\n  - rule: psci-not-implmented"
    kept = path.read_text().split("  - fingerprint: xyz")[0]
    path.write_text(kept.replace(first_two, "  - rule: psci-not-implmented"))
    code, _, err = cli("pair", "--waivers", str(path), *ROLLBACK)
    assert code == 2
    assert "waivers.yaml:2:11: waiver error: no rule 'psci-not-implmented'" in err
    assert "did you mean 'psci-not-implemented'?" in err
    assert "waivers.yaml:6:13: waiver error: the reason is empty" in err
    assert "waivers.yaml:8:5: waiver error: a waiver names what it accepts" in err


def test_pair_cli_reports_waived_findings_in_every_format(tmp_path: Path) -> None:
    plain, _, _ = cli("pair", "--fail-on", "error", *ROLLBACK)
    assert plain == 8
    path = waivers(tmp_path, """waivers:
  - rule: psci-not-implemented
    hosts: [n1-linux-6.13-qemu-10.2]
    reason: PSCI 1.3 guests are never rolled back
  - rule: psci-default-unpinned
    source: n1-linux-6.13-qemu-10.2
    reason: PSCI is pinned by the orchestrator
    expires: 2999-12-31
""")
    code, out, _ = cli("pair", "--fail-on", "error", "--waivers", str(path), "-f", "json", *ROLLBACK)
    data = json.loads(out)
    assert code == 0 and data["pairs"][0]["findings"] == [] and data["pairs"][0]["verdict"] == "compatible"
    waived = data["pairs"][0]["waived"]
    assert {w["rule"] for w in waived} == {"psci-not-implemented", "psci-default-unpinned"}
    assert [w["waiver"]["expires"] for w in waived] == [None, "2999-12-31"]
    code_text, text, _ = cli("pair", "--fail-on", "error", "--waivers", str(path), *ROLLBACK)
    assert code_text == code and "waived psci-not-implemented" in text
    assert "reason: PSCI 1.3 guests are never rolled back (waivers.yaml:2:5)" in text
    _, md, _ = cli("pair", "--fail-on", "error", "--waivers", str(path), "-f", "markdown", *ROLLBACK)
    assert "waived `psci-not-implemented`" in md
    _, annotations, _ = cli("pair", "--fail-on", "error", "--waivers", str(path), "-f", "github", *ROLLBACK)
    # The catalogue is outside the working directory here: no file= property, the place is in the message.
    assert "::notice title=waived%3A psci-not-implemented" in annotations and "linux-6.13.yaml:" in annotations

    path.write_text(path.read_text() + "    # the first waiver expired\n")
    path.write_text(path.read_text().replace("    reason: PSCI 1.3 guests are never rolled back\n",
                                             "    reason: PSCI 1.3 guests are never rolled back\n"
                                             "    expires: 2000-01-01\n"))
    code, out, _ = cli("pair", "--fail-on", "error", "--waivers", str(path), "-f", "json", *ROLLBACK)
    data = json.loads(out)
    assert code == 8
    assert "psci-not-implemented" in {f["rule"] for f in data["pairs"][0]["findings"]}
    assert [w["status"] for w in data["waivers"]] == ["expired"]


def test_waiver_file_from_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(
        "waivers:\n  - rule: psci-not-implemented\n    hosts: [n1-linux-6.13-qemu-10.2]\n    reason: ok\n")
    (tmp_path / ".abi-check.yaml").write_text("waivers: w.yaml\n")
    _, out, _ = cli("pair", "-f", "json", *ROLLBACK)
    assert {w["rule"] for w in json.loads(out)["pairs"][0]["waived"]} == {"psci-not-implemented"}


def test_an_expired_waiver_next_to_a_valid_one() -> None:
    path = waivers(Path.cwd(), """waivers:
  - rule: psci-not-implemented
    hosts: [a]
    reason: the old acceptance
    expires: 2020-01-01
  - rule: psci-not-implemented
    hosts: [a]
    reason: renewed in review
""")
    result = Result("pair", (PairResult("a", "b", (finding(),)),), (), tuple(RULES))
    out = apply_waivers(result, load_waivers(path, RULES), TODAY)
    assert out.findings == [] and [w.reason for w in out.waived] == ["renewed in review"]
    assert [(n.status, n.where.line) for n in out.waiver_notes] == [("expired", 2)]
    assert "waives nothing" in out.waiver_notes[0].message
