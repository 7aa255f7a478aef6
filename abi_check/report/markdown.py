"""Markdown report (a pull-request comment): a verdict table, then the findings of each failing pair."""

from __future__ import annotations

from abi_check.errors import printable
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result

ICON = {"compatible": "✅ compatible", "abi-change": "⚠️ guest ABI change", "fails": "❌ fails"}


def _cell(text: str) -> str:
    return printable(text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;"))


def _gate_lines(result: Result) -> list[str]:
    """What a gate compared: the ref, the files the change touched and the hosts it affects."""
    gate = result.extra.get("gate")
    if not isinstance(gate, dict):
        return []
    changed = gate.get("changed") or []
    files = ", ".join(f"`{c['path']}` ({c['status']})" for c in changed if isinstance(c, dict))
    out = ["", f"Against `{gate.get('against')}` (`{str(gate.get('commit', ''))[:12]}`): {files or 'no spec changed'}."]
    affected = gate.get("affected-hosts") or []
    synthetic = gate.get("synthetic-hosts") or []
    if isinstance(affected, list) and affected:
        out.append(f"Affected hosts: {', '.join(_cell(str(h)) for h in affected)}.")
    if isinstance(synthetic, list) and synthetic:
        out.append(f"Checked on synthetic hosts: {', '.join(_cell(str(h)) for h in synthetic)}.")
    out.append(f"{gate.get('evaluated-pairs', 0)} pair(s) evaluated; only findings the change introduces are listed.")
    return out


def render(result: Result, color: bool = False) -> str:
    counts = result.counts()
    out = [
        f"### abi-check {result.command}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)" + (f", {len(result.waived)} waived" if result.waived else ""),
        *_gate_lines(result),
        "",
        "| source | destination | verdict | errors | warnings | notes |",
        "|---|---|---|---|---|---|",
    ]
    for pair in result.pairs:
        n = {s: sum(f.severity is s for f in pair.findings) for s in Severity}
        out.append(f"| {_cell(pair.source)} | {_cell(pair.destination)} | {ICON[pair.verdict]} | "
                   f"{n[Severity.ERROR]} | {n[Severity.WARNING]} | {n[Severity.NOTE]} |")
    for pair in result.pairs:
        if not pair.findings and not pair.waived:
            continue
        out += ["", f"#### {_cell(pair.source)} → {_cell(pair.destination)}", ""]
        for f in pair.findings:
            where = f" (`{f.span}`)" if f.span else ""
            out.append(f"- **{f.severity.value}** `{f.rule}`{where}: {_cell(f.message)}  ")
            out.append(f"  fix: {_cell(f.fix)}")
        for w in pair.waived:
            where = f" (`{w.finding.span}`)" if w.finding.span else ""
            f = w.finding
            out.append(f"- ~~{f.severity.value}~~ waived `{f.rule}`{where}: {_cell(f.message)}  ")
            out.append(f"  reason: {_cell(w.reason)} (`{w.where}`)")
    if result.waiver_notes:
        out += ["", "#### Waivers to review", ""]
        out += [f"- {n.status} (`{n.where}`): {_cell(n.message)}" for n in result.waiver_notes]
    out.append("")
    out.append(f"<sub>abi-check {result.version}; rules: {len(result.rules)}</sub>")
    return "\n".join(out) + "\n"
