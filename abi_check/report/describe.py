"""``show`` and ``diff`` reports: a host's effective guest ABI, and the raw difference between two, as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from abi_check import __version__
from abi_check.abi.delta import Change
from abi_check.abi.describe import Description, RegisterLine

VALUE_WIDTH = 24
ORIGIN_WIDTH = 20


def show_text(descriptions: Sequence[Description]) -> str:
    return "\n".join(_host_text(d) for d in descriptions)


def _host_text(d: Description) -> str:
    listed = [r for r in d.registers if r.listed]
    out = [
        f"{d.host} ({d.path})",
        f"  kernel {d.kernel}, VMM {d.vmm}, CPU {d.cpu}, {d.vcpus} vCPUs",
        f"  vCPU features: {', '.join(d.features) or 'none'}",
        f"  PSCI versions implemented: {', '.join(d.psci_versions) or 'none (no PSCI_VERSION register)'}",
        f"  ID registers writable: {_yes(d.id_writable)}; implementation ID registers writable: "
        f"{_yes(d.imp_id_writable)}; implementations the guest is told of: {', '.join(d.targets)}",
        f"  registers: {len(listed)} listed, {sum(r.saved for r in listed)} saved by the VMM",
    ]
    width = max((len(r.name) for r in d.registers), default=8)
    for line in d.registers:
        out.append("    " + _register_text(line, width))
    return "\n".join(out) + "\n"


def _register_text(r: RegisterLine, width: int) -> str:
    value = r.shown or "-"
    flags = "" if r.listed else "  (not listed: the VMM cannot reach it)"
    if r.listed and not r.saved:
        flags = "  (not saved)"
    where = f"  {r.where}" if r.where is not None and r.value is not None else ""
    return f"{r.name:<{width}}  {value:<{VALUE_WIDTH}}  {r.origin:<{ORIGIN_WIDTH}}{where}{flags}".rstrip()


def show_json(descriptions: Sequence[Description]) -> str:
    data = {"command": "show", "version": __version__, "hosts": [d.to_data() for d in descriptions]}
    return json.dumps(data, indent=2) + "\n"


def diff_text(a: Description, b: Description, changes: Sequence[Change]) -> str:
    out = [f"{a.host} ({a.path}) -> {b.host} ({b.path}): {len(changes)} difference(s)"]
    for c in changes:
        arrow = f"{c.before or '(none)'} -> {c.after or '(none)'}"
        where = c.where_after or c.where_before
        out.append(f"  {c.kind:<16} {c.subject}: {arrow}" + (f"  at {where}" if where is not None else ""))
    if not changes:
        out.append("  the guest sees the same ABI on both")
    return "\n".join(out) + "\n"


def diff_json(a: Description, b: Description, changes: Sequence[Change]) -> str:
    data = {
        "command": "diff",
        "version": __version__,
        "a": {"host": a.host, "path": a.path},
        "b": {"host": b.host, "path": b.path},
        "changes": [c.to_data() for c in changes],
    }
    return json.dumps(data, indent=2) + "\n"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
