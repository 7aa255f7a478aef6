"""KVM arm64 register ids and their symbolic names: every register group KVM_GET_REG_LIST returns.

Id layout from arch/arm64/include/uapi/asm/kvm.h: KVM_REG_ARM64, the size field (U32 ... U2048) at bit 52, then
the coprocessor group at bit 16: 0x10 core registers (struct kvm_regs, offsets in 32-bit words), 0x11 the
CCSIDR demux, 0x13 system registers, 0x14 firmware, 0x15 SVE, 0x16 firmware feature bitmaps. System-register
names come from the probe's table (the names KVM's sources use), so a dump and a spec name a register alike.
"""

from __future__ import annotations

import itertools
import re

from abi_check.probe import regs as kvm

ARM64_U64 = kvm.KVM_REG_ARM64 | kvm.KVM_REG_SIZE_U64
GROUP_SYSREG = kvm.GROUP_SYSREG << kvm.GROUP_SHIFT
GROUP_FW = kvm.GROUP_FW << kvm.GROUP_SHIFT
GROUP_FW_BMAP = kvm.GROUP_FW_BMAP << kvm.GROUP_SHIFT
GROUP_CORE = kvm.GROUP_CORE << kvm.GROUP_SHIFT
GROUP_DEMUX = kvm.GROUP_DEMUX << kvm.GROUP_SHIFT
GROUP_SVE = kvm.GROUP_SVE << kvm.GROUP_SHIFT
GROUP_MASK = 0xFFFF << 16

# Names the probe's table leaves generic, and the one KVM never lists but the specs used to name.
_EXTRA_SYSREGS: dict[str, tuple[int, int, int, int, int]] = {
    "DISR_EL1": (3, 0, 12, 1, 1),
    "CCSIDR_EL1": (3, 1, 0, 0, 0),
}
_SYSREGS: dict[str, tuple[int, int, int, int, int]] = {**kvm.SYSREG_BY_NAME, **_EXTRA_SYSREGS}

# Firmware pseudo-registers (Documentation/virt/kvm/arm/fw-pseudo-registers.rst), named without KVM_REG_ARM_.
_FIRMWARE: dict[str, int] = {
    "PSCI_VERSION": kvm.fw_id(0),
    "SMCCC_ARCH_WORKAROUND_1": kvm.fw_id(1),
    "SMCCC_ARCH_WORKAROUND_2": kvm.fw_id(2),
    "SMCCC_ARCH_WORKAROUND_3": kvm.fw_id(3),
    "STD_BMAP": kvm.bmap_id(0),
    "STD_HYP_BMAP": kvm.bmap_id(1),
    "VENDOR_HYP_BMAP": kvm.bmap_id(2),
    "VENDOR_HYP_BMAP_2": kvm.bmap_id(3),
}

# Core registers: X0-X30, SP, PC, PSTATE, SP_EL1, ELR_EL1, SPSR[0..4] are U64, V0-V31 U128, FPSR/FPCR U32.
_FP_SIZES = {"FPSR": kvm.KVM_REG_SIZE_U32, "FPCR": kvm.KVM_REG_SIZE_U32}
_CORE: dict[str, int] = {
    name: kvm.core_id(
        offset, kvm.KVM_REG_SIZE_U128 if name.startswith("V") else _FP_SIZES.get(name, kvm.KVM_REG_SIZE_U64)
    )
    for offset, name in kvm.CORE_NAMES.items()
}
# CCSIDR demux: KVM_REG_ARM_DEMUX_ID_CCSIDR, one U32 entry per CSSELR_EL1 value 0..13 (CSSELR_MAX = 14).
CSSELR_MAX = 14
_DEMUX: dict[str, int] = {
    f"CCSIDR[{n}]": kvm.KVM_REG_ARM64 | kvm.KVM_REG_SIZE_U32 | GROUP_DEMUX | n for n in range(CSSELR_MAX)
}
# SVE (KVM_REG_ARM64_SVE_ZREG/PREG/FFR, slice 0: KVM lists one slice up to 2048-bit vectors) and the VLS word.
_SVE_BASE = kvm.KVM_REG_ARM64 | GROUP_SVE
_SVE: dict[str, int] = (
    {f"Z{n}[0]": _SVE_BASE | kvm.KVM_REG_SIZE_U2048 | n << 5 for n in range(32)}
    | {f"P{n}[0]": _SVE_BASE | kvm.KVM_REG_SIZE_U256 | 0x400 | n << 5 for n in range(16)}
    | {"FFR[0]": _SVE_BASE | kvm.KVM_REG_SIZE_U256 | 0x400 | 16 << 5, "SVE_VLS": kvm.SVE_VLS}
)
# Spellings of uapi asm/kvm.h accepted on input.
_ALIASES: dict[str, str] = {
    **{f"KVM_REG_ARM_{name}": name for name in _FIRMWARE},
    "KVM_REG_ARM64_SVE_VLS": "SVE_VLS",
}

