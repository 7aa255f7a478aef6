"""Every rule fires on its fixture pair exactly where expected.yaml says, and stays quiet on its near miss."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.resources import catalogue_dir, rules_dir
from abi_check.rules.engine import RULE_SUFFIX, RuleSet, check_pair, load_rules
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader
from abi_check.verdict.findings import INTERNAL_ERROR, Finding

FIXTURES = Path(__file__).resolve().parent / "rules"
# Taken from the rule files, not from the fixture tree, so that a new rule without fixtures fails here.
RULE_IDS = sorted(p.stem for p in rules_dir().glob(f"*{RULE_SUFFIX}") if p.is_file())
EXPECTED_KEYS = {"subject", "file", "line"}

Located = tuple[str, str, int]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def run_pair(rules: RuleSet, case: Path) -> list[Finding]:
    """check_pair for case/src.yaml -> case/dst.yaml; specs are looked up in the case directory first."""
    loader = SpecLoader(SpecRoots([case.resolve(), catalogue_dir().resolve()]))
    src = HostView(effective_abi(loader.load_host(case / "src.yaml")))
    dst = HostView(effective_abi(loader.load_host(case / "dst.yaml")))
    return check_pair(rules, src, dst)


def located(findings: list[Finding], rule_id: str) -> list[Located]:
    out = []
    for finding in findings:
        if finding.rule != rule_id:
            continue
        assert finding.span is not None, f"{rule_id} reported {finding.subject!r} without a location"
        out.append((finding.subject, Path(finding.span.path).name, finding.span.line))
    return out


def expected(case: Path) -> list[Located]:
    data = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, list) and data, f"{case}/expected.yaml must be a non-empty list of findings"
    out = []
    for item in data:
        assert isinstance(item, dict) and set(item) == EXPECTED_KEYS, f"{case}/expected.yaml: {item!r}"
        out.append((str(item["subject"] or ""), str(item["file"]), int(item["line"])))
    return out


def no_internal_errors(findings: list[Finding]) -> None:
    crashed = [f"{f.subject}: {f.message}" for f in findings if f.rule == INTERNAL_ERROR]
    assert not crashed, crashed


def test_every_rule_has_fixtures() -> None:
    assert RULE_IDS, f"no rules found in {rules_dir()}"
    missing = [
        f"{rule_id}/{name}"
        for rule_id in RULE_IDS
        for name in ("fires/src.yaml", "fires/dst.yaml", "fires/expected.yaml", "quiet/src.yaml", "quiet/dst.yaml")
        if not (FIXTURES / rule_id / name).is_file()
    ]
    assert not missing, f"rules without fixtures: {missing}"


def test_no_fixtures_for_unknown_rules() -> None:
    orphans = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in RULE_IDS)
    assert not orphans, f"fixture directories without a rule (renamed or removed?): {orphans}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires(rules: RuleSet, rule_id: str) -> None:
    case = FIXTURES / rule_id / "fires"
    findings = run_pair(rules, case)
    no_internal_errors(findings)
    assert located(findings, rule_id) == expected(case)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_quiet(rules: RuleSet, rule_id: str) -> None:
    findings = run_pair(rules, FIXTURES / rule_id / "quiet")
    no_internal_errors(findings)
    assert located(findings, rule_id) == []
