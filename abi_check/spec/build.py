"""Merged, shape-checked spec nodes to the typed model; a host is checked by ``hostcheck`` once built."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from abi_check.errors import InputErrors, Span, SpecError
from abi_check.spec import registers as regs
from abi_check.spec.encodings import level_table, psci_str, psci_value
from abi_check.spec.hostcheck import check_host
from abi_check.spec.model import (
    MIDR_MODEL_MASK,
    Bit,
    Bitmap,
    Cpu,
    DirtyTracking,
    FieldSafety,
    Host,
    IdField,
    IdRegister,
    Kernel,
    KernelRegister,
    Kind,
    Memory,
    Migration,
    MissingIncoming,
    Psci,
    Spec,
    SpecInfo,
    UnknownIncoming,
    Vmm,
    Workaround,
    Write,
)
from abi_check.spec.schema import psci_text
from abi_check.spec.yamlnodes import Node

Resolver = Callable[[Node, Kind], Spec]
if TYPE_CHECKING:
    from abi_check.spec.observed import Observed

    Observer = Callable[[Node], Observed]
T = TypeVar("T")
CheckedHosts = dict[tuple[int, int, int], tuple[Kernel, Vmm, Cpu]]


class Builder:
    """Collects every semantic error of one spec instead of stopping at the first."""

    def __init__(self, node: Node, info: SpecInfo, resolve: Resolver, observe: Observer | None = None,
                 names: Callable[[], Iterable[str]] = tuple, checked: CheckedHosts | None = None) -> None:
        self.node = node
        self.info = info
        self.resolve_ref = resolve
        self.observe = observe  # reads a host's observed dump (the loader resolves its path inside the roots)
        self.names = names  # every spec name the roots hold: where an observed host finds its donor kernel
        self.checked = checked  # kernel, VMM and CPU objects that check_host found no fault in, kept by the loader
        self.errors: list[SpecError] = []

    def error(self, span: Span, message: str, hint: str | None = None) -> None:
        self.errors.append(SpecError(span, message, hint))

    def reg(self, text: str, span: Span) -> int | None:
        if text.lower().startswith("0x"):
            value = int(text, 16)
            if value >> 64:
                self.error(span, f"register id {text} is wider than 64 bits")
                return None
            return value
        try:
            return regs.register_id(text)
        except regs.UnknownRegister as exc:
            hint = (
                f"did you mean '{exc.suggestion}'?"
                if exc.suggestion
                else "use a symbolic name, S3_x_Cx_Cx_x or a 64-bit id"
            )
            self.error(span, f"unknown register '{text}'", hint)
            return None

    def section(self, key: str) -> Node | None:
        child = self.node.get(key)
        return child if child is not None and child.value is not None else None

    def entries(self, key: str) -> list[tuple[str, Node, Span]]:
        section = self.section(key)
        if section is None or not isinstance(section.value, dict):
            return []
        return [(k, v, section.key_span(k)) for k, v in section.items() if v.value is not None]

    def scalar(self, node: Node | None, key: str, default: T) -> T:
        child = node.get(key) if node is not None else None
        if child is None or child.value is None:
            return default
        return child.value  # type: ignore[return-value]

    def reg_list(self, node: Node | None, key: str) -> frozenset[int]:
        child = node.get(key) if node is not None else None
        if child is None or not isinstance(child.value, list):
            return frozenset()
        found = (self.reg(str(item.value), item.span) for item in child.value)
        return frozenset(r for r in found if r is not None)

    def ref(self, key: str, kind: Kind) -> Spec | None:
        node = self.node.get(key)
        if node is None:
            self.error(self.node.span, f"missing required key '{key}'")
            return None
        try:
            return self.resolve_ref(node, kind)
        except SpecError as exc:
            self.errors.append(exc)
        except InputErrors as exc:
            self.errors.extend(e for e in exc.errors if isinstance(e, SpecError))
        return None


def build_kernel(b: Builder) -> Kernel:
    registers: dict[int, KernelRegister] = {}
    # A series entry (PMEVCNTR{0..30}_EL0) stands for each of its registers; an entry naming one register
    # of a series overrides it, so series go first.
    entries = sorted(b.entries("registers"), key=lambda e: regs.range_bounds(e[0]) is None)
    for pattern, entry, span in entries:
        bounds = regs.range_bounds(pattern)
        if bounds is not None and not bounds[0] <= bounds[1] < 64:
            b.error(span, f"range {{{bounds[0]}..{bounds[1]}}} is empty or longer than 64 registers")
            continue
        cpu_field = None
        field_node = entry.get("requires-cpu-field")
        if field_node is not None and isinstance(field_node.value, str):
            reg_text, field_name = field_node.value.split(".", 1)
            field_reg = b.reg(reg_text, field_node.span)
            cpu_field = (field_reg, field_name) if field_reg is not None else None
        for name in regs.expand(pattern):
            reg = b.reg(name, span)
            if reg is None:
                break
            if regs.is_firmware(reg) or regs.is_bitmap(reg):
                b.error(span, f"{name} is a firmware register", "declare it under psci:, workarounds: or bitmaps:")
                break
            if b.scalar(entry, "requires-cpu-cache", False) and regs.demux_index(reg) is None:
                b.error(span, "requires-cpu-cache applies to the CCSIDR demux registers only")
                break
            registers[reg] = KernelRegister(
                reg,
                span,
                requires_feature=b.scalar(entry, "requires-feature", None),
                requires_cpu_field=cpu_field,
                invariant=b.scalar(entry, "invariant", False),
                reset=b.scalar(entry, "reset", 0),
                unless_feature=b.scalar(entry, "unless-feature", None),
                requires_cpu_cache=b.scalar(entry, "requires-cpu-cache", False),
                synthesised=b.scalar(entry, "synthesised", None),
            )

    psci = None
    psci_node = b.section("psci")
    if psci_node is not None:
        versions_node = psci_node.get("versions")
        default_node = psci_node.get("default")
        if versions_node is None or default_node is None:
            b.error(psci_node.span, "psci needs both 'versions' and 'default'")
        else:
            assert isinstance(versions_node.value, list)
            versions = frozenset(psci_value(str(psci_text(v.value))) for v in versions_node.value)
            default = psci_value(str(psci_text(default_node.value)))
            if default not in versions:
                b.error(
                    default_node.span,
                    f"default PSCI version {psci_str(default)} is not in 'versions'",
                    "KVM_ARM_PSCI_LATEST is one of the versions the kernel implements",
                )
            psci = Psci(versions, default, psci_node.span, default_node.span)

    workarounds: dict[int, Workaround] = {}
    for name, entry, span in b.entries("workarounds"):
        reg = regs.register_id(name)
        levels_node = entry.get("levels")
        levels: dict[str, int] = {}
        if levels_node is not None and isinstance(levels_node.value, dict):
            table = level_table(reg)
            for state, level in levels_node.items():
                if not isinstance(level.value, str) or level.value not in table:
                    b.error(level.span, f"{level.value} is not a level of {name}", f"one of: {', '.join(table)}")
                    continue
                levels[state] = table[str(level.value)]
        cpu_levels: dict[int, tuple[int, Span]] = {}
        cpu_node = entry.get("cpu-levels")
        if cpu_node is not None and isinstance(cpu_node.value, dict):
            table = level_table(reg)
            for midr, level in cpu_node.items():
                if level.value is None:
                    continue
                if not isinstance(level.value, str) or level.value not in table:
                    b.error(level.span, f"{level.value} is not a level of {name}", f"one of: {', '.join(table)}")
                    continue
                cpu_levels[int(midr, 16) & MIDR_MODEL_MASK] = (table[str(level.value)], level.span)
        workarounds[reg] = Workaround(reg, b.scalar(entry, "vulnerability", ""), levels, span,
                                      b.scalar(entry, "restore", "at-most-host-level"), cpu_levels)

    bitmaps: dict[int, Bitmap] = {}
    for name, entry, span in b.entries("bitmaps"):
        bitmaps[regs.register_id(name)] = build_bitmap(b, name, entry, span)

    implicit: dict[int, frozenset[str]] = {}
    for name, entry, span in b.entries("implicit-services"):
        reg = regs.register_id(name)
        if reg in bitmaps:
            b.error(span, f"{name} is a bitmap register of this kernel: the services it offers are its defaults",
                    "delete the inherited entry (implicit-services: null) in the kernel that adds the bitmaps")
            continue
        implicit[reg] = frozenset(str(item.value) for item in entry.value) if isinstance(entry.value, list) \
            else frozenset()

    id_registers: dict[int, IdRegister] = {}
    for name, entry, span in b.entries("id-registers"):
        reg = b.reg(name, span)
        if reg is not None:
            id_registers[reg] = build_id_register(b, reg, entry, span)

    for kreg in registers.values():
        if kreg.requires_cpu_field is not None:
            field_reg, field_name = kreg.requires_cpu_field
            layout = id_registers.get(field_reg)
            if layout is None or layout.field(field_name) is None:
                b.error(
                    kreg.span,
                    f"requires-cpu-field names {regs.register_name(field_reg)}.{field_name}, "
                    "which id-registers does not describe",
                    "add the field to id-registers",
                )

    features = b.section("vcpu-features")
    return Kernel(
        info=b.info,
        version=str(b.scalar(b.node, "version", "")),
        arch=str(b.scalar(b.node, "arch", "arm64")),
        registers=registers,
        psci=psci,
        workarounds=workarounds,
        bitmaps=bitmaps,
        capabilities={k: int(v.value) for k, v, _ in b.entries("capabilities")},  # type: ignore[arg-type]
        vcpu_features=frozenset(str(f.value) for f in features.value)
        if features and isinstance(features.value, list)
        else frozenset(),
        id_registers=id_registers,
        implicit_services=implicit,
    )


def build_bitmap(b: Builder, name: str, entry: Node, span: Span) -> Bitmap:
    bits_node = entry.get("bits")
    defaults_node = entry.get("defaults")
    numbers: dict[int, str] = {}
    declared: dict[str, tuple[int, Span]] = {}
    if bits_node is not None and isinstance(bits_node.value, dict):
        for bit_name, number in bits_node.items():
            if number.value is None:
                continue
            index = int(number.value)  # type: ignore[arg-type]
            if index in numbers:
                b.error(
                    bits_node.key_span(bit_name),
                    f"bits {numbers[index]} and {bit_name} of {name} are both bit {index}",
                    "each bit number names one service",
                )
                continue
            numbers[index] = bit_name
            declared[bit_name] = (index, bits_node.key_span(bit_name))
    defaults: set[str] = set()
    if defaults_node is not None and isinstance(defaults_node.value, list):
        for item in defaults_node.value:
            if item.value not in declared:
                b.error(
                    item.span,
                    f"default bit {item.value} is not a known bit of {name}",
                    f"declare it under bits: (known: {', '.join(declared) or 'none'})",
                )
            else:
                defaults.add(str(item.value))
    bits = tuple(Bit(n, i, n in defaults, s) for n, (i, s) in sorted(declared.items(), key=lambda kv: kv[1][0]))
    return Bitmap(regs.register_id(name), bits, span, defaults_node.span if defaults_node is not None else span)


def build_id_register(b: Builder, reg: int, entry: Node, span: Span) -> IdRegister:
    fields: list[IdField] = []
    fields_node = entry.get("fields")
    used = 0
    if fields_node is not None and isinstance(fields_node.value, dict):
        for field_name, spec in fields_node.items():
            if spec.value is None:
                continue
            fspan = fields_node.key_span(field_name)
            bits = spec.get("bits")
            if bits is None:
                b.error(fspan, f"field {field_name} needs 'bits: msb:lsb'")
                continue
            msb, lsb = (int(x) for x in str(bits.value).split(":"))
            if not 63 >= msb >= lsb:
                b.error(bits.span, f"bits {bits.value}: msb must be >= lsb and <= 63")
                continue
            mask = ((1 << (msb - lsb + 1)) - 1) << lsb
            if used & mask:
                b.error(bits.span, f"field {field_name} overlaps another field of {regs.register_name(reg)}")
                continue
            used |= mask
            safety = spec.get("safety")
            fields.append(
                IdField(
                    name=field_name,
                    lsb=lsb,
                    width=msb - lsb + 1,
                    safety=FieldSafety(str(safety.value)) if safety is not None else FieldSafety.EXACT,
                    signed=b.scalar(spec, "signed", False),
                    writable=b.scalar(spec, "writable", False),
                    span=fspan,
                    safe_value=b.scalar(spec, "safe-value", 0),
                    visible_with=b.scalar(spec, "visible-with", None),
                    hidden=b.scalar(spec, "hidden", False),
                    cap=b.scalar(spec, "max", None),
                    ignores_write=b.scalar(spec, "ignores-write", None),
                )
            )
    return IdRegister(reg, tuple(sorted(fields, key=lambda f: -f.lsb)), span)


def build_vmm(b: Builder) -> Vmm:
    mig = b.section("migration")
    migration = Migration(
        span=mig.span if mig is not None else b.node.span,
        saves_all_listed=b.scalar(mig, "saves", "all-listed") == "all-listed",
        saved_firmware=b.reg_list(mig, "saved-firmware"),
        hidden=b.reg_list(mig, "hidden-registers"),
        safe_missing=b.reg_list(mig, "safe-missing-registers"),
        unknown_incoming=UnknownIncoming(b.scalar(mig, "unknown-incoming", "fail")),
        missing_incoming=MissingIncoming(b.scalar(mig, "missing-incoming", "keep-reset")),
        count_check=b.scalar(mig, "count-check", False),
        max_registers=b.scalar(mig, "max-registers", None),
    )
    writes: dict[int, Write] = {}
    for name, value, span in b.entries("writes"):
        reg = b.reg(name, span)
        if reg is None:
            continue
        write = build_write(b, reg, name, value)
        if write is not None:
            writes[reg] = write
    overrides: dict[int, dict[str, tuple[int, Span]]] = {}
    for name, fields, span in b.entries("id-overrides"):
        reg = b.reg(name, span)
        if reg is not None and isinstance(fields.value, dict):
            overrides[reg] = {f: (int(v.value), v.span) for f, v in fields.items()}  # type: ignore[arg-type]
    imp = b.section("implementation-id")
    targets: list[Cpu] = []
    targets_node = imp.get("targets") if imp is not None else None
    if targets_node is not None and isinstance(targets_node.value, list):
        for item in targets_node.value:
            try:
                target = b.resolve_ref(item, Kind.CPU)
            except SpecError as exc:
                b.errors.append(exc)
                continue
            except InputErrors as exc:
                b.errors.extend(e for e in exc.errors if isinstance(e, SpecError))
                continue
            assert isinstance(target, Cpu)
            targets.append(target)
    mem = b.section("memory")
    features = b.section("vcpu-features")
    return Vmm(
        info=b.info,
        product=str(b.scalar(b.node, "product", "other")),
        version=str(b.scalar(b.node, "version", "")),
        migration=migration,
        writes=writes,
        vcpu_features=frozenset(str(f.value) for f in features.value)
        if features is not None and isinstance(features.value, list)
        else frozenset({"PSCI_0_2"}),
        id_overrides=overrides,
        imp_id_writable=b.scalar(imp, "writable", False),
        targets=tuple(targets),
        targets_span=targets_node.span if targets_node is not None else None,
        memory=Memory(
            span=mem.span if mem is not None else b.node.span,
            slot_changes_during_dirty_log=b.scalar(mem, "slot-changes-during-dirty-log", False),
            quiesces_vcpus=b.scalar(mem, "quiesces-vcpus", False),
            harvests_before_delete=b.scalar(mem, "harvests-before-delete", True),
            dirty_tracking=DirtyTracking(b.scalar(mem, "dirty-tracking", "bitmap")),
        ),
    )


def build_write(b: Builder, reg: int, name: str, node: Node) -> Write | None:
    value = node.value
    if reg == regs.register_id("PSCI_VERSION"):
        text = psci_text(value)
        if text is None or text not in ("0.1", "0.2", "1.0", "1.1", "1.2", "1.3"):
            b.error(node.span, f"unknown PSCI version {value!r}", "write it as major.minor, e.g. '1.1'")
            return None
        return Write(reg, psci_value(text), node.span)
    if regs.is_bitmap(reg):
        if not isinstance(value, list):
            b.error(node.span, f"{name} is written as a list of bit names", "for example: [PV_TIME]")
            return None
        # Bit numbers are the kernel's; the host resolves names against its kernel.
        return Write(reg, 0, node.span, tuple(str(item.value) for item in value))
    if reg in (regs.register_id(w) for w in regs.WORKAROUNDS):
        table = level_table(reg)
        if not isinstance(value, str) or value not in table:
            b.error(node.span, f"{node.plain()!r} is not a level of {name}", f"one of: {', '.join(table)}")
            return None
        return Write(reg, table[value], node.span)
    b.error(
        node.span,
        f"{name} is not a firmware or bitmap register",
        "VMMs set ID-register fields under id-overrides:",
    )
    return None


def build_cpu(b: Builder) -> Cpu:
    values: dict[int, tuple[int, Span]] = {}
    for name, value, span in b.entries("registers"):
        reg = b.reg(name, span)
        if reg is not None:
            values[reg] = (int(value.value), value.span)  # type: ignore[arg-type]
    errata = b.section("errata")
    return Cpu(
        info=b.info,
        vendor=str(b.scalar(b.node, "vendor", "")),
        registers=values,
        vulnerabilities={k: (str(v.value), v.span) for k, v, _ in b.entries("vulnerabilities")},
        errata=tuple(str(e.value) for e in errata.value) if errata and isinstance(errata.value, list) else (),
    )


def build_host(b: Builder) -> Host | None:
    observed = b.node.get("observed")
    if observed is not None:
        return build_observed_host(b, observed)
    kernel = b.ref("kernel", Kind.KERNEL)
    vmm = b.ref("vmm", Kind.VMM)
    cpu = b.ref("cpu", Kind.CPU)
    if not (isinstance(kernel, Kernel) and isinstance(vmm, Vmm) and isinstance(cpu, Cpu)):
        return None
    host = Host(b.info, kernel, vmm, cpu, int(b.scalar(b.node, "vcpus", 4)))
    # check_host judges the kernel, VMM and CPU alone (the host's name and span only place its messages), so a
    # combination found faultless once is faultless for every host that names the same three specs.
    key = (id(kernel), id(vmm), id(cpu))
    if b.checked is None or key not in b.checked:
        before = len(b.errors)
        check_host(b, host)
        if b.checked is not None and len(b.errors) == before:
            b.checked[key] = (kernel, vmm, cpu)  # held, so that the ids stay theirs
    return host


def build_observed_host(b: Builder, node: Node) -> Host | None:
    """``observed: DUMP`` stands in for kernel and CPU; ``kernel:`` may name the donor of what dumps cannot show."""
    from abi_check.spec.fromdump import nearest_kernel, observed_cpu, observed_kernel  # only hosts that say observed

    vmm = b.ref("vmm", Kind.VMM)
    cpu_node = b.node.get("cpu")
    if cpu_node is not None:
        b.error(b.node.key_span("cpu"), "'cpu' and 'observed' both say what the host's CPU is",
                "remove 'cpu': the dump holds the CPU's values")
    if b.observe is None:
        b.error(node.span, "an observed dump cannot be read here")
        return None
    try:
        seen = b.observe(node)
    except SpecError as exc:
        b.errors.append(exc)
        return None
    if b.node.get("kernel") is not None:
        donor = b.ref("kernel", Kind.KERNEL)
    else:
        name = nearest_kernel(seen.kernel_release, b.names())
        if name is None:
            b.error(node.span, f"no catalogue kernel at or below {seen.kernel_release!r} to take field layouts from",
                    "name one with 'kernel:' (the release whose ID-register layouts and bit names apply)")
            return None
        donor = b.resolve_ref(Node(name, node.span), Kind.KERNEL)
    if not (isinstance(donor, Kernel) and isinstance(vmm, Vmm)) or cpu_node is not None:
        return None
    host = Host(b.info, observed_kernel(seen, donor), vmm, observed_cpu(seen, donor, f"{b.info.name}-cpu"),
                int(b.scalar(b.node, "vcpus", 4)))
    check_host(b, host)
    return host


BUILDERS: dict[Kind, Callable[[Builder], Spec | None]] = {
    Kind.KERNEL: build_kernel,
    Kind.VMM: build_vmm,
    Kind.CPU: build_cpu,
    Kind.HOST: build_host,
}
