"""The matrix agrees with `pair` cell by cell, shares work only where that is exact, and reports in every format."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import REGISTER_VALUE, covers, family_of, traced_pair
from abi_check.abi.views import HostView
from abi_check.matrix.domains import WORKS_AT, Domain, Separation, find_domains
from abi_check.matrix.grid import VERDICTS, Matrix, build_matrix, distinct_rows, group
from abi_check.report.matrix_report import MatrixReport
from abi_check.rules.compiler import CompiledRule
from abi_check.rules.engine import RuleSet, check_pair, load_rules
from abi_check.spec.hosts import load_hosts
from abi_check.spec.model import Host
from abi_check.verdict.result import FailOn, PairResult
from tests.conftest import HOSTS, host_path, matrix_cells

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import fleet  # noqa: E402


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def shipped_hosts() -> list[Host]:
    return load_hosts([HOSTS], [])


@pytest.fixture(scope="module")
def shipped(rules: RuleSet, shipped_hosts: list[Host]) -> Matrix:
    return build_matrix(shipped_hosts, rules)


def assert_cells_equal_pair(matrix: Matrix, rules: RuleSet, hosts: list[Host]) -> None:
    """Every cell: the findings and verdict `pair` gives for those two hosts, built on their own."""
    views = {h.info.name: HostView(effective_abi(h)) for h in hosts}
    n = len(matrix.hosts)
    for a, b in itertools.product(range(n), repeat=2):
        expected = check_pair(rules, views[matrix.hosts[a].name], views[matrix.hosts[b].name])
        assert matrix.findings(a, b) == expected, (matrix.hosts[a].name, matrix.hosts[b].name)
        assert matrix.outcome(a, b).verdict == PairResult("", "", tuple(expected)).verdict


def test_every_cell_of_the_shipped_hosts_equals_pair(
    shipped: Matrix, rules: RuleSet, shipped_hosts: list[Host]
) -> None:
    assert len(shipped.hosts) == 18
    assert_cells_equal_pair(shipped, rules, shipped_hosts)


def test_the_diagonal_is_evaluated_and_compatible(shipped: Matrix) -> None:
    for h in range(len(shipped.hosts)):
        outcome = shipped.outcome(h, h)
        assert outcome.verdict == "compatible" and outcome.counts == (0, 0, 0)


def test_the_cli_matrix_and_pair_agree_on_every_cell() -> None:
    """The same question asked through both commands, as a user would (json of each)."""
    data = json.loads(run("matrix", "--format", "json").stdout)
    cells = matrix_cells(data)
    assert data["summary"]["cells"] == 324 and len(cells) == 324
    for cell in cells[:: 17]:  # a spread of cells, each against a fresh `pair` process
        out = json.loads(run("pair", "-f", "json", str(host_path(cell["source"])),
                             str(host_path(cell["destination"]))).stdout)
        assert cell["verdict"] == out["pairs"][0]["verdict"]
        assert cell["findings"] == out["pairs"][0]["findings"]


def test_hosts_with_one_abi_are_evaluated_once_and_named_right(tmp_path: Path, rules: RuleSet) -> None:
    """Copies of a host under other names share its ABI; their findings carry their own names and files."""
    for name in ("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2"):
        text = (HOSTS / f"{name}.yaml").read_text()
        for copy in ("a", "b"):
            (tmp_path / f"{name}-{copy}.yaml").write_text(text.replace(f"name: {name}", f"name: {name}-{copy}"))
    hosts = load_hosts([tmp_path], [])
    matrix = build_matrix(hosts, rules)
    assert len(matrix.hosts) == 4 and len(matrix.abis) == 2
    assert_cells_equal_pair(matrix, rules, hosts)
    names = [h.name for h in matrix.hosts]
    a = names.index("n1-linux-6.15-qemu-10.2-b")
    b = names.index("n1-linux-6.12-qemu-10.2-a")
    found = matrix.findings(a, b)
    assert found and all(f.source == names[a] and f.destination == names[b] for f in found)
    assert any("n1-linux-6.15-qemu-10.2-b" in f.message for f in found)


def test_a_synthetic_fleet_matches_pair_on_every_cell(tmp_path: Path, rules: RuleSet) -> None:
    """Varied VMM writes, several vCPU counts: the shared tables must still be exact for every pair."""
    hosts_dir = fleet.generate(tmp_path, hosts=40, seed=7)
    hosts = load_hosts([hosts_dir], [tmp_path])
    matrix = build_matrix(hosts, rules)
    assert len(matrix.hosts) == 40
    assert_cells_equal_pair(matrix, rules, hosts)


def test_worker_processes_give_the_same_matrix(tmp_path: Path, rules: RuleSet) -> None:
    hosts_dir = fleet.generate(tmp_path, hosts=60, seed=3)
    hosts = load_hosts([hosts_dir], [tmp_path])
    one, two = build_matrix(hosts, rules, jobs=1), build_matrix(hosts, rules, jobs=2)
    cells = list(itertools.product(range(len(one.hosts)), repeat=2))
    assert [one.outcome(a, b) for a, b in cells] == [two.outcome(a, b) for a, b in cells]


def traced_reads(rule: CompiledRule, views: list[HostView]) -> tuple[set[str], set[str], bool]:
    """The facets a rule actually reads of each side over every ordered pair of ``views``; did it ever fire?"""
    src_all: set[str] = set()
    dst_all: set[str] = set()
    fired = False
    for a, b in itertools.product(views, repeat=2):
        s, d, src_reads, dst_reads = traced_pair(a, b)
        with contextlib.suppress(Exception):  # a crash reads what it read before it
            fired |= bool(list(rule.run(cast(HostView, s), cast(HostView, d))))
        src_all |= src_reads
        dst_all |= dst_reads
    return src_all, dst_all, fired


def as_compiled(traced: set[str], compiled: frozenset[str]) -> set[str]:
    """Traced reads in the compiled facets' terms: one register's value, or one attribute of the VMM, read where
    the compiler could only tell the family (or the whole VMM), counts as that."""
    return {f if f in compiled else family_of(f) if f.startswith(REGISTER_VALUE) else "vmm" for f in traced}


def test_compiled_facets_are_what_traced_runs_read(tmp_path: Path, rules: RuleSet) -> None:
    """Every built-in rule's facets, known when it is compiled, cover what it reads over a varied fleet, and
    are exactly that for the rules that fire there (a message reads what the condition does not)."""
    hosts_dir = fleet.generate(tmp_path, hosts=40, seed=7)
    hosts = load_hosts([hosts_dir], [tmp_path]) + load_hosts([HOSTS], [])
    views = [HostView(effective_abi(h)) for h in hosts]
    exact = 0
    for rule in rules.rules:
        src, dst, fired = traced_reads(rule, views)
        assert all(covers(rule.src_facets, f) for f in src), (rule.meta.id, src - rule.src_facets)
        assert all(covers(rule.dst_facets, f) for f in dst), (rule.meta.id, dst - rule.dst_facets)
        if fired:
            assert (set(rule.src_facets), set(rule.dst_facets)) == (as_compiled(src, rule.src_facets),
                                                                    as_compiled(dst, rule.dst_facets)), rule.meta.id
            exact += 1
    assert exact >= len(rules.rules) // 2


def test_user_rules_with_data_dependent_reads_get_every_facet_they_may_read(tmp_path: Path) -> None:
    """A register read through a loop variable or a guard: the compiled facets cover every run (a superset)."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    head = '  name "t"  summary "t"  severity warning  category test  reference "t"\n'
    bodies = {
        "any-value": "for r in src.saved & dst.listed\nwhere src.value(r) != dst.value(r)\nreport \"{r}\"\n",
        "bitmap-value": "for r in src.bitmaps\nwhere src.value(r) != 0 or src.enabled(r, \"x\")\nreport \"{r}\"\n",
        "guard-not-kept": "for r in src.saved\nwhere not (dst.invariant(r) and false) or src.value(r) > 0\n"
        "report \"{r} {src.field_diff(r, dst)}\"\n",
        "shadowed": "when any(r in src.bitmaps where any(r in src.saved where src.value(r) > 0))\nreport \"x\"\n",
    }
    for name, body in bodies.items():
        (rules_dir / f"{name}.rule").write_text(f"rule {name}\n{head}{body}")
    rules = load_rules([rules_dir], builtin=False)
    hosts = load_hosts([HOSTS], [])
    views = [HostView(effective_abi(h)) for h in hosts]
    for rule in rules.rules:
        src, dst, _ = traced_reads(rule, views)
        assert all(covers(rule.src_facets, f) for f in src), rule.meta.id
        assert all(covers(rule.dst_facets, f) for f in dst), rule.meta.id
    by_id = {r.meta.id: r for r in rules.rules}
    assert {"values:bitmap", "values:cpu", "values:firmware"} <= by_id["any-value"].src_facets
    assert by_id["bitmap-value"].src_facets == {"kernel", "values:bitmap"}
    assert {"values:cpu", "values:firmware"} <= by_id["guard-not-kept"].src_facets
    assert {"values:cpu", "values:firmware"} <= by_id["guard-not-kept"].dst_facets
    assert {"values:cpu", "values:firmware"} <= by_id["shadowed"].src_facets
    matrix = build_matrix(hosts, rules)
    assert_cells_equal_pair(matrix, rules, hosts)


