"""A VMM overlay: the configuration baseline writes on top of a VMM, as YAML text and applied in memory."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.encodings import psci_str
from abi_check.spec.model import Cpu, Host, Kind, SpecInfo, Vmm, Write

PSCI_VERSION = regs.register_id("PSCI_VERSION")


@dataclass(frozen=True, slots=True)
class Overlay:
    """What every VMM of a reconciled set writes: one body, whatever VMM it extends."""

    psci: int | None = None
    bitmaps: tuple[tuple[int, tuple[str, ...]], ...] = ()
    id_overrides: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ()
    imp_id_writable: bool = False
    targets: tuple[Cpu, ...] = ()
    source: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.psci is None and not self.bitmaps and not self.id_overrides and not self.imp_id_writable


@dataclass(frozen=True, slots=True)
class Rendered:
    """The YAML text of an overlay and where each value sits in it, so specs built in memory point there too."""

    text: str
    positions: Mapping[str, Span] = field(default_factory=dict)


def overlay_name(vmm: Vmm) -> str:
    return f"{vmm.info.name}-baseline"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def render_vmm(overlay: Overlay, name: str, extends: str, target_refs: Sequence[str], path: str) -> Rendered:
    lines = [
        "# Written by abi-check baseline: the configuration every host of the set can present and restore.",
        "abi-check: 1",
        "kind: vmm",
        f"name: {name}",
        f"extends: {_q(extends)}",
        "source:",
        *(f"  - {_q(s)}" for s in overlay.source),
    ]
    positions: dict[str, Span] = {"": Span(path, 2, 1)}

    def put(key: str, prefix: str, value: str) -> None:
        positions[key] = Span(path, len(lines) + 1, len(prefix) + 1)
        lines.append(prefix + value)

    if overlay.psci is not None or overlay.bitmaps:
        lines.append("writes:")
        if overlay.psci is not None:
            put("PSCI_VERSION", "  PSCI_VERSION: ", _q(psci_str(overlay.psci)))
        for reg, bits in overlay.bitmaps:
            name_ = regs.register_name(reg)
            put(name_, f"  {name_}: ", f"[{', '.join(bits)}]")
    if overlay.id_overrides:
        lines.append("id-overrides:")
        for reg, fields in overlay.id_overrides:
            reg_name = regs.register_name(reg)
            lines.append(f"  {reg_name}:")
            for field_name, value in fields:
                put(f"{reg_name}.{field_name}", f"    {field_name}: ", str(value))
    if overlay.imp_id_writable:
        lines.append("implementation-id:")
        put("writable", "  writable: ", "true")
        put("targets", "  targets: ", f"[{', '.join(_q(t) for t in target_refs)}]")
    return Rendered("\n".join(lines) + "\n", positions)


def render_host(host: Host, kernel_ref: str, vmm_ref: str, cpu_ref: str, vmm_name: str) -> str:
    return "\n".join(
        [
            "# Written by abi-check baseline: the host with its VMM's baseline overlay.",
            "abi-check: 1",
            "kind: host",
            f"name: {host.info.name}",
            f"source: {_q(f'abi-check baseline: host {host.info.name} with the VMM overlay {vmm_name}')}",
            f"kernel: {_q(kernel_ref)}",
            f"vmm: {_q(vmm_ref)}",
            f"cpu: {_q(cpu_ref)}",
            f"vcpus: {host.vcpus}",
        ]
    ) + "\n"


def apply_to_vmm(base: Vmm, overlay: Overlay, name: str, rendered: Rendered) -> Vmm:
    """The VMM spec the loader would build from the rendered overlay (extends merges map keys one by one)."""
    at = rendered.positions
    origin = at[""]
    writes = dict(base.writes)
    if overlay.psci is not None:
        writes[PSCI_VERSION] = Write(PSCI_VERSION, overlay.psci, at["PSCI_VERSION"])
    for reg, bits in overlay.bitmaps:
        writes[reg] = Write(reg, 0, at[regs.register_name(reg)], bits)
    overrides = {reg: dict(fields) for reg, fields in base.id_overrides.items()}
    for reg, fields in overlay.id_overrides:
        reg_name = regs.register_name(reg)
        merged = overrides.setdefault(reg, {})
        for field_name, value in fields:
            merged[field_name] = (value, at[f"{reg_name}.{field_name}"])
    info = SpecInfo(Kind.VMM, name, origin.path, origin, overlay.source, (base.info.name, *base.info.extends))
    vmm = replace(base, info=info, writes=writes, id_overrides=overrides)
    if overlay.imp_id_writable:
        vmm = replace(vmm, imp_id_writable=True, targets=overlay.targets, targets_span=at["targets"])
    return vmm


def apply_to_host(host: Host, vmm: Vmm, path: str) -> Host:
    info = replace(host.info, path=path, span=Span(path, 2, 1), extends=())
    return replace(host, info=info, vmm=vmm)
