"""Whether a host's kernel, VMM and CPU can make a VM together: what KVM would refuse at VM or vCPU set-up.

These are configuration errors of a host, reported where the offending value is written, not findings of a
pair: a VMM asking for a vCPU feature or a bitmap bit its kernel lacks, a pinned PSCI version the kernel does not
implement, an ID-register override KVM refuses, a CPU state the kernel has no WORKAROUND level for.
"""

from __future__ import annotations

from typing import Protocol

from abi_check.errors import Span, SpecError
from abi_check.spec import registers as regs
from abi_check.spec.encodings import level_name, psci_str, psci_value, workaround_accepts
from abi_check.spec.model import Cpu, Host, Workaround

PFR0 = regs.register_id("ID_AA64PFR0_EL1")
DFR0 = regs.register_id("ID_AA64DFR0_EL1")
ISAR1 = regs.register_id("ID_AA64ISAR1_EL1")
ISAR2 = regs.register_id("ID_AA64ISAR2_EL1")


def _bits(value: int, lsb: int) -> int:
    return (value >> lsb) & 0xF


def cpu_state(wa: Workaround, cpu: Cpu) -> tuple[str, Span] | None:
    """The CPU's state for the vulnerability a WORKAROUND register reflects, as this kernel classifies it."""
    return cpu.vulnerabilities.get(wa.vulnerability)


def cpu_level(wa: Workaround, cpu: Cpu) -> tuple[int, Span] | None:
    """The level this kernel reports for this CPU model whatever its state (``cpu-levels``: a CPU its lists do not
    know yet), or None."""
    midr = regs.register_id("MIDR_EL1")
    return wa.cpu_level(cpu.registers[midr][0] if midr in cpu.registers else None)


def host_level(wa: Workaround, cpu: Cpu) -> int:
    """get_kernel_wa_level(): the level KVM reports on this CPU (the lowest, NOT_AVAIL, when the state is unknown
    to the spec; check_host reports a state the kernel gives no level for)."""
    by_model = cpu_level(wa, cpu)
    if by_model is not None:
        return by_model[0]
    state = cpu_state(wa, cpu)
    return wa.levels.get(state[0], 0) if state is not None else 0


def _cpu_lacks(feature: str, cpu: Cpu) -> str | None:
    """Why KVM_ARM_VCPU_INIT refuses ``feature`` on this CPU, or None (also when the CPU spec does not say)."""
    regs_ = cpu.registers
    if feature == "SVE" and PFR0 in regs_ and _bits(cpu.value(PFR0), 32) == 0:
        return "ID_AA64PFR0_EL1.SVE is 0 (system_supports_sve())"
    if feature == "EL1_32BIT" and PFR0 in regs_ and _bits(cpu.value(PFR0), 4) < 2:
        return "ID_AA64PFR0_EL1.EL1 has no AArch32 (kvm_supports_32bit_el0()/EL1)"
    if feature == "PMU_V3" and DFR0 in regs_ and _bits(cpu.value(DFR0), 8) in (0, 0xF):
        return "ID_AA64DFR0_EL1.PMUVer has no PMUv3 (kvm_arm_support_pmu_v3())"
    if feature in ("PTRAUTH_ADDRESS", "PTRAUTH_GENERIC") and ISAR1 in regs_ and ISAR2 in regs_:
        isar1, isar2 = cpu.value(ISAR1), cpu.value(ISAR2)  # QARMA5/IMPDEF in ISAR1, QARMA3 in ISAR2
        address = _bits(isar1, 4) or _bits(isar1, 8) or _bits(isar2, 12)
        generic = _bits(isar1, 24) or _bits(isar1, 28) or _bits(isar2, 8)
        if not (address and generic):
            return "the CPU lacks address or generic pointer authentication (system_has_full_ptr_auth())"
    return None


class ErrorSink(Protocol):
    """Where check_host reports: a Builder for a host spec file, a plain collector for hosts built in memory."""

    def error(self, span: Span, message: str, hint: str | None = None) -> None: ...


class ErrorList:
    """An ErrorSink that only collects (hosts combined in memory, e.g. by fence)."""

    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def error(self, span: Span, message: str, hint: str | None = None) -> None:
        self.errors.append(SpecError(span, message, hint))


