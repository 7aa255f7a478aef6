"""Import a Firecracker ``cpu-template-helper fingerprint dump`` file into the probe's dump format."""

from __future__ import annotations

from typing import Any

from abi_check import __version__

from . import regs
from .dump import FORMAT, FORMAT_VERSION

# What a fingerprint does not carry; these stay null in the imported dump and are named in provenance.absent.
ABSENT = [
    "provenance.date",
    "kvm.api_version",
    "kvm.capabilities",
    "kvm.ipa_size",
    "kvm.preferred_target",
    "writable_masks",
    "vcpus[0].psci",
    "vcpus[0].bitmaps",
    "vcpus[0].workarounds",
    "vcpus[0].implementation_id",
    "writable_implementation_id",
    "after_run",
]
_PMCR_EL0 = regs.sysreg_id(3, 3, 9, 12, 0)
_APIAKEYLO_EL1 = regs.sysreg_id(3, 0, 2, 1, 0)


class FingerprintError(ValueError):
    pass


def _features(ids: set[int], values: dict[int, int]) -> list[str]:
    """The vCPU features, inferred from the register list: KVM lists a feature's registers only when it is on."""
    features = [] if values.get(regs.PSCI_VERSION) == 0x1 else ["PSCI_0_2"]
    if _PMCR_EL0 in ids:
        features.append("PMU_V3")
    if any(regs.group(r) == regs.GROUP_SVE for r in ids):
        features.append("SVE")
    if _APIAKEYLO_EL1 in ids:
        features += ["PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"]
    return features


def import_fingerprint(document: Any) -> dict[str, Any]:
    try:
        modifiers = document["guest_cpu_config"]["reg_modifiers"]
        pairs = [(int(m["addr"], 16), int(m["bitmap"].removeprefix("0b"), 2)) for m in modifiers]
    except (KeyError, TypeError, ValueError) as exc:
        raise FingerprintError(f"not a Firecracker fingerprint: {exc!r}") from None
    registers = []
    for reg, value in pairs:
        size = regs.size_bytes(reg)
        registers.append({"id": regs.hexid(reg), "name": regs.name(reg), "size": size,
                          "value": f"0x{value & ((1 << (8 * size)) - 1):0{2 * size}x}", "errno": None})
    values = dict(pairs)
    midr, revidr = values.get(regs.MIDR_EL1), values.get(regs.REVIDR_EL1)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provenance": {
            "source": "firecracker-fingerprint",
            "kernel_release": document.get("kernel_version"),
            "kernel_version": None,
            "machine": "aarch64",
            "midr_el1": None if midr is None else regs.hexid(midr),
            "revidr_el1": None if revidr is None else regs.hexid(revidr),
            "date": None,
            "tool_version": __version__,
            "probe_format_version": FORMAT_VERSION,
            "firecracker_version": document.get("firecracker_version"),
            "microcode_version": document.get("microcode_version"),
            "absent": ABSENT,
            "notes": "MIDR/REVIDR from the guest's register values; vCPU features inferred from the register list",
        },
        "kvm": {"api_version": None, "capabilities": None, "ipa_size": None, "preferred_target": None},
        "writable_masks": None,
        "writable_masks_errno": None,
        "vcpus": [{
            "name": "firecracker",
            "features": _features(set(values), values),
            "supported": True,
            "init_errno": None,
            "register_count": len(registers),
            "registers": registers,
            "psci": None,
        }],
        "writable_implementation_id": None,
        "after_run": None,
    }
