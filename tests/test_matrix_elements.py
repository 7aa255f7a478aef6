"""Per-element results in the matrix: a one-loop rule's body evaluated once per distinct (element, what the body
reads of each host about it), and a pair's hits once per distinct combination of those (compiler.py,
``CompiledRule.per_element``), or a whole block of pairs' counts at once (``matrix/batch.py``). Both must equal a
plain run on every pair."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import DST_ROLE, SRC_ROLE, FacetTable, RoleView
from abi_check.abi.views import HostView
from abi_check.matrix.batch import table_counts
from abi_check.matrix.grid import build_matrix
from abi_check.matrix.tables import Crash, run_rule
from abi_check.rules.engine import RuleSet, load_rules
from abi_check.spec.hosts import load_hosts
from tests.conftest import HOSTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import fleet

HEAD = '  name "t"  summary "t"  severity warning  category test  reference "t"\n'

# Rules that take each path of the remembered run: a collection of one host's operands, operands of both hosts
# (either may own it), a collection that does not split (``|``), a constant list, memberships and register values
# read per element, a loop-invariant condition checked on the first element, an element on which the body
# crashes, a host method whose reads follow the element's register (``kept``).
STRESS = {
    "one-host": 'for f in src.id_fields\nwhere f.register in src.saved and f.register in dst.listed and '
    'f.value != dst.limit(f)\nreport "{f} {f.value} {dst.limit(f)} on {dst} ({dst.cpu})"\nat f\n',
    "both-hosts": "for r in src.saved & dst.listed - dst.bitmaps\nwhere src.value(r) != dst.value(r)\n"
    'report "{r} {hex(src.value(r))} {hex(dst.value(r))} {src.kernel}"\nat dst.where(r)\n',
    "unsplit": "for r in (src.saved | dst.listed) & dst.invariants\nwhere src.value(r) != dst.value(r)\n"
    'report "{r} on {src.cpu}"\n',
    "constant": "for r in [MIDR_EL1, REVIDR_EL1, CTR_EL0]\nwhere r in src.saved and dst.kept(r, src.value(r)) != "
    'dst.value(r)\nreport "{r} {src.field_diff(r, dst)}"\n',
    "invariant-first": 'for r in dst.listed - src.listed\nwhere dst.kernel.has("ARM_WRITABLE_IMP_ID_REGS") and '
    'dst.value(r) != 0 and r not in dst.bitmaps\nreport "{r} new on {dst}"\n',
    "crashes-on-some": "for r in src.saved & dst.listed & src.id_registers\nwhere src.value(r) // (dst.value(r) - "
    'src.value(r)) != 0\nreport "{r}"\n',
    "repeated-operand": 'for r in dst.bitmaps - src.saved & dst.bitmaps\nwhere dst.value(r) != 0\nreport "{r}"\n',
    "empty": 'for r in src.saved & dst.listed - dst.listed\nwhere true\nreport "{r}"\n',
    "vmm-attribute": 'for r in dst.listed - src.saved\nwhere dst.vmm.missing_incoming == "keep-reset" and '
    'dst.value(r) != 0\nreport "{r} {dst.vmm}"\n',
    # A one-sided guard that raises on some hosts (kernels with three bitmaps), and a message that raises on some
    # elements: both crash the rule there, whatever the other host or the condition says.
    "guard-crashes": "for r in src.saved & dst.listed\nwhere 1 // (len(src.bitmaps) - 3) != 5 and "
    'src.value(r) != dst.value(r)\nreport "{r}"\n',
    "message-crashes": "for r in src.saved & dst.listed & dst.invariants\nwhere src.value(r) != dst.value(r)\n"
    'report "{r} {1 // (src.vcpus - dst.vcpus)}"\n',
    # Lets that read one host alone, read by the body (counted in blocks, not remembered per element); one of them
    # raises on some hosts.
    "one-sided-let": "let n = len(src.saved)\nlet m = len(dst.bitmaps)\nfor r in dst.listed - src.listed\n"
    'where dst.value(r) != 0 and n > 300 and m > 0\nreport "{r} {n} {m}"\n',
    "let-crashes": "let k = 100 // (len(src.bitmaps) - 3)\nfor r in src.saved & dst.listed\n"
    'where src.value(r) != dst.value(r) and k > 0\nreport "{r} {k}"\n',
}
LETS = ("one-sided-let", "let-crashes")


def _rules(tmp_path: Path, bodies: dict[str, str]) -> RuleSet:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, body in bodies.items():
        (rules_dir / f"{name}.rule").write_text(f"rule {name}\n{HEAD}{body}")
    return load_rules([rules_dir], builtin=False)


def _views(tmp_path: Path) -> list[HostView]:
    hosts = load_hosts([HOSTS], []) + load_hosts([fleet.generate(tmp_path / "fleet", hosts=30, seed=11)],
                                                   [tmp_path / "fleet"])
    return [HostView(effective_abi(h)) for h in hosts]


def test_one_loop_rules_are_planned_per_element_and_others_are_not(tmp_path: Path, rules: RuleSet) -> None:
    ours = _rules(tmp_path, {
        **STRESS,
        "quantifier": 'for r in src.saved\nwhere any(x in dst.listed where x == r)\nreport "{r}"\n',
        "two-loops": 'for r in src.saved, s in dst.bitmaps\nwhere r == s\nreport "{r}"\n',
        "two-sided-let": 'let n = len(src.saved) - len(dst.listed)\nfor r in dst.listed\nwhere n > 3 and r in '
        'src.saved\nreport "{r}"\n',
        "no-loop": 'when src.vcpus != dst.vcpus\nreport "x"\n',
    })
    planned = {r.meta.id for r in ours.rules if r.elements is not None}
    assert planned == set(STRESS)
    # Remembered per element only where the body reads no let (the memory keys hosts by facets alone).
    assert {r.meta.id for r in ours.rules if r.per_element is not None} == set(STRESS) - set(LETS)
    # The shipped rules that dominate a matrix's time loop once over elements: all of them are planned.
    shipped = {r.meta.id for r in rules.rules if r.per_element is not None}
    assert {"id-field-unreproducible", "id-register-not-writable", "invariant-register-mismatch",
            "register-new-nonzero-default", "impl-id-mismatch", "workaround-level-above-dst"} <= shipped


def test_remembered_results_equal_plain_runs_on_every_pair(tmp_path: Path, rules: RuleSet) -> None:
    """One remembered run per rule over every ordered pair (as the matrix uses it): each pair's entry (its
    distinct hits, or its crash) is what the rule's plain run gives, for the shipped rules and the stress rules."""
    views = _views(tmp_path)
    sources = [RoleView(v, SRC_ROLE) for v in views]
    destinations = [RoleView(v, DST_ROLE) for v in views]
    ours = _rules(tmp_path, STRESS)
    fired: dict[str, int] = {}
    crashed: dict[str, int] = {}
    for rule in [*rules.rules, *ours.rules]:
        if rule.elements is None:
            continue
        per_element = rule.per_element
        remembered = per_element() if per_element is not None else None
        for src, dst in itertools.product(sources, destinations):
            expected = run_rule(rule, src, dst)
            if remembered is not None:
                assert run_rule(rule, src, dst, remembered) == expected, (rule.meta.id, src.abi.kernel.info.name)
            fired[rule.meta.id] = fired.get(rule.meta.id, 0) + bool(expected)
            crashed[rule.meta.id] = crashed.get(rule.meta.id, 0) + isinstance(expected, Crash)
    # The stress rules did what they are for: fire (and crash) on some pairs, not on all.
    pairs = len(views) ** 2
    for name in STRESS:
        if name not in ("crashes-on-some", "empty"):
            assert 0 < fired[name] < pairs, name
    assert fired["empty"] == 0
    for name in ("crashes-on-some", "guard-crashes", "message-crashes", "let-crashes"):
        assert 0 < crashed[name] < pairs, name


