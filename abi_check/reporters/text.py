"""Terminal report: findings grouped by pair and severity, with fix, reference and YAML location."""

from __future__ import annotations

import io

from abi_check.findings import Severity
from abi_check.result import Result

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
VERDICT = {"compatible": "green", "abi-change": "yellow", "fails": "bold red"}


def render(result: Result, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape

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
        if not pair.findings:
            console.print("  no findings")
    counts = result.counts()
    console.print(
        f"{len(result.pairs)} pair(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)"
    )
    return buffer.getvalue()
