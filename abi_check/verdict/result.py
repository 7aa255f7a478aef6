"""The result of a run (pairs and findings) and the exit code it maps to."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from abi_check import __version__
from abi_check.errors import Span
from abi_check.exitcodes import ExitCode
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity


class FailOn(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class PairResult:
    """The findings of one directional pair, the waived ones apart."""

    source: str
    destination: str
    findings: tuple[Finding, ...]
    # Findings a waiver accepted: reported, never counted in the verdict or the exit code.
    waived: tuple[Waived, ...] = ()

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
    """Everything a checking command found, as reporters take it."""

    command: str
    pairs: tuple[PairResult, ...]
    inputs: tuple[str, ...]
    rules: tuple[str, ...]
    version: str = __version__
    extra: dict[str, object] = field(default_factory=dict)
    fail_on: FailOn = FailOn.WARNING
    rule_docs: tuple[RuleDoc, ...] = ()
    waiver_notes: tuple[WaiverNote, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.pairs for f in p.findings]

    @property
    def waived(self) -> list[Waived]:
        return [w for p in self.pairs for w in p.waived]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for finding in self.findings:
            out[finding.severity.value] += 1
        return out


def exit_code(findings: Sequence[Finding], fail_on: FailOn) -> int:
    """The README's exit codes: 8 migration fails, 4 guest-visible change, combined; 1 when a rule crashed."""
    code = 0
    if any(f.rule == INTERNAL_ERROR for f in findings):
        code |= ExitCode.TOOL_FAILURE
    for finding in findings:
        if at_threshold(finding, fail_on):
            code |= ExitCode.MIGRATION_FAILS if finding.severity is Severity.ERROR else ExitCode.ABI_CHANGE
    return code


def answer_exit_code(findings: Sequence[Finding], fail_on: FailOn | None) -> int:
    """Commands that answer a question (baseline, fence) exit 0 once the answer is written; given --fail-on,
    they exit as a check does. A crashed rule sets bit 1 either way: a tool failure never looks like success."""
    if fail_on is None:
        return ExitCode.TOOL_FAILURE if any(f.rule == INTERNAL_ERROR for f in findings) else ExitCode.OK
    return exit_code(findings, fail_on)


def at_threshold(finding: Finding, fail_on: FailOn) -> bool:
    """Whether a finding is at or above the failure threshold (an internal error counts as a tool failure)."""
    if fail_on is FailOn.NEVER or finding.rule == INTERNAL_ERROR:
        return False
    threshold = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2}[fail_on]
    return finding.severity.rank <= threshold


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """What a report needs to know about a rule (SARIF rule metadata), with the severity in force."""

    id: str
    name: str
    summary: str
    description: str
    severity: Severity
    category: str
    reference: str


@dataclass(frozen=True, slots=True)
class Waived:
    """A finding a waiver accepted, with the reason written in the waiver file."""

    finding: Finding
    reason: str
    where: Span
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class WaiverNote:
    """A waiver that needs attention: ``stale`` (matches nothing) or ``expired`` (matches, but no longer waives)."""

    status: str
    where: Span
    message: str
