"""GitHub Actions workflow commands: one annotation per finding on the YAML line it comes from."""

from __future__ import annotations

from abi_check.errors import UNPRINTABLE, Span
from abi_check.report.groups import RootCause, grouped, pair_list, root_causes
from abi_check.report.locations import workspace_path
from abi_check.verdict.findings import Finding, Severity
from abi_check.verdict.result import Result

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(text: str) -> str:
    """The message part of a workflow command (after ``::``). Other control characters (terminal escapes) are
    percent-encoded too: GitHub shows them as written (%1B), and they never reach a log raw."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return UNPRINTABLE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), escaped)


def escape_property(text: str) -> str:
    """A property value (``file=``, ``title=``): also ``:`` and ``,``, which separate properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, span: Span | None, title: str) -> str:
    props: list[str] = []
    path = workspace_path(span) if span is not None else None
    if span is not None and path is not None:
        props += [f"file={escape_property(path)}", f"line={span.line}", f"col={span.col}"]
    elif span is not None:
        message = f"{message} (at {span})"  # not a file in the checkout: keep the place in the text
    props.append(f"title={escape_property(title)}")
    return f"::{kind} {','.join(props)}::{escape_data(message)}"


def _finding(f: Finding, kind: str, prefix: str = "", suffix: str = "") -> str:
    title = f"{prefix}{f.rule} ({f.source} -> {f.destination})"
    return command(kind, f"{f.message}\nfix: {f.fix}{suffix}", f.span, title)


def _cause(cause: RootCause, kind: str, prefix: str = "", suffix: str = "") -> str:
    f = cause.example
    title = f"{prefix}{f.rule} on {len(cause.findings)} pair(s)"
    message = f"{f.message}\nfix: {f.fix}\npairs: {pair_list(cause, 10)}{suffix}"
    return command(kind, message, f.span, title)


def _grouped(result: Result) -> list[str]:
    """The gate: one annotation per root cause (GitHub shows only a few per step, and one cause often repeats on
    every pair of the hosts a change touches)."""
    causes = root_causes(result.findings)
    lines = [_cause(c, COMMAND[c.severity]) for c in causes]
    reasons = {id(w.finding): w for w in result.waived}
    for cause in root_causes(w.finding for w in result.waived):
        w = reasons[id(cause.example)]
        lines.append(_cause(cause, "notice", "waived: ", f"\nwaived: {w.reason} ({w.where})"))
    lines += [command("warning", n.message, n.where, f"{n.status} waiver") for n in result.waiver_notes]
    counts = result.counts()
    lines.append(
        f"abi-check {result.command}: {len(result.pairs)} pair(s), {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['note']} note(s) in {len(causes)} root cause(s), "
        f"{len(result.waived)} waived"
    )
    return lines


def render(result: Result, color: bool = False) -> str:
    if grouped(result):
        return "\n".join(_grouped(result)) + "\n"
    lines = [_finding(f, COMMAND[f.severity]) for f in result.findings]
    lines += [_finding(w.finding, "notice", "waived: ", f"\nwaived: {w.reason} ({w.where})") for w in result.waived]
    lines += [command("warning", n.message, n.where, f"{n.status} waiver") for n in result.waiver_notes]
    counts = result.counts()
    lines.append(
        f"abi-check {result.command}: {len(result.pairs)} pair(s), {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['note']} note(s), {len(result.waived)} waived"
    )
    return "\n".join(lines) + "\n"