WORKAROUNDS = ("SMCCC_ARCH_WORKAROUND_1", "SMCCC_ARCH_WORKAROUND_2", "SMCCC_ARCH_WORKAROUND_3")
BITMAPS = ("STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP", "VENDOR_HYP_BMAP_2")
IMPLEMENTATION_ID = ("MIDR_EL1", "REVIDR_EL1", "AIDR_EL1")

_GENERIC = re.compile(r"^S(\d)_(\d)_C(\d{1,2})_C(\d{1,2})_(\d)$")
_RANGE = re.compile(r"\{(\d{1,3})\.\.(\d{1,3})\}")


def sysreg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    return kvm.sysreg_id(op0, op1, crn, crm, op2)


_BY_NAME: dict[str, int] = (
    {name: sysreg_id(*enc) for name, enc in _SYSREGS.items()} | _FIRMWARE | _CORE | _DEMUX | _SVE
)
_BY_ID: dict[int, str] = {reg: name for name, reg in _BY_NAME.items()}


class UnknownRegister(ValueError):
    def __init__(self, text: str, suggestion: str | None) -> None:
        super().__init__(text)
        self.suggestion = suggestion


def register_id(name: str) -> int:
    """The 64-bit KVM id of a symbolic name (``MIDR_EL1``, ``PSCI_VERSION``, ``S3_0_C0_C4_0``)."""
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key in _BY_NAME:
        return _BY_NAME[key]
    match = _GENERIC.match(key)
    if match:
        op0, op1, crn, crm, op2 = (int(g) for g in match.groups())
        if op0 <= 3 and op1 <= 7 and crn <= 15 and crm <= 15 and op2 <= 7:
            return sysreg_id(op0, op1, crn, crm, op2)
    import difflib
    close = difflib.get_close_matches(key, list(_BY_NAME), n=5)
    # Among the close names, a typo in the exception level (MIDR_EL2) keeps the longest common prefix.
    best = max(close, key=lambda c: (_common_prefix(c, key), -close.index(c)), default=None)
    raise UnknownRegister(name, best)


def _common_prefix(a: str, b: str) -> int:
    return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], zip(a, b, strict=False)))


def register_name(reg: int) -> str:
    """The symbolic name of a register id, a generic ``S3_x_Cx_Cx_x`` name, or the hex id."""
    if reg in _BY_ID:
        return _BY_ID[reg]
    if reg & ~0xFFFF_FFFF == ARM64_U64 and reg & GROUP_MASK == GROUP_SYSREG:
        enc = reg & 0xFFFF
        return f"S{enc >> 14}_{(enc >> 11) & 7}_C{(enc >> 7) & 15}_C{(enc >> 3) & 15}_{enc & 7}"
    return f"0x{reg:016x}"


def expand(pattern: str) -> list[str]:
    """The register names a spec entry stands for: ``DBGBVR{0..15}_EL1`` is sixteen, ``X0`` is itself."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    first, last = int(match.group(1)), int(match.group(2))
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [f"{head}{n}{tail}" for n in range(first, last + 1)]


def range_bounds(pattern: str) -> tuple[int, int] | None:
    """The bounds of the one ``{a..b}`` range in a pattern, if it has one."""
    match = _RANGE.search(pattern)
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_core(reg: int) -> bool:
    return reg & 0xFF00_0000_FFFF_0000 == kvm.KVM_REG_ARM64 | GROUP_CORE


def is_sve(reg: int) -> bool:
    return reg & 0xFF00_0000_FFFF_0000 == kvm.KVM_REG_ARM64 | GROUP_SVE


def demux_index(reg: int) -> int | None:
    """The CSSELR_EL1 value of a CCSIDR demux register id."""
    if reg & ~0xFF == kvm.KVM_REG_ARM64 | kvm.KVM_REG_SIZE_U32 | GROUP_DEMUX:
        return reg & 0xFF
    return None


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
