"""Replay source dumps on this KVM as a save-everything VMM would, and report every refused register."""

from __future__ import annotations

from typing import Any

from . import regs
from .dump import init_vcpu
from .features import KVM_ARM_VCPU_SVE, feature_set_from
from .kvm import Hypervisor, Vcpu, errno_name

FORMAT = "abi-check-probe-replay"
FORMAT_VERSION = 1

Json = dict[str, Any]


def _set(vcpu: Vcpu, reg: int, value: int, refusals: list[Json]) -> None:
    try:
        vcpu.set_reg(reg, value)
    except OSError as exc:
        refusals.append({"id": regs.hexid(reg), "name": regs.name(reg), "value": regs.hexid(value),
                         "errno": errno_name(exc.errno or 0)})


def replay_vcpu(hv: Hypervisor, entry: Json) -> Json:
    """One source feature set on a fresh VM: init, SET every readable source register in list order."""
    fs = feature_set_from(entry["name"], entry["features"])
    out: Json = {"name": fs.name, "features": list(fs.features), "init_errno": None, "finalize_errno": None,
                 "set_count": 0, "refusals": [], "unreadable_on_source": [], "destination_only": []}
    values = [(int(r["id"], 16), int(r["value"], 16)) for r in entry["registers"] if r["value"] is not None]
    out["unreadable_on_source"] = [r["name"] for r in entry["registers"] if r["value"] is None]
    vm = hv.create_vm()
    try:
        target, _ = vm.preferred_target()
        try:
            vcpu = init_vcpu(vm, target, fs, finalize=False)
        except OSError as exc:
            out["init_errno"] = errno_name(exc.errno or 0)
            return out
        refusals: list[Json] = []
        if fs.sve:
            # The vector lengths are set before finalization, everything else after (api.rst, KVM_ARM_VCPU_FINALIZE).
            for reg, value in values:
                if reg == regs.SVE_VLS:
                    _set(vcpu, reg, value, refusals)
            try:
                vcpu.finalize(KVM_ARM_VCPU_SVE)
            except OSError as exc:
                out["finalize_errno"] = errno_name(exc.errno or 0)
        for reg, value in values:
            if fs.sve and reg == regs.SVE_VLS:
                continue
            _set(vcpu, reg, value, refusals)
        out["set_count"] = len(values)
        out["refusals"] = refusals
        source_ids = {reg for reg, _ in values} | {int(r["id"], 16) for r in entry["registers"]}
        out["destination_only"] = [regs.name(r) for r in vcpu.reg_list() if r not in source_ids]
        return out
    finally:
        vm.close()


def replay(hv: Hypervisor, dump: Json, label: str) -> Json:
    """Every feature set of one source dump that its source host supported."""
    source = dump.get("provenance", {})
    return {
        "source": label,
        "source_kernel_release": source.get("kernel_release"),
        "source_midr_el1": source.get("midr_el1"),
        "feature_sets": [replay_vcpu(hv, e) for e in dump["vcpus"] if e.get("supported") and e.get("registers")],
    }


def refused(result: Json) -> bool:
    return any(fs["refusals"] or fs["init_errno"] or fs["finalize_errno"] for fs in result["feature_sets"])


def replay_all(hv: Hypervisor, dumps: list[tuple[str, Json]], destination: Json) -> Json:
    replays = [replay(hv, dump, label) for label, dump in dumps]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "destination": destination, "replays": replays,
            "refused": any(refused(r) for r in replays)}
