"""What a rule reads of a host, in named facets, so that equal facets give equal results.

A facet is one piece of a host's effective ABI (its listed registers, the values of its firmware registers,
its kernel spec, ...). Every attribute and method a rule may use on a host reads a known set of facets
(``READS``); the rule compiler adds up the facets of the attributes a rule names (``rules/reads.py``), and a
result computed for one pair is then valid for every pair whose hosts agree on those facets. The matrix uses
this to evaluate each rule once per distinct combination instead of once per pair.

The host names are not facets: the matrix shows a rule ``RoleView`` hosts, named by their role (``SRC``/``DST``),
and the names are put back when findings are made. The rule compiler makes sure a name is only ever printed
(see ``Compiler.host_expr``). ``Traced`` hosts record what a run actually reads: the tests check the compiled
facets against them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from abi_check.abi.content import content_number
from abi_check.abi.views import ATTRS, FieldView, HostView, VmmView, field_view
from abi_check.errors import Span
from abi_check.spec import registers as regs

SRC = "\x00src\x00"
DST = "\x00dst\x00"
NO_SPAN = Span("", 0, 0)


@dataclass(frozen=True, slots=True)
class Role:
    """Stand-ins for the labels of one side of a pair: names and locations that differ between hosts whose
    facets are equal. Findings carry them until ``Labels.resolve`` puts the real ones back."""

    name: str
    vmm: str
    cpu: str  # the CPU's name, as a message prints it ({src.cpu})

    @property
    def span(self) -> Span:
        return Span(self.name, 0, 0)

    @property
    def vmm_span(self) -> Span:
        return Span(self.vmm, 0, 0)

    @property
    def memory_span(self) -> Span:
        return Span(self.vmm, 1, 0)

    def where(self, reg: int) -> Span:
        return Span(self.name, 1, reg)


SRC_ROLE = Role(SRC, "\x00src.vmm\x00", "\x00src.cpu\x00")
DST_ROLE = Role(DST, "\x00dst.vmm\x00", "\x00dst.cpu\x00")


@dataclass(frozen=True, slots=True)
class Labels:
    """The real labels of one host, to put in place of its role's stand-ins."""

    role: Role
    name: str
    span: Span
    view: HostView  # a view of the host's ABI (its VMM and values are the host's own)

    def text(self, value: str) -> str:
        role = self.role
        return (value.replace(role.name, self.name).replace(role.vmm, self.view.vmm.name)
                .replace(role.cpu, self.view.cpu_label))

    def location(self, span: Span) -> Span | None:
        role = self.role
        if span.path == role.name:
            if span.line == 0:
                return self.span
            reg = span.col
            abi = self.view.abi
            return abi.values[reg].span if reg in abi.values else abi.listed.get(reg, self.span)
        if span.path == role.vmm:
            return self.view.vmm.span if span.line == 0 else self.view.vmm.memory.span
        return None


def value_facet(reg: int) -> str:
    """Values are read per family: what VMMs write (firmware, bitmaps) varies apart from what CPUs give."""
    if regs.is_bitmap(reg):
        return "values:bitmap"
    if regs.is_firmware(reg):
        return "values:firmware"
    return "values:cpu"


VALUE_FACETS = ("values:bitmap", "values:firmware", "values:cpu")
REGISTER_VALUE = "value:"  # + register id: the value of one register, for a rule that names the register


def register_facet(reg: int) -> str:
    """The value of one register: what a rule reads when the compiler can tell which register it asks for."""
    return f"{REGISTER_VALUE}{int(reg)}"


def family_of(facet: str) -> str:
    """The family facet a value facet belongs to (itself for a family); the facet itself for any other."""
    if facet.startswith(REGISTER_VALUE):
        return value_facet(int(facet[len(REGISTER_VALUE) :]))
    return facet


def covers(facets: frozenset[str] | set[str], facet: str) -> bool:
    """Does a key over ``facets`` tell apart every two hosts that ``facet`` does?"""
    if facet in facets:
        return True
    if facet.startswith(REGISTER_VALUE):
        return value_facet(int(facet[len(REGISTER_VALUE) :])) in facets
    if facet.startswith(VMM_PART):
        return "vmm" in facets
    return False


VMM_PART = "vmm."  # + a VMM attribute: what a rule reads of a host's VMM, attribute by attribute
# VMM attributes that are labels, put back per host like the host's own name (``Role``): they read nothing.
VMM_LABELS = frozenset({"name", "span"})

