"""The common guest configuration of a set of hosts: what every one of them can present and restore."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import reduce

from abi_check.abi.effective import CAP_WRITABLE_ID_REGS, CAP_WRITABLE_IMP_ID_REGS, VENDOR_HYP_BMAP_2, EffectiveAbi
from abi_check.commands.baseline.overlay import PSCI_VERSION, Overlay
from abi_check.spec import registers as regs
from abi_check.spec.encodings import psci_str
from abi_check.spec.model import Cpu, FieldSafety, IdField

IMPLEMENTATION_ID = tuple(regs.register_id(n) for n in regs.IMPLEMENTATION_ID)
DISCOVER_BITS = ("DISCOVER_IMPL_VER", "DISCOVER_IMPL_CPUS")


def common_configuration(hosts: Sequence[EffectiveAbi]) -> tuple[Overlay, list[str]]:
    """The overlay every host of the set can honour, and notes on what it leaves as it is (and why)."""
    notes: list[str] = []
    targets = _implementations(hosts)
    # Different implementations can share a set only where every kernel lets the VMM write MIDR/REVIDR/AIDR;
    # elsewhere enabling it changes nothing and impl-id-mismatch names the kernel that splits the set.
    imp_id = len(targets) > 1 and all(h.kernel.has_capability(CAP_WRITABLE_IMP_ID_REGS) for h in hosts)
    if len(targets) > 1 and not imp_id:
        lacking = sorted({h.kernel.info.name for h in hosts if not h.kernel.has_capability(CAP_WRITABLE_IMP_ID_REGS)})
        notes.append(f"{len(targets)} CPU implementations, and {', '.join(lacking)} cannot write MIDR_EL1/REVIDR_EL1/"
                     "AIDR_EL1 (KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, 6.15+): the hosts split by CPU implementation")
    overlay = Overlay(
        psci=_psci(hosts),
        bitmaps=_bitmaps(hosts, needs_discover=imp_id),
        id_overrides=_id_fields(hosts, notes),
        imp_id_writable=imp_id,
        targets=targets if imp_id else (),
        source=(f"abi-check baseline over {', '.join(h.name for h in hosts)}",),
    )
    parts = ["hypercall bits enabled on every host", "the highest PSCI version every kernel implements"]
    if overlay.id_overrides:
        parts.append("ID-register fields at arm64_ftr_safe_value() of the hosts' values")
    if overlay.imp_id_writable:
        parts.append("writable implementation ID registers with every CPU implementation as a target")
    return replace(overlay, source=(*overlay.source, "; ".join(parts))), notes


def _psci(hosts: Sequence[EffectiveAbi]) -> int | None:
    with_psci = [h for h in hosts if PSCI_VERSION in h.listed]
    if not with_psci:
        return None
    common = reduce(frozenset.intersection, (h.psci_implemented for h in with_psci))
    return max(common) if common else None


def _bitmaps(hosts: Sequence[EffectiveAbi], needs_discover: bool) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """Per bitmap register any kernel has: the bits enabled on every host (where a kernel lacks the register, the
    services it offers every guest without it: ``implicit-services``)."""
    out = []
    for reg in sorted({r for h in hosts for r in h.kernel.bitmaps}):
        layouts = [h.kernel.bitmaps.get(reg) for h in hosts]
        order = next(b for b in layouts if b is not None)
        names: set[str] = set(b.name for b in order.bits)
        for host, layout in zip(hosts, layouts, strict=True):
            value = host.value(reg)
            names &= {b.name for b in layout.bits if value >> b.index & 1} if layout is not None \
                else set(host.kernel.implicit_services.get(reg, ()))
        if reg == VENDOR_HYP_BMAP_2 and needs_discover:
            # A set of several implementations announces them through DISCOVER_IMPL (answered by the VMM).
            names |= {n for n in DISCOVER_BITS if all(b is None or b.bit(n) is not None for b in layouts)}
        ordered = tuple(b.name for b in order.bits if b.name in names)
        out.append((reg, ordered))
    return tuple(out)


def _implementations(hosts: Sequence[EffectiveAbi]) -> tuple[Cpu, ...]:
    """One CPU per distinct MIDR/REVIDR/AIDR, in the order the hosts are given."""
    seen: dict[tuple[int | None, ...], Cpu] = {}
    for host in hosts:
        key = tuple(host.cpu.registers[r][0] if r in host.cpu.registers else None for r in IMPLEMENTATION_ID)
        seen.setdefault(key, host.cpu)
    return tuple(seen.values())


def safe_value(field: IdField, values: Sequence[int]) -> int:
    """arm64_ftr_safe_value() folded over the hosts' values: the value every one of them may present."""

    def pair(new: int, cur: int) -> int:
        if new == cur:
            return new
        if field.safety is FieldSafety.LOWER_SAFE:
            return min(new, cur)
        if field.safety is FieldSafety.HIGHER_OR_ZERO_SAFE and (new == 0 or cur == 0):
            return 0
        if field.safety in (FieldSafety.HIGHER_SAFE, FieldSafety.HIGHER_OR_ZERO_SAFE):
            return max(new, cur)
        return field.safe_value

    return reduce(pair, values)


