"""KVM/arm64 register ids: the size and group fields, system-register encodings and the names KVM uses."""

from __future__ import annotations

# arch/arm64/include/uapi/asm/kvm.h and include/uapi/linux/kvm.h
KVM_REG_ARM64 = 0x6000_0000_0000_0000
KVM_REG_SIZE_SHIFT = 52
KVM_REG_SIZE_MASK = 0x00F0_0000_0000_0000
KVM_REG_SIZE_U32 = 0x0020_0000_0000_0000
KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000
KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000
KVM_REG_SIZE_U256 = 0x0050_0000_0000_0000
KVM_REG_SIZE_U512 = 0x0060_0000_0000_0000
KVM_REG_SIZE_U2048 = 0x0080_0000_0000_0000

GROUP_SHIFT = 16
GROUP_MASK = 0x0FFF_0000
GROUP_CORE = 0x0010
GROUP_DEMUX = 0x0011
GROUP_SYSREG = 0x0013
GROUP_FW = 0x0014
GROUP_SVE = 0x0015
GROUP_FW_BMAP = 0x0016

FW_NAMES = {
    0: "KVM_REG_ARM_PSCI_VERSION",
    1: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1",
    2: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2",
    3: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
}
BMAP_NAMES = {
    0: "KVM_REG_ARM_STD_BMAP",
    1: "KVM_REG_ARM_STD_HYP_BMAP",
    2: "KVM_REG_ARM_VENDOR_HYP_BMAP",
    3: "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
}

