"""Markdown report (a pull-request comment): a verdict table, then the findings of each failing pair."""

from __future__ import annotations

from abi_check.findings import Severity
from abi_check.result import Result

ICON = {"compatible": "✅ compatible", "abi-change": "⚠️ guest ABI change", "fails": "❌ fails"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def render(result: Result, color: bool = False) -> str:
    counts = result.counts()
    out = [
        f"### abi-check {result.command}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)",
        "",
        "| source | destination | verdict | errors | warnings | notes |",
        "|---|---|---|---|---|---|",
    ]
    for pair in result.pairs:
        n = {s: sum(f.severity is s for f in pair.findings) for s in Severity}
        out.append(f"| {_cell(pair.source)} | {_cell(pair.destination)} | {ICON[pair.verdict]} | "
                   f"{n[Severity.ERROR]} | {n[Severity.WARNING]} | {n[Severity.NOTE]} |")
    for pair in result.pairs:
        if not pair.findings:
            continue
        out += ["", f"#### {_cell(pair.source)} → {_cell(pair.destination)}", ""]
        for f in pair.findings:
            where = f" (`{f.span}`)" if f.span else ""
            out.append(f"- **{f.severity.value}** `{f.rule}`{where}: {_cell(f.message)}  ")
            out.append(f"  fix: {_cell(f.fix)}")
    out.append("")
    out.append(f"<sub>abi-check {result.version}; rules: {len(result.rules)}</sub>")
    return "\n".join(out) + "\n"
