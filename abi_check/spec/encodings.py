"""Value encodings of KVM's firmware pseudo-registers: PSCI versions and SMCCC WORKAROUND levels.

From Documentation/virt/kvm/arm/fw-pseudo-registers.rst: PSCI_VERSION is major << 16 | minor; WORKAROUND_1 and _3
share one level table, WORKAROUND_2 has its own (with the ENABLED bit 0x10 that 5.3-5.9 stored).
"""

from __future__ import annotations

from abi_check.spec import registers as regs

LEVELS_WA13 = {"NOT_AVAIL": 0, "AVAIL": 1, "NOT_REQUIRED": 2}
LEVELS_WA2 = {"NOT_AVAIL": 0, "UNKNOWN": 1, "AVAIL": 2, "NOT_REQUIRED": 3, "AVAIL_ENABLED": 0x12}


def psci_value(text: str) -> int:
    major, minor = text.split(".")
    return (int(major) << 16) | int(minor)


def psci_str(value: int) -> str:
    return f"{value >> 16}.{value & 0xFFFF}"


WA2_ENABLED = 0x10
LEVEL_MASK = 0xF


def workaround_accepts(reg: int, restore: str, value: int, host_level: int) -> bool:
    """kvm_arm_set_fw_reg(): does KVM_SET_ONE_REG accept ``value`` for a WORKAROUND register on a host whose own
    level is ``host_level``? The write only validates: GET keeps returning the host's level."""
    wa2 = reg == regs.register_id("SMCCC_ARCH_WORKAROUND_2")
    level = value & LEVEL_MASK
    if value & ~(LEVEL_MASK | (WA2_ENABLED if wa2 else 0)):
        return False
    if not wa2:
        return level <= host_level
    if value & WA2_ENABLED and level != LEVELS_WA2["AVAIL"]:
        return False
    if restore == "ssb-normalised":
        # 5.10+: {NOT_AVAIL, UNKNOWN} -> NOT_AVAIL, {AVAIL, NOT_REQUIRED} -> NOT_REQUIRED, then <= the host's level.
        if level > LEVELS_WA2["NOT_REQUIRED"]:
            return False
        wanted = LEVELS_WA2["NOT_AVAIL"] if level <= LEVELS_WA2["UNKNOWN"] else LEVELS_WA2["NOT_REQUIRED"]
        return wanted <= host_level
    return level <= host_level


def level_table(reg: int) -> dict[str, int]:
    return LEVELS_WA2 if reg == regs.register_id("SMCCC_ARCH_WORKAROUND_2") else LEVELS_WA13


def level_name(reg: int, value: int) -> str:
    for name, number in level_table(reg).items():
        if number == value:
            return name
    return f"{value:#x}"