def test_a_rule_that_reads_more_on_some_hosts_widens_its_key(tmp_path: Path) -> None:
    """A rule whose reads depend on the data: its key covers what any evaluation may read."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "psci-on-writable-imp-id.rule").write_text(
        'rule psci-on-writable-imp-id\n  name "t"  summary "t"  severity warning  category test  reference "t"\n'
        'when dst.kernel.has("ARM_WRITABLE_IMP_ID_REGS") and src.psci != dst.psci\n'
        'report "PSCI {psci(src.psci)} on {src}, {psci(dst.psci)} on {dst}"\n'
    )
    rules = load_rules([rules_dir], builtin=False)
    hosts = load_hosts([HOSTS], [])
    matrix = build_matrix(hosts, rules)
    assert_cells_equal_pair(matrix, rules, hosts)
    assert "values:firmware" in matrix.tables[0].src_facets


def test_domains_are_mutually_compatible_and_separations_are_real(shipped: Matrix) -> None:
    domains, separations = find_domains(shipped, FailOn.WARNING)
    assert sorted(h for d in domains for h in d.hosts) == list(range(18))
    names = [h.name for h in shipped.hosts]
    by_name = {tuple(names[h] for h in d.hosts) for d in domains}
    assert ("n1-linux-6.12-qemu-10.2", "n1-linux-6.12-qemu-10.2-x-mig-regs") in by_name
    # 6.1 and 6.6 used to share a domain: 6.6 lists 14 CCSIDR entries (6.3), the physical timer (6.4) and TCR2_EL1,
    # PIRE0_EL1, PIR_EL1 (6.5), none of which 6.1 takes back (lab: 6.12 -> 6.1).
    assert ("n1-linux-6.1-qemu-8.2",) in by_name and ("n1-linux-6.6-qemu-10.2",) in by_name
    for d in domains:
        for a, b in itertools.product(d.hosts, repeat=2):
            assert shipped.outcome(a, b).works(FailOn.WARNING)
    assert separations
    for sep in separations:
        src, dst = sep.example
        assert sep.rule in shipped.outcome(src, dst).blocking(FailOn.WARNING)
        assert 0 < sep.pairs <= sep.total
    # Every pair of domains is separated by some pair that does not work (that is why they are apart).
    assert len(separations) == len(domains) * (len(domains) - 1) // 2
    # --fail-on error tolerates guest ABI changes: domains can only grow.
    loose, _ = find_domains(shipped, FailOn.ERROR)
    assert len(loose) <= len(domains)


def test_cli_formats_and_exit_codes(tmp_path: Path) -> None:
    text = run("matrix")
    assert text.returncode == 8 | 4, text.stderr
    assert "legend" in text.stdout and "migration domains" in text.stdout
    # MPAM is hidden from 6.10 on: n2 6.6 -> 6.12 no longer passes.
    assert "324 pairs: 37 compatible, 0 guest ABI change, 287 fail" in text.stdout
    assert run("matrix", "--fail-on", "error").returncode == 8
    assert run("matrix", "--fail-on", "never").returncode == 0

    out = tmp_path / "m.csv"
    assert run("matrix", "-f", "csv", "-o", str(out)).returncode == 12
    table, grid = out.read_text().split("\n\n")
    outcomes = {r["outcome"]: r for r in csv.DictReader(io.StringIO(table))}
    rows = list(csv.reader(io.StringIO(grid)))
    names = rows[0][1:]
    assert rows[0][0] == "source" and len(names) == 18 and len(rows) == 19
    verdicts = {(r[0], names[b]): outcomes[c]["verdict"] for r in rows[1:] for b, c in enumerate(r[1:])}
    assert len(verdicts) == 324
    assert verdicts[("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2")] == "fails"
    assert verdicts[("n1-linux-6.1-qemu-8.2", "n1-linux-6.6-qemu-10.2")] == "compatible"

    md = run("matrix", "-f", "markdown").stdout
    assert md.count("\n| ") >= 17 and "Migration domains" in md

    data = json.loads(run("matrix", "-f", "json", "--no-findings").stdout)
    assert "findings" not in data and "findings" not in matrix_cells(data)[0]
    assert data["summary"]["compatible"] == 37 and data["summary"]["domains"] == len(data["domains"])
    assert {h["name"] for h in data["hosts"]} == {p.stem for p in HOSTS.glob("*.yaml")}


def test_cli_bad_input_is_located_and_exits_2(tmp_path: Path) -> None:
    bad = run("matrix", str(ROOT / "specs" / "kernels" / "linux-6.6.yaml"))
    assert bad.returncode == 2 and "expected a host spec" in bad.stderr and "Traceback" not in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("matrix", str(empty)).returncode == 2
    twice = tmp_path / "twice"
    twice.mkdir()
    (twice / "sub").mkdir()
    shutil.copy(host_path("n1-linux-6.6-qemu-10.2"), twice)
    shutil.copy(host_path("n1-linux-6.6-qemu-10.2"), twice / "sub")
    dup = run("matrix", str(twice))
    assert dup.returncode == 2 and "is also used by" in dup.stderr
    once = json.loads(run("matrix", str(twice / "sub"), str(twice / "sub" / "n1-linux-6.6-qemu-10.2.yaml"),
                          "-f", "json").stdout)
    assert [h["name"] for h in once["hosts"]] == ["n1-linux-6.6-qemu-10.2"]  # one file named twice is one host
    missing_dir = run("matrix", "-o", str(tmp_path / "no" / "such" / "dir.txt"))
    assert missing_dir.returncode == 2 and "cannot write" in missing_dir.stderr
    assert not (tmp_path / "no").exists()


def test_matrix_sarif_junit_github_come_from_the_same_findings(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    import jsonschema

    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    sarif = run("matrix", "-f", "sarif")
    assert sarif.returncode == 12
    doc = json.loads(sarif.stdout)
    jsonschema.Draft4Validator(schema).validate(doc)
    pairs = matrix_cells(json.loads(run("matrix", "-f", "json").stdout))
    assert len(doc["runs"][0]["results"]) == sum(len(c["findings"]) for c in pairs)
    junit = ET.fromstring(run("matrix", "-f", "junit").stdout)
    assert junit.get("tests") == "324"
    github = run("matrix", "-f", "github").stdout
    assert github.count("::error ") == sum(c["counts"]["error"] for c in pairs)


def test_configuration_changes_severity_and_disables_rules_in_the_matrix(tmp_path: Path) -> None:
    (tmp_path / ".abi-check.yaml").write_text(
        "severity:\n  impl-id-mismatch: note\ndisable: [register-unknown-on-dst]\n"
    )
    base = json.loads(run("matrix", "-f", "json").stdout)
    configured = json.loads(run("matrix", "-f", "json", cwd=tmp_path).stdout)
    assert "register-unknown-on-dst" in base["rules"] and "register-unknown-on-dst" not in configured["rules"]
    assert len(matrix_cells(base)) == len(matrix_cells(configured))
    for after in matrix_cells(configured):
        assert "register-unknown-on-dst" not in after["rules"]
        for f in after["findings"]:
            if f["rule"] == "impl-id-mismatch":
                assert f["severity"] == "note"
    assert configured["summary"]["compatible"] > base["summary"]["compatible"]


def test_a_report_to_a_special_file_writes_through_it(tmp_path: Path) -> None:
    """-o /dev/null or a pipe: written to, never replaced by a regular file (as root that would break /dev/null)."""
    import os
    import stat
    import threading

    from abi_check.report.output import write_chunks

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_chunks(["abc", "def"], fifo)
    reader.join(timeout=10)
    assert got == ["abcdef"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_the_json_report_follows_its_published_schema(tmp_path: Path) -> None:
    """With and without findings; cells are outcome indices, each outcome written once."""
    import jsonschema

    schema = json.loads((ROOT / "docs" / "schema" / "matrix.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for args in ([], ["--no-findings"]):
        data = json.loads(run("matrix", "-f", "json", *args).stdout)
        jsonschema.validate(data, schema)
        assert data["$schema"] == schema["$id"]
        assert len(data["outcomes"]) == len({json.dumps(o, sort_keys=True) for o in data["outcomes"]})
        assert all(len(row) == 18 for row in data["cells"]) and len(data["cells"]) == 18
    hosts_dir = fleet.generate(tmp_path, hosts=30, seed=5)
    data = json.loads(run("matrix", str(hosts_dir), "--root", str(tmp_path), "-f", "json").stdout)
    jsonschema.validate(data, schema)
    assert sum(c["verdict"] == "compatible" for c in matrix_cells(data)) == data["summary"]["compatible"]


def test_crashing_rules_are_internal_errors_in_every_cell_as_in_pair(tmp_path: Path) -> None:
    """Two rules that raise on some hosts: cells equal pair, outcomes that mean the same share one id, and a
    hoisted loop-invariant condition still crashes only where the loop has an element."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    head = '  name "t"  summary "t"  severity warning  category test  reference "t"\n'
    bodies = {
        "crash-a": 'when dst.kernel.has("ARM_WRITABLE_IMP_ID_REGS") and level_value(PSCI_VERSION, "nope") > 0\n'
        'report "x"\n',
        "crash-b": "for r in src.saved - dst.listed\nwhere level_value(PSCI_VERSION, \"nope\") > 0\nreport \"{r}\"\n",
        "fires": "when src.kernel.name != dst.kernel.name\nreport \"{src} {dst}\"\n",
    }
    for name, body in bodies.items():
        (rules_dir / f"{name}.rule").write_text(f"rule {name}\n{head}{body}")
    rules = load_rules([rules_dir], builtin=False)
    hosts = load_hosts([HOSTS], [])
    matrix = build_matrix(hosts, rules, jobs=2)
    assert_cells_equal_pair(matrix, rules, hosts)
    outcomes = matrix.outcomes()
    assert len(outcomes) == len(set(outcomes))
    assert any(o.crashes == 2 for o in outcomes) and any(o.crashes == 1 for o in outcomes)
    assert any(o.crashes == 0 for o in outcomes)


