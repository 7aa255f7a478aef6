"""The effective guest ABI of real catalogue hosts, pinned to values checked by hand against the references.

Each expectation cites the fact in ../shared/reference/kvm-arm64.md (KVM) or vmm.md (VMM) it comes from.
"""

from __future__ import annotations

from abi_check.spec.registers import register_id as rid

PSCI_1_1 = 0x10001
PSCI_1_3 = 0x10003
FIRMWARE = ["PSCI_VERSION", "SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2", "SMCCC_ARCH_WORKAROUND_3"]
BITMAPS = ["STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2"]


def test_linux_6_15_qemu_neoverse_n1(abi) -> None:  # type: ignore[no-untyped-def]
    e = abi("n1-linux-6.15-qemu-10.2")
    # Bitmap defaults: every known bit (TRNG, PV_TIME, FUNC_FEAT|PTP) except VENDOR_HYP_BMAP_2, reset to 0.
    assert [e.value(rid(b)) for b in BITMAPS] == [0x1, 0x1, 0x3, 0x0]
    # PSCI default is KVM_ARM_PSCI_LATEST = 1.3 since 6.13; QEMU never writes it.
    assert e.value(rid("PSCI_VERSION")) == PSCI_1_3
    assert e.psci_implemented == {0x1, 0x2, 0x10000, 0x10001, 0x10002, 0x10003}
    # Neoverse-N1: CSV2 -> WA1 NOT_REQUIRED (2); SSBS -> WA2 NOT_AVAIL (0); BHB loop k24 -> WA3 AVAIL (1).
    assert [e.value(rid(w)) for w in FIRMWARE[1:]] == [2, 0, 1]
    # QEMU saves every listed register, firmware and bitmap registers included, and writes none of them.
    assert {rid(r) for r in FIRMWARE + BITMAPS} <= e.saved
    assert e.saved == frozenset(e.listed)
    assert e.explicit == frozenset()
    # No FEAT_TCR2 / S1PIE on N1: 6.13+ does not list TCR2_EL1, PIRE0_EL1, PIR_EL1.
    assert not {rid("TCR2_EL1"), rid("PIRE0_EL1"), rid("PIR_EL1")} & set(e.listed)
    # PMU_V3 is on for QEMU -cpu host, so PMU registers are listed; SVE is not requested, so ZCR_EL1 is not.
    assert rid("PMCR_EL0") in e.listed and rid("ZCR_EL1") not in e.listed
    assert e.value(rid("MIDR_EL1")) == 0x413FD0C1
    # The capability exists on 6.15, but QEMU does not enable writable implementation IDs.
    assert e.id_writable and not e.imp_id_writable


def test_linux_6_12_qemu_x_mig_regs_neoverse_n1(abi) -> None:  # type: ignore[no-untyped-def]
    e = abi("n1-linux-6.12-qemu-10.2-x-mig-regs")
    assert e.value(rid("PSCI_VERSION")) == PSCI_1_1
    assert rid("VENDOR_HYP_BMAP_2") not in e.listed  # added in 6.15
    # Before 6.13 TCR2_EL1/PIRE0_EL1/PIR_EL1 are listed whatever the CPU, so QEMU saves them.
    assert {rid("TCR2_EL1"), rid("PIRE0_EL1"), rid("PIR_EL1")} <= e.saved
    assert rid("TCR2_EL1") in e.host.vmm.migration.safe_missing


def test_linux_6_15_crosvm_ampere_1(abi) -> None:  # type: ignore[no-untyped-def]
    e = abi("ampere1-linux-6.15-crosvm-main")
    # crosvm saves PSCI_VERSION and WORKAROUND_1-3 of the firmware group, none of the bitmaps.
    assert {rid(r) for r in FIRMWARE} <= e.saved
    assert not {rid(b) for b in BITMAPS} & e.saved
    assert {rid(b) for b in BITMAPS} <= set(e.listed)
    assert e.value(rid("MIDR_EL1")) == 0xC00FAC30
    # Ampere-1: CSV2 -> WA1 NOT_REQUIRED; unknown SSB state -> NOT_AVAIL; BHB loop k11 -> AVAIL.
    assert [e.value(rid(w)) for w in FIRMWARE[1:]] == [2, 0, 1]


def test_linux_5_10_has_no_bitmaps_and_older_psci(abi) -> None:  # type: ignore[no-untyped-def]
    e = abi("n1-linux-5.10-qemu-8.2")
    assert not {rid(b) for b in BITMAPS} & set(e.listed)  # bitmaps arrive in 5.19
    assert rid("SMCCC_ARCH_WORKAROUND_3") not in e.listed  # mainline 5.17
    assert e.value(rid("PSCI_VERSION")) == 0x10000
    assert not e.id_writable  # writable ID registers arrive in 6.7


def test_neoverse_v2_bhb_level_depends_on_kernel(abi) -> None:  # type: ignore[no-untyped-def]
    # Pre-2025 BHB lists leave ECBHB-only V2 unaffected (NOT_REQUIRED on 6.12.0, test_domain_facts); the rework
    # (6.15, and 6.12.24 on: the shipped V2 6.12 host runs 6.12.118) treats it as mitigated (AVAIL).
    wa3 = rid("SMCCC_ARCH_WORKAROUND_3")
    assert abi("v2-linux-6.12-qemu-10.2").host.kernel.version == "6.12.118"
    assert abi("v2-linux-6.12-qemu-10.2").value(wa3) == 1
    assert abi("v2-linux-6.15-qemu-10.2").value(wa3) == 1


def test_sve_field_hidden_without_the_sve_vcpu_feature(abi) -> None:  # type: ignore[no-untyped-def]
    e = abi("v1-linux-6.6-qemu-10.2")
    pfr0 = e.value(rid("ID_AA64PFR0_EL1"))
    assert (pfr0 >> 32) & 0xF == 0  # Neoverse-V1 has SVE=1, but QEMU's vCPU here has no SVE feature
    assert (e.host.cpu.value(rid("ID_AA64PFR0_EL1")) >> 32) & 0xF == 1
