"""CSV: one row per directional host pair, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from abi_check.report.matrix_report import MatrixReport

COLUMNS = ("source", "destination", "verdict", "errors", "warnings", "notes", "rules")


def render(report: MatrixReport, color: bool = False) -> Iterator[str]:
    names = report.names
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for a, b, outcome in report.cells():
        writer.writerow((names[a], names[b], outcome.verdict, *outcome.counts, " ".join(outcome.rules)))
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
