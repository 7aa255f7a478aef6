"""JSON report: every pair and finding, in the shape of docs/schema/result.schema.json."""

from __future__ import annotations

import json

from abi_check.errors import Span
from abi_check.verdict.result import Result, Waived


def _where(span: Span) -> dict[str, object]:
    return {"path": span.path, "line": span.line, "column": span.col}


def _waived(w: Waived) -> dict[str, object]:
    return {**w.finding.to_dict(), "waiver": {"reason": w.reason, "location": _where(w.where), "expires": w.expires}}

SCHEMA_ID = "https://abi-check.dev/schema/result-v1.json"


def to_data(result: Result) -> dict[str, object]:
    return {
        "$schema": SCHEMA_ID,
        "tool": {"name": "abi-check", "version": result.version},
        "command": result.command,
        "inputs": list(result.inputs),
        "rules": list(result.rules),
        "summary": result.counts(),
        "pairs": [
            {
                "source": p.source,
                "destination": p.destination,
                "verdict": p.verdict,
                "findings": [f.to_dict() for f in p.findings],
                "waived": [_waived(w) for w in p.waived],
            }
            for p in result.pairs
        ],
        "fail-on": result.fail_on.value,
        "waivers": [
            {"status": n.status, "location": _where(n.where), "message": n.message} for n in result.waiver_notes
        ],
        **result.extra,
    }


def render(result: Result, color: bool = False) -> str:
    return json.dumps(to_data(result), indent=2) + "\n"
