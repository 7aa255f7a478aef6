"""The typed model of specs: frozen dataclasses, each node with the span it was written at."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from abi_check.errors import Span
from abi_check.spec.registers import register_name

MIDR_MODEL_MASK = 0xFF0FFFF0  # MIDR_EL1 implementer, architecture and part number: the kernel's MIDR_ALL_VERSIONS


class Kind(enum.StrEnum):
    KERNEL = "kernel"
    VMM = "vmm"
    CPU = "cpu"
    HOST = "host"


class FieldSafety(enum.StrEnum):
    LOWER_SAFE = "lower-safe"
    HIGHER_SAFE = "higher-safe"
    HIGHER_OR_ZERO_SAFE = "higher-or-zero-safe"
    EXACT = "exact"


class UnknownIncoming(enum.StrEnum):
    FAIL = "fail"
    IGNORE = "ignore"


class MissingIncoming(enum.StrEnum):
    KEEP_RESET = "keep-reset"
    FAIL = "fail"


class DirtyTracking(enum.StrEnum):
    BITMAP = "bitmap"
    RING = "ring"
    RING_WITH_BITMAP = "ring-with-bitmap"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SpecInfo:
    """Identity of one resolved spec: its name, file, sources and the chain it extends."""

    kind: Kind
    name: str
    path: str
    span: Span
    source: tuple[str, ...]
    extends: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KernelRegister:
    """A register the kernel lists for a vCPU (KVM_GET_REG_LIST), and what it depends on."""

    reg: int
    span: Span
    requires_feature: str | None = None
    requires_cpu_field: tuple[int, str] | None = None
    invariant: bool = False
    reset: int = 0
    unless_feature: str | None = None
    requires_cpu_cache: bool = False
    synthesised: str | None = None

    @property
    def name(self) -> str:
        return register_name(self.reg)


@dataclass(frozen=True, slots=True)
class Psci:
    """The PSCI versions a kernel implements and the one it gives a guest by default."""

    versions: frozenset[int]
    default: int
    span: Span
    default_span: Span


@dataclass(frozen=True, slots=True)
class Workaround:
    """An SMCCC_ARCH_WORKAROUND firmware register: the level per CPU state and how a restore is judged."""

    reg: int
    vulnerability: str
    levels: Mapping[str, int]
    span: Span
    restore: str = "at-most-host-level"
    # CPUs (MIDR implementer and part number) this kernel's lists do not classify as the CPU spec does: the level
    # it reports for them, and where that is written.
    cpu_levels: Mapping[int, tuple[int, Span]] = field(default_factory=dict)

    def cpu_level(self, midr: int | None) -> tuple[int, Span] | None:
        return None if midr is None else self.cpu_levels.get(midr & MIDR_MODEL_MASK)


@dataclass(frozen=True, slots=True)
class Bit:
    """One bit of a hypercall bitmap: its name, index and whether the kernel sets it by default."""

    name: str
    index: int
    default: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Bitmap:
    """A hypercall bitmap firmware register and its bits."""

    reg: int
    bits: tuple[Bit, ...]
    span: Span
    defaults_span: Span

    @property
    def known_mask(self) -> int:
        return sum(1 << b.index for b in self.bits)

    @property
    def default_mask(self) -> int:
        return sum(1 << b.index for b in self.bits if b.default)

    def bit(self, name: str) -> Bit | None:
        return next((b for b in self.bits if b.name == name), None)

    def bit_at(self, index: int) -> Bit | None:
        return next((b for b in self.bits if b.index == index), None)


@dataclass(frozen=True, slots=True)
class IdField:
    """A field of an ID register: its bits, safety rule and whether KVM lets a VMM write it."""

    name: str
    lsb: int
    width: int
    safety: FieldSafety
    signed: bool
    writable: bool
    span: Span
    safe_value: int = 0
    visible_with: str | None = None
    hidden: bool = False
    cap: int | None = None
    # "host-value": KVM accepts a VMM's write of the host's own value of this (hidden) field and drops it, so a
    # guest saved where the field was visible can be restored (MPAM since 6.13, 6685f5d572c2).
    ignores_write: str | None = None

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value: int) -> int:
        return self.decode((value >> self.lsb) & ((1 << self.width) - 1))

    def decode(self, raw: int) -> int:
        """A raw field value (as written in id-overrides) as the kernel compares it: signed fields sign-extend."""
        if self.signed and raw >> (self.width - 1):
            return raw - (1 << self.width)
        return raw

    def accepts(self, value: int, limit: int) -> bool:
        """arm64_check_features(): may a guest see ``value`` on a host whose own value is ``limit``?"""
        if self.safety is FieldSafety.LOWER_SAFE:
            return value <= limit
        if self.safety is FieldSafety.HIGHER_SAFE:
            return value >= limit
        if self.safety is FieldSafety.HIGHER_OR_ZERO_SAFE:
            return value == 0 or value >= limit
        return value == limit or value == self.safe_value


@dataclass(frozen=True, slots=True)
class IdRegister:
    """An ID register and the layout of its fields."""

    reg: int
    fields: tuple[IdField, ...]
    span: Span

    def field(self, name: str) -> IdField | None:
        return next((f for f in self.fields if f.name == name), None)

    def differing(self, a: int, b: int) -> list[str]:
        """Names of the fields whose values differ between register values ``a`` and ``b`` (a field's decoded
        value differs exactly when its bits do)."""
        changed = a ^ b
        if not changed:
            return []
        return [name for name, mask in _layout(self)[0] if changed & mask]

    def ignoring(self) -> tuple[IdField, ...]:
        """The fields whose write KVM may drop (``ignores-write``), in layout order."""
        return _layout(self)[1]


# Per layout object (one per kernel spec and register, shared by every host): its fields' masks and the fields
# with ignores-write, worked out once. Keyed by id, with the object kept alive beside its entry.
_LAYOUTS: dict[int, tuple[IdRegister, tuple[tuple[str, int], ...], tuple[IdField, ...]]] = {}


def _layout(reg: IdRegister) -> tuple[tuple[tuple[str, int], ...], tuple[IdField, ...]]:
    found = _LAYOUTS.get(id(reg))
    if found is None or found[0] is not reg:
        found = _LAYOUTS[id(reg)] = (reg, tuple((f.name, f.mask) for f in reg.fields),
                                     tuple(f for f in reg.fields if f.ignores_write is not None))
    return found[1], found[2]


@dataclass(frozen=True, slots=True)
class Kernel:
    """A kernel spec: the registers, firmware and ID-register behaviour KVM has in that version."""

    info: SpecInfo
    version: str
    arch: str
    registers: Mapping[int, KernelRegister]
    psci: Psci | None
    workarounds: Mapping[int, Workaround]
    bitmaps: Mapping[int, Bitmap]
    capabilities: Mapping[str, int]
    vcpu_features: frozenset[str]
    id_registers: Mapping[int, IdRegister]
    # Services offered without a bitmap register (before 5.19), by the bit names later kernels give them.
    implicit_services: Mapping[int, frozenset[str]] = field(default_factory=dict)

    def has_capability(self, name: str) -> bool:
        return name in self.capabilities


@dataclass(frozen=True, slots=True)
class Migration:
    """What a VMM saves and restores, and how it treats registers the other side lacks."""

    span: Span
    saves_all_listed: bool = True
    saved_firmware: frozenset[int] = frozenset()
    hidden: frozenset[int] = frozenset()
    safe_missing: frozenset[int] = frozenset()
    unknown_incoming: UnknownIncoming = UnknownIncoming.FAIL
    missing_incoming: MissingIncoming = MissingIncoming.KEEP_RESET
    count_check: bool = False
    max_registers: int | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """A firmware or bitmap register value the VMM writes itself before the first KVM_RUN."""

    reg: int
    value: int
    span: Span
    bit_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Memory:
    """How a VMM handles memory slots and dirty tracking during migration."""

    span: Span
    slot_changes_during_dirty_log: bool = False
    quiesces_vcpus: bool = False
    harvests_before_delete: bool = True
    dirty_tracking: DirtyTracking = DirtyTracking.BITMAP


@dataclass(frozen=True, slots=True)
class Cpu:
    """A CPU spec: the values of its ID and implementation registers, its errata."""

    info: SpecInfo
    vendor: str
    registers: Mapping[int, tuple[int, Span]]
    vulnerabilities: Mapping[str, tuple[str, Span]]
    errata: tuple[str, ...]

    def value(self, reg: int) -> int:
        return self.registers[reg][0] if reg in self.registers else 0


@dataclass(frozen=True, slots=True)
class Vmm:
    """A VMM spec: its writes, ID-register overrides, migration and memory behaviour."""

    info: SpecInfo
    product: str
    version: str
    migration: Migration
    writes: Mapping[int, Write]
    vcpu_features: frozenset[str]
    id_overrides: Mapping[int, Mapping[str, tuple[int, Span]]]
    imp_id_writable: bool
    targets: tuple[Cpu, ...]
    targets_span: Span | None
    memory: Memory


@dataclass(frozen=True, slots=True)
class Host:
    """A host spec: a kernel, a VMM and a CPU, with its vCPU count and features."""

    info: SpecInfo
    kernel: Kernel
    vmm: Vmm
    cpu: Cpu
    vcpus: int


Spec = Kernel | Vmm | Cpu | Host