# Attributes whose facets do not depend on their arguments.
READS: dict[str, tuple[str, ...]] = {
    "name": (),
    "kernel": ("kernel",),
    "vmm": ("vmm",),
    "cpu": ("cpu",),
    "vcpus": ("vcpus",),
    "listed": ("listed",),
    "saved": ("saved",),
    "explicit": ("explicit",),
    "bitmaps": ("kernel",),
    "workarounds": ("kernel",),
    "vm_scoped": ("vm_scoped",),
    "features": ("features",),
    "psci": ("values:firmware",),
    "psci_versions": ("kernel",),
    "bits": ("bits",),
    "id_fields": ("id_fields",),
    "id_registers": ("cpu",),
    "invariants": ("kernel",),
    "id_writable": ("id_writable",),
    "imp_id_writable": ("imp_id_writable",),
    "targets": ("targets",),
    "target_names": ("targets",),
    "span": (),  # a stand-in, like the name (Role), put back when findings are made
    "cpu_label": (),  # the CPU's name as a message prints it ({src.cpu}): a stand-in too
    "level": ("levels",),
    "default": ("kernel",),
    "knows_bit": ("kernel",),
    "describes": ("cpu",),
    "field": ("id_fields",),
    "writable": ("id_fields",),
    "restore": ("kernel",),
    "limit": ("kernel", "id_limits"),
    "ignores": ("kernel", "cpu"),
    "kept": ("kernel", "cpu", "values:cpu"),
    "invariant": ("kernel",),
    "bit_names": ("kernel",),
    "services": ("kernel", "values:bitmap"),  # only bitmap registers have services
    "default_services": ("kernel",),
}
# Methods whose facets depend on the register asked for (and, for field_diff, read the other host too).
BY_REGISTER = ("value", "where", "enabled", "field_diff")
missing = set(ATTRS["Host"]) - set(READS) - set(BY_REGISTER)
assert not missing, f"facets.READS lacks {missing}"


def _facet_data(view: HostView, facet: str) -> Hashable:
    """The content of a facet, hashable; equal content means a rule cannot tell the hosts apart there."""
    abi = view.abi
    if facet == "kernel":
        return ("kernel", id(abi.kernel))  # spec objects are shared: one per file and load
    if facet == "vmm":  # what the VMM does, not what it is called or where it is written
        vmm = view.vmm
        return replace(vmm, name="", span=NO_SPAN, memory=replace(vmm.memory, span=NO_SPAN))
    if facet == "cpu":
        return ("cpu", id(abi.cpu))
    if facet.startswith(REGISTER_VALUE):
        found = abi.values.get(int(facet[len(REGISTER_VALUE) :]))
        return None if found is None else found.value
    if facet.startswith(VMM_PART):
        part: Hashable = getattr(view.vmm, facet[len(VMM_PART) :])
        return replace(view.vmm.memory, span=NO_SPAN) if facet == "vmm.memory" else part
    if facet == "targets":
        return tuple(id(c) for c in abi.targets)
    if facet in VALUE_FACETS:
        return frozenset((r, v.value) for r, v in abi.values.items() if value_facet(r) == facet)
    if facet == "levels":
        return frozenset((r, v.value) for r, v in abi.host_levels.items())
    if facet == "id_limits":
        return frozenset(abi.id_limits.items())
    if facet == "id_fields":  # without locations: those are put back per host
        return tuple((f.register, f.name, f.value, f.safety, f.signed, f.writable, content_number(f.layout))
                     for f in view.id_fields)
    if facet == "bits":
        return tuple(view.bits)
    value: Hashable = getattr(view, facet)
    return value


