"""JUnit XML report: one test suite per command, one test case per pair; failing findings are failures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from abi_check.verdict.findings import INTERNAL_ERROR, Finding
from abi_check.verdict.result import FailOn, PairResult, Result, at_threshold

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _line(finding: Finding) -> str:
    where = f" at {finding.span}" if finding.span else ""
    return f"{finding.severity.value} {finding.rule}{where}: {finding.message}\n  fix: {finding.fix}"


def _case(pair: PairResult, fail_on: FailOn) -> tuple[ET.Element, str]:
    case = ET.Element("testcase", classname=_text(pair.source), name=_text(f"{pair.source} -> {pair.destination}"))
    crashed = [f for f in pair.findings if f.rule == INTERNAL_ERROR]
    failing = [f for f in pair.findings if at_threshold(f, fail_on)]
    other = [f for f in pair.findings if f not in failing and f not in crashed]
    outcome = "passed"
    if crashed:
        error = ET.SubElement(case, "error", type=INTERNAL_ERROR, message=_text(crashed[0].message))
        error.text = _text("\n".join(_line(f) for f in crashed))
        outcome = "error"
    if failing:
        first = failing[0]
        failure = ET.SubElement(
            case,
            "failure",
            type=first.rule,
            message=_text(f"{len(failing)} finding(s) at or above --fail-on {fail_on.value}; first: {first.message}"),
        )
        failure.text = _text("\n".join(_line(f) for f in failing))
        outcome = "failure" if outcome == "passed" else outcome
    elif pair.waived and outcome == "passed":
        ET.SubElement(case, "skipped", message=_text(f"{len(pair.waived)} finding(s) waived"))
        outcome = "skipped"
    notes = [_line(f) for f in other]
    notes += [f"waived: {_line(w.finding)}\n  reason: {w.reason} ({w.where})" for w in pair.waived]
    if notes:
        ET.SubElement(case, "system-out").text = _text("\n".join(notes))
    return case, outcome


def render(result: Result, color: bool = False) -> str:
    cases = [_case(p, result.fail_on) for p in result.pairs]
    tally = {k: sum(outcome == k for _, outcome in cases) for k in ("failure", "error", "skipped")}
    attrs = {
        "tests": str(len(cases)),
        "failures": str(tally["failure"]),
        "errors": str(tally["error"]),
        "skipped": str(tally["skipped"]),
    }
    root = ET.Element("testsuites", {"name": "abi-check", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"abi-check {result.command}", **attrs})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="fail-on", value=result.fail_on.value)
    ET.SubElement(properties, "property", name="version", value=_text(result.version))
    for case, _ in cases:
        suite.append(case)
    if result.waiver_notes:
        ET.SubElement(suite, "system-err").text = _text(
            "\n".join(f"{n.where}: {n.status} waiver: {n.message}" for n in result.waiver_notes)
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
