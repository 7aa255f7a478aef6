"""CSV: the distinct outcomes once, then the grid of cells as outcome numbers, for spreadsheets and scripts.

Two tables separated by an empty line: ``outcome,verdict,errors,warnings,notes,rules`` (one row per distinct
outcome), then ``source,<destination>...`` with one row per source host whose cells are outcome numbers. A
million-cell matrix is a few megabytes instead of one row per pair.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from abi_check.report.matrix_report import MatrixReport

COLUMNS = ("outcome", "verdict", "errors", "warnings", "notes", "rules")


def render(report: MatrixReport, color: bool = False) -> Iterator[str]:
    names = report.names
    outcomes, rows = report.joined_grid()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i, outcome in enumerate(outcomes):
        writer.writerow((i, outcome.verdict, *outcome.counts, " ".join(outcome.rules)))
    buffer.write("\n")
    writer.writerow(("source", *names))
    # A cell is a number, never quoted: csv writes the source's name (quoted as in the whole row: beside
    # another field), and the numbers are joined.
    name_only = io.StringIO()
    quoting = csv.writer(name_only, lineterminator="\n")
    for name, row in zip(names, rows, strict=True):
        name_only.seek(0)
        name_only.truncate()
        quoting.writerow((name, ""))
        buffer.write(name_only.getvalue()[:-1] + row + "\n")
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
