"""KVM_GET_REG_LIST as the kernel specs predict it, against what real kernels listed (the lab's dumps, Firecracker
fingerprints) and the register-list facts of issue 12."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from labspecs import FEATURE_SETS, lab_abi, write_lab_specs

from abi_check.abi.effective import synthesised_clidr
from abi_check.abi.views import HostView
from abi_check.errors import InputErrors
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.spec import registers as regs
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Kernel
from abi_check.spec.registers import register_id as rid
from abi_check.verdict.findings import Severity

ROOT = Path(__file__).resolve().parent.parent
LAB_DUMPS = ROOT / "lab" / "out" / "dumps"
FINGERPRINTS = ROOT.parent / "shared" / "data" / "firecracker-fingerprints"
# The lab's kernels by the point-release specs that describe them (their lists are their lines').
KERNELS = {"6.1": "linux-6.1.192", "6.12": "linux-6.12.118", "6.18": "linux-6.18", "7.2": "linux-7.2"}
CPUS = {"max": "qemu-max", "neoverse-n1": "qemu-neoverse-n1"}
TCR2_PIE = {"TCR2_EL1", "PIRE0_EL1", "PIR_EL1"}
PTIMER = {"CNTPCT_EL0", "CNTP_CTL_EL0", "CNTP_CVAL_EL0"}

# KVM_GET_REG_LIST lengths the lab measured (Debian 6.1.192, 6.12.118, 6.18.15, 7.2.13 under QEMU 7.2, max and
# neoverse-n1 alike; nVHE the same), per probe feature set.
COUNTS = {
    "6.1": {"psci-0.2": 242, "psci-0.1": 242, "psci-0.2+pmu-v3": 316, "psci-0.2+sve": 261, "psci-0.2+ptrauth": 252,
            "psci-0.2+pmu-v3+sve+ptrauth": 345},
    "6.12": {"psci-0.2": 259, "psci-0.1": 259, "psci-0.2+pmu-v3": 333, "psci-0.2+sve": 278, "psci-0.2+ptrauth": 269,
             "psci-0.2+pmu-v3+sve+ptrauth": 362},
    "6.18": {"psci-0.2": 257, "psci-0.1": 257, "psci-0.2+pmu-v3": 331, "psci-0.2+sve": 276, "psci-0.2+ptrauth": 267,
             "psci-0.2+pmu-v3+sve+ptrauth": 360},
    "7.2": {"psci-0.2": 257, "psci-0.1": 257, "psci-0.2+pmu-v3": 331, "psci-0.2+sve": 276, "psci-0.2+ptrauth": 267,
            "psci-0.2+pmu-v3+sve+ptrauth": 360},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("lab-specs")
    loader = write_lab_specs(root)
    return lambda kernel, cpu, fs="psci-0.2": lab_abi(loader, root, kernel, cpu, fs)


def names(ids: object) -> set[str]:
    return {regs.register_name(r) for r in ids}  # type: ignore[attr-defined]


def test_every_register_group_has_names_that_parse_back() -> None:
    assert rid("X0") == 0x6030000000100000 and rid("PC") == 0x6030000000100040
    assert rid("V0") == 0x6040000000100054 and rid("FPSR") == 0x60200000001000D4
    assert rid("CCSIDR[13]") == 0x602000000011000D
    assert rid("Z31[0]") == 0x60800000001503E0 and rid("FFR[0]") == 0x6050000000150600
    assert rid("SVE_VLS") == rid("KVM_REG_ARM64_SVE_VLS") == 0x606000000015FFFF
    assert rid("KVM_REG_ARM_PSCI_VERSION") == rid("PSCI_VERSION")
    for name in regs.known_names():
        assert regs.register_name(rid(name)) == name
    assert regs.expand("PMEVCNTR{0..2}_EL0") == ["PMEVCNTR0_EL0", "PMEVCNTR1_EL0", "PMEVCNTR2_EL0"]
    assert regs.expand("CCSIDR[{0..1}]") == ["CCSIDR[0]", "CCSIDR[1]"]


# QEMU's neoverse-n1 has no SVE and no pointer authentication: KVM refuses those vCPUs (a host input error here).
SUPPORTED = [(cpu, fs) for cpu in sorted(CPUS) for fs in FEATURE_SETS
             if cpu == "max" or not ("sve" in fs or "ptrauth" in fs)]


@pytest.mark.parametrize("kernel", sorted(COUNTS))
@pytest.mark.parametrize(("cpu", "feature_set"), SUPPORTED)
def test_listed_registers_per_feature_set_match_the_lab(lab, kernel: str, cpu: str, feature_set: str) -> None:  # type: ignore[no-untyped-def]
    assert len(lab(KERNELS[kernel], CPUS[cpu], feature_set).listed) == COUNTS[kernel][feature_set]


@pytest.mark.skipif(not LAB_DUMPS.is_dir(), reason="no lab dumps: run python3 lab/run.py")
@pytest.mark.parametrize("dump", sorted(p.name for p in LAB_DUMPS.glob("*.json")) if LAB_DUMPS.is_dir() else [])
def test_listed_registers_equal_the_lab_dump(lab, dump: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((LAB_DUMPS / dump).read_text())
    kernel, cpu = dump.removesuffix(".json").removesuffix("-nvhe").split("-", 1)
    for vcpu in data["vcpus"]:
        if vcpu.get("registers") is None:
            continue  # a feature set the CPU cannot give (SVE, ptrauth on neoverse-n1)
        real = {int(r["id"], 16) for r in vcpu["registers"]}
        predicted = set(lab(KERNELS[kernel], CPUS[cpu], vcpu["name"]).listed)
        assert names(predicted - real) == set() and names(real - predicted) == set(), vcpu["name"]


@pytest.mark.skipif(not FINGERPRINTS.is_dir(), reason="no Firecracker fingerprints in ../shared/data")
@pytest.mark.parametrize(("fingerprint", "kernel", "host"), [
    ("fingerprint_ARM_NEOVERSE_N1_6.1host.json", "linux-6.1", "n1-linux-6.1-qemu-8.2"),
    ("fingerprint_ARM_NEOVERSE_N1_5.10host.json", "linux-5.10", "n1-linux-5.10-qemu-8.2"),
])
def test_listed_registers_against_real_firecracker_hosts(abi, fingerprint: str, kernel: str, host: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((FINGERPRINTS / fingerprint).read_text())
    real = {int(m["addr"], 16) for m in data["guest_cpu_config"]["reg_modifiers"]}
    e = abi(host)
    assert e.kernel.info.name == kernel
    pmu = any(regs.register_name(r) == "PMCR_EL0" for r in real)
    listed = set(e.listed) if pmu else {r for r in e.listed if e.kernel.registers.get(r) is None
                                        or e.kernel.registers[r].requires_feature != "PMU_V3"}
    # Firecracker leaves PC and the virtual counter out of its fingerprints. Amazon's 5.10.255 and 6.1.172 carry
    # the 6.4 physical-timer change for CNTP_CTL_EL0/CNTP_CVAL_EL0 (a backport mainline 6.1.192 lacks). 5.10.0
    # lists no OSLSR_EL1 either way; the 5.10.255 fingerprint has no bitmaps and WORKAROUND_3 from stable.
    assert names(listed - real) - {"PC", "KVM_REG_ARM_TIMER_CNT"} <= ({"SMCCC_ARCH_WORKAROUND_3"} - names(real))
    assert names(real - listed) <= {"CNTP_CTL_EL0", "CNTP_CVAL_EL0", "SMCCC_ARCH_WORKAROUND_3"}


def test_tcr2_and_pie_registers_are_listed_from_6_5_whatever_the_cpu(abi) -> None:  # type: ignore[no-untyped-def]
    # Neoverse-N1 has neither FEAT_TCR2 nor S1PIE: 6.6 lists the three registers anyway, 6.13 hides them.
    assert names(abi("n1-linux-6.6-qemu-10.2").listed) >= TCR2_PIE
    assert not TCR2_PIE & names(abi("n1-linux-6.1-qemu-8.2").listed)
    assert not TCR2_PIE & names(abi("n1-linux-6.13-qemu-10.2").listed)


def test_6_6_to_6_13_on_neoverse_n1_fails_on_tcr2_and_pie(rules: RuleSet, view) -> None:  # type: ignore[no-untyped-def]
    findings = check_pair(rules, view("n1-linux-6.6-qemu-10.2"), view("n1-linux-6.13-qemu-10.2"))
    unknown = {f.subject for f in findings if f.rule == "register-unknown-on-dst"}
    assert unknown == TCR2_PIE
    assert any(f.rule == "register-count-exceeds" and f.severity is Severity.ERROR for f in findings)


def test_pmu_registers_are_listed_without_pmu_v3_before_5_11(lab) -> None:  # type: ignore[no-untyped-def]
    pmu = {"PMCR_EL0", "PMEVCNTR30_EL0", "PMINTENSET_EL1"}
    assert pmu <= names(lab("linux-5.10", "qemu-max", "psci-0.2").listed)
    assert not pmu & names(lab("linux-5.15", "qemu-max", "psci-0.2").listed)
    assert pmu <= names(lab("linux-5.15", "qemu-max", "psci-0.2+pmu-v3").listed)


def test_sve_replaces_the_fp_registers(lab) -> None:  # type: ignore[no-untyped-def]
    plain = names(lab("linux-6.12", "qemu-max", "psci-0.2").listed)
    sve = names(lab("linux-6.12", "qemu-max", "psci-0.2+sve").listed)
    assert {"V0", "V31"} <= plain - sve
    assert {"SVE_VLS", "Z0[0]", "P15[0]", "FFR[0]", "ZCR_EL1"} <= sve - plain


def test_ccsidr_follows_the_host_caches_before_6_3_and_is_14_after(lab, abi) -> None:  # type: ignore[no-untyped-def]
    ccsidr = {f"CCSIDR[{n}]" for n in range(14)}
    # QEMU max: CLIDR_EL1 0x2000023 = L1 separate, L2 unified: CSSELR 0 (L1 data), 1 (L1 instruction), 2 (L2).
    assert names(lab("linux-6.1", "qemu-max").listed) & ccsidr == {"CCSIDR[0]", "CCSIDR[1]", "CCSIDR[2]"}
    assert names(lab("linux-6.12", "qemu-max").listed) & ccsidr == ccsidr
    assert names(abi("n1-linux-6.6-qemu-10.2").listed) & ccsidr == ccsidr


def test_clidr_is_made_from_ctr_since_6_3(lab, abi) -> None:  # type: ignore[no-untyped-def]
    clidr = rid("CLIDR_EL1")
    # The lab: 0x2000021 on 6.12.118 and 7.2.13 for both QEMU models, the host's value on 6.1.192.
    assert lab("linux-6.12", "qemu-max").value(clidr) == 0x02000021
    assert lab("linux-7.2", "qemu-neoverse-n1").value(clidr) == 0x02000021
    assert lab("linux-6.1", "qemu-max").value(clidr) == 0x02000023
    # A real Graviton2 has CTR_EL0.IDC and DIC set: one unified cache, L1, as the point of coherency.
    assert abi("n1-linux-6.6-qemu-10.2").value(clidr) == 0x01000004
    # No IDC/DIC and a host that needs the clean to PoU: separate L1 caches, LoUU = LoUIS = LoC = 1.
    assert synthesised_clidr(0x8444C004, 0x0A200023) == 0x09200003


def test_per_kernel_guest_views_of_the_debug_pmu_and_hcx_fields(lab) -> None:  # type: ignore[no-untyped-def]
    # Guest values the lab read on QEMU max (psci-0.2 / +pmu-v3).
    dfr0, id_dfr0, mmfr1 = rid("ID_AA64DFR0_EL1"), rid("ID_DFR0_EL1"), rid("ID_AA64MMFR1_EL1")
    assert lab("linux-6.1", "qemu-max").value(dfr0) == 0x10305006
    assert lab("linux-6.1", "qemu-max", "psci-0.2+pmu-v3").value(dfr0) == 0x10305506
    assert lab("linux-6.1", "qemu-max", "psci-0.2+pmu-v3").value(id_dfr0) == 0x05010009
    assert lab("linux-6.12", "qemu-max").value(dfr0) == 0x10305009
    assert lab("linux-6.12", "qemu-max", "psci-0.2+pmu-v3").value(dfr0) == 0x10305609
    assert lab("linux-6.12", "qemu-max", "psci-0.2+pmu-v3").value(id_dfr0) == 0x06010009
    assert lab("linux-6.1", "qemu-max").value(mmfr1) == 0x0000001010211122
    assert lab("linux-7.2", "qemu-max").value(mmfr1) == 0x0000011010211122


def refused(rules: RuleSet, src: object, dst: object) -> set[str]:
    findings = check_pair(rules, HostView(src), HostView(dst))  # type: ignore[arg-type]
    return {f.subject.split(".")[0] for f in findings if f.severity is Severity.ERROR and f.subject}


def test_rollback_6_12_to_6_1_names_what_the_lab_refused(lab, rules: RuleSet) -> None:  # type: ignore[no-untyped-def]
    got = refused(rules, lab("linux-6.12", "qemu-max", "psci-0.2+pmu-v3"), lab("linux-6.1", "qemu-max",
                                                                                   "psci-0.2+pmu-v3"))
    ccsidr = {f"CCSIDR[{n}]" for n in range(3, 14)}
    expected = ccsidr | PTIMER | TCR2_PIE | {"CLIDR_EL1", "ID_AA64DFR0_EL1", "ID_AA64MMFR1_EL1", "ID_DFR0_EL1"}
    # Not predicted: CCSIDR[0..2] EINVAL (6.1 compares them with the host's, which CPU specs do not give).
    assert expected <= got and got - expected == set()


def test_6_1_to_6_12_fails_on_hcx_and_6_1_to_7_2_does_not(lab, rules: RuleSet) -> None:  # type: ignore[no-untyped-def]
    src = lab("linux-6.1", "qemu-max", "psci-0.2+pmu-v3")
    assert refused(rules, src, lab("linux-6.12", "qemu-max", "psci-0.2+pmu-v3")) == {"ID_AA64MMFR1_EL1"}
    assert refused(rules, src, lab("linux-7.2", "qemu-max", "psci-0.2+pmu-v3")) == set()


def load_kernel(tmp_path: Path, registers: str) -> Kernel:
    (tmp_path / "k.yaml").write_text(
        f"abi-check: 1\nkind: kernel\nname: k\nextends: linux-6.1\nsource: test\nregisters:\n{registers}",
        encoding="utf-8",
    )
    kernel = SpecLoader(SpecRoots([tmp_path, catalogue_dir()])).load(tmp_path / "k.yaml")
    assert isinstance(kernel, Kernel)
    return kernel


def kernel_errors(tmp_path: Path, registers: str) -> list[str]:
    try:
        load_kernel(tmp_path, registers)
    except InputErrors as exc:
        return [e.message for e in exc.errors]
    return []


@pytest.mark.parametrize(("registers", "message"), [
    ("  X{0..99}: {}\n", "range {0..99} is empty or longer than 64 registers"),
    ("  X{3..1}: {}\n", "range {3..1} is empty"),
    ("  MPIDR_EL1: {requires-cpu-cache: true}\n", "requires-cpu-cache applies to the CCSIDR demux registers only"),
    ("  CCSIDR[{0..14}]: {}\n", "unknown register 'CCSIDR[14]'"),
])
def test_register_series_and_conditions_are_checked(tmp_path: Path, registers: str, message: str) -> None:
    errors = kernel_errors(tmp_path, registers)
    assert len(errors) == 1 and message in errors[0], errors


def test_null_deletes_an_inherited_condition(tmp_path: Path) -> None:
    # linux-6.1 lists the PMU registers only with PMU_V3; null takes the condition away, from the series only.
    kernel = load_kernel(tmp_path, "  PMEVCNTR{0..30}_EL0: {requires-feature: null}\n")
    assert kernel.registers[rid("PMEVCNTR30_EL0")].requires_feature is None
    assert kernel.registers[rid("PMCR_EL0")].requires_feature == "PMU_V3"


def test_cpu_conditional_registers_of_6_12_and_6_13(tmp_path: Path) -> None:
    loader = write_lab_specs(tmp_path)
    (tmp_path / "lab-v9.yaml").write_text(
        "abi-check: 1\nkind: cpu\nname: lab-v9\nvendor: test\nsource: test\nregisters:\n"
        "  ID_AA64PFR2_EL1: 0x100000000\n  ID_AA64MMFR3_EL1: 0x10101\n", encoding="utf-8")
    both = {"FPMR", "POR_EL1"}
    assert both <= names(lab_abi(loader, tmp_path, "linux-6.12", "lab-v9", "psci-0.2").listed)
    assert not both & names(lab_abi(loader, tmp_path, "linux-6.12", "qemu-max", "psci-0.2").listed)
    assert not both & names(lab_abi(loader, tmp_path, "linux-6.6", "lab-v9", "psci-0.2").listed)
    # TCRX and S1PIE set: 6.13 keeps TCR2_EL1, PIRE0_EL1 and PIR_EL1 on this CPU.
    assert names(lab_abi(loader, tmp_path, "linux-6.13", "lab-v9", "psci-0.2").listed) >= TCR2_PIE
