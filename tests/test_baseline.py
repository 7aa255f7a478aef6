"""``abi-check baseline``: its overlay makes the reconciled hosts compatible, and it says why others are not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import permutations
from pathlib import Path

import jsonschema
import pytest

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.baseline.command import References, build_report
from abi_check.commands.baseline.common import safe_value
from abi_check.commands.baseline.reconcile import Outcome, Reconciler
from abi_check.commands.lint import lint
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.hosts import load_hosts
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import FieldSafety, IdField
from abi_check.verdict.findings import Severity
from abi_check.verdict.result import PairResult
from tests.conftest import HOSTS, host_path, matrix_cells

ROOT = Path(__file__).resolve().parent.parent
RESULT_SCHEMA = json.loads((ROOT / "docs" / "schema" / "result.schema.json").read_text())
BASELINE_SCHEMA = json.loads((ROOT / "docs" / "schema" / "baseline.schema.json").read_text())


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def check_written(rules: RuleSet, directory: Path, names: list[str]) -> dict[tuple[str, str], PairResult]:
    """Every ordered pair of the written hosts, loaded from disk the way a user checks them."""
    loader = SpecLoader(SpecRoots([directory.resolve(), catalogue_dir().resolve()]))
    views = {n: HostView(effective_abi(loader.load_host(directory / "hosts" / f"{n}.yaml"))) for n in names}
    return {(a, b): PairResult(a, b, tuple(check_pair(rules, views[a], views[b]))) for a, b in permutations(names, 2)}


def check_original(rules: RuleSet, view, names: list[str]) -> dict[tuple[str, str], PairResult]:  # type: ignore[no-untyped-def]
    return {(a, b): PairResult(a, b, tuple(check_pair(rules, view(a), view(b)))) for a, b in permutations(names, 2)}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """baseline over all 16 shipped hosts, written to a directory, with its JSON report."""
    out = tmp_path_factory.mktemp("baseline") / "out"
    done = cli("baseline", str(HOSTS), "--output-dir", str(out), "--format", "json")
    return out, done


def test_baseline_exits_as_a_check_only_with_fail_on() -> None:
    """A report exits 0; --fail-on makes it a check: hosts outside the set still fail (8) and change the ABI (4)."""
    done = cli("baseline", str(HOSTS), "--fail-on", "warning", "--format", "json")
    assert done.returncode == 12, done.stderr
    assert cli("baseline", str(HOSTS), "--fail-on", "never", "--format", "json").returncode == 0


def test_baseline_over_the_shipped_hosts_makes_the_reconciled_set_compatible(shipped, rules, view) -> None:  # type: ignore[no-untyped-def]
    out, done = shipped
    assert done.returncode == 0, done.stderr  # a report: it wrote its answer
    data = json.loads(done.stdout)
    members = data["baseline"]["members"]
    # Not trivially true: several hosts, on three kernels and both QEMU profiles. 6.1 is out since the 6.3 cache
    # normalisation and the 6.4 physical timer (registers 6.1 refuses, lab: 6.12 -> 6.1); 6.13 is out with
    # plain QEMU (TCR2_EL1/PIR*, listed from 6.5, are hidden on N1 from 6.13).
    assert members == ["n1-linux-6.12-qemu-10.2-x-mig-regs", "n1-linux-6.12-qemu-10.2",
                       "n1-linux-6.15-qemu-10.2-x-mig-regs", "n1-linux-6.6-qemu-10.2"]
    with_baseline = check_written(rules, out, members)
    assert {p.verdict for p in with_baseline.values()} == {"compatible"}
    without = check_original(rules, view, members)
    failing = sorted(k for k, p in without.items() if p.verdict == "fails")
    assert ("n1-linux-6.15-qemu-10.2-x-mig-regs", "n1-linux-6.12-qemu-10.2") in failing  # PSCI 1.3 since 6.13
    # 6.12 shows N1's debug version (v8.2), 6.6 caps it at v8.0 and has no writable ID registers.
    assert ("n1-linux-6.12-qemu-10.2", "n1-linux-6.6-qemu-10.2") in failing
    assert data["baseline"]["verdicts-without-baseline"]["fails"] == len(failing) == 5
    assert data["baseline"]["verdicts-with-baseline"] == {"compatible": 12, "abi-change": 0, "fails": 0}


def test_matrix_over_the_written_hosts_is_one_compatible_domain(shipped) -> None:  # type: ignore[no-untyped-def]
    """The issue's check, as an operator runs it: `abi-check matrix` on the hosts baseline wrote."""
    out, done = shipped
    members = json.loads(done.stdout)["baseline"]["members"]
    matrix = cli("matrix", str(out / "hosts"), "--root", str(out), "--format", "json")
    assert matrix.returncode == 0, matrix.stderr
    data = json.loads(matrix.stdout)
    assert sorted(h["name"] for h in data["hosts"]) == sorted(members)
    assert {c["verdict"] for c in matrix_cells(data)} == {"compatible"}
    assert [sorted(d["hosts"]) for d in data["domains"]] == [sorted(members)]
    before = json.loads(cli("matrix", *(str(host_path(m)) for m in members), "--format", "json").stdout)
    assert len(before["domains"]) > 1


