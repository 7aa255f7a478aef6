"""Root causes: the findings of many pairs that share a rule, a subject, a severity and a location, reported once.

A change to one kernel spec touches every pair of hosts built on it: the same finding, with the same cause, on
dozens of pairs. A reader (a pull-request comment, an annotation) wants the cause once, with the pairs it hits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from abi_check.errors import Span
from abi_check.verdict.findings import Finding, Severity
from abi_check.verdict.result import Result


@dataclass(frozen=True, slots=True)
class RootCause:
    """One (rule, severity, subject, location) and every finding that has it, in report order."""

    findings: tuple[Finding, ...]

    @property
    def example(self) -> Finding:
        return self.findings[0]

    @property
    def rule(self) -> str:
        return self.example.rule

    @property
    def severity(self) -> Severity:
        return self.example.severity

    @property
    def subject(self) -> str:
        return self.example.subject

    @property
    def span(self) -> Span | None:
        return self.example.span

    @property
    def pairs(self) -> list[str]:
        return [f"{f.source} -> {f.destination}" for f in self.findings]


def _key(f: Finding) -> tuple[int, str, str, str]:
    return (f.severity_rank, f.rule, f.subject, "" if f.span is None else str(f.span))


def root_causes(findings: Iterable[Finding]) -> list[RootCause]:
    """Findings grouped by cause, the most severe first, then by rule, subject and location; each group keeps
    its findings in the order they came (the first is the example a report quotes)."""
    groups: dict[tuple[int, str, str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault(_key(finding), []).append(finding)
    return [RootCause(tuple(groups[key])) for key in sorted(groups)]


def grouped(result: Result) -> bool:
    """Whether a report groups by root cause instead of by pair: the gate's, whose pairs share causes."""
    return result.command == "gate"


def pair_list(cause: RootCause, limit: int) -> str:
    """``a -> b, c -> d and 3 more``: the pairs a cause hits, at most ``limit`` of them named."""
    names = cause.pairs
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
