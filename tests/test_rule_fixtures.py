"""Every rule fires on its fixture pair exactly where expected.yaml says, and stays quiet on its near miss."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from abi_check.commands.rules_test import run_case
from abi_check.resources import rules_dir
from abi_check.rules.engine import RULE_SUFFIX, RuleSet, load_rules

FIXTURES = Path(__file__).resolve().parent / "rules"
# Taken from the rule files, not from the fixture tree, so that a new rule without fixtures fails here.
RULE_IDS = sorted(p.stem for p in rules_dir().glob(f"*{RULE_SUFFIX}") if p.is_file())


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


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
    result = run_case(rules, rule_id, FIXTURES / rule_id / "fires", [])
    assert not result.problems and result.expected, result
    assert result.found == result.expected


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_quiet(rules: RuleSet, rule_id: str) -> None:
    result = run_case(rules, rule_id, FIXTURES / rule_id / "quiet", [])
    assert not result.problems and result.found == ()


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_rules_test_passes_on_the_shipped_fixtures() -> None:
    done = cli("rules", "test", str(FIXTURES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == f"{len(RULE_IDS)} rule(s), {2 * len(RULE_IDS)} case(s): " \
        f"{2 * len(RULE_IDS)} passed, 0 failed"


USER_RULE = rules_dir() / "psci-not-implemented.rule"


def test_rules_test_for_a_rule_author(tmp_path: Path) -> None:
    """A user rule with a wrong expectation fails (8) naming both sides; a rule without fixtures fails too."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    text = USER_RULE.read_text(encoding="utf-8")
    (rules_dir / "my-psci.rule").write_text(text.replace("rule psci-not-implemented", "rule my-psci"), "utf-8")
    (rules_dir / "untested.rule").write_text(text.replace("rule psci-not-implemented", "rule untested"), "utf-8")
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "psci-not-implemented", fixtures / "my-psci")
    expected = fixtures / "my-psci" / "fires" / "expected.yaml"
    right = int(re.search(r"line: (\d+)", expected.read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]
    expected.write_text(expected.read_text(encoding="utf-8").replace(f"line: {right}", f"line: {right + 1}"), "utf-8")
    done = cli("rules", "test", str(fixtures), "--rules", str(rules_dir))
    assert done.returncode == 8, done.stdout + done.stderr
    out = done.stdout
    assert "my-psci/fires: FAIL" in out and "my-psci/quiet: ok" in out
    assert f"expected, not reported: PSCI_VERSION at linux-5.19.yaml:{right + 1}" in out
    assert f"reported, not expected: PSCI_VERSION at linux-5.19.yaml:{right}" in out
    assert "untested: FAIL: no fixtures" in out
    assert out.splitlines()[-1] == "1 rule(s), 2 case(s): 1 passed, 2 failed"


def test_rules_test_bad_fixtures_are_located_input_errors(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "psci-not-implemented", tmp_path / "no-such-rule")
    shutil.copytree(FIXTURES / "psci-not-implemented", tmp_path / "psci-not-implemented")
    (tmp_path / "psci-not-implemented" / "fires" / "expected.yaml").write_text("- {subject: x, file: y}\n", "utf-8")
    done = cli("rules", "test", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no-such-rule:1:1: input error: no rule 'no-such-rule' to test" in done.stderr
    assert "expected.yaml:1:3: spec error: missing required key 'line'" in done.stderr
