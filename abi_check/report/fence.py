"""The fence report: a kernel x VMM grid, the fence, and the rule that keeps each earlier combination unsafe."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import TYPE_CHECKING

from abi_check.report.formats import Format, reporter

if TYPE_CHECKING:
    from abi_check.commands.fence import Cell, FenceReport

MARK = {"fence": "F", "safe": ".", "unsafe": "x", "invalid": "-"}
ICON = {"fence": "🚧 fence", "safe": "✅", "unsafe": "❌", "invalid": "— invalid"}


def render(report: FenceReport, fmt: Format, color: bool = False) -> str:
    """Text and Markdown have their own layout; JSON and any later format get the common result shape (the pair
    that blocks each unsafe combination), with the grid under the key ``fence``."""
    if fmt is Format.TEXT:
        return text(report, color)
    if fmt is Format.MARKDOWN:
        return markdown(report)
    result = replace(report.result, extra={**report.result.extra, "fence": report.to_data()})
    return reporter(fmt)(result, color)


def _headline(report: FenceReport) -> str:
    if not report.fence:
        return "no fence: no combination is valid"
    first, *rest = report.fence
    also = f" (also minimal: {', '.join(c.combination.label for c in rest)})" if rest else ""
    return f"fence at {first.combination.label}{also}"


def _scope(report: FenceReport) -> str:
    return (f"{len(report.kernels)} kernel(s) x {len(report.vmms)} VMM(s) on {', '.join(report.cpus)}, "
            f"{report.vcpus} vCPUs; unsafe: any {report.limit.value} or worse, in either direction")


def _why(cell: Cell, arrow: str = "->") -> str:
    if cell.status == "invalid":
        return "invalid: " + "; ".join(cell.combination.errors)
    first = cell.reasons[0]
    message = next(f.message for f in first.pair.findings if f.rule == first.rules[0])
    return f"{', '.join(cell.rules)}; e.g. {first.pair.source} {arrow} {first.pair.destination}: {message}"


def text(report: FenceReport, color: bool = False) -> str:
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    out = console.print
    out(f"[bold]{escape(_headline(report))}[/]")
    out(f"  {escape(_scope(report))}")
    width = max(len(k) for k in report.kernels) if report.kernels else 0
    out("  " + " " * width + "  " + "  ".join(f"{j + 1}" for j in range(len(report.vmms))))
    for kernel, row in zip(report.kernels, report.cells, strict=True):
        out(f"  {escape(kernel):<{width}}  " + "  ".join(MARK[c.status] for c in row))
    for j, vmm in enumerate(report.vmms):
        out(f"  {j + 1}: {escape(vmm)}")
    out("  F fence, . safe (after the fence), x unsafe, - invalid combination")
    listed = [c for row in report.cells for c in row if c.status in ("unsafe", "invalid")]
    if listed:
        out("[bold]before the fence[/]:")
    for cell in listed:
        style = "bold red" if cell.status == "unsafe" else "dim"
        out(f"  [{style}]{escape(cell.combination.label)}[/]: {escape(_why(cell))}")
    return buffer.getvalue()


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def markdown(report: FenceReport) -> str:
    lines = [
        f"### abi-check fence: {_cell(_headline(report))}",
        "",
        _cell(_scope(report)),
        "",
        "| kernel | " + " | ".join(f"`{v}`" for v in report.vmms) + " |",
        "|---|" + "---|" * len(report.vmms),
    ]
    for kernel, row in zip(report.kernels, report.cells, strict=True):
        cells = [ICON[c.status] + (f" `{c.rules[0]}`" if c.rules else "") for c in row]
        lines.append(f"| `{kernel}` | " + " | ".join(cells) + " |")
    listed = [c for row in report.cells for c in row if c.status in ("unsafe", "invalid")]
    if listed:
        lines += ["", "#### Before the fence", ""]
        lines += [f"- **{_cell(c.combination.label)}**: {_cell(_why(c, '→'))}" for c in listed]
    return "\n".join(lines) + "\n"