def test_domains_do_not_depend_on_the_exit_threshold() -> None:
    """--fail-on sets the exit code only: the domains and what separates them are the same at every threshold."""
    default = run("matrix")
    never = run("matrix", "--fail-on", "never")
    tail = lambda text: text[text.index("migration domains"):]  # noqa: E731
    assert tail(default.stdout) == tail(never.stdout)
    assert "every move inside one works both ways (no error" in default.stdout
    assert "what separates them" in never.stdout and never.returncode == 0 and default.returncode != 0


def _user_rules(tmp_path: Path, bodies: dict[str, str]) -> RuleSet:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    head = '  name "t"  summary "t"  severity warning  category test  reference "t"\n'
    for name, body in bodies.items():
        (rules_dir / f"{name}.rule").write_text(f"rule {name}\n{head}{body}")
    return load_rules([rules_dir], builtin=False)


def test_a_one_sided_guard_merges_the_hosts_it_excludes(shipped: Matrix, rules: RuleSet) -> None:
    """``where not dst.id_writable``: every destination with writable ID registers shares one key, whose cells
    are never evaluated (they report nothing), and the other keys are as before."""
    table = next(t for t in shipped.tables if t.rule.meta.id == "id-register-not-writable")
    assert table.rule.guards is not None and table.rule.guards.dst is not None
    writable = [i for i, view in enumerate(shipped.views) if view.id_writable]
    assert writable and len({int(table.dst_key[i]) for i in writable}) == 1
    merged = int(table.dst_key[writable[0]])
    assert not table.cell[:, merged].any()  # entry 0: no findings
    assert any(table.entries[int(e)] for e in table.cell.flat)  # the rule fires elsewhere


