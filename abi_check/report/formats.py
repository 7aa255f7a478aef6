"""The output formats and the function that renders each: one module per format, imported only when used."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from abi_check.errors import InputError
from abi_check.verdict.result import Result

if TYPE_CHECKING:
    from abi_check.report.matrix_report import MatrixReport


class Format(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"


def reporter(fmt: Format) -> Callable[[Result, bool], str]:
    """The render function of a format; ``color`` only matters to terminal formats."""
    if fmt is Format.TEXT:
        from abi_check.report.text import render as text

        return text
    if fmt is Format.JSON:
        from abi_check.report.json import render as json

        return json
    if fmt is Format.MARKDOWN:
        from abi_check.report.markdown import render as markdown

        return markdown
    if fmt is Format.SARIF:
        from abi_check.report.sarif import render as sarif

        return sarif
    if fmt is Format.JUNIT:
        from abi_check.report.junit import render as junit

        return junit
    if fmt is Format.GITHUB:
        from abi_check.report.github import render as github

        return github
    assert_never(fmt)


def parse_formats(values: Sequence[str]) -> tuple[Format, list[tuple[Format, Path]]]:
    """``--format`` given as ``F`` (the report on stdout or --output; at most one, default text) or ``F=PATH``
    (also written to PATH, repeatable): one run writes every format a CI job needs."""
    import difflib

    names = [f.value for f in Format]
    main: list[Format] = []
    files: list[tuple[Format, Path]] = []
    for value in values:
        name, eq, path = value.partition("=")
        if name.strip() not in names:
            close = difflib.get_close_matches(name.strip(), names, n=1)
            raise InputError(None, f"--format {value}: no format '{name}'",
                             f"did you mean '{close[0]}'?" if close else f"one of {', '.join(names)}, as F or F=PATH")
        fmt = Format(name.strip())
        if not eq:
            main.append(fmt)
        elif not path:
            raise InputError(None, f"--format {value}: no file after '='", f"write --format {name}=FILE")
        elif any(Path(path) == p for _, p in files):
            raise InputError(None, f"--format {value}: {path} is named twice", "give each format its own file")
        else:
            files.append((fmt, Path(path)))
    if len(main) > 1:
        raise InputError(None, f"--format given {len(main)} times without a file",
                         "one format goes to stdout (or --output); write the others as F=PATH")
    return (main[0] if main else Format.TEXT), files


class DescribeFormat(enum.StrEnum):
    """``show`` and ``diff``: a person's view or the data."""

    TEXT = "text"
    JSON = "json"


class MatrixFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"


# Formats made from every pair's findings, through the same reporters as pair and gate.
RESULT_FORMATS = {
    MatrixFormat.SARIF: Format.SARIF,
    MatrixFormat.JUNIT: Format.JUNIT,
    MatrixFormat.GITHUB: Format.GITHUB,
}


def matrix_reporter(fmt: MatrixFormat) -> Callable[[MatrixReport, bool], Iterable[str]]:
    if fmt is MatrixFormat.TEXT:
        from abi_check.report.matrix_text import render as text

        return text
    if fmt is MatrixFormat.JSON:
        return lambda report, color: report.json_chunks()
    if fmt is MatrixFormat.CSV:
        from abi_check.report.matrix_csv import render as csv

        return csv
    if fmt is MatrixFormat.MARKDOWN:
        from abi_check.report.matrix_markdown import render as markdown

        return markdown
    if fmt is MatrixFormat.HTML:
        from abi_check.report.matrix_html import render as html

        return html
    raise ValueError(f"{fmt} is rendered from a Result")
