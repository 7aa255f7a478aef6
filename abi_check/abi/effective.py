"""The effective guest ABI of a host: what the guest sees, what the VMM saves, what the host accepts."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.encodings import WA2_ENABLED, psci_value
from abi_check.spec.hostcheck import cpu_level, cpu_state
from abi_check.spec.model import Cpu, Host, IdField, Kernel, Vmm

CAP_WRITABLE_ID_REGS = "ARM_SUPPORTED_REG_MASK_RANGES"
CAP_WRITABLE_IMP_ID_REGS = "ARM_WRITABLE_IMP_ID_REGS"
PSCI_VERSION = regs.register_id("PSCI_VERSION")
VENDOR_HYP_BMAP_2 = regs.register_id("VENDOR_HYP_BMAP_2")
WORKAROUND_2 = regs.register_id("SMCCC_ARCH_WORKAROUND_2")
CLIDR_EL1 = regs.register_id("CLIDR_EL1")
CTR_EL0 = regs.register_id("CTR_EL0")


class Origin(enum.StrEnum):
    VMM = "written by the VMM"
    KERNEL = "kernel default"
    CPU = "host CPU"


@dataclass(frozen=True, slots=True)
class Value:
    """A register value the guest sees, where it is written and what set it."""

    value: int
    span: Span
    origin: Origin


@dataclass(frozen=True, slots=True)
class EffectiveAbi:
    """Derived from kernel + VMM + CPU; rules read only this and the host it came from."""

    host: Host
    listed: Mapping[int, Span]
    saved: frozenset[int]
    values: Mapping[int, Value]
    host_levels: Mapping[int, Value]
    id_limits: Mapping[int, int]
    psci_implemented: frozenset[int]
    explicit: frozenset[int]
    vcpu_features: frozenset[str]
    id_writable: bool
    imp_id_writable: bool
    targets: tuple[Cpu, ...]

    @property
    def name(self) -> str:
        return self.host.info.name

    @property
    def kernel(self) -> Kernel:
        return self.host.kernel

    @property
    def vmm(self) -> Vmm:
        return self.host.vmm

    @property
    def cpu(self) -> Cpu:
        return self.host.cpu

    def value(self, reg: int) -> int:
        found = self.values.get(reg)
        return found.value if found is not None else 0

    def id_field(self, reg: int, name: str) -> IdField | None:
        layout = self.kernel.id_registers.get(reg)
        return layout.field(name) if layout is not None else None

    def ignores(self, reg: int, field: IdField, value: int) -> bool:
        """Does KVM accept and drop a VMM's write of ``value`` to this field (``ignores-write: host-value``: the
        value is the host's own, before KVM hides the field)? Such a write leaves the guest KVM's value."""
        return (field.ignores_write == "host-value" and reg in self.cpu.registers
                and value == field.get(self.cpu.value(reg)))

    def kept(self, reg: int, value: int) -> int:
        """What KVM compares and keeps of a VMM's write of ``value`` to ID register ``reg``: the fields it
        ignores (``ignores`` a field of this value) replaced by the guest's own value."""
        layout = self.kernel.id_registers.get(reg)
        if layout is None:
            return value
        mine = self.value(reg)
        for field in layout.ignoring():
            if self.ignores(reg, field, field.get(value)):
                value = (value & ~field.mask) | (mine & field.mask)
        return value