def test_a_crashing_guard_still_matches_pair(tmp_path: Path) -> None:
    rules = _user_rules(tmp_path, {"crash-in-guard": 'when dst.vcpus // (dst.vcpus - dst.vcpus) > 0\nreport "x"\n'})
    assert rules.rules[0].guards is not None
    hosts = load_hosts([HOSTS], [])
    matrix = build_matrix(hosts, rules)
    assert_cells_equal_pair(matrix, rules, hosts)


def test_reads_are_as_narrow_as_the_rule_says(tmp_path: Path) -> None:
    """A named register is read alone, not its family; a VMM attribute alone, not the whole VMM; the VMM's name
    (a label, put back per host) not at all."""
    rules = _user_rules(tmp_path, {
        "one-register": 'for r in [MIDR_EL1]\nwhere src.value(r) != dst.value(r)\nreport "{r} {dst.vmm.name}"\n',
        "vmm-attr": 'when src.vmm.count_check\nreport "{src.vmm} {dst.vmm}"\n',
    })
    by_id = {r.meta.id: r for r in rules.rules}
    assert by_id["one-register"].src_facets == by_id["one-register"].dst_facets
    assert [f for f in by_id["one-register"].dst_facets if f.startswith(REGISTER_VALUE)] == [
        f for f in by_id["one-register"].dst_facets]
    assert len(by_id["one-register"].dst_facets) == 1
    assert by_id["vmm-attr"].src_facets == {"vmm.count_check"} and by_id["vmm-attr"].dst_facets == set()
    hosts = load_hosts([HOSTS], [])
    assert_cells_equal_pair(build_matrix(hosts, rules), rules, hosts)


