"""KVM arm64 register ids and their symbolic names (sysregs, firmware and bitmap pseudo-registers).

Id layout from arch/arm64/include/uapi/asm/kvm.h: KVM_REG_ARM64 | KVM_REG_SIZE_U64 (0x6030 << 48), then the
coprocessor group (0x13 system registers, 0x14 firmware, 0x16 firmware feature bitmaps) at bit 16.
"""

from __future__ import annotations

import difflib
import re

ARM64_U64 = 0x6030_0000_0000_0000
GROUP_SYSREG = 0x13 << 16
GROUP_FW = 0x14 << 16
GROUP_FW_BMAP = 0x16 << 16
GROUP_MASK = 0xFFFF << 16

# (op0, op1, CRn, CRm, op2) from the Arm ARM; the names KVM and the kernel use.
_SYSREGS: dict[str, tuple[int, int, int, int, int]] = {
    "MIDR_EL1": (3, 0, 0, 0, 0),
    "MPIDR_EL1": (3, 0, 0, 0, 5),
    "REVIDR_EL1": (3, 0, 0, 0, 6),
    "ID_PFR0_EL1": (3, 0, 0, 1, 0),
    "ID_PFR1_EL1": (3, 0, 0, 1, 1),
    "ID_DFR0_EL1": (3, 0, 0, 1, 2),
    "ID_MMFR0_EL1": (3, 0, 0, 1, 4),
    "ID_ISAR0_EL1": (3, 0, 0, 2, 0),
    "ID_AA64PFR0_EL1": (3, 0, 0, 4, 0),
    "ID_AA64PFR1_EL1": (3, 0, 0, 4, 1),
    "ID_AA64PFR2_EL1": (3, 0, 0, 4, 2),
    "ID_AA64ZFR0_EL1": (3, 0, 0, 4, 4),
    "ID_AA64SMFR0_EL1": (3, 0, 0, 4, 5),
    "ID_AA64DFR0_EL1": (3, 0, 0, 5, 0),
    "ID_AA64DFR1_EL1": (3, 0, 0, 5, 1),
    "ID_AA64AFR0_EL1": (3, 0, 0, 5, 4),
    "ID_AA64AFR1_EL1": (3, 0, 0, 5, 5),
    "ID_AA64ISAR0_EL1": (3, 0, 0, 6, 0),
    "ID_AA64ISAR1_EL1": (3, 0, 0, 6, 1),
    "ID_AA64ISAR2_EL1": (3, 0, 0, 6, 2),
    "ID_AA64ISAR3_EL1": (3, 0, 0, 6, 3),
    "ID_AA64MMFR0_EL1": (3, 0, 0, 7, 0),
    "ID_AA64MMFR1_EL1": (3, 0, 0, 7, 1),
    "ID_AA64MMFR2_EL1": (3, 0, 0, 7, 2),
    "ID_AA64MMFR3_EL1": (3, 0, 0, 7, 3),
    "ID_AA64MMFR4_EL1": (3, 0, 0, 7, 4),
    "SCTLR_EL1": (3, 0, 1, 0, 0),
    "ACTLR_EL1": (3, 0, 1, 0, 1),
    "CPACR_EL1": (3, 0, 1, 0, 2),
    "ZCR_EL1": (3, 0, 1, 2, 0),
    "TTBR0_EL1": (3, 0, 2, 0, 0),
    "TTBR1_EL1": (3, 0, 2, 0, 1),
    "TCR_EL1": (3, 0, 2, 0, 2),
    "TCR2_EL1": (3, 0, 2, 0, 3),
    "APIAKEYLO_EL1": (3, 0, 2, 1, 0),
    "APIAKEYHI_EL1": (3, 0, 2, 1, 1),
    "APGAKEYLO_EL1": (3, 0, 2, 3, 0),
    "APGAKEYHI_EL1": (3, 0, 2, 3, 1),
    "AFSR0_EL1": (3, 0, 5, 1, 0),
    "AFSR1_EL1": (3, 0, 5, 1, 1),
    "ESR_EL1": (3, 0, 5, 2, 0),
    "FAR_EL1": (3, 0, 6, 0, 0),
    "PAR_EL1": (3, 0, 7, 4, 0),
    "PMINTENSET_EL1": (3, 0, 9, 14, 1),
    "MAIR_EL1": (3, 0, 10, 2, 0),
    "PIRE0_EL1": (3, 0, 10, 2, 2),
    "PIR_EL1": (3, 0, 10, 2, 3),
    "AMAIR_EL1": (3, 0, 10, 3, 0),
    "VBAR_EL1": (3, 0, 12, 0, 0),
    "CONTEXTIDR_EL1": (3, 0, 13, 0, 1),
    "TPIDR_EL1": (3, 0, 13, 0, 4),
    "CNTKCTL_EL1": (3, 0, 14, 1, 0),
    "CCSIDR_EL1": (3, 1, 0, 0, 0),
    "CLIDR_EL1": (3, 1, 0, 0, 1),
    "AIDR_EL1": (3, 1, 0, 0, 7),
    "CSSELR_EL1": (3, 2, 0, 0, 0),
    "CTR_EL0": (3, 3, 0, 0, 1),
    "DCZID_EL0": (3, 3, 0, 0, 7),
    "PMCR_EL0": (3, 3, 9, 12, 0),
    "PMCNTENSET_EL0": (3, 3, 9, 12, 1),
    "PMOVSCLR_EL0": (3, 3, 9, 12, 3),
    "PMSELR_EL0": (3, 3, 9, 12, 5),
    "PMCCNTR_EL0": (3, 3, 9, 13, 0),
    "PMUSERENR_EL0": (3, 3, 9, 14, 0),
    "TPIDR_EL0": (3, 3, 13, 0, 2),
    "TPIDRRO_EL0": (3, 3, 13, 0, 3),
    "PMCCFILTR_EL0": (3, 3, 14, 15, 7),
    # KVM's timer registers keep the historical (swapped) CNT/CVAL encodings of uapi kvm.h.
    "KVM_REG_ARM_TIMER_CTL": (3, 3, 14, 3, 1),
    "KVM_REG_ARM_TIMER_CNT": (3, 3, 14, 3, 2),
    "KVM_REG_ARM_TIMER_CVAL": (3, 3, 14, 0, 2),
}

