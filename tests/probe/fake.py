"""A fake KVM for the probe's tests: answers ioctls the way the kernel's rules say, without /dev/kvm."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from abi_check.probe import regs
from abi_check.probe.features import CAP_BY_NAME, FEATURE_BITS

PMCR_EL0 = regs.sysreg_id(3, 3, 9, 12, 0)
TCR2_EL1 = regs.sysreg_id(3, 0, 2, 0, 3)
ZREG0 = regs.KVM_REG_ARM64 | regs.KVM_REG_SIZE_U2048 | (regs.GROUP_SVE << regs.GROUP_SHIFT)
FPSR = regs.core_id(0xD4, regs.KVM_REG_SIZE_U32)
V0 = regs.core_id(0x54, regs.KVM_REG_SIZE_U128)


def oserror(code: int) -> OSError:
    return OSError(code, errno.errorcode[code])


@dataclass
class Host:
    """What one fake kernel on one fake CPU knows."""

    registers: dict[int, int]
    feature_registers: dict[str, dict[int, int]] = field(default_factory=dict)
    caps: dict[str, int] = field(default_factory=dict)
    psci: tuple[int, ...] = (0x2, 0x10000, 0x10001)
    known_bits: dict[int, int] = field(default_factory=dict)
    unreadable: dict[int, int] = field(default_factory=dict)
    masks: dict[int, int] = field(default_factory=dict)  # feature-id index -> mask


def basic_host() -> Host:
    registers = {
        regs.CORE_X0: 0, regs.CORE_PC: 0, FPSR: 0, V0: 1 << 100,
        regs.MIDR_EL1: 0x410FD0C1, regs.REVIDR_EL1: 0, regs.AIDR_EL1: 0, TCR2_EL1: 0,
        regs.PSCI_VERSION: 0x10001, regs.WORKAROUND_1: 2, regs.WORKAROUND_2: 3, regs.WORKAROUND_3: 2,
        regs.BITMAPS[0]: 1, regs.BITMAPS[1]: 1, regs.BITMAPS[2]: 3,
    }
    return Host(
        registers=registers,
        feature_registers={"PMU_V3": {PMCR_EL0: 0x41002000}, "SVE": {ZREG0: 7, regs.SVE_VLS: 0xFFFF}},
        caps={"KVM_CAP_ARM_VM_IPA_SIZE": 48, "KVM_CAP_ARM_PMU_V3": 1, "KVM_CAP_ARM_SVE": 1,
              "KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES": 1},
        known_bits={regs.BITMAPS[0]: 1, regs.BITMAPS[1]: 1, regs.BITMAPS[2]: 3},
        unreadable={FPSR: errno.EPERM},
        masks={71: 0xFFFF, 1 << 6 | 0 | 0: 0},
    )


class FakeVcpu:
    def __init__(self, vm: FakeVm) -> None:
        self.vm, self.host = vm, vm.host
        self.values: dict[int, int] = {}
        self.features: list[int] = []
        self.finalized = False
        self.log: list[tuple[str, int, int]] = []

    def init(self, target: int, features: list[int]) -> None:
        names = {bit: name for name, bit in FEATURE_BITS.items()}
        for bit in features:
            if names[bit] in ("PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"):
                raise oserror(errno.EINVAL)
        self.features = features
        self.values = dict(self.host.registers)
        for bit in features:
            self.values |= self.host.feature_registers.get(names[bit], {})
        if FEATURE_BITS["PSCI_0_2"] not in features:
            self.values[regs.PSCI_VERSION] = 0x1

    def finalize(self, what: int) -> None:
        self.finalized = True

    def reg_list(self) -> list[int]:
        return list(self.values)

    def get_reg(self, reg: int) -> int:
        if reg not in self.values:
            raise oserror(errno.ENOENT)
        if reg in self.host.unreadable:
            raise oserror(self.host.unreadable[reg])
        return self.values[reg]

    def set_reg(self, reg: int, value: int) -> None:
        self.log.append(("set", reg, value))
        if reg not in self.values:
            raise oserror(errno.ENOENT)
        if reg == regs.PSCI_VERSION:
            psci_0_2 = FEATURE_BITS["PSCI_0_2"] in self.features
            if (value == 0x1) != (not psci_0_2) or (psci_0_2 and value not in self.host.psci):
                raise oserror(errno.EINVAL)
        elif reg in regs.BITMAPS:
            if value & ~self.host.known_bits.get(reg, 0):
                raise oserror(errno.EINVAL)
            if self.vm.ran and value != self.values[reg]:
                raise oserror(errno.EBUSY)
        elif reg in regs.WORKAROUNDS:
            if value > self.values[reg]:
                raise oserror(errno.EINVAL)
            return  # a write only validates
        elif reg in regs.IMPLEMENTATION_ID and value != self.values[reg] and not self.vm.imp_id_writable:
            raise oserror(errno.EINVAL)
        self.values[reg] = value

    def run_once(self, code: bytes, timeout: float) -> str:
        self.vm.ran = True
        return "MMIO"


class FakeVm:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.ran = False
        self.imp_id_writable = False
        self.vcpus: list[FakeVcpu] = []

    def check_extension(self, cap: int) -> int:
        return next((v for name, v in self.host.caps.items() if CAP_BY_NAME[name] == cap), 0)

    def enable_cap(self, cap: int, args: tuple[int, ...] = ()) -> None:
        if cap != CAP_BY_NAME["KVM_CAP_ARM_WRITABLE_IMP_ID_REGS"] or not self.check_extension(cap):
            raise oserror(errno.EINVAL)
        self.imp_id_writable = True

    def preferred_target(self) -> tuple[int, list[int]]:
        return 5, []

    def writable_masks(self) -> list[int]:
        masks = [0] * 192
        for index, mask in self.host.masks.items():
            masks[index] = mask
        return masks

    def create_vcpu(self, index: int) -> FakeVcpu:
        vcpu = FakeVcpu(self)
        self.vcpus.append(vcpu)
        return vcpu

    def close(self) -> None:
        pass


class FakeKvm:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.vms: list[FakeVm] = []

    def api_version(self) -> int:
        return 12

    def check_extension(self, cap: int) -> int:
        return FakeVm(self.host).check_extension(cap)

    def create_vm(self, ipa_bits: int = 0) -> FakeVm:
        vm = FakeVm(self.host)
        self.vms.append(vm)
        return vm
