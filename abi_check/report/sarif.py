"""SARIF 2.1.0 report (code scanning): rule metadata with help, results located in the YAML, waivers as suppressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from abi_check.errors import Span
from abi_check.report.locations import artifact_uri
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity
from abi_check.verdict.result import Result, RuleDoc, Waived

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://abi-check.dev/"
FINGERPRINT_KEY = "abiCheckFingerprint/v1"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}

_INTERNAL = RuleDoc(
    INTERNAL_ERROR,
    "Internal error in a rule",
    "A rule raised an exception; the pair was not fully checked.",
    "abi-check reports a rule that crashes as this finding and exits with code 1: the check is incomplete.",
    Severity.ERROR,
    "internal",
    "",
)


def _is_web_uri(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _rule(doc: RuleDoc) -> dict[str, Any]:
    full = " ".join(doc.description.split()) or doc.summary
    see = f"\n\nReference: [{doc.reference}]({doc.reference})" if _is_web_uri(doc.reference) else ""
    rule: dict[str, Any] = {
        "id": doc.id,
        "name": doc.name,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": full},
        "help": {
            "text": f"{doc.summary}\n\n{full}\n\nabi-check explain {doc.id} shows the rule and a live example.",
            "markdown": f"**{doc.name}**\n\n{doc.summary}\n\n{full}\n\n`abi-check explain {doc.id}` shows the rule "
            f"and a live example.{see}",
        },
        "defaultConfiguration": {"level": LEVEL[doc.severity]},
        "properties": {"category": doc.category, "tags": [doc.category]},
    }
    if _is_web_uri(doc.reference):
        rule["helpUri"] = doc.reference
    return rule


def _location(span: Span | None) -> list[dict[str, Any]]:
    if span is None:
        return []
    found = artifact_uri(span)
    if found is None:
        return []
    uri, base = found
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    region = {"startLine": max(span.line, 1), "startColumn": max(span.col, 1)}
    return [{"physicalLocation": {"artifactLocation": artifact, "region": region}}]


def _result(finding: Finding, index: dict[str, int], waived: Waived | None) -> dict[str, Any]:
    text = f"{finding.message}. Fix: {finding.fix}" if finding.fix else finding.message
    locations = _location(finding.span)
    if finding.span is not None and not locations:
        text += f" (at {finding.span})"  # a spec that is not on disk, e.g. read from the git ref
    out: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVEL[finding.severity],
        "message": {"text": text},
        "locations": locations,
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "source": finding.source,
            "destination": finding.destination,
            "subject": finding.subject,
            "category": finding.category,
        },
    }
    if waived is not None:
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted", "justification": waived.reason}
        where = _location(waived.where)
        if where:
            suppression["location"] = where[0]
        out["suppressions"] = [suppression]
    return out


def _docs(result: Result, every: list[Finding]) -> list[RuleDoc]:
    """Every rule the run evaluated, then any rule a finding names that the Result carries no metadata for."""
    docs = {d.id: d for d in result.rule_docs}
    for rule_id in result.rules:
        docs.setdefault(rule_id, RuleDoc(rule_id, rule_id, rule_id, "", Severity.WARNING, "", ""))
    for f in every:
        fallback = _INTERNAL if f.rule == INTERNAL_ERROR else RuleDoc(f.rule, f.rule, f.rule, "", f.severity, "", "")
        docs.setdefault(f.rule, fallback)
    return list(docs.values())


def to_data(result: Result) -> dict[str, Any]:
    every = [*result.findings, *(w.finding for w in result.waived)]
    docs = _docs(result, every)
    index = {d.id: i for i, d in enumerate(docs)}
    results = [_result(f, index, None) for f in result.findings]
    results += [_result(w.finding, index, w) for w in result.waived]
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"{note.status} waiver: {note.message}"},
            "locations": _location(note.where),
        }
        for note in result.waiver_notes
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": not any(f.rule == INTERNAL_ERROR for f in result.findings),
        "toolConfigurationNotifications": notifications,
    }
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "abi-check",
                "version": result.version,
                "semanticVersion": result.version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(d) for d in docs],
            }
        },
        "automationDetails": {"id": f"abi-check/{result.command}/"},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"command": result.command, "inputs": list(result.inputs), "fail-on": result.fail_on.value},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(result: Result, color: bool = False) -> str:
    return json.dumps(to_data(result), indent=2) + "\n"
