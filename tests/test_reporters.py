"""SARIF, JUnit and GitHub reports: valid documents, findings on their YAML line, exit codes in every format."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abi_check.config.policy import Policy
from abi_check.errors import Span
from abi_check.report.emit import emit
from abi_check.report.formats import Format, reporter
from abi_check.report.github import escape_data, escape_property
from abi_check.report.github import render as github
from abi_check.report.junit import render as junit
from abi_check.report.sarif import FINGERPRINT_KEY, to_data
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity, make_finding
from abi_check.verdict.result import FailOn, PairResult, Result, Waived, WaiverNote
from tests.conftest import host_names, host_path

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
RESULT_SCHEMA = json.loads((ROOT / "docs" / "schema" / "result.schema.json").read_text(encoding="utf-8"))


def sarif_errors(document: object) -> list[str]:
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def result_of(rules: RuleSet, pairs: tuple[PairResult, ...], **kwargs: object) -> Result:
    policy = Policy()
    return Result("pair", pairs, ("a.yaml", "b.yaml"), tuple(rules.ids()), rule_docs=policy.docs(rules),
                  **kwargs)  # type: ignore[arg-type]


def finding(message: str = "m", *, rule: str = "psci-not-implemented", severity: Severity = Severity.ERROR,
            span: Span | None = None, subject: str = "PSCI_VERSION") -> Finding:
    return make_finding(rule=rule, severity=severity, source="src", destination="dst", subject=subject,
                        message=message, fix="do this", reference="https://docs.kernel.org/", span=span,
                        category="firmware")


@pytest.fixture(scope="module")
def every_pair(rules, view) -> tuple[PairResult, ...]:  # type: ignore[no-untyped-def]
    names = host_names()
    return tuple(
        PairResult(a, b, tuple(check_pair(rules, view(a), view(b)))) for a in names for b in names
    )


def test_sarif_of_every_shipped_host_pair_validates_against_the_official_schema(rules, every_pair) -> None:  # type: ignore[no-untyped-def]
    assert len(every_pair) == len(host_names()) ** 2 == 324
    document = to_data(result_of(rules, every_pair))
    assert sarif_errors(document) == []
    run = document["runs"][0]
    results = run["results"]
    assert len(results) == sum(len(p.findings) for p in every_pair) > 0
    rules_meta = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules_meta} == set(rules.ids())
    for rule in rules_meta:
        assert rule["helpUri"].startswith("https://") and rule["help"]["markdown"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    for item in results:
        assert rules_meta[item["ruleIndex"]]["id"] == item["ruleId"]
        assert len(item["partialFingerprints"][FINGERPRINT_KEY]) == 12
        for location in item["locations"]:
            artifact = location["physicalLocation"]["artifactLocation"]
            # The catalogue is inside the working directory here: relative to %SRCROOT%, never with '..'.
            assert artifact["uriBaseId"] == "%SRCROOT%" and not artifact["uri"].startswith(("/", ".."))
            assert (ROOT / artifact["uri"]).is_file()
            assert location["physicalLocation"]["region"]["startLine"] >= 1


def test_sarif_points_at_the_yaml_line_and_carries_waivers_as_suppressions(rules, view) -> None:  # type: ignore[no-untyped-def]
    found = check_pair(rules, view("n1-linux-6.13-qemu-10.2"), view("n1-linux-6.12-qemu-10.2"))
    psci = next(f for f in found if f.rule == "psci-not-implemented")
    rest = tuple(f for f in found if f is not psci)
    waived = Waived(psci, "accepted for the test", Span("waivers.yaml", 3, 5), "2030-01-01")
    pair = PairResult("n1-linux-6.13-qemu-10.2", "n1-linux-6.12-qemu-10.2", rest, (waived,))
    notes = (WaiverNote("stale", Span("waivers.yaml", 9, 5), "rule=x matches no finding any more"),)
    document = to_data(result_of(rules, (pair,), waiver_notes=notes))
    assert sarif_errors(document) == []
    results = document["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1 and suppressed[0]["ruleId"] == "psci-not-implemented"
    assert suppressed[0]["suppressions"][0]["justification"] == "accepted for the test"
    region = suppressed[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "specs/kernels/linux-6.13.yaml"
    assert psci.span is not None and region["region"]["startLine"] == psci.span.line
    notifications = document["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
    assert notifications[0]["message"]["text"].startswith("stale waiver")


def test_sarif_marks_a_crashed_rule_as_an_unsuccessful_execution(rules) -> None:  # type: ignore[no-untyped-def]
    crashed = finding("rule x failed: KeyError", rule=INTERNAL_ERROR, subject="x")
    document = to_data(result_of(rules, (PairResult("src", "dst", (crashed,)),)))
    assert sarif_errors(document) == []
    run = document["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert INTERNAL_ERROR in {r["id"] for r in run["tool"]["driver"]["rules"]}


def test_junit_is_well_formed_with_one_case_per_pair_and_failures_at_the_threshold(rules) -> None:  # type: ignore[no-untyped-def]
    nasty = 'a <tag> & "quote" \x00\x1b and ]]> end'
    error = finding(nasty)
    warning = finding("a warning", rule="bitmap-implicit-default", severity=Severity.WARNING)
    waived = Waived(finding("waived one", rule="impl-id-mismatch", subject="MIDR_EL1"), "ok <because>",
                    Span("w.yaml", 2, 3))
    pairs = (
        PairResult("a", "b", (error, warning)),
        PairResult("b", "a", (warning,)),
        PairResult("a", "c", (), (waived,)),
        PairResult("c", "a", ()),
    )
    for fail_on, failures in ((FailOn.WARNING, 2), (FailOn.ERROR, 1), (FailOn.NEVER, 0)):
        text = junit(result_of(rules, pairs, fail_on=fail_on))
        root = ET.fromstring(text)
        suite = root.find("testsuite")
        assert suite is not None and suite.get("tests") == "4"
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == ["a -> b", "b -> a", "a -> c", "c -> a"]
        assert [c.get("classname") for c in cases] == ["a", "b", "a", "c"]
        assert sum(c.find("failure") is not None for c in cases) == failures == int(suite.get("failures", "-1"))
        assert cases[2].find("skipped") is not None and suite.get("skipped") == "1"
    failure = ET.fromstring(junit(result_of(rules, pairs))).find("testsuite/testcase/failure")
    assert failure is not None and failure.text is not None
    assert 'a <tag> & "quote"' in failure.text and "\x00" not in failure.text
    assert failure.get("type") == "psci-not-implemented"


def test_junit_reports_a_crashed_rule_as_an_error(rules) -> None:  # type: ignore[no-untyped-def]
    crashed = finding("rule x failed", rule=INTERNAL_ERROR, subject="x")
    suite = ET.fromstring(junit(result_of(rules, (PairResult("a", "b", (crashed,)),)))).find("testsuite")
    assert suite is not None and suite.get("errors") == "1"


def test_github_escapes_data_and_properties() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


@given(st.text())
def test_github_escaping_is_reversible_and_leaves_no_separator(text: str) -> None:
    prop, data = escape_property(text), escape_data(text)
    assert not set(prop) & {":", ",", "\r", "\n"} and not set(data) & {"\r", "\n"}
    assert unquote(prop) == text and unquote(data) == text  # GitHub decodes %XX back


def test_github_annotates_the_line(rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "specs" / "a,b:c.yaml"
    spec.parent.mkdir()
    spec.write_text("x: 1\n")
    found = finding("bad: thing, 100%\nsecond line", span=Span("specs/a,b:c.yaml", 1, 4))
    waived = Waived(finding("fine", rule="impl-id-mismatch"), "reason", Span("w.yaml", 2, 3))
    note = WaiverNote("stale", Span("specs/a,b:c.yaml", 1, 1), "gone")
    text = github(result_of(rules, (PairResult("src", "dst", (found,), (waived,)),), waiver_notes=(note,)))
    lines = text.splitlines()
    assert lines[0] == (
        "::error file=specs/a%2Cb%3Ac.yaml,line=1,col=4,title=psci-not-implemented (src -> dst)"
        "::bad: thing, 100%25%0Asecond line%0Afix: do this"
    )
    assert lines[1].startswith("::notice title=waived%3A impl-id-mismatch")
    assert lines[2].startswith("::warning file=specs/a%2Cb%3Ac.yaml,line=1,col=1,title=stale waiver::gone")
    assert all(line.startswith("::") for line in lines[:-1]) and not lines[-1].startswith("::")


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_and_a_crashed_rule_never_exits_0(rules, fmt: Format, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    crashed = finding("rule x failed", rule=INTERNAL_ERROR, subject="x")
    for fail_on in FailOn:
        result = result_of(rules, (PairResult("a", "b", (crashed,)),), fail_on=fail_on)
        out = tmp_path / f"report-{fail_on.value}"
        assert emit(result, fmt, out) & 1, f"{fmt} with --fail-on {fail_on} hid a tool failure"
        assert out.read_text(encoding="utf-8")
    assert callable(reporter(fmt))


@pytest.mark.parametrize("fmt", list(Format))
def test_exit_codes_do_not_depend_on_the_format(rules, fmt: Format, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pair = PairResult("a", "b", (finding(), finding("w", rule="bitmap-implicit-default", severity=Severity.WARNING)))
    only_waived = PairResult("a", "b", (), (Waived(finding(), "ok", Span("w.yaml", 1, 1)),))
    out = tmp_path / "report"
    assert emit(result_of(rules, (pair,)), fmt, out) == 12
    assert emit(result_of(rules, (pair,), fail_on=FailOn.ERROR), fmt, out) == 8
    assert emit(result_of(rules, (only_waived,)), fmt, out) == 0


def test_an_unwritable_output_is_an_input_error(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from abi_check.errors import InputError

    with pytest.raises(InputError, match="cannot write the report to"):
        emit(result_of(rules, ()), Format.JSON, tmp_path / "missing" / "report.json")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT)


def test_pair_cli_writes_sarif_junit_and_github_with_the_same_exit_code() -> None:
    args = [str(host_path("n1-linux-6.13-qemu-10.2")), str(host_path("n1-linux-6.12-qemu-10.2")), "--both"]
    expected = run("pair", *args).returncode
    assert expected & 8
    sarif = run("pair", "-f", "sarif", *args)
    assert sarif.returncode == expected and sarif_errors(json.loads(sarif.stdout)) == []
    junit_out = run("pair", "-f", "junit", *args)
    assert junit_out.returncode == expected
    assert len(ET.fromstring(junit_out.stdout).findall("testsuite/testcase")) == 2
    annotations = run("pair", "-f", "github", *args)
    assert annotations.returncode == expected
    assert "::error file=specs/kernels/linux-6.13.yaml,line=" in annotations.stdout
    data = json.loads(run("pair", "-f", "json", *args).stdout)
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["fail-on"] == "warning" and data["pairs"][0]["waived"] == []
