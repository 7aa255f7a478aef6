"""The baseline report: the reconciled set, its configuration, the other sets, and why each other host is out."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

from abi_check.report.formats import Format, reporter
from abi_check.report.markdown import md_cell
from abi_check.report.wrap import wrap
from abi_check.verdict.result import Result


@dataclass(frozen=True, slots=True)
class Obstacle:
    """One rule that keeps a host out of the set, the members it fails with, and why the baseline cannot help."""

    rule: str
    severity: str
    members: tuple[str, ...]
    reason: str
    example: str


@dataclass(frozen=True, slots=True)
class Excluded:
    host: str
    obstacles: tuple[Obstacle, ...]


@dataclass(frozen=True, slots=True)
class BaselineReport:
    """Everything the baseline reporters show; ``result`` carries the pairs for JSON and the exit code."""

    result: Result
    members: tuple[str, ...]
    configuration: tuple[tuple[str, str], ...]
    levels: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # path relative to the output directory -> YAML text
    output_dir: str | None
    check: tuple[str, ...]  # commands that check the written specs
    before: dict[str, int]
    after: dict[str, int]
    other_sets: tuple[tuple[str, ...], ...]
    excluded: tuple[Excluded, ...] = field(default_factory=tuple)

    def to_data(self) -> dict[str, object]:
        return {
            "members": list(self.members),
            "configuration": [{"what": w, "value": v} for w, v in self.configuration],
            "host-determined": [{"what": w, "value": v} for w, v in self.levels],
            "notes": list(self.notes),
            "files": [{"path": p, "text": t} for p, t in self.files],
            "output-dir": self.output_dir,
            "check": list(self.check),
            "verdicts-without-baseline": self.before,
            "verdicts-with-baseline": self.after,
            "other-sets": [list(s) for s in self.other_sets],
            "excluded": [
                {
                    "host": e.host,
                    "obstacles": [
                        {"rule": o.rule, "severity": o.severity, "members": list(o.members), "reason": o.reason,
                         "example": o.example}
                        for o in e.obstacles
                    ],
                }
                for e in self.excluded
            ],
        }


def render(report: BaselineReport, fmt: Format, color: bool = False, width: int | None = None) -> str:
    """Text and Markdown have their own layout; JSON and any later format get the common result shape, with the
    baseline under the key ``baseline``."""
    if fmt is Format.TEXT:
        return text(report, color, width)
    if fmt is Format.MARKDOWN:
        return markdown(report)
    result = replace(report.result, extra={**report.result.extra, "baseline": report.to_data()})
    return reporter(fmt)(result, color)


def _summary(report: BaselineReport) -> str:
    total = len(report.members) + len(report.excluded)
    return f"{len(report.members)} of {total} host(s) can share one configuration"


def text(report: BaselineReport, color: bool = False, width: int | None = None) -> str:
    """``width``: wrap lines at spaces to it (a terminal), never the files shown (YAML); None keeps them whole."""
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    out = console.print
    out(f"[bold]baseline[/]: {_summary(report)}")
    out(f"  set: {escape(', '.join(report.members))}")
    out("  configuration (written into every VMM of the set):")
    for what, value in report.configuration or (("nothing to change", ""),):
        out(f"    {escape(what):<28} {escape(value)}")
    if report.levels:
        shown = ", ".join(f"{w} {v}" for w, v in report.levels)
        out(f"  host-determined, equal on every host of the set: {escape(shown)}")
    b, a = report.before, report.after
    out(f"  checked: {a['compatible']} pair(s) compatible with the baseline, {a['abi-change']} ABI change, "
        f"{a['fails']} fail (without it: {b['compatible']} compatible, {b['abi-change']} ABI change, "
        f"{b['fails']} fail)")
    if report.output_dir is not None:
        out(f"  written to {escape(report.output_dir)}: {escape(', '.join(p for p, _ in report.files))}")
    out(f"  check with: {escape(' && '.join(report.check))}")
    for note in report.notes:
        out(f"  note: {escape(note)}")
    if report.other_sets:
        out("[bold]other sets that can be reconciled[/] (run baseline over one of them):")
        for hosts in report.other_sets:
            out(f"  {len(hosts)}: {escape(', '.join(hosts))}")
    if report.excluded:
        out("[bold]not reconciled with the set[/]:")
    for excluded in report.excluded:
        out(f"  [bold]{escape(excluded.host)}[/]")
        for o in excluded.obstacles:
            style = "bold red" if o.severity == "error" else "yellow"
            out(f"    [{style}]{o.severity}[/] [bold]{escape(o.rule)}[/] with {escape(_with(report, o.members))}")
            out(f"      why: {escape(o.reason)}")
            out(f"      e.g. {escape(o.example)}")
    cut = buffer.tell()  # the files below are YAML: never wrapped
    if report.output_dir is None:
        for path, body in report.files:
            out(f"--- {escape(path)}")
            out(escape(body.rstrip("\n")))
    value = buffer.getvalue()
    return wrap(value[:cut], width) + value[cut:]


def _with(report: BaselineReport, members: tuple[str, ...]) -> str:
    if len(members) == len(report.members) > 1:
        return f"every host of the set ({len(members)})"
    return ", ".join(members)



def markdown(report: BaselineReport) -> str:
    b, a = report.before, report.after
    lines = [
        f"### abi-check baseline: {_summary(report)}",
        "",
        f"**Set:** {', '.join(f'`{m}`' for m in report.members)}",
        "",
        "| configuration | value |",
        "|---|---|",
        *(f"| `{md_cell(w)}` | {md_cell(v)} |" for w, v in report.configuration),
        *(f"| `{md_cell(w)}` (host-determined) | {md_cell(v)} |" for w, v in report.levels),
        "",
        f"With the baseline: {a['compatible']} compatible, {a['abi-change']} ABI change, {a['fails']} fail "
        f"(without it: {b['compatible']} compatible, {b['abi-change']} ABI change, {b['fails']} fail).",
        "",
        *(f"- note: {md_cell(n)}" for n in report.notes),
    ]
    if report.other_sets:
        lines += ["", "#### Other sets that can be reconciled", ""]
        lines += [f"- {len(s)}: {', '.join(f'`{h}`' for h in s)}" for s in report.other_sets]
    if report.excluded:
        lines += ["", "#### Not reconciled with the set", "", "| host | rule | with | why |", "|---|---|---|---|"]
        for e in report.excluded:
            for o in e.obstacles:
                lines.append(f"| `{md_cell(e.host)}` | {o.severity} `{o.rule}` | {md_cell(_with(report, o.members))} | "
                             f"{md_cell(o.reason)} |")
    lines += ["", "Check with: " + " && ".join(f"`{c}`" for c in report.check)]
    if report.output_dir is None:
        for path, body in report.files:
            lines += ["", f"`{path}`", "", "```yaml", body.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"
