"""What a rule sees of a host: typed, read-only views over its effective ABI, and nothing else.

Every attribute a rule may read is declared in ``ATTRS`` with its type; the rule compiler checks names against
these tables and the evaluator refuses anything not declared, so a rule cannot reach Python internals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from abi_check.abi.content import content_number
from abi_check.abi.effective import EffectiveAbi
from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.model import Cpu, IdField

ATTRS: dict[str, dict[str, str]] = {
    "Host": {
        "name": "str",
        "kernel": "Kernel",
        "vmm": "Vmm",
        "cpu": "Cpu",
        "vcpus": "int",
        "listed": "set[Reg]",
        "saved": "set[Reg]",
        "explicit": "set[Reg]",
        "bitmaps": "set[Reg]",
        "workarounds": "set[Reg]",
        "vm_scoped": "set[Reg]",
        "features": "set[str]",
        "psci": "int",
        "psci_versions": "set[int]",
        "bits": "list[Bit]",
        "id_fields": "list[Field]",
        "id_registers": "set[Reg]",
        "invariants": "set[Reg]",
        "id_writable": "bool",
        "imp_id_writable": "bool",
        "targets": "list[Cpu]",
        "target_names": "set[str]",
        "span": "Span",
        # methods
        "value": "fn:int",
        "level": "fn:int",
        "default": "fn:int",
        "where": "fn:Span",
        "knows_bit": "fn:bool",
        "enabled": "fn:bool",
        "describes": "fn:bool",
        "field": "fn:Field",
        "writable": "fn:bool",
        "invariant": "fn:bool",
        "restore": "fn:str",
        "limit": "fn:int",
        "ignores": "fn:bool",
        "kept": "fn:int",
        "bit_names": "fn:list[str]",
        "field_diff": "fn:list[str]",
        "services": "fn:set[str]",
        "default_services": "fn:set[str]",
    },
    "Kernel": {
        "name": "str",
        "version": "str",
        "capabilities": "set[str]",
        "psci_default": "int",
        "span": "Span",
        "has": "fn:bool",
    },
    "Vmm": {
        "name": "str",
        "product": "str",
        "version": "str",
        "hidden": "set[Reg]",
        "safe_missing": "set[Reg]",
        "unknown_incoming": "str",
        "missing_incoming": "str",
        "count_check": "bool",
        "max_registers": "int",
        "memory": "Memory",
        "span": "Span",
    },
    "Memory": {
        "slot_changes": "bool",
        "quiesces": "bool",
        "harvests": "bool",
        "tracking": "str",
        "span": "Span",
    },
    "Cpu": {"name": "str", "midr": "int", "revidr": "int", "aidr": "int", "errata": "list[str]", "span": "Span"},
    "Bit": {
        "register": "Reg",
        "name": "str",
        "index": "int",
        "enabled": "bool",
        "default": "bool",
        "span": "Span",
    },
    "Field": {
        "register": "Reg",
        "name": "str",
        "value": "int",
        "safety": "str",
        "signed": "bool",
        "writable": "bool",
        "span": "Span",
    },
}


class Reg(int):
    """A register id that prints as its symbolic name."""

    def __str__(self) -> str:
        return regs.register_name(int(self))

    __repr__ = __str__


_REG_SETS: dict[frozenset[int], frozenset[Reg]] = {}
_FIELDS: dict[tuple[Any, ...], FieldView] = {}
# HostView.id_fields by what they are made of (the kernel and the locations kept alive beside them, so the ids in
# the key stay theirs).
_ID_FIELDS: dict[tuple[Any, ...], tuple[Any, list[FieldView], list[Span]]] = {}


def reg_set(ids: Iterable[int]) -> frozenset[Reg]:
    """The registers ``ids`` as a set of ``Reg``, one shared object per distinct set: thousands of hosts have a
    few hundred distinct register lists, each of some 450 registers."""
    key = frozenset(ids)
    found = _REG_SETS.get(key)
    if found is None:
        found = _REG_SETS[key] = frozenset(Reg(r) for r in key)
    return found


def field_view(parts: tuple[Any, ...]) -> FieldView:
    """The field ``FieldView(*parts)``, one shared object per distinct field (hosts on the same kernel and CPU
    specs have the same fields, locations included). Looked up by plain values: the location's path, line and
    column, and a number for the layout's content (``content_number``, worked out once per layout object), since
    hashing those dataclasses on each of ~300 fields a host was most of building its views."""
    *head, span, layout = parts
    key = (*head, span.path, span.line, span.col, content_number(layout))
    found = _FIELDS.get(key)
    if found is None:
        reg, *rest = parts
        found = _FIELDS[key] = FieldView(Reg(reg), *rest)
    return found


@dataclass(frozen=True, slots=True)
class BitView:
    """A bitmap bit as rules see it, with its value on the host."""

    TYPE = "Bit"
    register: Reg
    name: str
    index: int
    enabled: bool
    default: bool
    span: Span

    def __str__(self) -> str:
        return f"{self.register}.{self.name}"


@dataclass(frozen=True, slots=True)
class FieldView:
    """An ID-register field as rules see it, with the value the guest sees."""

    TYPE = "Field"
    register: Reg
    name: str
    value: int
    safety: str
    signed: bool
    writable: bool
    span: Span
    layout: IdField

    def __str__(self) -> str:
        return f"{self.register}.{self.name}"


@dataclass(frozen=True, slots=True)
class CpuView:
    """A CPU as rules see it."""

    TYPE = "Cpu"
    name: str
    midr: int
    revidr: int
    aidr: int
    errata: list[str]
    span: Span

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class KernelView:
    """A kernel as rules see it."""

    TYPE = "Kernel"
    name: str
    version: str
    capabilities: frozenset[str]
    psci_default: int | None
    span: Span

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MemoryView:
    """A VMM's memory behaviour as rules see it."""

    TYPE = "Memory"
    slot_changes: bool
    quiesces: bool
    harvests: bool
    tracking: str
    span: Span


