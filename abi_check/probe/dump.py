"""Build an observed dump: what one KVM answers for each vCPU feature set a VMM uses."""

from __future__ import annotations

from typing import Any

from . import experiments, regs
from .features import CAP_BY_NAME, CAPABILITIES, FEATURE_SETS, KVM_ARM_VCPU_SVE, FeatureSet
from .kvm import Hypervisor, Vcpu, Vm, errno_name

FORMAT = "abi-check-probe-dump"
FORMAT_VERSION = 1

Json = dict[str, Any]


def read_registers(vcpu: Vcpu) -> list[Json]:
    """KVM_GET_REG_LIST, then KVM_GET_ONE_REG of each id in list order; an unreadable one keeps its errno."""
    out = []
    for reg in vcpu.reg_list():
        entry: Json = {"id": regs.hexid(reg), "name": regs.name(reg), "size": regs.size_bytes(reg), "value": None,
                       "errno": None}
        try:
            entry["value"] = f"0x{vcpu.get_reg(reg):0{2 * regs.size_bytes(reg)}x}"
        except OSError as exc:
            entry["errno"] = errno_name(exc.errno or 0)
        out.append(entry)
    return out


def init_vcpu(vm: Vm, target: int, feature_set: FeatureSet, finalize: bool = True) -> Vcpu:
    vcpu = vm.create_vcpu(0)
    vcpu.init(target, feature_set.bits)
    if feature_set.sve and finalize:
        vcpu.finalize(KVM_ARM_VCPU_SVE)
    return vcpu


def _masks(vm: Vm) -> list[Json]:
    out = []
    for index, mask in enumerate(vm.writable_masks()):
        if not mask:
            continue
        op1 = (0, 1, 3)[index >> 6]
        reg = regs.sysreg_id(3, op1, 0, (index >> 3) & 7, index & 7)
        out.append({"id": regs.hexid(reg), "name": regs.name(reg), "mask": regs.hexid(mask)})
    return out


def _capabilities(hv: Hypervisor, vm: Vm) -> list[Json]:
    out = []
    for number, cap_name in CAPABILITIES.items():
        out.append({"number": number, "name": cap_name, "value": hv.check_extension(number),
                    "vm_value": vm.check_extension(number)})
    return out


def _vcpu_entry(hv: Hypervisor, target: int, fs: FeatureSet, caps: dict[str, int], first: bool) -> Json:
    entry: Json = {"name": fs.name, "features": list(fs.features), "supported": True, "init_errno": None}
    missing = [cap for cap in fs.needs if not caps.get(cap)]
    if missing:
        return entry | {"supported": False, "missing_caps": missing}
    vm = hv.create_vm()
    try:
        try:
            vcpu = init_vcpu(vm, target, fs)
        except OSError as exc:
            return entry | {"supported": False, "init_errno": errno_name(exc.errno or 0)}
        registers = read_registers(vcpu)
        listed = {int(r["id"], 16) for r in registers}
        entry |= {"register_count": len(registers), "registers": registers,
                  "psci": experiments.psci_versions(vcpu, listed)}
        if first:
            entry["bitmaps"] = experiments.bitmaps(vcpu, listed)
            entry["workarounds"] = experiments.workarounds(vcpu, listed)
            entry["implementation_id"] = experiments.implementation_id(vcpu, listed)
        return entry
    finally:
        vm.close()


def _writable_imp_id(hv: Hypervisor, target: int, cap_value: int) -> Json:
    cap = CAP_BY_NAME["KVM_CAP_ARM_WRITABLE_IMP_ID_REGS"]
    out: Json = {"cap": cap, "cap_value": cap_value, "enable_errno": None, "registers": []}
    vm = hv.create_vm()
    try:
        try:
            vm.enable_cap(cap)
        except OSError as exc:
            out["enable_errno"] = errno_name(exc.errno or 0)
        vcpu = init_vcpu(vm, target, FEATURE_SETS[0])
        listed = set(vcpu.reg_list())
        out["registers"] = experiments.implementation_id(vcpu, listed)
    except OSError as exc:
        out["error"] = errno_name(exc.errno or 0)
    finally:
        vm.close()
    return out


def _after_run(hv: Hypervisor, target: int) -> Json:
    vm = hv.create_vm()
    try:
        vcpu = init_vcpu(vm, target, FEATURE_SETS[0])
        return experiments.after_run(vcpu, set(vcpu.reg_list()))
    except OSError as exc:
        return {"error": errno_name(exc.errno or 0)}
    finally:
        vm.close()


def build_dump(hv: Hypervisor, provenance: Json, feature_sets: tuple[FeatureSet, ...] = FEATURE_SETS) -> Json:
    """The whole dump: KVM facts, then per feature set the register list, values and write experiments."""
    vm = hv.create_vm()
    try:
        capabilities = _capabilities(hv, vm)
        target, preferred = vm.preferred_target()
        caps = {c["name"]: max(c["value"], c["vm_value"]) for c in capabilities}
        masks: list[Json] | None = None
        masks_errno = None
        if caps.get("KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES"):
            try:
                masks = _masks(vm)
            except OSError as exc:
                masks_errno = errno_name(exc.errno or 0)
    finally:
        vm.close()
    vcpus = [_vcpu_entry(hv, target, fs, caps, i == 0) for i, fs in enumerate(feature_sets)]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provenance": provenance,
        "kvm": {
            "api_version": hv.api_version(),
            "capabilities": capabilities,
            "ipa_size": caps.get("KVM_CAP_ARM_VM_IPA_SIZE", 0),
            "preferred_target": {"target": target, "features": preferred},
        },
        "writable_masks": masks,
        "writable_masks_errno": masks_errno,
        "vcpus": vcpus,
        "writable_implementation_id": _writable_imp_id(hv, target, caps.get("KVM_CAP_ARM_WRITABLE_IMP_ID_REGS", 0)),
        "after_run": _after_run(hv, target),
    }