def check_host(b: ErrorSink, host: Host) -> None:
    """A kernel, VMM and CPU that cannot make a VM together are a configuration error, not a finding."""
    kernel, vmm, cpu = host.kernel, host.vmm, host.cpu
    for feature in sorted(vmm.vcpu_features - kernel.vcpu_features):
        b.error(
            host.info.span,
            f"VMM {vmm.info.name} asks for vCPU feature {feature}, which kernel {kernel.info.name} does not support",
            "KVM_ARM_VCPU_INIT fails; choose another VMM profile",
        )
    for feature in sorted(vmm.vcpu_features & kernel.vcpu_features):
        why = _cpu_lacks(feature, cpu)
        if why is not None:
            b.error(
                host.info.span,
                f"VMM {vmm.info.name} asks for vCPU feature {feature}, which CPU {cpu.info.name} cannot give: {why}",
                "KVM_ARM_VCPU_INIT fails with -EINVAL and the VM cannot start; choose a VMM profile without it",
            )
    ptrauth = {"PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"} & vmm.vcpu_features & kernel.vcpu_features
    if len(ptrauth) == 1:
        b.error(
            host.info.span,
            f"VMM {vmm.info.name} asks for {ptrauth.pop()} alone: KVM enables pointer authentication only with both "
            "PTRAUTH_ADDRESS and PTRAUTH_GENERIC",
            "KVM_ARM_VCPU_INIT fails with -EINVAL; ask for both or neither",
        )
    for reg, write in vmm.writes.items():
        wa = kernel.workarounds.get(reg)
        if wa is not None:
            level = host_level(wa, cpu)
            if not workaround_accepts(reg, wa.restore, write.value, level):
                b.error(
                    write.span,
                    f"{vmm.info.name} writes {regs.register_name(reg)} = {level_name(reg, write.value)}, which "
                    f"kernel {kernel.info.name} refuses on CPU {cpu.info.name} (host level "
                    f"{level_name(reg, level)}; host {host.info.name})",
                    "KVM_SET_ONE_REG fails with -EINVAL at VM set-up; a write only validates (the guest reads "
                    "the host's level), so write nothing or a level at most the host's",
                )
            continue
    for reg, write in vmm.writes.items():
        bitmap = kernel.bitmaps.get(reg)
        if bitmap is None:
            continue
        unknown = [n for n in write.bit_names if bitmap.bit(n) is None]
        if unknown:
            b.error(
                write.span,
                f"{vmm.info.name} writes {', '.join(unknown)} in {regs.register_name(reg)}, "
                f"unknown to kernel {kernel.info.name} (used by host {host.info.name})",
                "KVM_SET_ONE_REG fails with -EINVAL; write only bits the kernel declares",
            )
    psci = vmm.writes.get(regs.register_id("PSCI_VERSION"))
    if psci is not None and kernel.psci is not None:
        wants_02 = "PSCI_0_2" in vmm.vcpu_features
        if psci.value not in kernel.psci.versions or (psci.value == psci_value("0.1")) == wants_02:
            why = (f"which kernel {kernel.info.name} does not implement" if psci.value not in kernel.psci.versions
                   else "which the vCPU's PSCI_0_2 feature rules out" if wants_02 else "without the PSCI_0_2 feature")
            b.error(
                psci.span,
                f"{vmm.info.name} pins PSCI_VERSION to {psci_str(psci.value)}, {why} (host {host.info.name})",
                "KVM_SET_ONE_REG fails with -EINVAL; pin a version every kernel it runs on implements",
            )
    check_id_overrides(b, host)
    for wa in kernel.workarounds.values():
        state = cpu.vulnerabilities.get(wa.vulnerability)
        if state is not None and state[0] not in wa.levels:
            b.error(
                state[1],
                f"kernel {kernel.info.name} gives no {regs.register_name(wa.reg)} level for "
                f"{wa.vulnerability} state '{state[0]}' (host {host.info.name})",
                f"use one of: {', '.join(wa.levels)}",
            )


def check_id_overrides(b: ErrorSink, host: Host) -> None:
    """An ID-register value KVM refuses at vCPU init means the VM cannot be created: KVM_SET_ONE_REG accepts a
    value other than the host's only on 6.7+ kernels, inside the writable mask, and safe against the host's."""
    kernel, vmm, cpu = host.kernel, host.vmm, host.cpu
    features = vmm.vcpu_features & kernel.vcpu_features
    writable_regs = kernel.has_capability("ARM_SUPPORTED_REG_MASK_RANGES")
    for reg, overrides in vmm.id_overrides.items():
        layout = kernel.id_registers.get(reg)
        if layout is None or reg not in cpu.registers:
            continue  # nothing described to compare with: the effective ABI ignores the override too
        name = regs.register_name(reg)
        for field_name, (raw, span) in overrides.items():
            field = layout.field(field_name)
            if field is None:
                known = ", ".join(f.name for f in layout.fields)
                b.error(span, f"{vmm.info.name} overrides {name}.{field_name}, a field kernel "
                        f"{kernel.info.name} does not describe (host {host.info.name})", f"known fields: {known}")
                continue
            hidden = field.hidden or (field.visible_with is not None and field.visible_with not in features)
            limit = 0 if hidden else field.get(cpu.value(reg))
            if field.cap is not None:
                limit = min(limit, field.cap)  # the guest's view, which a SET of the same value keeps
            value = field.decode(raw)
            if value == limit or (field.ignores_write == "host-value" and value == field.get(cpu.value(reg))):
                continue  # equal, or the host's own value of a field KVM drops from the write (ignores-write)
            where = f"{vmm.info.name} sets {name}.{field_name} = {raw} on host {host.info.name}, whose value is {limit}"
            if not writable_regs:
                why = f"kernel {kernel.info.name} has no writable ID registers (6.7+)"
            elif hidden or not field.writable:
                why = f"the field is outside the writable mask of kernel {kernel.info.name}"
            elif not field.accepts(value, limit):
                why = f"the field is {field.safety.value} and {value} is not safe against {limit}"
            else:
                continue
            b.error(span, f"{where}: {why}", "KVM_SET_ONE_REG fails with -EINVAL and the VM cannot start; "
                    "override only fields the kernel lets the VMM write, to values safe on every host")