@dataclass(frozen=True, slots=True)
class VmmView:
    """A VMM as rules see it."""

    TYPE = "Vmm"
    name: str
    product: str
    version: str
    hidden: frozenset[Reg]
    safe_missing: frozenset[Reg]
    unknown_incoming: str
    missing_incoming: str
    count_check: bool
    max_registers: int
    memory: MemoryView
    span: Span

    def __str__(self) -> str:
        return self.name


def cpu_view(cpu: Cpu) -> CpuView:
    def value(name: str) -> int:
        return cpu.value(regs.register_id(name))

    return CpuView(cpu.info.name, value("MIDR_EL1"), value("REVIDR_EL1"), value("AIDR_EL1"), list(cpu.errata),
                   cpu.info.span)


class HostView:
    """A host as rules see it. Built once per host and shared by every pair it is part of."""

    TYPE = "Host"

    def __init__(self, abi: EffectiveAbi) -> None:
        self.abi = abi
        host = abi.host
        self.name = host.info.name
        self.span = host.info.span
        self.vcpus = host.vcpus
        kernel, vmm = host.kernel, host.vmm
        self.kernel = KernelView(
            kernel.info.name,
            kernel.version,
            frozenset(kernel.capabilities),
            kernel.psci.default if kernel.psci else None,
            kernel.info.span,
        )
        mem = vmm.memory
        self.vmm = VmmView(
            vmm.info.name,
            vmm.product,
            vmm.version,
            reg_set(vmm.migration.hidden),
            reg_set(vmm.migration.safe_missing),
            vmm.migration.unknown_incoming.value,
            vmm.migration.missing_incoming.value,
            vmm.migration.count_check,
            vmm.migration.max_registers or 0,
            MemoryView(
                mem.slot_changes_during_dirty_log,
                mem.quiesces_vcpus,
                mem.harvests_before_delete,
                mem.dirty_tracking.value,
                mem.span,
            ),
            vmm.info.span,
        )
        self.cpu = cpu_view(host.cpu)
        self.cpu_label = self.cpu.name  # what {src.cpu} prints (a role's stand-in in the matrix: RoleView)
        self.listed = reg_set(abi.listed)
        self.saved = reg_set(abi.saved)
        self.explicit = reg_set(abi.explicit)
        self.bitmaps = reg_set(kernel.bitmaps)
        self.workarounds = reg_set(kernel.workarounds)
        self.features = abi.vcpu_features
        self.psci = abi.value(regs.register_id("PSCI_VERSION"))
        self.psci_versions = abi.psci_implemented
        self.id_writable = abi.id_writable
        self.imp_id_writable = abi.imp_id_writable
        self.targets = [cpu_view(c) for c in abi.targets]
        self.target_names = frozenset(c.info.name for c in abi.targets)

    def __str__(self) -> str:
        return self.name

    @cached_property
    def vm_scoped(self) -> frozenset[Reg]:
        """Registers that hold per-VM state although KVM exposes them per vCPU."""
        scoped = set(self.bitmaps) | ({Reg(regs.register_id("PSCI_VERSION"))} if self.abi.kernel.psci else set())
        if self.id_writable:  # kvm->arch.id_regs since 6.7 (is_vm_ftr_id_reg)
            scoped |= {Reg(r) for r in self.abi.listed if regs.is_id_register(r)}
            ctr = regs.register_id("CTR_EL0")
            if ctr in self.abi.listed and not self.invariant(ctr):
                scoped.add(Reg(ctr))
        if self.abi.kernel.has_capability("ARM_WRITABLE_IMP_ID_REGS"):
            scoped |= {Reg(regs.register_id(n)) for n in regs.IMPLEMENTATION_ID}
        return reg_set(scoped & self.saved)

    @cached_property
    def bits(self) -> list[BitView]:
        out = []
        for reg, bitmap in self.abi.kernel.bitmaps.items():
            value = self.abi.value(reg)
            for bit in bitmap.bits:
                out.append(BitView(Reg(reg), bit.name, bit.index, bool(value >> bit.index & 1), bit.default, bit.span))
        return out

    @cached_property
    def id_fields(self) -> list[FieldView]:
        # A function of the kernel's layouts, the CPU's registers, whether ID registers are writable and each
        # described register's value and location: thousands of hosts have a few hundred distinct lists.
        kernel, cpu, values = self.abi.kernel, self.abi.host.cpu, self.abi.values
        described = [reg for reg in kernel.id_registers if reg in cpu.registers]
        key = (id(kernel), self.id_writable, tuple(described),
               *[(values[reg].value, id(values[reg].span)) if reg in values else None for reg in described])
        found = _ID_FIELDS.get(key)
        if found is not None and found[0] is kernel:
            return found[1]
        out = []
        for reg in described:  # a register the CPU spec does not describe has nothing to compare
            layout = kernel.id_registers[reg]
            value = self.abi.value(reg)
            span = values[reg].span
            for field in layout.fields:
                out.append(field_view(
                    (reg, field.name, field.get(value), field.safety.value, field.signed,
                     field.writable and self.id_writable, span, field)
                ))
        _ID_FIELDS[key] = (kernel, out, [values[reg].span for reg in described if reg in values])
        return out

    @cached_property
    def id_registers(self) -> frozenset[Reg]:
        """ID registers (op0=3, op1=0, CRn=0, CRm=1..7) whose values the CPU spec gives."""
        return reg_set(r for r in self.abi.host.cpu.registers if regs.is_id_register(r))

    def value(self, reg: int) -> int:
        return self.abi.value(reg)

    def field_diff(self, reg: int, other: HostView) -> list[str]:
        """Names of the fields of ``reg`` whose guest values differ between this host and ``other``."""
        layout = self.abi.kernel.id_registers.get(reg)
        if layout is None:
            return []
        return layout.differing(self.value(reg), other.value(reg))

    def level(self, reg: int) -> int:
        found = self.abi.host_levels.get(reg)
        return found.value if found is not None else 0

    def default(self, reg: int) -> int | None:
        bitmap = self.abi.kernel.bitmaps.get(reg)
        if bitmap is not None:
            return bitmap.default_mask
        if reg == regs.register_id("PSCI_VERSION") and self.abi.kernel.psci is not None:
            return self.abi.kernel.psci.default
        return None

    def where(self, reg: int) -> Span:
        found = self.abi.values.get(reg)
        if found is not None:
            return found.span
        return self.abi.listed.get(reg, self.span)

    def knows_bit(self, bit: BitView) -> bool:
        bitmap = self.abi.kernel.bitmaps.get(bit.register)
        return bitmap is not None and bitmap.bit(bit.name) is not None

    def enabled(self, reg: int, name: str) -> bool:
        bitmap = self.abi.kernel.bitmaps.get(reg)
        found = bitmap.bit(name) if bitmap is not None else None
        return found is not None and bool(self.value(reg) >> found.index & 1)

    def describes(self, reg: int) -> bool:
        return reg in self.abi.host.cpu.registers or regs.is_firmware(reg) or regs.is_bitmap(reg)

    @cached_property
    def _fields_by_name(self) -> dict[tuple[int, str], FieldView]:
        return {(f.register, f.name): f for f in self.id_fields}

    def field(self, other: FieldView) -> FieldView | None:
        return self._fields_by_name.get((other.register, other.name))

    def writable(self, other: FieldView) -> bool:
        mine = self.field(other)
        return mine is not None and mine.writable

    def restore(self, reg: int) -> str:
        """How this host's kernel judges a restored WORKAROUND value."""
        wa = self.abi.kernel.workarounds.get(reg)
        return wa.restore if wa is not None else ""

    def limit(self, other: FieldView) -> int:
        """This host's own value of a field (what KVM checks a restored value against), VMM overrides aside;
        the field's own value where this host's kernel does not check it."""
        found = self._limits.get((other.register, other.name))
        return other.value if found is None else found

    @cached_property
    def _limits(self) -> dict[tuple[int, str], int]:
        limits = self.abi.id_limits
        return {(reg, f.name): f.get(limits[reg])
                for reg, layout in self.abi.kernel.id_registers.items() if reg in limits for f in layout.fields}

    @cached_property
    def invariants(self) -> frozenset[Reg]:
        """The registers this host's kernel requires to equal the host's own value on restore."""
        return reg_set(r for r, entry in self.abi.kernel.registers.items() if entry.invariant)

    def ignores(self, other: FieldView) -> bool:
        """Does this host's KVM accept and drop a write of ``other``'s value to the field (``ignores-write``)?"""
        layout = self.abi.kernel.id_registers.get(other.register)
        found = layout.field(other.name) if layout is not None else None
        return found is not None and self.abi.ignores(other.register, found, other.value)

    def kept(self, reg: int, value: int) -> int:
        """The value KVM compares and keeps of a VMM's write of ``value`` to ID register ``reg`` (fields it
        ignores take the guest's value)."""
        return self.abi.kept(reg, value)

    def invariant(self, reg: int) -> bool:
        entry = self.abi.kernel.registers.get(reg)
        return entry is not None and entry.invariant

    def _implicit(self, reg: int) -> frozenset[str]:
        """The services the kernel offers without the bitmap register ``reg`` (none once it has the register)."""
        kernel = self.abi.kernel
        return frozenset() if reg in kernel.bitmaps else frozenset(kernel.implicit_services.get(reg, ()))

    def services(self, reg: int) -> frozenset[str]:
        """The hypercall services the guest is offered through bitmap ``reg``: the bits set in its value, or, on a
        kernel without the register, the services that kernel offers every guest (``implicit-services``)."""
        bitmap = self.abi.kernel.bitmaps.get(reg)
        if bitmap is None:
            return self._implicit(reg)
        value = self.abi.value(reg)
        return frozenset(b.name for b in bitmap.bits if value >> b.index & 1)

    def default_services(self, reg: int) -> frozenset[str]:
        """The services the kernel offers through bitmap ``reg`` when the VMM writes nothing: its default bits,
        or the services it offers without the register."""
        bitmap = self.abi.kernel.bitmaps.get(reg)
        if bitmap is None:
            return self._implicit(reg)
        return frozenset(b.name for b in bitmap.bits if b.default)

    def bit_names(self, reg: int, mask: int) -> list[str]:
        bitmap = self.abi.kernel.bitmaps.get(reg)
        names = []
        for index in range(64):
            if mask >> index & 1:
                bit = bitmap.bit_at(index) if bitmap is not None else None
                names.append(bit.name if bit is not None else f"bit{index}")
        return names


def field_safe(field: FieldView, value: int, limit: int) -> bool:
    """arm64_check_features(): may a guest value be presented on a host whose limit is ``limit``?"""
    return field.layout.accepts(value, limit)
