"""Terminal report: findings grouped by pair and severity, with fix, reference and YAML location."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from abi_check.errors import printable
from abi_check.report.groups import grouped, pair_list, root_causes
from abi_check.report.wrap import wrap
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result

if TYPE_CHECKING:
    from rich.console import Console

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
VERDICT = {"compatible": "green", "abi-change": "yellow", "fails": "bold red"}


def render(result: Result, color: bool = False, width: int | None = None) -> str:
    """``width``: wrap lines to it at spaces (a terminal); None keeps every finding on its line (files, pipes)."""
    from rich.console import Console
    from rich.markup import escape as markup_escape

    def escape(text: str) -> str:
        return markup_escape(printable(text))

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    if grouped(result):
        _causes(result, console, escape)
        return wrap(buffer.getvalue(), width)
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
    return wrap(buffer.getvalue(), width)


def _causes(result: Result, console: Console, escape: Callable[[str], str]) -> None:
    """The gate: each root cause once, with the pairs it hits (a kernel change repeats one cause on many)."""
    causes = root_causes(result.findings)
    for cause in causes:
        f, style = cause.example, STYLE[cause.severity]
        where = f" at {f.span}" if f.span else ""
        console.print(f"[{style}]{f.severity.value}[/] [bold]{escape(f.rule)}[/] on {len(cause.findings)} pair(s): "
                      f"{escape(f.message)}")
        console.print(f"  fix: {escape(f.fix)}")
        console.print(f"  see: {escape(f.reference)}{escape(where)}")
        console.print(f"  pairs: {escape(pair_list(cause, 6))}")
    waived = root_causes(w.finding for w in result.waived)
    reasons = {id(w.finding): w for w in result.waived}
    for cause in waived:
        w = reasons[id(cause.example)]
        where = f" at {cause.span}" if cause.span else ""
        console.print(f"waived {escape(cause.rule)} on {len(cause.findings)} pair(s): {escape(cause.example.message)}"
                      f"{escape(where)}")
        console.print(f"  reason: {escape(w.reason)} ({escape(str(w.where))})")
    for note in result.waiver_notes:
        console.print(f"[yellow]{escape(str(note.where))}: {note.status} waiver[/]: {escape(note.message)}")
    verdicts = [p.verdict for p in result.pairs]
    counts = result.counts()
    console.print(
        f"{len(result.pairs)} pair(s) reported ({verdicts.count('fails')} fail, {verdicts.count('abi-change')} "
        f"guest ABI change): {counts['error']} error(s), {counts['warning']} warning(s), {counts['note']} note(s) "
        f"in {len(causes)} root cause(s)" + (f", {len(result.waived)} waived" if result.waived else "")
    )
