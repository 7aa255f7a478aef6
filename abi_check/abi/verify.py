"""What the specs predict a kernel on a CPU answers, against what a real KVM answered (an observed dump).

For each vCPU configuration the dump holds, the prediction is the effective ABI of that kernel and CPU with a
VMM that asks for the same vCPU features and writes nothing (a dump records KVM's own defaults). Compared:
the registers KVM_GET_REG_LIST lists, the values the specs model (ID and implementation registers, firmware
registers, bitmap defaults), the PSCI versions KVM accepts, the bitmap bits it accepts, the WORKAROUND levels
it reports, and the writable ID-register masks. Every difference is a spec the dump shows wrong (or a gap).
"""

from __future__ import annotations

from dataclasses import dataclass

from abi_check.abi.effective import Origin, effective_abi
from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.encodings import psci_str, psci_value
from abi_check.spec.fromdump import neutral_vmm
from abi_check.spec.model import Cpu, Host, Kernel, Kind, SpecInfo
from abi_check.spec.observed import Observed, ObservedVcpu

PSCI_0_1 = psci_value("0.1")


@dataclass(frozen=True, slots=True, order=True)
class Mismatch:
    """One way the specs and a real KVM disagree, for one vCPU configuration of the dump."""

    vcpu: str  # the dump's feature-set name
    kind: str  # listed-by-kvm-only, listed-by-spec-only, value, psci-accepted, bitmap-bits, writable-mask
    subject: str  # the register (or register and version)
    spec: str  # what the specs predict
    kvm: str  # what KVM answered
    where: Span | None = None  # the spec line the prediction comes from

    def to_data(self) -> dict[str, object]:
        return {"vcpu": self.vcpu, "kind": self.kind, "subject": self.subject, "spec": self.spec, "kvm": self.kvm,
                "where": None if self.where is None else str(self.where)}


def verify(kernel: Kernel, cpu: Cpu, observed: Observed) -> list[Mismatch]:
    out: list[Mismatch] = []
    for vcpu in observed.vcpus:
        out += _vcpu(kernel, cpu, vcpu)
    out += _masks(kernel, observed)
    return out


def _vcpu(kernel: Kernel, cpu: Cpu, vcpu: ObservedVcpu) -> list[Mismatch]:
    span = Span(cpu.info.path, 1, 1)
    host = Host(SpecInfo(Kind.HOST, f"{kernel.info.name}+{cpu.info.name}", cpu.info.path, span, ()), kernel,
                neutral_vmm(vcpu.features, cpu.info.path), cpu, 1)
    abi = effective_abi(host)
    name = vcpu.name
    out: list[Mismatch] = []
    listed, seen = set(abi.listed), set(vcpu.values)
    for reg in sorted(seen - listed):
        out.append(Mismatch(name, "listed-by-kvm-only", regs.register_name(reg), "not listed", "listed"))
    for reg in sorted(listed - seen):
        out.append(Mismatch(name, "listed-by-spec-only", regs.register_name(reg), "listed", "not listed",
                            abi.listed[reg]))
    for reg, predicted in sorted(abi.values.items()):
        actual = vcpu.values.get(reg)
        if reg not in seen or actual is None or predicted.origin is Origin.VMM:
            continue
        if predicted.value != actual:
            out.append(Mismatch(name, "value", regs.register_name(reg), f"{predicted.value:#x}", f"{actual:#x}",
                                predicted.span))
    out += _psci(abi.psci_implemented, vcpu, abi.listed.get(regs.register_id("PSCI_VERSION")))
    for reg, (_, accepted) in sorted(vcpu.bitmaps.items()):
        bitmap = kernel.bitmaps.get(reg)
        known = frozenset(b.index for b in bitmap.bits) if bitmap is not None else frozenset()
        if known != accepted:
            out.append(Mismatch(name, "bitmap-bits", regs.register_name(reg), _bits(known), _bits(accepted),
                                bitmap.span if bitmap is not None else None))
    return out


def _psci(implemented: frozenset[int], vcpu: ObservedVcpu, where: Span | None) -> list[Mismatch]:
    """KVM accepts 0.1 exactly when the vCPU lacks PSCI_0_2, and with it any other version it implements."""
    if vcpu.psci_accepted is None:
        return []
    out = []
    for version, accepted in sorted(vcpu.psci_accepted.items()):
        if "PSCI_0_2" in vcpu.features:
            predicted = version in implemented and version != PSCI_0_1
        else:
            predicted = version == PSCI_0_1
        if predicted != accepted:
            out.append(Mismatch(vcpu.name, "psci-accepted", f"PSCI_VERSION {psci_str(version)}",
                                _yes(predicted), _yes(accepted), where))
    return out


def _masks(kernel: Kernel, observed: Observed) -> list[Mismatch]:
    """KVM_ARM_GET_REG_WRITABLE_MASKS (6.7+) against the writable fields of the kernel's ID-register layouts."""
    if observed.writable_masks is None:
        return []
    out = []
    for reg, layout in sorted(kernel.id_registers.items()):
        predicted = sum(f.mask for f in layout.fields if f.writable) if kernel.has_capability(
            "ARM_SUPPORTED_REG_MASK_RANGES") else 0
        actual = observed.writable_masks.get(reg, 0)
        if predicted != actual:
            out.append(Mismatch("vm", "writable-mask", regs.register_name(reg), f"{predicted:#x}", f"{actual:#x}",
                                layout.span))
    return out


def _bits(bits: frozenset[int]) -> str:
    return ", ".join(str(b) for b in sorted(bits)) or "none"


def _yes(flag: bool) -> str:
    return "accepted" if flag else "refused"
