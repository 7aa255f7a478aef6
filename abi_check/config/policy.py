"""Which rules run and at what severity: the part of the configuration that changes findings."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from abi_check.rules.engine import RuleSet
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity
from abi_check.verdict.result import RuleDoc


@dataclass(frozen=True, slots=True)
class Policy:
    """Severity overrides and disabled rules, by rule id. The default policy changes nothing."""

    severity: Mapping[str, Severity] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()

    def select(self, rules: RuleSet) -> RuleSet:
        """The rules that run: a disabled rule is not evaluated at all."""
        return RuleSet(tuple(r for r in rules.rules if r.meta.id not in self.disabled))

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """Findings with the configured severity. An internal error stays an error whatever the configuration."""
        out = []
        for f in findings:
            wanted = self.severity.get(f.rule)
            if wanted is not None and wanted is not f.severity and f.rule != INTERNAL_ERROR:
                f = dataclasses.replace(f, severity=wanted, severity_rank=wanted.rank)
            out.append(f)
        return sorted(out)

    def docs(self, rules: RuleSet) -> tuple[RuleDoc, ...]:
        return tuple(
            RuleDoc(
                m.id,
                m.name,
                m.summary,
                m.description,
                self.severity.get(m.id, m.severity),
                m.category,
                m.reference,
            )
            for m in (r.meta for r in rules.rules)
        )