def effective_abi(host: Host) -> EffectiveAbi:
    kernel, vmm, cpu = host.kernel, host.vmm, host.cpu
    features = vmm.vcpu_features & kernel.vcpu_features
    listed = _listed(kernel, cpu, features)

    values: dict[int, Value] = {}
    host_levels: dict[int, Value] = {}
    for reg, wa in kernel.workarounds.items():
        state = cpu_state(wa, cpu)
        by_model = cpu_level(wa, cpu)
        if by_model is not None:  # a CPU model the kernel's lists classify otherwise (cpu-levels)
            host_levels[reg] = values[reg] = Value(by_model[0], by_model[1], Origin.KERNEL)
        elif state is not None and state[0] in wa.levels:
            # GET returns the host's level, so the saved value is the level of the CPU it ran on.
            host_levels[reg] = values[reg] = Value(wa.levels[state[0]], state[1], Origin.CPU)
        else:
            host_levels[reg] = values[reg] = Value(0, wa.span, Origin.KERNEL)
    if kernel.psci is not None:
        values[PSCI_VERSION] = Value(kernel.psci.default, kernel.psci.default_span, Origin.KERNEL)
    for reg, bitmap in kernel.bitmaps.items():
        values[reg] = Value(bitmap.default_mask, bitmap.defaults_span, Origin.KERNEL)
    if kernel.psci is not None and "PSCI_0_2" not in features:
        # kvm_psci_version(): a vCPU created without PSCI_0_2 has PSCI 0.1, whatever the kernel's default.
        values[PSCI_VERSION] = Value(psci_value("0.1"), kernel.psci.span, Origin.KERNEL)
    explicit: set[int] = set()
    for reg, write in vmm.writes.items():
        if reg not in listed:
            continue  # a VMM writes only what the kernel exposes
        if reg in kernel.workarounds:
            # kvm_arm_set_fw_reg() only validates a WORKAROUND write (the host check refuses one KVM refuses):
            # GET keeps returning the host's level. Only 5.3-5.9 stored WORKAROUND_2's ENABLED bit, at AVAIL.
            level = host_levels[reg].value
            wa = kernel.workarounds[reg]
            if (reg == WORKAROUND_2 and wa.restore == "at-most-host-level" and write.value & WA2_ENABLED
                    and level == write.value & ~WA2_ENABLED):
                values[reg] = Value(write.value, write.span, Origin.VMM)
                explicit.add(reg)
            continue
        value = write.value
        target = kernel.bitmaps.get(reg)
        if target is not None:
            value = sum(1 << b.index for n in write.bit_names if (b := target.bit(n)) is not None)
        values[reg] = Value(value, write.span, Origin.VMM)
        explicit.add(reg)

    id_limits: dict[int, int] = {}
    for reg, (value, span) in cpu.registers.items():
        id_limits[reg] = _guest_view(kernel, reg, value, features)
        values[reg] = Value(id_limits[reg], span, Origin.CPU)
    clidr = kernel.registers.get(CLIDR_EL1)
    if clidr is not None and clidr.synthesised == "clidr-from-ctr" and CLIDR_EL1 in cpu.registers:
        made = synthesised_clidr(cpu.value(CTR_EL0), cpu.value(CLIDR_EL1))
        id_limits[CLIDR_EL1] = made
        values[CLIDR_EL1] = Value(made, clidr.span, Origin.KERNEL)
    for reg, overrides in vmm.id_overrides.items():
        layout = kernel.id_registers.get(reg)
        current = values.get(reg)
        if layout is None or current is None:
            continue
        value, span = current.value, current.span
        for field_name, (field_value, fspan) in overrides.items():
            field = layout.field(field_name)
            if field is not None and not (field.ignores_write == "host-value"
                                          and field.decode(field_value) == field.get(cpu.value(reg))):
                value = (value & ~field.mask) | ((field_value << field.lsb) & field.mask)
                span = fspan
        values[reg] = Value(value, span, Origin.VMM)
        explicit.add(reg)

    if vmm.migration.saves_all_listed:
        saved = set(listed)
    else:
        saved = {r for r in listed if not (regs.is_firmware(r) or regs.is_bitmap(r))}
        saved |= vmm.migration.saved_firmware & set(listed)
    saved -= vmm.migration.hidden

    imp_id_writable = vmm.imp_id_writable and kernel.has_capability(CAP_WRITABLE_IMP_ID_REGS)
    announced = _announce_targets(kernel, vmm, values, explicit) if imp_id_writable and vmm.targets else False
    return EffectiveAbi(
        host=host,
        listed=listed,
        saved=frozenset(saved),
        values=values,
        host_levels=host_levels,
        id_limits=id_limits,
        psci_implemented=kernel.psci.versions if kernel.psci is not None else frozenset(),
        explicit=frozenset(explicit),
        vcpu_features=features,
        id_writable=kernel.has_capability(CAP_WRITABLE_ID_REGS),
        imp_id_writable=imp_id_writable,
        targets=(cpu, *(t for t in vmm.targets if t.info.name != cpu.info.name)) if announced else (cpu,),
    )