# Firmware pseudo-registers (Documentation/virt/kvm/arm/fw-pseudo-registers.rst).
_FIRMWARE: dict[str, int] = {
    "PSCI_VERSION": ARM64_U64 | GROUP_FW | 0,
    "SMCCC_ARCH_WORKAROUND_1": ARM64_U64 | GROUP_FW | 1,
    "SMCCC_ARCH_WORKAROUND_2": ARM64_U64 | GROUP_FW | 2,
    "SMCCC_ARCH_WORKAROUND_3": ARM64_U64 | GROUP_FW | 3,
    "STD_BMAP": ARM64_U64 | GROUP_FW_BMAP | 0,
    "STD_HYP_BMAP": ARM64_U64 | GROUP_FW_BMAP | 1,
    "VENDOR_HYP_BMAP": ARM64_U64 | GROUP_FW_BMAP | 2,
    "VENDOR_HYP_BMAP_2": ARM64_U64 | GROUP_FW_BMAP | 3,
}

WORKAROUNDS = ("SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2", "SMCCC_ARCH_WORKAROUND_3")
BITMAPS = ("STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2")
IMPLEMENTATION_ID = ("MIDR_EL1", "REVIDR_EL1", "AIDR_EL1")

_GENERIC = re.compile(r"^S(\d)_(\d)_C(\d{1,2})_C(\d{1,2})_(\d)$")


def sysreg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    return ARM64_U64 | GROUP_SYSREG | (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2


_BY_NAME: dict[str, int] = {name: sysreg_id(*enc) for name, enc in _SYSREGS.items()} | _FIRMWARE
_BY_ID: dict[int, str] = {reg: name for name, reg in _BY_NAME.items()}


class UnknownRegister(ValueError):
    def __init__(self, text: str, suggestion: str | None) -> None:
        super().__init__(text)
        self.suggestion = suggestion


def register_id(name: str) -> int:
    """The 64-bit KVM id of a symbolic name (``MIDR_EL1``, ``PSCI_VERSION``, ``S3_0_C0_C4_0``)."""
    key = name.strip().upper()
    if key in _BY_NAME:
        return _BY_NAME[key]
    match = _GENERIC.match(key)
    if match:
        op0, op1, crn, crm, op2 = (int(g) for g in match.groups())
        if op0 <= 3 and op1 <= 7 and crn <= 15 and crm <= 15 and op2 <= 7:
            return sysreg_id(op0, op1, crn, crm, op2)
    close = difflib.get_close_matches(key, list(_BY_NAME), n=1)
    raise UnknownRegister(name, close[0] if close else None)


def register_name(reg: int) -> str:
    """The symbolic name of a register id, a generic ``S3_x_Cx_Cx_x`` name, or the hex id."""
    if reg in _BY_ID:
        return _BY_ID[reg]
    if reg & ~0xFFFF_FFFF == ARM64_U64 and reg & GROUP_MASK == GROUP_SYSREG:
        enc = reg & 0xFFFF
        return f"S{enc >> 14}_{(enc >> 11) & 7}_C{(enc >> 7) & 15}_C{(enc >> 3) & 15}_{enc & 7}"
    return f"0x{reg:016x}"


def is_firmware(reg: int) -> bool:
    return reg & ~0xFFFF == ARM64_U64 | GROUP_FW


def is_id_register(reg: int) -> bool:
    """The feature ID register space: op0=3, op1=0, CRn=0, CRm=1..7."""
    if reg & ~0xFFFF != ARM64_U64 | GROUP_SYSREG:
        return False
    enc = reg & 0xFFFF
    return enc >> 14 == 3 and (enc >> 11) & 7 == 0 and (enc >> 7) & 15 == 0 and 1 <= (enc >> 3) & 15 <= 7


def is_bitmap(reg: int) -> bool:
    return reg & ~0xFFFF == ARM64_U64 | GROUP_FW_BMAP


def known_names() -> list[str]:
    """Every symbolic register name abi-check knows (generic S3_x_Cx_Cx_x names aside)."""
    return sorted(_BY_NAME)
