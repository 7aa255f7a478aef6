"""Output formats: one module per format, each a function from a whole Result to text."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import assert_never

from abi_check.result import Result


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
        from abi_check.reporters.text import render as text

        return text
    if fmt is Format.JSON:
        from abi_check.reporters.json import render as json

        return json
    if fmt is Format.MARKDOWN:
        from abi_check.reporters.markdown import render as markdown

        return markdown
    if fmt is Format.SARIF:
        from abi_check.reporters.sarif import render as sarif

        return sarif
    if fmt is Format.JUNIT:
        from abi_check.reporters.junit import render as junit

        return junit
    if fmt is Format.GITHUB:
        from abi_check.reporters.github import render as github

        return github
    assert_never(fmt)