def _can_present(host: EffectiveAbi, field: IdField, reg: int, value: int) -> bool:
    """Does KVM on this host accept ``value`` for the field at vCPU init (the check build.check_id_overrides makes)?"""
    limit = field.get(host.id_limits[reg])
    if value == limit:
        return True
    visible = not field.hidden and (field.visible_with is None or field.visible_with in host.vcpu_features)
    writable = host.kernel.has_capability(CAP_WRITABLE_ID_REGS) and field.writable and visible
    return writable and field.accepts(value, limit)


def _id_fields(hosts: Sequence[EffectiveAbi], notes: list[str]) -> tuple[tuple[int, tuple[tuple[str, int], ...]], ...]:
    """Fields whose values differ, set to the common safe value where every host can present it."""
    out = []
    described = sorted({r for h in hosts for r in h.cpu.registers if regs.is_id_register(r) or r in _CACHE_REGS})
    for reg in described:
        present = [h for h in hosts if reg in h.cpu.registers]
        if len({h.value(reg) for h in present}) <= 1:
            continue
        name = regs.register_name(reg)
        layouts = [h.kernel.id_registers.get(reg) for h in present]
        if any(layout is None for layout in layouts):
            shown = ", ".join(f"{h.cpu.info.name} {h.value(reg):#x}" for h in present)
            notes.append(f"{name} differs ({shown}) and has no field layout in the kernel specs: not lowered")
            continue
        fields: list[tuple[str, int]] = []
        first = layouts[0]
        assert first is not None
        for field in first.fields:
            mine = [layout.field(field.name) if layout is not None else None for layout in layouts]
            if any(f is None for f in mine):
                continue
            values = [f.get(h.value(reg)) for f, h in zip(mine, present, strict=True) if f is not None]
            if len(set(values)) <= 1:
                continue
            target = safe_value(field, values)
            if all(_can_present(h, f, reg, target) for f, h in zip(mine, present, strict=True) if f is not None):
                fields.append((field.name, target & ((1 << field.width) - 1)))
            else:
                refuse = [h.name for f, h in zip(mine, present, strict=True)
                          if f is not None and not _can_present(h, f, reg, target)]
                notes.append(f"{name}.{field.name} cannot be set to the common value {target} on "
                             f"{', '.join(refuse)} (pre-6.7 kernel, outside the writable mask, or not safe)")
        if fields:
            out.append((reg, tuple(fields)))
    return tuple(out)


_CACHE_REGS = frozenset(regs.register_id(n) for n in ("CTR_EL0", "CLIDR_EL1"))


def describe(overlay: Overlay) -> list[tuple[str, str]]:
    """The overlay as (what, value) lines for reports."""
    out: list[tuple[str, str]] = []
    if overlay.psci is not None:
        out.append(("PSCI_VERSION", psci_str(overlay.psci)))
    for reg, bits in overlay.bitmaps:
        out.append((regs.register_name(reg), "[" + ", ".join(bits) + "]"))
    for reg, fields in overlay.id_overrides:
        for field_name, value in fields:
            out.append((f"{regs.register_name(reg)}.{field_name}", str(value)))
    if overlay.imp_id_writable:
        out.append(("implementation-id", "writable; targets " + ", ".join(t.info.name for t in overlay.targets)))
    return out
