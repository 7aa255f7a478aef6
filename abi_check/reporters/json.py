"""JSON report: every pair and finding, in the shape of docs/schema/result.schema.json."""

from __future__ import annotations

import json

from abi_check.result import Result

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
            }
            for p in result.pairs
        ],
        **result.extra,
    }


def render(result: Result, color: bool = False) -> str:
    return json.dumps(to_data(result), indent=2) + "\n"