def test_written_specs_pass_lint(shipped) -> None:  # type: ignore[no-untyped-def]
    out, _ = shipped
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml")) == [
        "hosts/n1-linux-6.12-qemu-10.2-x-mig-regs.yaml", "hosts/n1-linux-6.12-qemu-10.2.yaml",
        "hosts/n1-linux-6.15-qemu-10.2-x-mig-regs.yaml", "hosts/n1-linux-6.6-qemu-10.2.yaml",
        "vmms/qemu-10.2-baseline.yaml", "vmms/qemu-10.2-x-mig-regs-baseline.yaml",
    ]
    assert lint([out]) == 0
    text = (out / "vmms" / "qemu-10.2-baseline.yaml").read_text()
    assert 'extends: "qemu-10.2"' in text and 'PSCI_VERSION: "1.1"' in text
    assert "VENDOR_HYP_BMAP: [FUNC_FEAT, PTP]" in text and "VENDOR_HYP_BMAP_2: []" in text


def test_the_json_report_follows_both_schemas(shipped) -> None:  # type: ignore[no-untyped-def]
    _, done = shipped
    data = json.loads(done.stdout)
    jsonschema.validate(data, RESULT_SCHEMA)
    jsonschema.validate(data["baseline"], BASELINE_SCHEMA)
    assert data["command"] == "baseline"


def test_every_other_host_says_why_it_is_out(shipped) -> None:  # type: ignore[no-untyped-def]
    _, done = shipped
    data = json.loads(done.stdout)["baseline"]
    why = {e["host"]: {o["rule"] for o in e["obstacles"]} for e in data["excluded"]}
    assert len(why) == 14 and all(why.values())
    # A kernel without writable implementation ID registers splits the hosts by CPU implementation, even one core:
    # Altra is a Graviton2's N1 r3p1 with another REVIDR, Grace a Graviton4's V2 at r0p0.
    assert "impl-id-mismatch" in why["altra-linux-6.12-qemu-10.2"]
    assert "impl-id-mismatch" in why["grace-linux-6.12-qemu-10.2"]
    assert "impl-id-mismatch" in why["v2-linux-6.15-qemu-10.2"]
    assert "impl-id-mismatch" in why["ampere1-linux-6.15-crosvm-main"]
    # Before 6.7 ID registers must equal the host's (real Graviton2 and Graviton3 have the same CTR_EL0 and
    # CLIDR_EL1, so the invariant registers do not separate them).
    assert "id-register-not-writable" in why["v1-linux-6.6-qemu-10.2"]
    assert "invariant-register-mismatch" not in why["v1-linux-6.6-qemu-10.2"]
    # WORKAROUND levels are the host CPU's: Cortex-A72 needs the firmware mitigations the N1 does not.
    assert {"workaround-level-above-dst", "workaround-2-not-restorable"} <= why["a72-linux-5.15-firecracker-1.8"]
    # Register lists: VENDOR_HYP_BMAP_2 without x-mig-hidden-regs; TCR2/PIR* listed by 6.5-6.12 only; CCSIDR[3..13]
    # and the physical timer, which 6.1 does not list.
    assert "bitmap-register-unknown" in why["n1-linux-6.15-qemu-10.2"]
    assert "register-unknown-on-dst" in why["n1-linux-6.13-qemu-10.2"]
    assert "register-unknown-on-dst" in why["n1-linux-6.1-qemu-8.2"]
    assert "bitmap-register-unknown" in why["n1-linux-5.10-qemu-8.2"]
    reasons = {o["rule"]: o["reason"] for e in data["excluded"] for o in e["obstacles"]}
    assert "splits the hosts by CPU implementation" in reasons["impl-id-mismatch"]
    assert "SET only validates" in reasons["workaround-level-above-dst"]


