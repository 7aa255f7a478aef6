"""``abi-check show HOST...`` and ``abi-check diff A B``: what a host's guest sees, and how two hosts differ."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from abi_check.abi.delta import delta
from abi_check.abi.describe import Description, describe
from abi_check.abi.effective import effective_abi
from abi_check.exitcodes import ExitCode
from abi_check.report.describe import diff_json, diff_text, show_json, show_text
from abi_check.report.formats import DescribeFormat
from abi_check.report.output import write_output
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader, display_path


def _describe(paths: Sequence[Path], roots: Sequence[Path]) -> list[Description]:
    loader = SpecLoader(SpecRoots.for_inputs(list(paths), roots))
    return [describe(effective_abi(loader.load_host(p)), display_path(p)) for p in paths]


def run_show(hosts: Sequence[Path], *, fmt: DescribeFormat, roots: Sequence[Path], output: Path | None) -> int:
    descriptions = _describe(hosts, roots)
    write_output(show_json(descriptions) if fmt is DescribeFormat.JSON else show_text(descriptions), output)
    return ExitCode.OK


def run_diff(a: Path, b: Path, *, fmt: DescribeFormat, roots: Sequence[Path], output: Path | None) -> int:
    """Exit 0 whatever differs: a report, like ``git diff`` without ``--exit-code``."""
    first, second = _describe([a, b], roots)
    changes = delta(first, second)
    text = diff_json(first, second, changes) if fmt is DescribeFormat.JSON else diff_text(first, second, changes)
    write_output(text, output)
    return ExitCode.OK