def _reference_separations(matrix: Matrix, domains: list[Domain]) -> list[Separation]:
    """What separates the domains, counted host pair by host pair (hosts grouped into parts: one ABI in one
    domain, in the order of their first host; an example is the first part pair in row order)."""
    domain_of = {h: d.index for d in domains for h in d.hosts}
    parts: dict[tuple[int, int], list[int]] = {}
    for h, host in enumerate(matrix.hosts):
        parts.setdefault((host.abi, domain_of[h]), []).append(h)
    keys = list(parts)
    tally: dict[tuple[int, int], dict[str, int]] = {}
    example: dict[tuple[int, int, str], tuple[int, int]] = {}
    for p, (abi_p, dom_p) in enumerate(keys):
        for q, (abi_q, dom_q) in enumerate(keys):
            if dom_p == dom_q:
                continue
            pair = (min(dom_p, dom_q), max(dom_p, dom_q))
            for rule in matrix.abi_outcome(abi_p, abi_q).blocking(WORKS_AT):
                counts = tally.setdefault(pair, {})
                counts[rule] = counts.get(rule, 0) + len(parts[keys[p]]) * len(parts[keys[q]])
                example.setdefault((*pair, rule), (parts[keys[p]][0], parts[keys[q]][0]))
    size = {d.index: len(d.hosts) for d in domains}
    out = []
    for (a, b), counts in sorted(tally.items()):
        ranked = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        rule, count = ranked[0]
        out.append(Separation(a, b, rule, count, 2 * size[a] * size[b], example[(a, b, rule)], ranked))
    return out


