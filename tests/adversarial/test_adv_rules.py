"""Rules from a pull request must end: depth, loop nesting, steps and value sizes are bounded (rule error, exit 2)."""

from __future__ import annotations

import pytest

from abi_check.commands.matrix import available_cpus, worker_count
from tests.adversarial.conftest import HOST, Box, located

NUMBERS = "[" + ", ".join(map(str, range(100))) + "]"
RULES = {
    "deep-paren": ("when " + "(" * 10000 + "true" + ")" * 10000 + '\nreport "x"\n', "nests more than"),
    "deep-not": ("when " + "not " * 10000 + 'true\nreport "x"\n', "nests more than"),
    "mul-chain": ("when " + " * ".join(["3"] * 200) + ' == 1\nreport "x"\n', "nests more than"),
    "let-chain": ("let a0 = 3\n" + "".join(f"let a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 40))
                  + 'when a39 == 1\nreport "x"\n', "wider than"),
    "str-doubling": ("let s0 = 'ab'\n" + "".join(f"let s{i} = s{i - 1} + s{i - 1}\n" for i in range(1, 40))
                     + "when s39 == ''\nreport \"x\"\n", "items or characters"),
    "four-for": ("for a in src.listed, b in src.listed, c in src.listed, d in src.listed\nreport \"x\"\n",
                 "loops nest more than"),
    "steps": (f"for a in {NUMBERS}, b in {NUMBERS}, c in {NUMBERS}\nwhen false\nreport \"x\"\n", "loop steps"),
}


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("command", ["pair", "matrix"])
def test_an_over_budget_rule_is_a_located_rule_error(box: Box, name: str, command: str) -> None:
    body, message = RULES[name]
    rules = box.rules(name, body)
    args = ["pair", "--rules", rules, HOST, HOST] if command == "pair" else ["matrix", "--rules", rules, HOST]
    run = box.run(*args)
    assert run.code == 2 and located(run) and "rule error" in run.err and message in run.err


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_is_a_usage_error(box: Box, jobs: str) -> None:
    assert box.run("matrix", "--jobs", jobs, HOST).code == 2


def test_jobs_never_exceed_the_cpus_nor_the_work() -> None:
    assert worker_count(10000, 16, 40) <= available_cpus()
    assert worker_count(10000, 2, 40) == 1  # 160 evaluations: no pool
    assert worker_count(None, 1000, 40) == available_cpus()


@pytest.mark.parametrize("command", [["rules"], ["explain", "escaper"]])
def test_rule_metadata_leaves_escaped(box: Box, command: list[str]) -> None:
    """A pull request's rule whose name and summary carry terminal escapes: listed and explained, never raw."""
    directory = box.repo / "rules" / "escaper"
    directory.mkdir(parents=True)
    (directory / "escaper.rule").write_text(
        'rule escaper\n  name "\x1b]0;pwned\x07"  summary "\x1b[2Jwiped"  severity error  category x\n'
        '  reference "x"\nwhen false\nreport "x"\n')
    run = box.run(*command, "--rules", directory)
    assert run.code == 0, run.err
    assert "\x1b" not in run.out + run.err and "\x07" not in run.out + run.err
    assert "\\x1b[2Jwiped" in run.out  # shown, as an escape
