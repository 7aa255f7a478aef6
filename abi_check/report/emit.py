"""The end of every checking command: render the result in the chosen format, write it, return the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from abi_check.report.formats import Format, reporter
from abi_check.report.output import write_output
from abi_check.verdict.result import Result, exit_code


def emit(result: Result, fmt: Format, output: Path | None) -> int:
    """Waived findings never count; a crashed rule always sets bit 1, whatever the format or threshold."""
    color = fmt is Format.TEXT and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if fmt is Format.TEXT:
        from abi_check.report.text import render as text
        from abi_check.report.wrap import text_width

        report = text(result, color, text_width(output))
    else:
        report = reporter(fmt)(result, color)
    # a file that cannot be written is an input error
    write_output(report, output, terminal=color)
    return exit_code(result.findings, result.fail_on)


def emit_all(result: Result, fmt: Format, output: Path | None, files: Sequence[tuple[Format, Path]]) -> int:
    """One run, several reports: each extra format written whole to its file, then the main one."""
    for extra, path in files:
        write_output(reporter(extra)(result, False), path)
    return emit(result, fmt, output)