# (op0, op1, CRn, CRm, op2) -> name, for the registers KVM lists; others get the generic S<op0>_<op1>_C<n>_C<m>_<op2>.
_SYSREG_NAMES: dict[tuple[int, int, int, int, int], str] = {
    (2, 0, 0, 0, 2): "OSDTRRX_EL1",
    (2, 0, 0, 2, 0): "MDCCINT_EL1",
    (2, 0, 0, 2, 2): "MDSCR_EL1",
    (2, 0, 0, 3, 2): "OSDTRTX_EL1",
    (2, 0, 0, 6, 2): "OSECCR_EL1",
    (2, 0, 1, 0, 0): "MDRAR_EL1",
    (2, 0, 1, 0, 4): "OSLAR_EL1",
    (2, 0, 1, 1, 4): "OSLSR_EL1",
    (2, 0, 1, 3, 4): "OSDLR_EL1",
    (2, 0, 1, 4, 4): "DBGPRCR_EL1",
    (2, 0, 7, 8, 6): "DBGCLAIMSET_EL1",
    (2, 0, 7, 9, 6): "DBGCLAIMCLR_EL1",
    (2, 0, 7, 14, 6): "DBGAUTHSTATUS_EL1",
    (2, 3, 0, 1, 0): "MDCCSR_EL0",
    (2, 3, 0, 4, 0): "DBGDTR_EL0",
    (2, 3, 0, 5, 0): "DBGDTRRX_EL0",
    (2, 4, 0, 7, 0): "DBGVCR32_EL2",
    (3, 0, 0, 0, 0): "MIDR_EL1",
    (3, 0, 0, 0, 5): "MPIDR_EL1",
    (3, 0, 0, 0, 6): "REVIDR_EL1",
    (3, 0, 0, 1, 0): "ID_PFR0_EL1",
    (3, 0, 0, 1, 1): "ID_PFR1_EL1",
    (3, 0, 0, 1, 2): "ID_DFR0_EL1",
    (3, 0, 0, 1, 3): "ID_AFR0_EL1",
    (3, 0, 0, 1, 4): "ID_MMFR0_EL1",
    (3, 0, 0, 1, 5): "ID_MMFR1_EL1",
    (3, 0, 0, 1, 6): "ID_MMFR2_EL1",
    (3, 0, 0, 1, 7): "ID_MMFR3_EL1",
    (3, 0, 0, 2, 0): "ID_ISAR0_EL1",
    (3, 0, 0, 2, 1): "ID_ISAR1_EL1",
    (3, 0, 0, 2, 2): "ID_ISAR2_EL1",
    (3, 0, 0, 2, 3): "ID_ISAR3_EL1",
    (3, 0, 0, 2, 4): "ID_ISAR4_EL1",
    (3, 0, 0, 2, 5): "ID_ISAR5_EL1",
    (3, 0, 0, 2, 6): "ID_MMFR4_EL1",
    (3, 0, 0, 2, 7): "ID_ISAR6_EL1",
    (3, 0, 0, 3, 0): "MVFR0_EL1",
    (3, 0, 0, 3, 1): "MVFR1_EL1",
    (3, 0, 0, 3, 2): "MVFR2_EL1",
    (3, 0, 0, 3, 4): "ID_PFR2_EL1",
    (3, 0, 0, 3, 5): "ID_DFR1_EL1",
    (3, 0, 0, 3, 6): "ID_MMFR5_EL1",
    (3, 0, 0, 4, 0): "ID_AA64PFR0_EL1",
    (3, 0, 0, 4, 1): "ID_AA64PFR1_EL1",
    (3, 0, 0, 4, 2): "ID_AA64PFR2_EL1",
    (3, 0, 0, 4, 4): "ID_AA64ZFR0_EL1",
    (3, 0, 0, 4, 5): "ID_AA64SMFR0_EL1",
    (3, 0, 0, 4, 7): "ID_AA64FPFR0_EL1",
    (3, 0, 0, 5, 0): "ID_AA64DFR0_EL1",
    (3, 0, 0, 5, 1): "ID_AA64DFR1_EL1",
    (3, 0, 0, 5, 2): "ID_AA64DFR2_EL1",
    (3, 0, 0, 5, 4): "ID_AA64AFR0_EL1",
    (3, 0, 0, 5, 5): "ID_AA64AFR1_EL1",
    (3, 0, 0, 6, 0): "ID_AA64ISAR0_EL1",
    (3, 0, 0, 6, 1): "ID_AA64ISAR1_EL1",
    (3, 0, 0, 6, 2): "ID_AA64ISAR2_EL1",
    (3, 0, 0, 6, 3): "ID_AA64ISAR3_EL1",
    (3, 0, 0, 7, 0): "ID_AA64MMFR0_EL1",
    (3, 0, 0, 7, 1): "ID_AA64MMFR1_EL1",
    (3, 0, 0, 7, 2): "ID_AA64MMFR2_EL1",
    (3, 0, 0, 7, 3): "ID_AA64MMFR3_EL1",
    (3, 0, 0, 7, 4): "ID_AA64MMFR4_EL1",
    (3, 0, 1, 0, 0): "SCTLR_EL1",
    (3, 0, 1, 0, 1): "ACTLR_EL1",
    (3, 0, 1, 0, 2): "CPACR_EL1",
    (3, 0, 1, 0, 3): "SCTLR2_EL1",
    (3, 0, 1, 2, 0): "ZCR_EL1",
    (3, 0, 1, 2, 6): "SMCR_EL1",
    (3, 0, 2, 0, 0): "TTBR0_EL1",
    (3, 0, 2, 0, 1): "TTBR1_EL1",
    (3, 0, 2, 0, 2): "TCR_EL1",
    (3, 0, 2, 0, 3): "TCR2_EL1",
    (3, 0, 2, 1, 0): "APIAKEYLO_EL1",
    (3, 0, 2, 1, 1): "APIAKEYHI_EL1",
    (3, 0, 2, 1, 2): "APIBKEYLO_EL1",
    (3, 0, 2, 1, 3): "APIBKEYHI_EL1",
    (3, 0, 2, 2, 0): "APDAKEYLO_EL1",
    (3, 0, 2, 2, 1): "APDAKEYHI_EL1",
    (3, 0, 2, 2, 2): "APDBKEYLO_EL1",
    (3, 0, 2, 2, 3): "APDBKEYHI_EL1",
    (3, 0, 2, 3, 0): "APGAKEYLO_EL1",
    (3, 0, 2, 3, 1): "APGAKEYHI_EL1",
    (3, 0, 4, 0, 0): "SPSR_EL1",
    (3, 0, 4, 0, 1): "ELR_EL1",
    (3, 0, 4, 1, 0): "SP_EL0",
    (3, 0, 4, 6, 0): "ICC_PMR_EL1",
    (3, 0, 5, 1, 0): "AFSR0_EL1",
    (3, 0, 5, 1, 1): "AFSR1_EL1",
    (3, 0, 5, 2, 0): "ESR_EL1",
    (3, 0, 5, 3, 0): "ERRIDR_EL1",
    (3, 0, 5, 3, 1): "ERRSELR_EL1",
    (3, 0, 6, 0, 0): "FAR_EL1",
    (3, 0, 7, 4, 0): "PAR_EL1",
    (3, 0, 9, 14, 1): "PMINTENSET_EL1",
    (3, 0, 9, 14, 2): "PMINTENCLR_EL1",
    (3, 0, 9, 14, 6): "PMMIR_EL1",
    (3, 0, 10, 2, 0): "MAIR_EL1",
    (3, 0, 10, 2, 2): "PIRE0_EL1",
    (3, 0, 10, 2, 3): "PIR_EL1",
    (3, 0, 10, 2, 4): "POR_EL1",
    (3, 0, 10, 3, 0): "AMAIR_EL1",
    (3, 0, 10, 4, 4): "MPAMIDR_EL1",
    (3, 0, 10, 5, 0): "MPAM1_EL1",
    (3, 0, 10, 5, 1): "MPAM0_EL1",
    (3, 0, 12, 0, 0): "VBAR_EL1",
    (3, 0, 12, 0, 1): "RVBAR_EL1",
    (3, 0, 12, 0, 2): "RMR_EL1",
    (3, 0, 12, 1, 0): "ISR_EL1",
    (3, 0, 13, 0, 1): "CONTEXTIDR_EL1",
    (3, 0, 13, 0, 4): "TPIDR_EL1",
    (3, 0, 13, 0, 7): "SCXTNUM_EL1",
    (3, 0, 14, 1, 0): "CNTKCTL_EL1",
    (3, 1, 0, 0, 0): "CCSIDR_EL1",
    (3, 1, 0, 0, 1): "CLIDR_EL1",
    (3, 1, 0, 0, 2): "CCSIDR2_EL1",
    (3, 1, 0, 0, 4): "GMID_EL1",
    (3, 1, 0, 0, 6): "SMIDR_EL1",
    (3, 1, 0, 0, 7): "AIDR_EL1",
    (3, 2, 0, 0, 0): "CSSELR_EL1",
    (3, 3, 0, 0, 1): "CTR_EL0",
    (3, 3, 0, 0, 7): "DCZID_EL0",
    (3, 3, 4, 2, 0): "NZCV",
    (3, 3, 4, 2, 1): "DAIF",
    (3, 3, 4, 2, 2): "SVCR",
    (3, 3, 4, 4, 0): "FPCR",
    (3, 3, 4, 4, 1): "FPSR",
    (3, 3, 4, 4, 2): "FPMR",
    (3, 3, 9, 12, 0): "PMCR_EL0",
    (3, 3, 9, 12, 1): "PMCNTENSET_EL0",
    (3, 3, 9, 12, 2): "PMCNTENCLR_EL0",
    (3, 3, 9, 12, 3): "PMOVSCLR_EL0",
    (3, 3, 9, 12, 4): "PMSWINC_EL0",
    (3, 3, 9, 12, 5): "PMSELR_EL0",
    (3, 3, 9, 12, 6): "PMCEID0_EL0",
    (3, 3, 9, 12, 7): "PMCEID1_EL0",
    (3, 3, 9, 13, 0): "PMCCNTR_EL0",
    (3, 3, 9, 13, 1): "PMXEVTYPER_EL0",
    (3, 3, 9, 13, 2): "PMXEVCNTR_EL0",
    (3, 3, 9, 14, 0): "PMUSERENR_EL0",
    (3, 3, 9, 14, 3): "PMOVSSET_EL0",
    (3, 3, 10, 2, 4): "POR_EL0",
    (3, 3, 13, 0, 2): "TPIDR_EL0",
    (3, 3, 13, 0, 3): "TPIDRRO_EL0",
    (3, 3, 13, 0, 5): "TPIDR2_EL0",
    (3, 3, 13, 0, 7): "SCXTNUM_EL0",
    (3, 3, 14, 0, 0): "CNTFRQ_EL0",
    (3, 3, 14, 0, 1): "CNTPCT_EL0",
    (3, 3, 14, 2, 0): "CNTP_TVAL_EL0",
    (3, 3, 14, 2, 1): "CNTP_CTL_EL0",
    (3, 3, 14, 2, 2): "CNTP_CVAL_EL0",
    # KVM's virtual timer ids keep uapi kvm.h's historical (swapped) CNT/CVAL encodings.
    (3, 3, 14, 3, 1): "KVM_REG_ARM_TIMER_CTL",
    (3, 3, 14, 3, 2): "KVM_REG_ARM_TIMER_CNT",
    (3, 3, 14, 0, 2): "KVM_REG_ARM_TIMER_CVAL",
    (3, 3, 14, 15, 7): "PMCCFILTR_EL0",
    (3, 4, 0, 0, 0): "VPIDR_EL2",
    (3, 4, 0, 0, 5): "VMPIDR_EL2",
    (3, 4, 1, 0, 0): "SCTLR_EL2",
    (3, 4, 1, 0, 1): "ACTLR_EL2",
    (3, 4, 1, 1, 0): "HCR_EL2",
    (3, 4, 1, 1, 1): "MDCR_EL2",
    (3, 4, 1, 1, 2): "CPTR_EL2",
    (3, 4, 1, 1, 3): "HSTR_EL2",
    (3, 4, 1, 1, 4): "HFGRTR_EL2",
    (3, 4, 1, 1, 5): "HFGWTR_EL2",
    (3, 4, 1, 1, 6): "HFGITR_EL2",
    (3, 4, 1, 1, 7): "HACR_EL2",
    (3, 4, 1, 2, 0): "ZCR_EL2",
    (3, 4, 1, 2, 2): "HCRX_EL2",
    (3, 4, 2, 0, 0): "TTBR0_EL2",
    (3, 4, 2, 0, 1): "TTBR1_EL2",
    (3, 4, 2, 0, 2): "TCR_EL2",
    (3, 4, 2, 0, 3): "TCR2_EL2",
    (3, 4, 2, 1, 0): "VTTBR_EL2",
    (3, 4, 2, 1, 2): "VTCR_EL2",
    (3, 4, 3, 0, 0): "DACR32_EL2",
    (3, 4, 3, 1, 4): "HDFGRTR_EL2",
    (3, 4, 3, 1, 5): "HDFGWTR_EL2",
    (3, 4, 3, 1, 6): "HAFGRTR_EL2",
    (3, 4, 4, 0, 0): "SPSR_EL2",
    (3, 4, 4, 0, 1): "ELR_EL2",
    (3, 4, 4, 1, 0): "SP_EL1",
    (3, 4, 5, 0, 1): "IFSR32_EL2",
    (3, 4, 5, 1, 0): "AFSR0_EL2",
    (3, 4, 5, 1, 1): "AFSR1_EL2",
    (3, 4, 5, 2, 0): "ESR_EL2",
    (3, 4, 5, 3, 0): "FPEXC32_EL2",
    (3, 4, 6, 0, 0): "FAR_EL2",
    (3, 4, 6, 0, 4): "HPFAR_EL2",
    (3, 4, 10, 2, 0): "MAIR_EL2",
    (3, 4, 10, 2, 2): "PIRE0_EL2",
    (3, 4, 10, 2, 3): "PIR_EL2",
    (3, 4, 10, 3, 0): "AMAIR_EL2",
    (3, 4, 12, 0, 0): "VBAR_EL2",
    (3, 4, 12, 0, 1): "RVBAR_EL2",
    (3, 4, 13, 0, 1): "CONTEXTIDR_EL2",
    (3, 4, 13, 0, 2): "TPIDR_EL2",
    (3, 4, 14, 0, 3): "CNTVOFF_EL2",
    (3, 4, 14, 1, 0): "CNTHCTL_EL2",
}


