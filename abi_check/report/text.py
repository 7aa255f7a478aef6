"""Terminal report: findings grouped by pair and severity, with fix, reference and YAML location."""

from __future__ import annotations

import io

from abi_check.errors import printable
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
VERDICT = {"compatible": "green", "abi-change": "yellow", "fails": "bold red"}


def render(result: Result, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape as markup_escape

    def escape(text: str) -> str:
        return markup_escape(printable(text))

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    for pair in result.pairs:
        verdict = pair.verdict
        console.print(f"[bold]{escape(pair.source)} -> {escape(pair.destination)}[/]: [{VERDICT[verdict]}]{verdict}[/]")
        for severity in Severity:
            group = [f for f in pair.findings if f.severity is severity]
            if not group:
                continue
            console.print(f"  [{STYLE[severity]}]{severity.value}s ({len(group)})[/]")
            for f in group:
                where = f" at {f.span}" if f.span else ""
                console.print(
                    f"    [{STYLE[severity]}]{severity.value}[/] [bold]{escape(f.rule)}[/]: {escape(f.message)}"
                )
                console.print(f"      fix: {escape(f.fix)}")
                console.print(f"      see: {escape(f.reference)}{escape(where)}")
        if pair.waived:
            console.print(f"  waived ({len(pair.waived)})")
            for w in pair.waived:
                where = f" at {w.finding.span}" if w.finding.span else ""
                console.print(f"    waived {escape(w.finding.rule)}: {escape(w.finding.message)}{escape(where)}")
                console.print(f"      reason: {escape(w.reason)} ({escape(str(w.where))})")
        if not pair.findings and not pair.waived:
            console.print("  no findings")
    for note in result.waiver_notes:
        console.print(f"[yellow]{escape(str(note.where))}: {note.status} waiver[/]: {escape(note.message)}")
    counts = result.counts()
    console.print(
        f"{len(result.pairs)} pair(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)" + (f", {len(result.waived)} waived" if result.waived else "")
    )
    return buffer.getvalue()
