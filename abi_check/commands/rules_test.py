"""``abi-check rules test DIR``: run each rule on its fixture pairs and compare its findings with the expected ones.

A fixture directory holds one directory per rule id, each with ``fires/`` (``src.yaml``, ``dst.yaml`` and
``expected.yaml``: the rule's findings for src -> dst, as subject, file name and line) and ``quiet/`` (a near
miss: the rule must report nothing). Specs are looked up in the case directory first, then in the roots.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.errors import InputError, InputErrors, Span, SpecError, safe_output
from abi_check.exitcodes import ExitCode
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, check_pair, load_rules
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader, display_path
from abi_check.spec.shapes import Int, ListOf, Obj, Str
from abi_check.spec.yamlnodes import load_file
from abi_check.verdict.findings import INTERNAL_ERROR, Finding

CASES = ("fires", "quiet")
EXPECTED = ListOf(
    Obj(
        {
            "subject": Str("what the finding is about (a register, a bit, a field); '' for none"),
            "file": Str("the file name of the YAML the finding points at"),
            "line": Int("the line it points at", 1, 1 << 31),
        },
        required=("subject", "file", "line"),
    ),
    "the rule's findings for src.yaml -> dst.yaml, in the order the rule reports them",
    unique=False,
)

# (subject, file name, line) of one finding: what a fixture pins down, independent of where the tree lives.
Located = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class CaseResult:
    rule: str
    case: str  # fires | quiet
    expected: tuple[Located, ...]
    found: tuple[Located, ...]
    problems: tuple[str, ...] = ()  # crashed rules, findings without a location

    @property
    def ok(self) -> bool:
        return not self.problems and self.found == self.expected


def run_case(rules: RuleSet, rule_id: str, case: Path, roots: Sequence[Path]) -> CaseResult:
    """The rule's findings for case/src.yaml -> case/dst.yaml against what the case expects."""
    loader = SpecLoader(SpecRoots([case.resolve(), *(r.resolve() for r in roots), catalogue_dir().resolve()]))
    src = HostView(effective_abi(loader.load_host(case / "src.yaml")))
    dst = HostView(effective_abi(loader.load_host(case / "dst.yaml")))
    findings = check_pair(rules, src, dst)
    problems = [f"crashed: {f.subject}: {f.message}" for f in findings if f.rule == INTERNAL_ERROR]
    found = []
    for finding in _of(findings, rule_id):
        if finding.span is None:
            problems.append(f"reported {finding.subject!r} without a location")
            continue
        found.append((finding.subject, Path(finding.span.path).name, finding.span.line))
    expected = load_expected(case / "expected.yaml") if case.name == "fires" else []
    return CaseResult(rule_id, case.name, tuple(expected), tuple(found), tuple(problems))


def load_expected(path: Path) -> list[Located]:
    shown = display_path(path)
    if not path.is_file():
        raise SpecError(Span(shown, 1, 1), "missing: a 'fires' case says which findings the rule reports",
                        "write a list of {subject: ..., file: ..., line: ...}, one per finding")
    node = load_file(path, shown)
    errors: list[SpecError] = []
    EXPECTED.check(node, errors)
    if not errors and not node.plain():
        errors.append(SpecError(node.span, "a 'fires' case expects at least one finding",
                                "a case where the rule reports nothing belongs in quiet/"))
    if errors:
        raise InputErrors(list(errors))
    items = node.plain()
    assert isinstance(items, list)
    return [(str(i["subject"]), str(i["file"]), int(i["line"])) for i in items]


def _of(findings: Sequence[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule_id]


def run_rule_tests(fixtures: Path, rule_dirs: Sequence[Path], roots: Sequence[Path], out: TextIO | None = None) -> int:
    """Every case below ``fixtures``; 0 when each matches, 8 when one does not, 2 for a fixture that cannot load.
    A rule from ``rule_dirs`` without fixtures fails too: a rule author's rules are all tested."""
    out = out or sys.stdout
    if not fixtures.is_dir():
        raise InputError(None, f"{fixtures}: not a directory", "give the directory that holds <rule-id>/fires/...")
    rules = load_rules(rule_dirs)
    known = {r.meta.id for r in rules.rules}
    errors: list[InputError] = []
    results: list[CaseResult] = []
    tested: set[str] = set()
    for directory in sorted(p for p in fixtures.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if directory.name not in known:
            errors.append(InputError(Span(display_path(directory), 1, 1), f"no rule '{directory.name}' to test",
                                     "name each fixture directory after a rule id (abi-check rules lists them)"))
            continue
        cases = [directory / c for c in CASES if (directory / c).is_dir()]
        if not cases:
            errors.append(InputError(Span(display_path(directory), 1, 1), "no fires/ or quiet/ case",
                                     "a case is a directory with src.yaml and dst.yaml"))
        tested.add(directory.name)
        for case in cases:
            try:
                results.append(run_case(rules, directory.name, case, roots))
            except (InputError, InputErrors) as exc:
                errors.extend(exc.errors if isinstance(exc, InputErrors) else [exc])
    if errors:
        raise InputErrors(errors)
    own = {r.meta.id for r in load_rules(rule_dirs, builtin=False).rules} if rule_dirs else set()
    untested = sorted(own - tested)
    lines = [_line(r) for r in results]
    lines += [f"{rule_id}: FAIL: no fixtures in {display_path(fixtures)}" for rule_id in untested]
    failed = sum(not r.ok for r in results) + len(untested)
    passed = sum(r.ok for r in results)
    lines.append(f"{len(tested)} rule(s), {len(results)} case(s): {passed} passed, {failed} failed")
    print(safe_output("\n".join(lines)), file=out)  # names and subjects come from the fixtures: no raw escapes
    return ExitCode.MIGRATION_FAILS if failed else ExitCode.OK


def _line(result: CaseResult) -> str:
    head = f"{result.rule}/{result.case}: "
    if result.ok:
        count = len(result.found)
        return head + ("ok" if result.case == "quiet" else f"ok ({count} finding{'s' if count != 1 else ''})")
    lines = [head + "FAIL"]
    lines += [f"  {p}" for p in result.problems]
    missing = [x for x in result.expected if x not in result.found]
    extra = [x for x in result.found if x not in result.expected]
    lines += [f"  expected, not reported: {_show(x)}" for x in missing]
    lines += [f"  reported, not expected: {_show(x)}" for x in extra]
    if not missing and not extra and not result.problems:
        lines.append("  the same findings in another order: " + ", ".join(_show(x) for x in result.found))
    return "\n".join(lines)


def _show(item: Located) -> str:
    subject, name, line = item
    return f"{subject or '(no subject)'} at {name}:{line}"