class FacetTable:
    """Interns facet contents: ``token(view, facet)`` is a small int, equal iff the contents are equal."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, Hashable], int] = {}
        self._cache: dict[tuple[int, str], int] = {}
        self._columns: dict[tuple[str, int], tuple[Sequence[HostView], list[int]]] = {}  # (facet, views) -> tokens

    def tokens(self, views: Sequence[HostView], facet: str) -> list[int]:
        """``token`` of every view, computed once per facet however many rules read it."""
        found = self._columns.get((facet, id(views)))
        if found is None or found[0] is not views:
            found = self._columns[(facet, id(views))] = (views, [self.token(view, facet) for view in views])
        return found[1]

    def token(self, view: HostView, facet: str) -> int:
        key = (id(view), facet)
        found = self._cache.get(key)
        if found is None:
            data = (facet, _facet_data(view, facet))
            found = self._cache[key] = self._ids.setdefault(data, len(self._ids))
        return found


class Traced:
    """A host as a rule sees it, recording the facets read. Named by its role, not by the host."""

    TYPE = "Host"
    __slots__ = ("_reads", "_role", "_view", "name", "span")

    def __init__(self, view: HostView, role: Role, reads: set[str]) -> None:
        self._view = view
        self._reads = reads
        self._role = role
        self.name = role.name
        self.span = role.span

    def __str__(self) -> str:
        return self.name

    def __getattr__(self, attr: str) -> Any:
        view = self._view
        if attr in BY_REGISTER:
            return getattr(self, f"_{attr}")
        facets = READS.get(attr)
        if facets is None:
            raise AttributeError(attr)
        if attr != "vmm":  # the VMM records each of its attributes read (_TracedVmm)
            self._reads.update(facets)  # methods: recorded when looked up, before the call
        if attr in ("id_fields", "field"):
            fields = _located_fields(view, self._role)
            if attr == "id_fields":
                return list(fields.values())
            return lambda other: fields.get((other.register, other.name))
        if attr == "cpu_label":
            return self._role.cpu
        if attr == "vmm":
            vmm, role = view.vmm, self._role
            vmm = replace(vmm, name=role.vmm, span=role.vmm_span, memory=replace(vmm.memory, span=role.memory_span))
            return _TracedVmm(vmm, self._reads)
        return getattr(view, attr)

    def _value(self, reg: int) -> int:
        self._reads.add(register_facet(reg))
        return self._view.value(reg)

    def _where(self, reg: int) -> Span:
        return self._role.where(reg)  # a location: put back per host, read nothing

    def _enabled(self, reg: int, name: str) -> bool:
        self._reads.update(("kernel", register_facet(reg)))
        return self._view.enabled(reg, name)

    def _field_diff(self, reg: int, other: Traced) -> list[str]:
        self._reads.update(("kernel", register_facet(reg)))
        other._reads.add(register_facet(reg))
        return self._view.field_diff(reg, other._view)


class _TracedVmm:
    """A host's VMM as a traced rule sees it: each attribute read is recorded as its own facet."""

    TYPE = "Vmm"
    __slots__ = ("_reads", "_vmm")

    def __init__(self, vmm: VmmView, reads: set[str]) -> None:
        self._vmm = vmm
        self._reads = reads

    def __str__(self) -> str:
        return self._vmm.name  # the role's stand-in: a label

    def __getattr__(self, attr: str) -> Any:
        if attr not in VMM_LABELS:
            self._reads.add(VMM_PART + attr)
        return getattr(self._vmm, attr)


class RoleView(HostView):
    """A host as the matrix shows it to a rule: its facets are the host's own, its name and locations are its
    role's stand-ins (``Role``), so one result serves every host with the same facets. Built once per ABI
    and role; no attribute is intercepted, so evaluating a rule on it costs what it costs on the host."""

    def __init__(self, view: HostView, role: Role) -> None:  # a copy of the view, not a new host
        fields = _located_fields(view, role)
        self.__dict__.update(view.__dict__)
        self._role = role
        self.name = role.name
        self.span = role.span
        vmm = view.vmm
        self.vmm = replace(vmm, name=role.vmm, span=role.vmm_span, memory=replace(vmm.memory, span=role.memory_span))
        self.cpu_label = role.cpu
        self.__dict__["id_fields"] = list(fields.values())
        self.__dict__["_fields_by_name"] = fields

    def where(self, reg: int) -> Span:
        return self._role.where(reg)  # a location: put back per host


_TABLES: dict[tuple[Any, ...], dict[tuple[int, str], FieldView]] = {}
_BY_FIELDS: dict[tuple[Any, ...], dict[tuple[int, str], FieldView]] = {}


def _located_fields(view: HostView, role: Role) -> dict[tuple[int, str], FieldView]:
    """The host's ID fields with the role's stand-in locations (cached on the view, one dict per role)."""
    cache: dict[str, dict[tuple[int, str], FieldView]] = view.__dict__.setdefault("_role_fields", {})
    found = cache.get(role.name)
    if found is None:
        # The table is a function of the role and the host's field objects, which are shared (``field_view``,
        # kept alive there): hosts with the same fields share one table, found by their ids.
        key = (role.name, *map(id, view.id_fields))
        found = _BY_FIELDS.get(key)
        if found is not None:
            cache[role.name] = found
            return found
        spans: dict[int, Span] = {}
        fields: dict[tuple[int, str], FieldView] = {}
        for f in view.id_fields:  # shared field objects: ~150 fields a host, thousands of hosts
            span = spans.get(f.register)
            if span is None:
                span = spans[f.register] = role.where(f.register)
            fields[(f.register, f.name)] = field_view((f.register, f.name, f.value, f.safety, f.signed, f.writable,
                                                       span, f.layout))
        # Shared fields are one object per content, so their ids name the table: one table per distinct one.
        found = cache[role.name] = _BY_FIELDS[key] = _TABLES.setdefault((role.name, *map(id, fields.values())),
                                                                         fields)
    return found


def traced_pair(src: HostView, dst: HostView) -> tuple[Traced, Traced, set[str], set[str]]:
    """Role-named, recording stand-ins for a pair, and the two sets their reads go to."""
    src_reads: set[str] = set()
    dst_reads: set[str] = set()
    return Traced(src, SRC_ROLE, src_reads), Traced(dst, DST_ROLE, dst_reads), src_reads, dst_reads

