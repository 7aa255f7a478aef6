"""The fence report: a kernel x VMM grid, the fence, and the rule that keeps each earlier combination unsafe."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

from abi_check.report.formats import Format, reporter
from abi_check.report.markdown import md_cell
from abi_check.report.wrap import wrap
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import Result


@dataclass(frozen=True, slots=True)
class Blocking:
    """The migration shown for an unsafe combination: its hosts, the rules at the threshold, the first message."""

    source: str
    destination: str
    rules: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class FenceCell:
    """One kernel x VMM combination: fence, safe, unsafe (with the pair that blocks it) or invalid (and why)."""

    kernel: str
    vmm: str
    status: str  # fence | safe | unsafe | invalid
    rules: tuple[str, ...]  # every rule that keeps it unsafe, the blocking pair's first
    errors: tuple[str, ...]  # invalid: why the kernel and VMM cannot make a VM together
    blocking: Blocking | None = None

    @property
    def label(self) -> str:
        return f"{self.kernel} + {self.vmm}"


@dataclass(frozen=True, slots=True)
class FenceReport:
    kernels: tuple[str, ...]
    vmms: tuple[str, ...]
    cpus: tuple[str, ...]
    vcpus: int
    limit: Severity
    cells: tuple[tuple[FenceCell, ...], ...]  # [kernel][vmm]
    fence: tuple[FenceCell, ...]  # minimal safe combinations, earliest kernel first
    result: Result

    def to_data(self) -> dict[str, object]:
        def cell(c: FenceCell) -> dict[str, object]:
            first = c.blocking
            return {
                "kernel": c.kernel,
                "vmm": c.vmm,
                "status": c.status,
                "rules": list(c.rules),
                "errors": list(c.errors),
                "blocking": None if first is None else {
                    "source": first.source,
                    "destination": first.destination,
                    "rules": list(first.rules),
                },
            }

        return {
            "kernels": list(self.kernels),
            "vmms": list(self.vmms),
            "cpus": list(self.cpus),
            "vcpus": self.vcpus,
            "unsafe-at": self.limit.value,
            "fence": [{"kernel": c.kernel, "vmm": c.vmm} for c in self.fence],
            "cells": [cell(c) for row in self.cells for c in row],
        }


MARK = {"fence": "F", "safe": ".", "unsafe": "x", "invalid": "-"}
ICON = {"fence": "🚧 fence", "safe": "✅", "unsafe": "❌", "invalid": "— invalid"}


def render(report: FenceReport, fmt: Format, color: bool = False, width: int | None = None) -> str:
    """Text and Markdown have their own layout; JSON and any later format get the common result shape (the pair
    that blocks each unsafe combination), with the grid under the key ``fence``."""
    if fmt is Format.TEXT:
        return text(report, color, width)
    if fmt is Format.MARKDOWN:
        return markdown(report)
    result = replace(report.result, extra={**report.result.extra, "fence": report.to_data()})
    return reporter(fmt)(result, color)


def _headline(report: FenceReport) -> str:
    if not report.fence:
        return "no fence: no combination is valid"
    first, *rest = report.fence
    also = f" (also minimal: {', '.join(c.label for c in rest)})" if rest else ""
    return f"fence at {first.label}{also}"


def _scope(report: FenceReport) -> str:
    return (f"{len(report.kernels)} kernel(s) x {len(report.vmms)} VMM(s) on {', '.join(report.cpus)}, "
            f"{report.vcpus} vCPUs; unsafe: any {report.limit.value} or worse, in either direction")


def _why(cell: FenceCell, arrow: str = "->") -> str:
    if cell.status == "invalid" or cell.blocking is None:
        return "invalid: " + "; ".join(cell.errors)
    first = cell.blocking
    return f"{', '.join(cell.rules)}; e.g. {first.source} {arrow} {first.destination}: {first.message}"


def text(report: FenceReport, color: bool = False, width: int | None = None) -> str:
    """``width``: wrap lines at spaces to it (a terminal); None keeps them whole."""
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=120, highlight=False, soft_wrap=True)
    out = console.print
    out(f"[bold]{escape(_headline(report))}[/]")
    out(f"  {escape(_scope(report))}")
    names = max(len(k) for k in report.kernels) if report.kernels else 0
    out("  " + " " * names + "  " + "  ".join(f"{j + 1}" for j in range(len(report.vmms))))
    for kernel, row in zip(report.kernels, report.cells, strict=True):
        out(f"  {escape(kernel):<{names}}  " + "  ".join(MARK[c.status] for c in row))
    for j, vmm in enumerate(report.vmms):
        out(f"  {j + 1}: {escape(vmm)}")
    out("  F fence, . safe (after the fence), x unsafe, - invalid combination")
    listed = [c for row in report.cells for c in row if c.status in ("unsafe", "invalid")]
    if listed:
        out("[bold]before the fence[/]:")
    for cell in listed:
        style = "bold red" if cell.status == "unsafe" else "dim"
        out(f"  [{style}]{escape(cell.label)}[/]: {escape(_why(cell))}")
    return wrap(buffer.getvalue(), width)



def markdown(report: FenceReport) -> str:
    lines = [
        f"### abi-check fence: {md_cell(_headline(report))}",
        "",
        md_cell(_scope(report)),
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
        lines += [f"- **{md_cell(c.label)}**: {md_cell(_why(c, '→'))}" for c in listed]
    return "\n".join(lines) + "\n"
