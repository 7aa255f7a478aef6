"""Whether a host's kernel, VMM and CPU can make a VM together: what KVM would refuse at VM or vCPU set-up.

These are configuration errors of a host, reported where the offending value is written, not findings of a
pair: a VMM asking for a vCPU feature or a bitmap bit its kernel lacks, a pinned PSCI version the kernel does not
implement, an ID-register override KVM refuses, a CPU state the kernel has no WORKAROUND level for.
"""

from __future__ import annotations

from typing import Protocol

from abi_check.errors import Span, SpecError
from abi_check.spec import registers as regs
from abi_check.spec.encodings import psci_str, psci_value
from abi_check.spec.model import Host


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
            if value == limit:
                continue
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
