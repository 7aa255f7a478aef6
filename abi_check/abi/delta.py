"""The raw difference between two hosts' guest ABIs: what ``abi-check diff`` prints, rule or no rule."""

from __future__ import annotations

from dataclasses import dataclass

from abi_check.abi.describe import Description, RegisterLine
from abi_check.errors import Span


@dataclass(frozen=True, slots=True, order=True)
class Change:
    """One difference from A to B. ``kind`` says what differs; before/after are as a person reads them."""

    kind: str  # register-added, register-removed, value, origin, saved, vcpu-feature, psci-versions, setting
    subject: str
    before: str
    after: str
    where_before: Span | None = None
    where_after: Span | None = None

    def to_data(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "where-before": None if self.where_before is None else str(self.where_before),
            "where-after": None if self.where_after is None else str(self.where_after),
        }


def delta(a: Description, b: Description) -> list[Change]:
    """Every difference, registers by id first, then the host-wide settings."""
    changes: list[Change] = []
    before = {r.id: r for r in a.registers}
    after = {r.id: r for r in b.registers}
    for reg in sorted(before.keys() | after.keys()):
        changes += _register(before.get(reg), after.get(reg))
    for feature in sorted(set(a.features) ^ set(b.features)):
        gained = feature in b.features
        changes.append(Change("vcpu-feature", feature, "" if gained else "on", "on" if gained else ""))
    if a.psci_versions != b.psci_versions:
        changes.append(Change("psci-versions", "PSCI versions implemented", ", ".join(a.psci_versions),
                              ", ".join(b.psci_versions)))
    for name, x, y in (
        ("vcpus", str(a.vcpus), str(b.vcpus)),
        ("ID registers writable", _yes(a.id_writable), _yes(b.id_writable)),
        ("implementation ID registers writable", _yes(a.imp_id_writable), _yes(b.imp_id_writable)),
        ("implementation targets", ", ".join(a.targets), ", ".join(b.targets)),
    ):
        if x != y:
            changes.append(Change("setting", name, x, y))
    return changes


def _register(a: RegisterLine | None, b: RegisterLine | None) -> list[Change]:
    if a is None or b is None:
        line = b if a is None else a
        assert line is not None
        if not line.listed:
            return []  # a value with no listing (not visible through KVM_GET_REG_LIST) is not a register change
        state = _state(line)
        if a is None:
            return [Change("register-added", line.name, "", state, None, line.where)]
        return [Change("register-removed", line.name, state, "", line.where, None)]
    out = []
    if a.listed != b.listed:
        kind = "register-added" if b.listed else "register-removed"
        out.append(Change(kind, a.name, _state(a) if a.listed else "", _state(b) if b.listed else "",
                          a.where, b.where))
    if a.value != b.value:
        out.append(Change("value", a.name, a.shown or "not modelled", b.shown or "not modelled", a.where, b.where))
    elif a.origin != b.origin:
        out.append(Change("origin", a.name, a.origin, b.origin, a.where, b.where))
    if a.listed and b.listed and a.saved != b.saved:
        out.append(Change("saved", a.name, _yes(a.saved), _yes(b.saved), a.where, b.where))
    return out


def _state(line: RegisterLine) -> str:
    value = line.shown or "not modelled"
    return f"{value} ({line.origin}){'' if line.saved else ', not saved'}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
