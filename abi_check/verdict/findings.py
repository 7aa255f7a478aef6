"""Findings: what a rule reports about one (source, destination) pair, totally ordered and fingerprinted."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from abi_check.errors import Span


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}[self]


INTERNAL_ERROR = "internal-error"


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem of one pair. Fields are ordered so that sorting gives a stable report order."""

    severity_rank: int
    rule: str
    source: str
    destination: str
    subject: str
    severity: Severity
    message: str
    fix: str
    reference: str
    span: Span | None
    category: str

    @property
    def fingerprint(self) -> str:
        """12 hex digits that stay the same while the rule, the hosts and the subject do."""
        import hashlib  # OpenSSL's loader: only the formats that print fingerprints pay for it

        key = "\0".join((self.rule, self.source, self.destination, self.subject))
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "category": self.category,
            "source": self.source,
            "destination": self.destination,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
            "reference": self.reference,
            "location": None
            if self.span is None
            else {"path": self.span.path, "line": self.span.line, "column": self.span.col},
            "fingerprint": self.fingerprint,
        }


def make_finding(
    *,
    rule: str,
    severity: Severity,
    source: str,
    destination: str,
    subject: str,
    message: str,
    fix: str,
    reference: str,
    span: Span | None,
    category: str,
) -> Finding:
    return Finding(severity.rank, rule, source, destination, subject, severity, message, fix, reference, span, category)
