"""Terminal matrix: a grid of verdict symbols (colour is a second cue, not the only one), domains, summary."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from abi_check.errors import printable
from abi_check.report.matrix_report import MatrixReport
from abi_check.report.wrap import visible, wrap

SYMBOL = {"compatible": ("✓", "green"), "abi-change": ("~", "yellow"), "fails": ("✗", "bold red")}
GRID_LIMIT = 60  # hosts; a wider grid does not fit a terminal
LIST_LIMIT = 25


def render(report: MatrixReport, color: bool = False, width: int | None = None) -> Iterator[str]:
    """``width``: fit the grid to it (without the names, then not at all) and wrap the rest at spaces; None keeps
    today's lines (files, pipes)."""
    from rich.console import Console
    from rich.markup import escape as markup_escape

    def escape(text: str) -> str:
        return markup_escape(printable(text))

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=200, highlight=False,
                      soft_wrap=True)
    names = report.names
    if len(names) <= GRID_LIMIT:
        grid = _grid(report, color, escape, names=True)
        if width is not None and _widest(grid) > width:
            grid = _grid(report, color, escape, names=False)
            if _widest(grid) <= width:
                grid += "".join(f"{n + 1:>3}  {printable(name)}\n" for n, name in enumerate(names))
            else:
                grid = ""
        if width is not None:
            grid = "".join(line.rstrip(" ") + "\n" for line in grid.splitlines())
        if grid:
            buffer.write(grid)
            console.print(
                "legend: "
                + "  ".join(f"[{style}]{symbol}[/] {verdict}" for verdict, (symbol, style) in SYMBOL.items())
            )
        else:
            console.print(f"{len(names)} hosts: too many for a grid {width} columns wide; widen the terminal, or "
                          "use --format html, csv or json for the cells")
    else:
        console.print(f"{len(names)} hosts: too many for a grid here; use --format html, csv or json for the cells")
    console.print()
    console.print(f"[bold]migration domains[/] ({len(report.domains)}): every move inside one works both ways "
                  "(no error; a guest ABI change still moves)")
    for domain in report.domains[:LIST_LIMIT]:
        hosts = ", ".join(names[h] for h in domain.hosts[:12])
        more = f", and {len(domain.hosts) - 12} more" if len(domain.hosts) > 12 else ""
        console.print(f"  D{domain.index + 1} ({len(domain.hosts)}): {escape(hosts + more)}")
    if len(report.domains) > LIST_LIMIT:
        console.print(f"  ... and {len(report.domains) - LIST_LIMIT} more domains (see --format json)")
    if report.separations:
        console.print()
        console.print("[bold]what separates them[/] (the rule that fails the most host pairs between two domains)")
        for sep in report.separations[:LIST_LIMIT]:
            src, dst = sep.example
            console.print(
                f"  D{sep.a + 1} | D{sep.b + 1}: [bold]{escape(sep.rule)}[/] on {sep.pairs} of {sep.total} pairs "
                f"(e.g. {escape(names[src])} -> {escape(names[dst])})"
            )
        if len(report.separations) > LIST_LIMIT:
            console.print(f"  ... and {len(report.separations) - LIST_LIMIT} more (see --format json)")
    s = report.summary()
    console.print()
    console.print(
        f"{s['hosts']} hosts ({s['abis']} distinct ABIs), {s['cells']} pairs: {s['compatible']} compatible, "
        f"{s['abi-change']} guest ABI change, {s['fails']} fail; {s['domains']} domains"
    )
    yield wrap(buffer.getvalue(), width)


def _widest(text: str) -> int:
    return max((visible(line.rstrip()) for line in text.splitlines()), default=0)


def _grid(report: MatrixReport, color: bool, escape: Callable[[str], str], *, names: bool) -> str:
    """The verdict grid, rows numbered like the columns; with ``names``, each row also names its source."""
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=200, highlight=False,
                      soft_wrap=True)
    m = report.matrix
    table = Table(title="source (row) -> destination (column)", title_justify="left", show_edge=False,
                  pad_edge=False, box=None, padding=(0, 1))
    table.add_column("", justify="right")
    if names:
        table.add_column("source")
    for n in range(len(report.names)):
        table.add_column(str(n + 1), justify="center")
    for a, name in enumerate(report.names):
        row = []
        for b in range(len(report.names)):
            symbol, style = SYMBOL[m.outcome(a, b).verdict]
            row.append(f"[{style}]{symbol}[/]")
        table.add_row(str(a + 1), *([escape(name)] if names else []), *row)
    console.print(table)
    return buffer.getvalue()
