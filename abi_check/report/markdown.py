"""Markdown report (a pull-request comment): a verdict table, then the findings of each failing pair."""

from __future__ import annotations

from abi_check.errors import printable
from abi_check.report.groups import RootCause, grouped, pair_list, root_causes
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result

ICON = {"compatible": "✅ compatible", "abi-change": "⚠️ guest ABI change", "fails": "❌ fails"}
SEVERITY_ICON = {Severity.ERROR: "❌ error", Severity.WARNING: "⚠️ warning", Severity.NOTE: "📝 note"}
# GitHub refuses a comment over 65,536 characters; stay well under it, with room for the closing lines.
COMMENT_LIMIT = 65_536
BUDGET = 60_000


def md_cell(text: str) -> str:
    """Text for one Markdown table cell: no column break, no line break, no markup, no control character."""
    return printable(text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;"))


# Lists in the gate's header (changed files, affected hosts) name this many; a comment has a size limit.
LISTED = 20


def _names(items: list[object]) -> str:
    shown = ", ".join(md_cell(str(h)) for h in items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _gate_lines(result: Result) -> list[str]:
    """What a gate compared: the ref, the files the change touched and the hosts it affects."""
    gate = result.extra.get("gate")
    if not isinstance(gate, dict):
        return []
    changed = [c for c in gate.get("changed") or [] if isinstance(c, dict)]
    files = ", ".join(f"`{md_cell(str(c['path']))}` ({c['status']})" for c in changed[:LISTED])
    files += f" and {len(changed) - LISTED} more" if len(changed) > LISTED else ""
    out = ["", f"Against `{gate.get('against')}` (`{str(gate.get('commit', ''))[:12]}`): {files or 'no spec changed'}."]
    affected = gate.get("affected-hosts") or []
    synthetic = gate.get("synthetic-hosts") or []
    if isinstance(affected, list) and affected:
        out.append(f"Affected hosts ({len(affected)}): {_names(affected)}.")
    if isinstance(synthetic, list) and synthetic:
        out.append(f"Checked on synthetic hosts ({len(synthetic)}): {_names(synthetic)}.")
    out.append(f"{gate.get('evaluated-pairs', 0)} pair(s) evaluated; only findings the change introduces are listed.")
    return out


def render(result: Result, color: bool = False) -> str:
    if grouped(result):
        return _render_causes(result)
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
        out.append(f"| {md_cell(pair.source)} | {md_cell(pair.destination)} | {ICON[pair.verdict]} | "
                   f"{n[Severity.ERROR]} | {n[Severity.WARNING]} | {n[Severity.NOTE]} |")
    for pair in result.pairs:
        if not pair.findings and not pair.waived:
            continue
        out += ["", f"#### {md_cell(pair.source)} → {md_cell(pair.destination)}", ""]
        for f in pair.findings:
            where = f" (`{f.span}`)" if f.span else ""
            out.append(f"- **{f.severity.value}** `{f.rule}`{where}: {md_cell(f.message)}  ")
            out.append(f"  fix: {md_cell(f.fix)}")
        for w in pair.waived:
            where = f" (`{w.finding.span}`)" if w.finding.span else ""
            f = w.finding
            out.append(f"- ~~{f.severity.value}~~ waived `{f.rule}`{where}: {md_cell(f.message)}  ")
            out.append(f"  reason: {md_cell(w.reason)} (`{w.where}`)")
    if result.waiver_notes:
        out += ["", "#### Waivers to review", ""]
        out += [f"- {n.status} (`{n.where}`): {md_cell(n.message)}" for n in result.waiver_notes]
    out.append("")
    out.append(f"<sub>abi-check {result.version}; rules: {len(result.rules)}</sub>")
    return "\n".join(out) + "\n"


def _outputs(result: Result) -> list[str]:
    """The other files the same run wrote (the full report, when this comment is cut short)."""
    gate = result.extra.get("gate")
    written = gate.get("outputs") if isinstance(gate, dict) else None
    if not isinstance(written, list):
        return []
    return [f"`{md_cell(str(o['path']))}` ({o['format']})" for o in written
            if isinstance(o, dict) and o.get("format") != "markdown"]


def _cause_block(cause: RootCause, reason: str | None = None) -> list[str]:
    f = cause.example
    where = f" at `{md_cell(str(f.span))}`" if f.span else ""
    subject = f" `{md_cell(f.subject)}`" if f.subject else ""
    head = f"~~{f.severity.value}~~ waived" if reason is not None else f"**{f.severity.value}**"
    out = ["", f"- {head} `{f.rule}`{subject}{where}, on {len(cause.findings)} pair(s): {md_cell(f.message)}  ",
           f"  fix: {md_cell(f.fix)}  "]
    if reason is not None:
        out.append(f"  reason: {md_cell(reason)}  ")
    out.append(f"  pairs: {md_cell(pair_list(cause, 8)).replace(' -&gt; ', ' → ')}")
    return out


def _render_causes(result: Result) -> str:
    """The gate's comment: each root cause once, most severe first, cut before GitHub's limit with a pointer to
    the full report."""
    counts = result.counts()
    causes = root_causes(result.findings)
    reasons = {id(w.finding): w.reason for w in result.waived}
    waived = root_causes(w.finding for w in result.waived)
    head = [
        f"### abi-check {result.command}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s) in {len(causes)} root cause(s)"
        + (f", {len(result.waived)} waived" if result.waived else ""),
        *_gate_lines(result),
    ]
    verdicts = [p.verdict for p in result.pairs]
    head.append(f"{len(result.pairs)} pair(s) reported: {verdicts.count('fails')} {ICON['fails']}, "
                f"{verdicts.count('abi-change')} {ICON['abi-change']}, {verdicts.count('compatible')} "
                f"{ICON['compatible']}.")
    if causes:
        head += ["", "| severity | rule | subject | where | pairs |", "|---|---|---|---|---|"]
    rows = [f"| {SEVERITY_ICON[c.severity]} | `{c.rule}` | {f'`{md_cell(c.subject)}`' if c.subject else '-'} | "
            f"{f'`{md_cell(str(c.span))}`' if c.span else '-'} | {len(c.findings)} |" for c in causes]
    blocks = [[row] for row in rows]
    if causes:
        blocks.append(["", "#### Root causes"])
    blocks += [_cause_block(c) for c in causes]
    if waived:
        blocks.append(["", "#### Waived"])
        blocks += [_cause_block(c, reasons.get(id(c.example), "")) for c in waived]
    if result.waiver_notes:
        blocks.append(["", "#### Waivers to review", ""])
        blocks += [[f"- {n.status} (`{n.where}`): {md_cell(n.message)}"] for n in result.waiver_notes]
    footer = ["", f"<sub>abi-check {result.version}; rules: {len(result.rules)}</sub>"]
    out = list(head)
    size = sum(len(line) + 1 for line in out + footer)
    shown = 0
    for block in blocks:
        cost = sum(len(line) + 1 for line in block)
        if size + cost > BUDGET:
            break
        out += block
        size += cost
        shown += 1
    if shown < len(blocks):
        full = ", ".join(_outputs(result)) or "`abi-check gate` with `--format text` or `--format sarif=FILE`"
        out += ["", f"**Cut short:** {len(blocks) - shown} more part(s) of this report are not shown (a comment "
                f"holds at most {COMMENT_LIMIT:,} characters). The full report: {full}."]
    return "\n".join(out + footer) + "\n"