def test_block_counts_equal_plain_runs_on_every_pair(tmp_path: Path, rules: RuleSet) -> None:
    """A whole block of pairs counted at once (``matrix/batch.py``): every cell it counts has the plain run's
    number of hits, and every cell where the plain run crashes is left to the plain run. The shipped rules that
    dominate a matrix's time are counted this way."""
    views = _views(tmp_path)
    sources = [RoleView(v, SRC_ROLE) for v in views]
    destinations = [RoleView(v, DST_ROLE) for v in views]
    ours = _rules(tmp_path, STRESS)
    counted_rules = set()
    for rule in [*rules.rules, *ours.rules]:
        if rule.elements is None:
            continue
        counted = table_counts(rule.elements, sources, destinations, FacetTable())
        if counted is None:
            continue
        counted_rules.add(rule.meta.id)
        counts, plain = counted
        for (i, src), (j, dst) in itertools.product(enumerate(sources), enumerate(destinations)):
            expected = run_rule(rule, src, dst)
            if isinstance(expected, Crash):
                assert plain[i, j], (rule.meta.id, i, j)
            elif not plain[i, j]:
                assert counts[i, j] == len(expected), (rule.meta.id, i, j)
    assert {"id-field-unreproducible", "id-register-not-writable", "invariant-register-mismatch",
            "register-new-nonzero-default", "impl-id-mismatch", "workaround-level-above-dst",
            "both-hosts", "one-host", "crashes-on-some", "guard-crashes", "message-crashes", "one-sided-let",
            "let-crashes", "psci-not-implemented"} <= counted_rules


def test_a_matrix_of_the_stress_rules_equals_pair(tmp_path: Path) -> None:
    from tests.test_matrix import assert_cells_equal_pair

    ours = _rules(tmp_path, STRESS)
    hosts = load_hosts([HOSTS], [])
    matrix = build_matrix(hosts, ours, jobs=2)
    assert_cells_equal_pair(matrix, ours, hosts)


def test_a_rule_split_in_blocks_of_rows_gives_the_same_matrix(tmp_path: Path, monkeypatch: object) -> None:
    """Rules split into blocks of source keys, each evaluated apart (in two workers) and merged, give the same
    outcome in every cell as rules evaluated whole, for the shipped rules and the stress rules."""
    import pytest

    from abi_check.matrix import tables

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    rules = _rules(tmp_path, STRESS)
    shipped = load_rules()
    hosts = load_hosts([HOSTS], []) + load_hosts([fleet.generate(tmp_path / "fleet", hosts=30, seed=5)],
                                                   [tmp_path / "fleet"])
    for ruleset in (rules, shipped):
        whole = build_matrix(hosts, ruleset, jobs=2)
        monkeypatch.setattr(tables, "SPLIT_ROWS", 2)
        split = build_matrix(hosts, ruleset, jobs=2)
        monkeypatch.undo()
        assert len(whole.abis) == len(split.abis)
        n = len(whole.abis)
        assert [[whole.abi_outcome(a, b) for b in range(n)] for a in range(n)] == \
               [[split.abi_outcome(a, b) for b in range(n)] for a in range(n)]
        assert any(o.counts != (0, 0, 0) for o in whole.outcomes())