def _announce_targets(kernel: Kernel, vmm: Vmm, values: dict[int, Value], explicit: set[int]) -> bool:
    """A VMM with a target list answers DISCOVER_IMPL, so it turns the two VENDOR_HYP_BMAP_2 bits on (as
    QEMU's impl-cpu RFC does) unless it writes the bitmap itself. The guest learns the targets only when
    DISCOVER_IMPL_CPUS ends up enabled."""
    bitmap = kernel.bitmaps.get(VENDOR_HYP_BMAP_2)
    if bitmap is None:
        return False
    discover = [b for b in (bitmap.bit("DISCOVER_IMPL_VER"), bitmap.bit("DISCOVER_IMPL_CPUS")) if b is not None]
    if VENDOR_HYP_BMAP_2 not in explicit:
        mask = sum(1 << b.index for b in discover)
        span = vmm.targets_span or vmm.info.span
        values[VENDOR_HYP_BMAP_2] = Value(values[VENDOR_HYP_BMAP_2].value | mask, span, Origin.VMM)
        explicit.add(VENDOR_HYP_BMAP_2)
    cpus = bitmap.bit("DISCOVER_IMPL_CPUS")
    return cpus is not None and bool(values[VENDOR_HYP_BMAP_2].value >> cpus.index & 1)


def _listed(kernel: Kernel, cpu: Cpu, features: frozenset[str]) -> dict[int, Span]:
    """KVM_GET_REG_LIST on this host for a vCPU with these features."""
    listed: dict[int, Span] = {}
    caches = _cache_selectors(cpu.value(CLIDR_EL1)) if CLIDR_EL1 in cpu.registers else frozenset[int]()
    for reg, entry in kernel.registers.items():
        if entry.requires_feature is not None and entry.requires_feature not in features:
            continue
        if entry.unless_feature is not None and entry.unless_feature in features:
            continue
        if entry.requires_cpu_field is not None:
            field_reg, field_name = entry.requires_cpu_field
            layout = kernel.id_registers.get(field_reg)
            field = layout.field(field_name) if layout is not None else None
            if field is None or field.get(cpu.value(field_reg)) <= 0:
                continue
        if entry.requires_cpu_cache and regs.demux_index(reg) not in caches:
            # A CPU spec without CLIDR_EL1 lists none: fewer registers on the old kernel is the side that
            # reports a migration from a newer one as failing, never the other way round.
            continue
        listed[reg] = entry.span
    if kernel.psci is not None:
        listed[PSCI_VERSION] = kernel.psci.span
    for reg, wa in kernel.workarounds.items():
        listed[reg] = wa.span
    for reg, bitmap in kernel.bitmaps.items():
        listed[reg] = bitmap.span
    return listed


def _cache_selectors(clidr: int) -> frozenset[int]:
    """The CSSELR_EL1 values (level << 1 | InD) of the caches CLIDR_EL1 describes: is_valid_cache() before 6.3
    reads the first seven Ctype fields (0 none, 1 instruction, 2 data, 3 separate, 4 unified)."""
    found: set[int] = set()
    for level in range(7):
        ctype = (clidr >> (3 * level)) & 7
        if ctype in (2, 3, 4):
            found.add(level << 1)
        if ctype in (1, 3):
            found.add(level << 1 | 1)
    return frozenset(found)


def synthesised_clidr(ctr: int, clidr: int) -> int:
    """reset_clidr() since 6.3 (7af0c2534f4c): a CLIDR_EL1 made from CTR_EL0.IDC/DIC, not the host's caches.

    The kernel's sanitised CTR_EL0 has IDC set also when the host CLIDR_EL1 makes the clean to PoU unnecessary
    (LoC = 0, or LoUIS = LoUU = 0), as arm64's cpufeature emulates IDC for such CPUs. MTE tag caches are not
    modelled (no catalogue VMM enables MTE).
    """
    loc_host, louis, louu = (clidr >> 24) & 7, (clidr >> 21) & 7, (clidr >> 27) & 7
    idc = bool(ctr >> 28 & 1) or loc_host == 0 or (louis == 0 and louu == 0)
    dic = bool(ctr >> 29 & 1)
    if idc:
        loc = 1 if dic else 2
        value = 4 << (3 * (loc - 1))  # a unified cache marked as LoC
    else:
        loc = 1
        value = 1 << 27 | 1 << 21 | 2  # LoUU = LoUIS = 1, a data cache at L1
    if not dic:
        value |= 1  # an instruction cache at L1 (data + instruction = separate)
    return value | loc << 24


def _guest_view(kernel: Kernel, reg: int, value: int, features: frozenset[str]) -> int:
    """KVM hides some ID-register fields from the guest (SVE without the SVE vCPU feature, AMU, MPAM) and caps
    others (the debug and PMU versions before 6.2)."""
    layout = kernel.id_registers.get(reg)
    if layout is None:
        return value
    for field in layout.fields:
        if field.hidden or (field.visible_with is not None and field.visible_with not in features):
            value &= ~field.mask
        elif field.cap is not None and field.get(value) > field.cap:
            value = (value & ~field.mask) | (field.cap << field.lsb)
    return value
