"""``abi-check fence`` over the shipped kernels and QEMU profiles: the fence and the rules before it, against the
reference facts (kvm-arm64.md, vmm.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from abi_check.commands.fence import Cell, fence
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Cpu, Kernel, Vmm
from abi_check.verdict.findings import Severity

ROOT = Path(__file__).resolve().parent.parent
RESULT_SCHEMA = json.loads((ROOT / "docs" / "schema" / "result.schema.json").read_text())
FENCE_SCHEMA = json.loads((ROOT / "docs" / "schema" / "fence.schema.json").read_text())
KERNELS = ["linux-5.10", "linux-5.15", "linux-5.19", "linux-6.1", "linux-6.6", "linux-6.7", "linux-6.12", "linux-6.13",
           "linux-6.15"]
QEMU = ["qemu-8.2", "qemu-10.2", "qemu-10.2-x-mig-regs"]
X_MIG = "qemu-10.2-x-mig-regs"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)


def spec(loader: SpecLoader, kind: str, name: str):  # type: ignore[no-untyped-def]
    return loader.load(catalogue_dir() / kind / f"{name}.yaml")


def grid(rules: RuleSet, kernels: list[str], vmms: list[str], cpus: list[str] = ["neoverse-n1"],  # noqa: B006
         limit: Severity = Severity.WARNING) -> dict[tuple[str, str], Cell]:
    loader = SpecLoader(SpecRoots([catalogue_dir()]))
    ks = [spec(loader, "kernels", k) for k in kernels]
    vs = [spec(loader, "vmms", v) for v in vmms]
    cs = [spec(loader, "cpus", c) for c in cpus]
    assert all(isinstance(k, Kernel) for k in ks) and all(isinstance(v, Vmm) for v in vs)
    assert all(isinstance(c, Cpu) for c in cs)
    cells, crashed = fence(ks, vs, cs, 16, rules, limit)
    assert not crashed
    return {(c.combination.kernel.info.name, c.combination.vmm.info.name): c for row in cells for c in row}


@pytest.fixture(scope="module")
def shipped(rules: RuleSet) -> dict[tuple[str, str], Cell]:
    return grid(rules, KERNELS, QEMU)


def first(cell: Cell) -> tuple[str, str, str]:
    """The pair shown first for an unsafe combination and its most severe rule."""
    reason = cell.reasons[0]
    return reason.pair.source, reason.pair.destination, reason.rules[0]


def test_the_fence_is_6_13_with_hidden_registers_or_6_15_with_any_qemu(shipped) -> None:  # type: ignore[no-untyped-def]
    fences = sorted(k for k, c in shipped.items() if c.status == "fence")
    assert fences == [("linux-6.13", X_MIG), ("linux-6.15", "qemu-8.2")]
    assert shipped[("linux-6.15", "qemu-10.2")].status == "safe"
    assert shipped[("linux-6.15", X_MIG)].status == "safe"


def test_every_combination_before_the_fence_names_its_blocking_rule(shipped) -> None:  # type: ignore[no-untyped-def]
    after = {("linux-6.13", X_MIG), ("linux-6.15", "qemu-8.2"), ("linux-6.15", "qemu-10.2"), ("linux-6.15", X_MIG)}
    for key, cell in shipped.items():
        if key in after:
            assert cell.status in ("fence", "safe") and not cell.reasons
        else:
            assert cell.status == "unsafe" and cell.rules, key


def test_psci_1_3_default_since_6_13_blocks_rollback_to_6_12_even_with_hidden_registers(shipped) -> None:  # type: ignore[no-untyped-def]
    cell = shipped[("linux-6.12", X_MIG)]
    assert cell.rules == ("psci-not-implemented",)
    assert first(cell) == (f"linux-6.13/{X_MIG}", f"linux-6.12/{X_MIG}", "psci-not-implemented")
    message = cell.reasons[0].pair.findings[0].message
    assert "PSCI 1.3 (the default of linux-6.13)" in message


def test_vendor_hyp_bmap_2_new_in_6_15_blocks_6_13_unless_hidden(shipped) -> None:  # type: ignore[no-untyped-def]
    for vmm in ("qemu-8.2", "qemu-10.2"):
        cell = shipped[("linux-6.13", vmm)]
        assert first(cell) == (f"linux-6.15/{vmm}", f"linux-6.13/{vmm}", "bitmap-register-unknown")
        assert "psci-not-implemented" not in cell.rules  # 6.13 already implements 1.3
        assert any(f.subject == "VENDOR_HYP_BMAP_2" for f in cell.reasons[0].pair.findings)
    assert shipped[("linux-6.13", X_MIG)].status == "fence"  # x-mig-hidden-regs hides it (value 0)


def test_hypercall_bitmaps_of_5_19_and_workaround_3_block_rollback_to_5_10_and_5_15(shipped) -> None:  # type: ignore[no-untyped-def]
    for kernel in ("linux-5.10", "linux-5.15"):
        for vmm in QEMU:
            cell = shipped[(kernel, vmm)]
            assert {"bitmap-register-unknown", "register-unknown-on-dst", "psci-not-implemented"} <= set(cell.rules)
            subjects = {f.subject for u in cell.reasons for f in u.pair.findings}
            assert {"STD_BMAP", "SMCCC_ARCH_WORKAROUND_3"} <= subjects


def test_tcr2_and_pie_listed_from_6_5_block_6_6_to_6_13_without_safe_missing_registers(shipped) -> None:  # type: ignore[no-untyped-def]
    plain = shipped[("linux-6.6", "qemu-10.2")]
    forward = [u for u in plain.reasons
               if (u.pair.source, u.pair.destination) == ("linux-6.6/qemu-10.2", "linux-6.13/qemu-10.2")]
    unknown = {f.subject for u in forward for f in u.pair.findings if f.rule == "register-unknown-on-dst"}
    assert unknown == {"TCR2_EL1", "PIRE0_EL1", "PIR_EL1"}
    # x-mig-safe-missing-regs tolerates them. Rollback still fails: 6.12 shows N1's debug version (v8.2) where
    # 6.6 caps it at v8.0 without writable ID registers, and 6.13 defaults to PSCI 1.3.
    assert shipped[("linux-6.6", X_MIG)].rules == ("id-register-not-writable", "psci-not-implemented")


def test_fail_on_error_counts_only_failing_migrations(rules: RuleSet) -> None:
    cells = grid(rules, ["linux-5.10", "linux-6.1"], ["qemu-8.2"], limit=Severity.ERROR)
    cell = cells[("linux-5.10", "qemu-8.2")]
    assert "bitmap-implicit-default" not in cell.rules  # a warning
    assert "bitmap-register-unknown" in cell.rules


def test_a_combination_that_cannot_make_a_vm_is_invalid_and_skipped(tmp_path: Path) -> None:
    # A VMM release that turns on nested virtualisation, which only the newer kernel supports.
    (tmp_path / "qemu-nv.yaml").write_text(
        "abi-check: 1\nkind: vmm\nname: qemu-nv\nextends: qemu-10.2-x-mig-regs\nsource: test\n"
        "vcpu-features: [PSCI_0_2, PMU_V3, HAS_EL2]\n",
        encoding="utf-8",
    )
    (tmp_path / "linux-6.15-nv.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: linux-6.15-nv\nextends: linux-6.15\nsource: test\n"
        "vcpu-features: [PSCI_0_2, PMU_V3, SVE, PTRAUTH_ADDRESS, PTRAUTH_GENERIC, HAS_EL2]\n",
        encoding="utf-8",
    )
    done = cli("fence", "linux-6.13", str(tmp_path / "linux-6.15-nv.yaml"), "--vmm", X_MIG,
               "--vmm", str(tmp_path / "qemu-nv.yaml"), "--format", "json")
    data = json.loads(done.stdout)["fence"]
    cells = {(c["kernel"], c["vmm"]): c for c in data["cells"]}
    invalid = cells[("linux-6.13", "qemu-nv")]
    assert invalid["status"] == "invalid" and "HAS_EL2" in invalid["errors"][0] and invalid["rules"] == []
    assert "vcpu-feature-mismatch" in cells[("linux-6.13", X_MIG)]["rules"]
    assert data["fence"] == [{"kernel": "linux-6.15-nv", "vmm": "qemu-nv"}]
    assert "linux-6.13 + qemu-nv: invalid: VMM qemu-nv asks for vCPU feature HAS_EL2" in cli(
        "fence", "linux-6.13", str(tmp_path / "linux-6.15-nv.yaml"), "--vmm", X_MIG,
        "--vmm", str(tmp_path / "qemu-nv.yaml")).stdout


def test_several_cpus_check_migrations_between_hosts_of_the_same_cpu(rules: RuleSet) -> None:
    cells = grid(rules, ["linux-6.12", "linux-6.15"], [X_MIG], ["neoverse-n1", "neoverse-v2"])
    cell = cells[("linux-6.12", X_MIG)]
    assert cell.status == "unsafe"
    # Neoverse-V2: WORKAROUND_3 NOT_REQUIRED on 6.12 (ECBHB), AVAIL on 6.15 after the Spectre-BHB rework.
    v2 = [u for u in cell.reasons if u.pair.source.startswith("neoverse-v2/")]
    assert v2 and all(u.pair.destination.startswith("neoverse-v2/") for u in v2)
    assert "workaround-level-above-dst" in cell.rules
    assert cells[("linux-6.15", X_MIG)].status == "fence"


def test_cli_formats_and_exit_codes() -> None:
    args = ["fence", *KERNELS, *(a for v in QEMU for a in ("--vmm", v))]
    text = cli(*args)
    assert text.returncode == 0, text.stderr  # a report: exit 0 once the answer is written
    # As a check: unsafe combinations remain. The examples shown are failures (8); the rollback 5.19 -> 5.15
    # no longer also warns that the guest loses services 5.15 offers without the bitmaps (implicit-services),
    # but the example rollback 5.15 -> 5.10 does: 5.10 lacks TRNG, FUNC_FEAT and PTP (hypercall-service-lost, 4).
    assert cli(*args, "--fail-on", "warning").returncode == 8 | 4
    assert text.stdout.startswith(f"fence at linux-6.13 + {X_MIG} (also minimal: linux-6.15 + qemu-8.2)")
    assert "linux-6.12 + qemu-10.2-x-mig-regs: psci-not-implemented; e.g." in text.stdout
    md = cli(*args, "--format", "markdown")
    assert md.stdout.startswith(f"### abi-check fence: fence at linux-6.13 + {X_MIG}")
    assert "| `linux-6.13` | ❌ `bitmap-register-unknown` | ❌ `bitmap-register-unknown` | 🚧 fence |" in md.stdout
    data = json.loads(cli(*args, "-f", "json").stdout)
    jsonschema.validate(data, RESULT_SCHEMA)
    jsonschema.validate(data["fence"], FENCE_SCHEMA)
    assert data["command"] == "fence" and {p["verdict"] for p in data["pairs"]} <= {"fails", "abi-change"}
    safe = cli("fence", "linux-6.13", "linux-6.15", "--vmm", X_MIG)
    assert safe.returncode == 0 and safe.stdout.startswith(f"fence at linux-6.13 + {X_MIG}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["linux-6.99", "--vmm", "qemu-10.2"], "KERNEL linux-6.99: unknown spec 'linux-6.99'"),
        (["qemu-10.2", "--vmm", "qemu-10.2"], "qemu-10.2 is a vmm spec, expected a kernel spec"),
        (["linux-6.6", "linux-6.6", "--vmm", "qemu-10.2"], "linux-6.6 is given twice"),
        (["linux-6.6", "--vmm", "qemu-10.2", "--cpu", "no/such.yaml"], "--cpu no/such.yaml: no such spec file"),
        (["linux-6.6"], "Missing option '--vmm'"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(args: list[str], message: str) -> None:
    done = cli("fence", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_baseline_moves_the_fence(tmp_path: Path) -> None:
    """PSCI pinned to 1.1 and the bitmaps written: with hidden registers, rollback is free from 6.6 on."""
    out = tmp_path / "out"
    assert cli("baseline", "specs/hosts", "-d", str(out), "-f", "json").returncode == 0
    vmms = [str(out / "vmms" / f"{v}-baseline.yaml") for v in ("qemu-10.2", X_MIG)]
    kernels = ["linux-5.10", "linux-6.1", "linux-6.6", "linux-6.12", "linux-6.13", "linux-6.15"]
    data = json.loads(cli("fence", *kernels, "--vmm", vmms[0], "--vmm", vmms[1], "-f", "json").stdout)["fence"]
    # Not 6.1: since 6.3/6.4 newer kernels list 14 CCSIDR entries and the physical timer, which 6.1 refuses.
    assert data["fence"] == [{"kernel": "linux-6.6", "vmm": f"{X_MIG}-baseline"},
                             {"kernel": "linux-6.15", "vmm": "qemu-10.2-baseline"}]
    cells = {(c["kernel"], c["vmm"]): c for c in data["cells"]}
    invalid = cells[("linux-5.10", f"{X_MIG}-baseline")]
    assert invalid["status"] == "invalid" and "PSCI_VERSION to 1.1, which kernel linux-5.10" in invalid["errors"][0]
    assert cells[("linux-6.13", "qemu-10.2-baseline")]["rules"][0] == "bitmap-register-unknown"


def test_no_valid_combination_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "qemu-nv.yaml").write_text(
        "abi-check: 1\nkind: vmm\nname: qemu-nv\nextends: qemu-10.2\nsource: test\n"
        "vcpu-features: [PSCI_0_2, HAS_EL2]\n",
        encoding="utf-8",
    )
    done = cli("fence", "linux-6.13", "--vmm", str(tmp_path / "qemu-nv.yaml"))
    assert done.returncode == 2 and "no kernel and VMM given can make a VM together" in done.stderr
    assert "HAS_EL2" in done.stderr and done.stdout == ""