@pytest.mark.parametrize("abis", [None, 12])
def test_separations_equal_a_count_over_every_host_pair(tmp_path: Path, rules: RuleSet, abis: int | None) -> None:
    """Distinct hosts, and hosts that share ABIs (parts of several hosts, weighted by their host pairs)."""
    hosts_dir = fleet.generate(tmp_path, hosts=36, abis=abis, seed=11)
    matrix = build_matrix(load_hosts([hosts_dir], [tmp_path]), rules)
    domains, separations = find_domains(matrix)
    assert len(domains) > 2 and separations
    assert separations == _reference_separations(matrix, domains)


def test_the_diagonal_of_hosts_that_share_an_abi_is_judged_host_by_host(tmp_path: Path) -> None:
    """A rule with one finding at each side's file, which collapse into one when both sides are the same host:
    hosts that share the ABI are each judged on their own; the counts, the reports' cells and the outcome table
    agree with ``outcome`` on every pair."""
    rules = _user_rules(tmp_path, {"sides": 'for s in [src.span, dst.span]\nreport "x"\nat s\n'})
    hosts_dir = tmp_path / "hosts"
    hosts_dir.mkdir()
    for name in ("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2"):
        text = (HOSTS / f"{name}.yaml").read_text()
        for copy in ("a", "b", "c"):
            (hosts_dir / f"{name}-{copy}.yaml").write_text(text.replace(f"name: {name}", f"name: {name}-{copy}"))
    matrix = build_matrix(load_hosts([hosts_dir], []), rules)
    n = len(matrix.hosts)
    assert n == 6 and len(matrix.abis) == 2
    every = [matrix.outcome(a, b) for a in range(n) for b in range(n)]
    own = matrix.own_outcomes()
    assert sorted(own) == list(range(n))
    assert all(own[h] == matrix.outcome(h, h) != matrix.abi_outcome(matrix.hosts[h].abi, matrix.hosts[h].abi)
               for h in range(n))
    assert matrix.verdict_counts() == {v: sum(o.verdict == v for o in every) for v in VERDICTS}
    report = MatrixReport(matrix, *find_domains(matrix), FailOn.WARNING, ("x",), with_findings=False)
    outcomes, rows = report.outcome_grid()
    assert len(outcomes) == len(set(outcomes))
    assert [outcomes[i] for row in rows for i in row] == every
    data = json.loads("".join(report.json_chunks()))
    assert [(c["verdict"], c["counts"]["error"], c["counts"]["warning"]) for c in matrix_cells(data)] == [
        (o.verdict, o.counts[0], o.counts[1]) for o in every]


