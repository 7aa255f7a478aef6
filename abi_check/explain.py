"""``abi-check rules`` and ``abi-check explain``: the catalogue and one rule's documentation."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from abi_check.catalogue import SpecRoots
from abi_check.effective import effective_abi
from abi_check.engine import check_pair, load_rules
from abi_check.errors import InputError
from abi_check.exitcodes import ExitCode
from abi_check.loader import SpecLoader
from abi_check.reporters import Format
from abi_check.resources import catalogue_dir
from abi_check.views import HostView

EXAMPLE_PAIR = re.compile(r"^([a-z0-9._+-]+) -> ([a-z0-9._+-]+):")


def list_rules(rule_dirs: Sequence[Path], fmt: Format) -> int:
    rules = load_rules(rule_dirs)
    if fmt is Format.JSON:
        data = [
            {
                "id": r.meta.id,
                "name": r.meta.name,
                "severity": r.meta.severity.value,
                "category": r.meta.category,
                "summary": r.meta.summary,
                "reference": r.meta.reference,
            }
            for r in rules.rules
        ]
        print(json.dumps(data, indent=2))
        return ExitCode.OK
    width = max(len(r.meta.id) for r in rules.rules)
    for rule in sorted(rules.rules, key=lambda r: (r.meta.category, r.meta.id)):
        m = rule.meta
        print(f"{m.id:<{width}}  {m.severity.value:<7}  {m.category:<18}  {m.summary}")
    print(f"{len(rules.rules)} rules; 'abi-check explain ID' documents one")
    return ExitCode.OK


def explain(rule_id: str, rule_dirs: Sequence[Path]) -> int:
    rules = load_rules(rule_dirs)
    rule = rules.get(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, rules.ids(), n=1)
        raise InputError(
            None,
            f"no rule '{rule_id}'",
            f"did you mean '{close[0]}'?" if close else "abi-check rules lists them",
        )
    m = rule.meta
    print(f"{m.id}: {m.name}")
    print(f"  severity: {m.severity.value} (default; configuration may override)")
    print(f"  category: {m.category}")
    print(f"  reference: {m.reference}")
    print(f"  defined in: {m.path}")
    print()
    print(m.summary)
    if m.description:
        print()
        print(m.description)
    if m.example:
        print()
        print(f"Example: {m.example}")
        match = EXAMPLE_PAIR.match(m.example)
        if match:
            _live_example(rules, rule_id, match.group(1), match.group(2))
    return ExitCode.OK


def _live_example(rules: object, rule_id: str, src_name: str, dst_name: str) -> None:
    """Evaluate the example pair on the shipped catalogue and print what the rule reports."""
    from abi_check.engine import RuleSet

    assert isinstance(rules, RuleSet)
    hosts = catalogue_dir() / "hosts"
    loader = SpecLoader(SpecRoots([catalogue_dir().resolve()]))
    src = HostView(effective_abi(loader.load_host(hosts / f"{src_name}.yaml")))
    dst = HostView(effective_abi(loader.load_host(hosts / f"{dst_name}.yaml")))
    found = check_pair(rules, src, dst, only=[rule_id])
    print(f"  abi-check pair {src_name} {dst_name} reports:")
    for finding in found:
        print(f"    {finding.severity.value}: {finding.message}")
        print(f"      fix: {finding.fix}")
    if not found:
        print("    nothing (the catalogue changed since the example was written)")


__all__ = ["InputError", "explain", "list_rules"]
