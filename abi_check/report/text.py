"""Terminal report: findings grouped by pair and severity, with fix, reference and YAML location."""

from __future__ import annotations

from collections.abc import Callable

from abi_check.errors import printable
from abi_check.report import plain
from abi_check.report.groups import grouped, pair_list, root_causes
from abi_check.report.wrap import wrap
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
VERDICT = {"compatible": "green", "abi-change": "yellow", "fails": "bold red"}


def render(result: Result, color: bool = False, width: int | None = None) -> str:
    """``width``: wrap lines to it at spaces (a terminal); None keeps every finding on its line (files, pipes).
    In colour, rich prints the markup; without, report/plain.py gives the same characters without importing rich."""
    lines = markup(result)
    return wrap(plain.rich_render(lines, color=True) if color else plain.render(lines), width)


def escape(text: str) -> str:
    return plain.escape(printable(text))


def markup(result: Result) -> list[str]:
    """The report as rich console markup, one line per item; every text that came from input escaped."""
    out: list[str] = []
    if grouped(result):
        _causes(result, out.append, escape)
        return out
    say = out.append
    for pair in result.pairs:
        verdict = pair.verdict
        say(f"[bold]{escape(pair.source)} -> {escape(pair.destination)}[/]: [{VERDICT[verdict]}]{verdict}[/]")
        for severity in Severity:
            group = [f for f in pair.findings if f.severity is severity]
            if not group:
                continue
            say(f"  [{STYLE[severity]}]{severity.value}s ({len(group)})[/]")
            for f in group:
                where = f" at {f.span}" if f.span else ""
                say(f"    [{STYLE[severity]}]{severity.value}[/] [bold]{escape(f.rule)}[/]: {escape(f.message)}")
                say(f"      fix: {escape(f.fix)}")
                say(f"      see: {escape(f.reference)}{escape(where)}")
        if pair.waived:
            say(f"  waived ({len(pair.waived)})")
            for w in pair.waived:
                where = f" at {w.finding.span}" if w.finding.span else ""
                say(f"    waived {escape(w.finding.rule)}: {escape(w.finding.message)}{escape(where)}")
                say(f"      reason: {escape(w.reason)} ({escape(str(w.where))})")
        if not pair.findings and not pair.waived:
            say("  no findings")
    for note in result.waiver_notes:
        say(f"[yellow]{escape(str(note.where))}: {note.status} waiver[/]: {escape(note.message)}")
    counts = result.counts()
    say(
        f"{len(result.pairs)} pair(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['note']} note(s)" + (f", {len(result.waived)} waived" if result.waived else "")
    )
    return out


def _causes(result: Result, say: Callable[[str], None], escape: Callable[[str], str]) -> None:
    """The gate: each root cause once, with the pairs it hits (a kernel change repeats one cause on many)."""
    causes = root_causes(result.findings)
    for cause in causes:
        f, style = cause.example, STYLE[cause.severity]
        where = f" at {f.span}" if f.span else ""
        say(f"[{style}]{f.severity.value}[/] [bold]{escape(f.rule)}[/] on {len(cause.findings)} pair(s): "
            f"{escape(f.message)}")
        say(f"  fix: {escape(f.fix)}")
        say(f"  see: {escape(f.reference)}{escape(where)}")
        say(f"  pairs: {escape(pair_list(cause, 6))}")
    waived = root_causes(w.finding for w in result.waived)
    reasons = {id(w.finding): w for w in result.waived}
    for cause in waived:
        w = reasons[id(cause.example)]
        where = f" at {cause.span}" if cause.span else ""
        say(f"waived {escape(cause.rule)} on {len(cause.findings)} pair(s): {escape(cause.example.message)}"
            f"{escape(where)}")
        say(f"  reason: {escape(w.reason)} ({escape(str(w.where))})")
    for note in result.waiver_notes:
        say(f"[yellow]{escape(str(note.where))}: {note.status} waiver[/]: {escape(note.message)}")
    verdicts = [p.verdict for p in result.pairs]
    counts = result.counts()
    say(
        f"{len(result.pairs)} pair(s) reported ({verdicts.count('fails')} fail, {verdicts.count('abi-change')} "
        f"guest ABI change): {counts['error']} error(s), {counts['warning']} warning(s), {counts['note']} note(s) "
        f"in {len(causes)} root cause(s)" + (f", {len(result.waived)} waived" if result.waived else "")
    )
