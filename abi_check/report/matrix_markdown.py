"""Markdown matrix (for a review or a wiki page): the grid, the legend, domains and what separates them."""

from __future__ import annotations

from collections.abc import Iterator

from abi_check.report.markdown import ICON, md_cell
from abi_check.report.matrix_report import MatrixReport

SYMBOL = {"compatible": "✅", "abi-change": "⚠️", "fails": "❌"}
GRID_LIMIT = 60


def render(report: MatrixReport, color: bool = False) -> Iterator[str]:
    names = report.names
    m = report.matrix
    s = report.summary()
    out = [
        f"### abi-check matrix: {s['hosts']} hosts, {s['compatible']} compatible, {s['abi-change']} guest ABI "
        f"change, {s['fails']} fail of {s['cells']} pairs",
        "",
    ]
    if len(names) <= GRID_LIMIT:
        out.append("| # | source → destination | " + " | ".join(str(n + 1) for n in range(len(names))) + " |")
        out.append("|---|---|" + "---|" * len(names))
        for a, name in enumerate(names):
            row = " | ".join(SYMBOL[m.outcome(a, b).verdict] for b in range(len(names)))
            out.append(f"| {a + 1} | {md_cell(name)} | {row} |")
        out += ["", "Legend: " + ", ".join(ICON[v] for v in SYMBOL), ""]
    out += [f"#### Migration domains ({len(report.domains)})", ""]
    for domain in report.domains:
        members = ", ".join(md_cell(names[h]) for h in domain.hosts)
        out.append(f"- **D{domain.index + 1}** ({len(domain.hosts)}): {members}")
    if report.separations:
        out += ["", "#### What separates them", "", "| domains | rule | host pairs | example |", "|---|---|---|---|"]
        for sep in report.separations:
            src, dst = sep.example
            out.append(f"| D{sep.a + 1} ↔ D{sep.b + 1} | `{sep.rule}` | {sep.pairs} of {sep.total} | "
                       f"{md_cell(names[src])} → {md_cell(names[dst])} |")
    if len(names) <= GRID_LIMIT:
        out += ["", "#### Pairs that do not work", ""]
        for a, b, outcome in report.cells():
            if outcome.works(report.fail_on):
                continue
            out.append(f"- {md_cell(names[a])} → {md_cell(names[b])}: {ICON[outcome.verdict]} ("
                       + ", ".join(f"`{r}`" for r in outcome.blocking(report.fail_on)) + ")")
    out += ["", f"<sub>abi-check {report.version}; fail-on {report.fail_on.value}; "
                f"inputs: {md_cell(', '.join(report.inputs))}</sub>", ""]
    yield "\n".join(out)