def test_the_largest_sets_are_listed(shipped) -> None:  # type: ignore[no-untyped-def]
    _, done = shipped
    others = json.loads(done.stdout)["baseline"]["other-sets"]
    # Graviton4's V2 now has its real ID registers, above the N1's where KVM cannot lower them: N1 and V2 part.
    assert ["ampere1-linux-6.15-crosvm-main", "n1-linux-6.15-qemu-10.2"] in others
    assert ["ampere1-linux-6.15-crosvm-main", "v2-linux-6.15-qemu-10.2"] in others
    # TCR2/PIR* are listed from 6.5 and hidden again on 6.13: 6.13 pairs with 6.15 (with x-mig-regs), apart.
    assert ["n1-linux-6.13-qemu-10.2", "n1-linux-6.15-qemu-10.2-x-mig-regs"] in others
    assert [len(s) for s in others] == sorted((len(s) for s in others), reverse=True)


def run(rules: RuleSet, paths: list[Path], out: Path | None = None) -> Outcome:
    hosts = load_hosts(paths, [])
    return Reconciler(hosts, rules, Severity.WARNING, lambda stem: f"{stem}.yaml").run()


def test_different_cpus_on_6_15_share_a_set_with_writable_implementation_ids(rules, view, tmp_path) -> None:  # type: ignore[no-untyped-def]
    names = ["ampere1-linux-6.15-crosvm-main", "v2-linux-6.15-qemu-10.2"]  # ampere-1 gives only its MIDR
    done = cli("baseline", *(str(host_path(n)) for n in names), "-d", str(tmp_path), "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["baseline"]
    assert data["members"] == names and data["excluded"] == []
    config = {c["what"]: c["value"] for c in data["configuration"]}
    assert config["implementation-id"] == "writable; targets ampere-1, neoverse-v2"
    assert config["VENDOR_HYP_BMAP_2"] == "[DISCOVER_IMPL_VER, DISCOVER_IMPL_CPUS]"
    assert config["PSCI_VERSION"] == "1.3"
    overlay = (tmp_path / "vmms" / "crosvm-main-baseline.yaml").read_text()
    assert 'targets: ["ampere-1", "neoverse-v2"]' in overlay
    assert {p.verdict for p in check_written(rules, tmp_path, names).values()} == {"compatible"}
    before = check_original(rules, view, names)
    assert any(f.rule == "impl-id-mismatch" for p in before.values() for f in p.findings)


def cpu_with_rng(directory: Path) -> None:
    (directory / "neoverse-n1-rng.yaml").write_text(
        "abi-check: 1\nkind: cpu\nname: neoverse-n1-rng\nextends: neoverse-n1\nsource: test\n"
        "registers:\n  ID_AA64ISAR0_EL1: 0x1000100010211120\n",
        encoding="utf-8",
    )
    for name, kernel, cpu in (("rng-612", "linux-6.12", "neoverse-n1-rng"), ("rng-66", "linux-6.6", "neoverse-n1-rng"),
                              ("plain-612", "linux-6.12", "neoverse-n1")):
        (directory / f"{name}.yaml").write_text(
            f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\nvmm: qemu-10.2\ncpu: {cpu}\n",
            encoding="utf-8",
        )


def test_writable_id_fields_are_lowered_to_the_common_safe_value(rules, tmp_path) -> None:  # type: ignore[no-untyped-def]
    specs = tmp_path / "specs"
    specs.mkdir()
    cpu_with_rng(specs)
    out = tmp_path / "out"
    done = cli("baseline", str(specs / "rng-612.yaml"), str(specs / "plain-612.yaml"), "-d", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    overlay = (out / "vmms" / "qemu-10.2-baseline.yaml").read_text()
    assert "id-overrides:\n  ID_AA64ISAR0_EL1:\n    RNDR: 0\n" in overlay
    # The CPU is not in the catalogue: the written host names it by path, and the check needs its directory.
    assert f"--root {os.path.relpath(specs, ROOT)}" in done.stdout
    loader = SpecLoader(SpecRoots([out.resolve(), specs.resolve(), catalogue_dir().resolve()]))
    views = [HostView(effective_abi(loader.load_host(out / "hosts" / f"{n}.yaml"))) for n in ("rng-612", "plain-612")]
    assert check_pair(rules, views[0], views[1]) == [] or all(
        f.severity is Severity.NOTE for f in check_pair(rules, views[0], views[1]))


def test_a_pre_6_7_kernel_cannot_lower_a_field_and_is_left_out(rules, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cpu_with_rng(tmp_path)
    outcome = run(rules, [tmp_path / "rng-66.yaml", tmp_path / "plain-612.yaml"])
    report = build_report(outcome, [], References(None, []), None, Severity.WARNING, rules.ids())
    assert len(report.members) == 1 and len(report.excluded) == 1
    assert {o.rule for o in report.excluded[0].obstacles} >= {"id-field-unreproducible"}
    both = Reconciler(outcome.hosts, rules, Severity.WARNING, lambda s: s).configure((0, 1))
    assert any("RNDR cannot be set to the common value 0 on rng-66" in n for n in both.notes)


@pytest.mark.parametrize(
    ("safety", "values", "expected"),
    [
        (FieldSafety.LOWER_SAFE, [2, 1, 3], 1),
        (FieldSafety.HIGHER_SAFE, [2, 1, 3], 3),
        (FieldSafety.HIGHER_OR_ZERO_SAFE, [4, 5], 5),
        (FieldSafety.HIGHER_OR_ZERO_SAFE, [4, 0, 5], 0),
        (FieldSafety.EXACT, [2, 2], 2),
        (FieldSafety.EXACT, [2, 1], 7),
    ],
)
def test_safe_value_is_the_kernels_arm64_ftr_safe_value(safety: FieldSafety, values: list[int], expected: int) -> None:
    field = IdField("F", 0, 4, safety, False, True, None, safe_value=7)  # type: ignore[arg-type]
    assert safe_value(field, values) == expected


def test_without_output_dir_the_report_prints_the_specs(tmp_path: Path) -> None:
    names = ["n1-linux-6.6-qemu-10.2", "n1-linux-6.12-qemu-10.2"]
    done = cli("baseline", *(str(host_path(n)) for n in names), "-f", "markdown")
    assert done.returncode == 0, done.stderr
    assert "### abi-check baseline: 2 of 2 host(s)" in done.stdout
    assert "`vmms/qemu-10.2-baseline.yaml`" in done.stdout and '  PSCI_VERSION: "1.1"' in done.stdout
    assert not list(tmp_path.iterdir())
    text = cli("baseline", *(str(host_path(n)) for n in names))
    assert "--- hosts/n1-linux-6.12-qemu-10.2.yaml" in text.stdout and text.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["specs/kernels/linux-6.6.yaml"], "linux-6.6 is a kernel spec, expected a host spec"),
        (["no/such/host.yaml"], "no/such/host.yaml: no such file or directory"),
        (["specs/hosts/n1-linux-6.1-qemu-8.2.yaml", "-d", "README.md"], "exists and is not a directory"),
    ],
)
def test_bad_input_exits_2_with_a_located_message(args: list[str], message: str) -> None:
    done = cli("baseline", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_two_vmm_specs_of_the_same_name_get_two_overlays(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for part in ("a", "b"):
        directory = tmp_path / part
        directory.mkdir()
        (directory / "qemu-10.2.yaml").write_text(
            f"abi-check: 1\nkind: vmm\nname: qemu-10.2\nextends: qemu-8.2\nsource: test\nversion: \"10.2-{part}\"\n",
            encoding="utf-8",
        )
        (directory / f"h{part}.yaml").write_text(
            f"abi-check: 1\nkind: host\nname: h{part}\nsource: test\nkernel: linux-6.6\nvmm: ./qemu-10.2.yaml\n"
            "cpu: neoverse-n1\n",
            encoding="utf-8",
        )
    out = tmp_path / "out"
    done = cli("baseline", str(tmp_path / "a" / "ha.yaml"), str(tmp_path / "b" / "hb.yaml"), "-d", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (out / "vmms").iterdir()) == ["qemu-10.2-baseline-2.yaml", "qemu-10.2-baseline.yaml"]
    assert 'vmm: "../vmms/qemu-10.2-baseline-2.yaml"' in (out / "hosts" / "hb.yaml").read_text()
    assert 'extends: "../../b/qemu-10.2.yaml"' in (out / "vmms" / "qemu-10.2-baseline-2.yaml").read_text()
    assert lint([out], [tmp_path / "a", tmp_path / "b"]) == 0
