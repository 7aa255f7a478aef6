"""A host's effective guest ABI as plain records: every register, its value and where the value comes from.

What ``abi-check show`` prints and ``abi-check diff`` compares: independent of any rule, so a change shows even
where no rule fires (the role abidw and ``oasdiff changelog`` play for their users).
"""

from __future__ import annotations

from dataclasses import dataclass

from abi_check.abi.effective import EffectiveAbi, Origin, Value
from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.encodings import level_name, psci_str
from abi_check.spec.fromdump import OBSERVED as OBSERVED_VENDOR  # the vendor of an observed host's CPU

# The origin of a listed register whose value no spec gives (guest state, or an ID register the CPU spec omits).
NOT_MODELLED = "listed, value not modelled"
OBSERVED = "observed on the host"


@dataclass(frozen=True, slots=True)
class RegisterLine:
    name: str
    id: int
    listed: bool  # in KVM_GET_REG_LIST for this vCPU
    saved: bool  # the VMM saves and restores it
    value: int | None  # None: the specs do not model it (guest state)
    shown: str  # the value as a person reads it: a level name, a PSCI version, bit names, hex
    origin: str  # kernel default, written by the VMM, host CPU, or NOT_MODELLED
    where: Span | None

    def to_data(self) -> dict[str, object]:
        return {
            "name": self.name,
            "id": f"{self.id:#018x}",
            "listed": self.listed,
            "saved": self.saved,
            "value": None if self.value is None else f"{self.value:#x}",
            "shown": self.shown,
            "origin": self.origin,
            "where": None if self.where is None else str(self.where),
        }


@dataclass(frozen=True, slots=True)
class Description:
    """Everything ``show`` prints of one host, in a stable order."""

    host: str
    path: str
    kernel: str
    vmm: str
    cpu: str
    vcpus: int
    features: tuple[str, ...]
    psci_versions: tuple[str, ...]
    registers: tuple[RegisterLine, ...]  # by register id
    id_writable: bool
    imp_id_writable: bool
    targets: tuple[str, ...]

    def register(self, name: str) -> RegisterLine | None:
        return next((r for r in self.registers if r.name == name), None)

    def to_data(self) -> dict[str, object]:
        return {
            "host": self.host,
            "path": self.path,
            "kernel": self.kernel,
            "vmm": self.vmm,
            "cpu": self.cpu,
            "vcpus": self.vcpus,
            "vcpu-features": list(self.features),
            "psci-versions": list(self.psci_versions),
            "id-registers-writable": self.id_writable,
            "implementation-id-writable": self.imp_id_writable,
            "targets": list(self.targets),
            "registers": [r.to_data() for r in self.registers],
        }


def describe(abi: EffectiveAbi, path: str) -> Description:
    host = abi.host
    lines = []
    for reg in sorted(abi.listed.keys() | abi.values.keys()):
        value = abi.values.get(reg)
        lines.append(
            RegisterLine(
                name=regs.register_name(reg),
                id=reg,
                listed=reg in abi.listed,
                saved=reg in abi.saved,
                value=None if value is None else value.value,
                shown="" if value is None else shown_value(abi, reg, value.value),
                origin=_origin(abi, value),
                where=value.span if value is not None else abi.listed.get(reg),
            )
        )
    return Description(
        host=host.info.name,
        path=path,
        kernel=host.kernel.info.name,
        vmm=host.vmm.info.name,
        cpu=host.cpu.info.name,
        vcpus=host.vcpus,
        features=tuple(sorted(abi.vcpu_features)),
        psci_versions=tuple(psci_str(v) for v in sorted(abi.psci_implemented)),
        registers=tuple(lines),
        id_writable=abi.id_writable,
        imp_id_writable=abi.imp_id_writable,
        targets=tuple(t.info.name for t in abi.targets),
    )


def _origin(abi: EffectiveAbi, value: Value | None) -> str:
    if value is None:
        return NOT_MODELLED
    if value.origin is Origin.CPU and abi.cpu.vendor == OBSERVED_VENDOR:
        return OBSERVED  # a host spec with 'observed: DUMP': the value a live KVM answered
    return value.origin.value


def shown_value(abi: EffectiveAbi, reg: int, value: int) -> str:
    """A firmware value as KVM's documentation names it; anything else in hex."""
    name = regs.register_name(reg)
    if name == "PSCI_VERSION":
        return psci_str(value)
    if reg in abi.kernel.workarounds:
        return level_name(reg, value)
    bitmap = abi.kernel.bitmaps.get(reg)
    if bitmap is not None:
        names = [b.name for b in bitmap.bits if value >> b.index & 1]
        unknown = value & ~bitmap.known_mask
        return ", ".join([*names, *([f"{unknown:#x}"] if unknown else [])]) or "none"
    return f"{value:#x}"
