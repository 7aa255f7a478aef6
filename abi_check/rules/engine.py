"""Load the rule catalogue once and evaluate (source, destination) pairs of hosts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from abi_check.abi.views import HostView
from abi_check.errors import InputError, InputErrors, RuleError, Span, decode_utf8, remember_source
from abi_check.resources import rules_dir
from abi_check.rules.compiler import CompiledRule
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity, make_finding

RULE_SUFFIX = ".rule"
MAX_RULE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules of a run, in catalogue order."""

    rules: tuple[CompiledRule, ...]

    def ids(self) -> list[str]:
        return [r.meta.id for r in self.rules]

    def get(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.meta.id == rule_id), None)


def rule_files(directory: Path) -> list[Path]:
    from abi_check.spec.files import listed

    return sorted(p for p in directory.glob(f"*{RULE_SUFFIX}") if listed(p))


def load_rules(extra_dirs: Sequence[Path] = (), builtin: bool = True) -> RuleSet:
    """Every built-in rule plus the rules in ``extra_dirs``; all rule errors are collected and raised together."""
    from abi_check.rules.compiler import compile_rule
    from abi_check.spec.files import read_bounded
    from abi_check.spec.loader import display_path

    dirs = ([rules_dir()] if builtin else []) + list(extra_dirs)
    compiled: dict[str, CompiledRule] = {}
    errors: list[InputError] = []
    for directory in dirs:
        if not directory.is_dir():
            errors.append(RuleError(None, f"{directory}: not a directory of .rule files"))
            continue
        inside = directory.resolve()
        for path in rule_files(directory):
            shown = display_path(path)
            try:
                if not path.resolve().is_relative_to(inside):
                    raise RuleError(Span(shown, 1, 1), "the rule file is a link that leaves its directory",
                                    "rule files are read from the rule directories only; copy the rule in")
                data = read_bounded(path, shown, MAX_RULE_BYTES, RuleError, "rule")
                text = decode_utf8(data, shown, RuleError)
                remember_source(shown, text)
                rule = compile_rule(text, shown, path.stem)
            except RuleError as exc:
                errors.append(exc)
                continue
            if rule.meta.id in compiled:
                first = compiled[rule.meta.id].meta.path
                errors.append(
                    RuleError(
                        rule.meta.span,
                        f"rule '{rule.meta.id}' is already defined in {first}",
                        "give the rule another id",
                    )
                )
                continue
            compiled[rule.meta.id] = rule
    from abi_check.rules.parser import tree_cache

    tree_cache().save()
    if errors:
        raise InputErrors(errors)
    return RuleSet(tuple(compiled.values()))


def check_pair(rules: RuleSet, src: HostView, dst: HostView, only: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of every rule for src -> dst, sorted. A rule that crashes becomes one internal-error finding."""
    selected = set(only) if only is not None else None
    findings: list[Finding] = []
    for rule in rules.rules:
        meta = rule.meta
        if selected is not None and meta.id not in selected:
            continue
        try:
            for hit in rule.run(src, dst):
                findings.append(
                    make_finding(
                        rule=meta.id,
                        severity=meta.severity,
                        source=src.name,
                        destination=dst.name,
                        subject=hit.subject,
                        message=hit.message,
                        fix=hit.fix,
                        reference=meta.reference,
                        span=hit.span,
                        category=meta.category,
                    )
                )
        except RuleError:
            raise  # over its budget: an error in the rule (exit 2), not a crash (builtins.RuleBudgetError)
        except Exception as exc:
            findings.append(
                make_finding(
                    rule=INTERNAL_ERROR,
                    severity=Severity.ERROR,
                    source=src.name,
                    destination=dst.name,
                    subject=meta.id,
                    message=f"rule {meta.id} failed: {type(exc).__name__}: {exc}",
                    fix="report this as a bug in the rule",
                    reference=meta.path,
                    span=meta.span,
                    category="internal",
                )
            )
    return sorted(set(findings))
