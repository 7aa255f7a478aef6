"""The result of a run (pairs and findings) and the exit code it maps to."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from abi_check import __version__
from abi_check.exitcodes import ExitCode
from abi_check.findings import INTERNAL_ERROR, Finding, Severity


class FailOn(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class PairResult:
    source: str
    destination: str
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> str:
        """compatible, abi-change (warnings) or fails (errors); notes do not change the verdict."""
        severities = {f.severity for f in self.findings}
        if Severity.ERROR in severities:
            return "fails"
        if Severity.WARNING in severities:
            return "abi-change"
        return "compatible"


@dataclass(frozen=True, slots=True)
class Result:
    command: str
    pairs: tuple[PairResult, ...]
    inputs: tuple[str, ...]
    rules: tuple[str, ...]
    version: str = __version__
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.pairs for f in p.findings]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for finding in self.findings:
            out[finding.severity.value] += 1
        return out


def exit_code(findings: Sequence[Finding], fail_on: FailOn) -> int:
    """PRODUCT.md: 8 migration fails, 4 guest-visible change, combined as a bitmask; 1 when a rule crashed."""
    code = 0
    if any(f.rule == INTERNAL_ERROR for f in findings):
        code |= ExitCode.TOOL_FAILURE
    if fail_on is FailOn.NEVER:
        return code
    threshold = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2}[fail_on]
    for finding in findings:
        if finding.rule == INTERNAL_ERROR or finding.severity.rank > threshold:
            continue
        code |= ExitCode.MIGRATION_FAILS if finding.severity is Severity.ERROR else ExitCode.ABI_CHANGE
    return code