def test_the_outcome_table_is_the_distinct_meanings_in_the_order_first_met(shipped: Matrix) -> None:
    """One id per distinct outcome, numbered in the order the cells are met row by row: the first cell has
    outcome 0, and an id is never met before a smaller one in that order."""
    outcomes = shipped.outcomes()
    cells = shipped.abi_cells()
    assert len(outcomes) == len(set(outcomes)) == len(np.unique(cells))
    _, first = np.unique(cells.reshape(-1), return_index=True)
    assert list(np.argsort(first)) == list(range(len(outcomes)))
    names, blocking = shipped.blocking(FailOn.WARNING)
    for o, outcome in enumerate(outcomes):
        assert [names[c] for c in np.flatnonzero(blocking[o])] == list(outcome.blocking(FailOn.WARNING))
    works = shipped.works(FailOn.ERROR)
    assert all(works[a, b] == shipped.abi_outcome(a, b).works(FailOn.ERROR)
               for a in range(len(shipped.abis)) for b in range(len(shipped.abis)))


@pytest.mark.parametrize("count", [1, 2, 1000, 4097])
def test_group_is_np_unique(count: int) -> None:
    rng = np.random.default_rng(count)
    for high in (3, 1 << 20, 1 << 61):
        values = rng.integers(0, high, count, dtype=np.int64)
        distinct, first, inverse = group(values)
        expected = np.unique(values, return_index=True, return_inverse=True)
        got = (distinct, first, inverse)
        assert all(np.array_equal(g, w.reshape(-1)) for g, w in zip(got, expected, strict=True))
    rows = rng.integers(0, 3, (count, 9))
    first, inverse = distinct_rows(rows)
    assert len({tuple(r) for r in rows}) == len(first)
    assert np.array_equal(rows[first][inverse], rows) and sorted(first) == sorted(set(first))
    assert all(first[inverse[i]] <= i for i in range(count))