def _indexed_sysreg_names() -> dict[tuple[int, int, int, int, int], str]:
    names: dict[tuple[int, int, int, int, int], str] = {}
    for n in range(16):
        names[(2, 0, 0, n, 4)] = f"DBGBVR{n}_EL1"
        names[(2, 0, 0, n, 5)] = f"DBGBCR{n}_EL1"
        names[(2, 0, 0, n, 6)] = f"DBGWVR{n}_EL1"
        names[(2, 0, 0, n, 7)] = f"DBGWCR{n}_EL1"
    for n in range(31):
        names[(3, 3, 14, 8 + n // 8, n % 8)] = f"PMEVCNTR{n}_EL0"
        names[(3, 3, 14, 12 + n // 8, n % 8)] = f"PMEVTYPER{n}_EL0"
    return names


SYSREG_NAMES: dict[tuple[int, int, int, int, int], str] = _indexed_sysreg_names() | _SYSREG_NAMES
SYSREG_BY_NAME: dict[str, tuple[int, int, int, int, int]] = {name: enc for enc, name in SYSREG_NAMES.items()}

_CORE_GPRS = {2 * n: f"X{n}" for n in range(31)} | {0x3E: "SP", 0x40: "PC", 0x42: "PSTATE"}
_CORE_EL1 = {0x44: "SP_EL1", 0x46: "ELR_EL1"} | {0x48 + 2 * n: f"SPSR[{n}]" for n in range(5)}
_CORE_FP = {0x54 + 4 * n: f"V{n}" for n in range(32)} | {0xD4: "FPSR", 0xD5: "FPCR"}
CORE_NAMES: dict[int, str] = _CORE_GPRS | _CORE_EL1 | _CORE_FP


def size_bytes(reg: int) -> int:
    """The value size of a register id, from its size field (U32=4 ... U2048=256 bytes)."""
    return 1 << ((reg & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT)


def group(reg: int) -> int:
    return (reg & GROUP_MASK) >> GROUP_SHIFT


def sysreg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    """The KVM id of a system register from its encoding (ARM64_SYS_REG in uapi asm/kvm.h)."""
    enc = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
    return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | (GROUP_SYSREG << GROUP_SHIFT) | enc


def sysreg_encoding(reg: int) -> tuple[int, int, int, int, int]:
    enc = reg & 0xFFFF
    return (enc >> 14) & 3, (enc >> 11) & 7, (enc >> 7) & 15, (enc >> 3) & 15, enc & 7


def fw_id(index: int) -> int:
    return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | (GROUP_FW << GROUP_SHIFT) | index


def bmap_id(index: int) -> int:
    return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | (GROUP_FW_BMAP << GROUP_SHIFT) | index


def core_id(offset: int, size: int = KVM_REG_SIZE_U64) -> int:
    """A core register id; ``offset`` counts 32-bit words into struct kvm_regs."""
    return KVM_REG_ARM64 | size | (GROUP_CORE << GROUP_SHIFT) | offset


PSCI_VERSION = fw_id(0)
WORKAROUND_1, WORKAROUND_2, WORKAROUND_3 = fw_id(1), fw_id(2), fw_id(3)
WORKAROUNDS = (WORKAROUND_1, WORKAROUND_2, WORKAROUND_3)
BITMAPS = tuple(bmap_id(i) for i in range(4))
MIDR_EL1 = sysreg_id(3, 0, 0, 0, 0)
REVIDR_EL1 = sysreg_id(3, 0, 0, 0, 6)
AIDR_EL1 = sysreg_id(3, 1, 0, 0, 7)
IMPLEMENTATION_ID = (MIDR_EL1, REVIDR_EL1, AIDR_EL1)
CORE_X0 = core_id(0x00)
CORE_PC = core_id(0x40)
SVE_VLS = KVM_REG_ARM64 | KVM_REG_SIZE_U512 | (GROUP_SVE << GROUP_SHIFT) | 0xFFFF


def _sve_name(reg: int) -> str:
    low = reg & 0xFFFF
    if low == 0xFFFF:
        return "KVM_REG_ARM64_SVE_VLS"
    kind, number, slice_ = low >> 10, (low >> 5) & 0x1F, low & 0x1F
    if kind == 0:
        return f"Z{number}[{slice_}]"
    if kind == 1:
        return f"FFR[{slice_}]" if number == 16 else f"P{number}[{slice_}]"
    return f"SVE_0x{low:04x}"


def name(reg: int) -> str:
    """The name KVM's sources use for a register id, or a generic name that still encodes it."""
    if reg & 0xFF00_0000_0000_0000 != KVM_REG_ARM64:
        return f"0x{reg:016x}"
    grp, low = group(reg), reg & 0xFFFF
    if grp == GROUP_SYSREG:
        enc = sysreg_encoding(reg)
        if enc in SYSREG_NAMES:
            return SYSREG_NAMES[enc]
        op0, op1, crn, crm, op2 = enc
        return f"S{op0}_{op1}_C{crn}_C{crm}_{op2}"
    if grp == GROUP_FW and low in FW_NAMES:
        return FW_NAMES[low]
    if grp == GROUP_FW:
        return f"KVM_REG_ARM_FW_REG({low})"
    if grp == GROUP_FW_BMAP and low in BMAP_NAMES:
        return BMAP_NAMES[low]
    if grp == GROUP_FW_BMAP:
        return f"KVM_REG_ARM_FW_FEAT_BMAP_REG({low})"
    if grp == GROUP_CORE:
        return CORE_NAMES.get(low, f"CORE_0x{low:04x}")
    if grp == GROUP_DEMUX:
        return f"CCSIDR[{low & 0xFF}]" if (low >> 8) & 0xFF == 0 else f"DEMUX_0x{low:04x}"
    if grp == GROUP_SVE:
        return _sve_name(reg)
    return f"0x{reg:016x}"


def hexid(reg: int) -> str:
    return f"0x{reg:016x}"
