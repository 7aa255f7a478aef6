"""Write experiments on a live vCPU: PSCI versions, hypercall bitmap bits, WORKAROUND levels, after-run writes."""

from __future__ import annotations

from typing import Any

from . import regs
from .kvm import Vcpu, errno_name

PSCI_VERSIONS = {"0.1": 0x1, "0.2": 0x2, "1.0": 0x10000, "1.1": 0x10001, "1.2": 0x10002, "1.3": 0x10003}
# Highest architected value of each WORKAROUND register (uapi asm/kvm.h): 1 and 3 stop at NOT_REQUIRED (2),
# 2 at NOT_REQUIRED (3); ENABLED (bit 4) is only tried with AVAIL.
WORKAROUND_VALUES = {regs.WORKAROUND_1: (0, 1, 2), regs.WORKAROUND_2: (0, 1, 2, 3, 0x12), regs.WORKAROUND_3: (0, 1, 2)}
# str x1, [x0]: a store to an address outside every memslot, so KVM_RUN returns with an MMIO exit at once.
GUEST_MMIO_STORE = (0xF9000001).to_bytes(4, "little")
GUEST_MMIO_ADDRESS = 0x2000_0000

Json = dict[str, Any]


def try_write(vcpu: Vcpu, reg: int, value: int, read_back: bool = True) -> Json:
    """SET one register; whether KVM accepted it, the errno, and what GET answers afterwards."""
    out: Json = {"value": regs.hexid(value) if value >= 0 else None, "accepted": True, "errno": None}
    try:
        vcpu.set_reg(reg, value)
    except OSError as exc:
        out["accepted"], out["errno"] = False, errno_name(exc.errno or 0)
    if read_back:
        try:
            out["read_back"] = regs.hexid(vcpu.get_reg(reg))
        except OSError as exc:
            out["read_back"] = None
            out["read_errno"] = errno_name(exc.errno or 0)
    return out


def _restore(vcpu: Vcpu, reg: int, value: int) -> str | None:
    try:
        vcpu.set_reg(reg, value)
    except OSError as exc:
        return errno_name(exc.errno or 0)
    return None


def psci_versions(vcpu: Vcpu, listed: set[int]) -> Json | None:
    """Which PSCI_VERSION values this vCPU accepts; the default is written back afterwards."""
    if regs.PSCI_VERSION not in listed:
        return None
    default = vcpu.get_reg(regs.PSCI_VERSION)
    tries = []
    for label, value in PSCI_VERSIONS.items():
        result = try_write(vcpu, regs.PSCI_VERSION, value, read_back=False)
        tries.append({"version": label} | result)
    return {"default": regs.hexid(default), "tries": tries, "restore_errno": _restore(vcpu, regs.PSCI_VERSION, default)}


def bitmaps(vcpu: Vcpu, listed: set[int]) -> list[Json]:
    """For each bitmap register listed: its default and which single bits a write accepts."""
    out = []
    for reg in regs.BITMAPS:
        if reg not in listed:
            continue
        default = vcpu.get_reg(reg)
        accepted, refused = [], {}
        for bit in range(64):
            result = try_write(vcpu, reg, 1 << bit, read_back=False)
            if result["accepted"]:
                accepted.append(bit)
            else:
                refused[str(bit)] = result["errno"]
        errnos = set(refused.values())
        out.append({
            "name": regs.name(reg),
            "id": regs.hexid(reg),
            "default": regs.hexid(default),
            "accepted_bits": accepted,
            "refused_errno": errnos.pop() if len(errnos) == 1 else refused,
            "zero": try_write(vcpu, reg, 0, read_back=False),
            "restore_errno": _restore(vcpu, reg, default),
        })
    return out


def workarounds(vcpu: Vcpu, listed: set[int]) -> list[Json]:
    """The host level of each WORKAROUND register and what a write of each value does."""
    out = []
    for reg in regs.WORKAROUNDS:
        if reg not in listed:
            continue
        level = vcpu.get_reg(reg)
        writes = [try_write(vcpu, reg, value) for value in WORKAROUND_VALUES[reg]]
        out.append({
            "name": regs.name(reg),
            "id": regs.hexid(reg),
            "host_level": level,
            "writes": writes,
            "restore_errno": _restore(vcpu, reg, level),
        })
    return out


def implementation_id(vcpu: Vcpu, listed: set[int]) -> list[Json]:
    """Whether MIDR/REVIDR/AIDR take a value one bit away from the host's (low bits, inside every mask)."""
    out = []
    for reg in regs.IMPLEMENTATION_ID:
        if reg not in listed:
            continue
        host = vcpu.get_reg(reg)
        result = try_write(vcpu, reg, host ^ 1)
        entry: Json = {"name": regs.name(reg), "id": regs.hexid(reg), "host_value": regs.hexid(host)}
        out.append(entry | result | {"restore_errno": _restore(vcpu, reg, host)})
    return out


def after_run(vcpu: Vcpu, listed: set[int], timeout: float = 5.0) -> Json:
    """Run a one-instruction guest once, then try rewriting bitmap and firmware registers."""
    out: Json = {"guest": "str x1, [x0] to an unmapped IPA", "exit_reason": None, "run_errno": None}
    writes: list[Json] = []
    out["writes"] = writes
    try:
        vcpu.set_reg(regs.CORE_X0, GUEST_MMIO_ADDRESS)
        out["exit_reason"] = vcpu.run_once(GUEST_MMIO_STORE, timeout)
    except OSError as exc:
        out["run_errno"] = errno_name(exc.errno or 0)
        return out
    for reg in (*regs.BITMAPS, regs.PSCI_VERSION, *regs.IMPLEMENTATION_ID):
        if reg not in listed:
            continue
        current = vcpu.get_reg(reg)
        changed = current ^ 1
        if reg == regs.PSCI_VERSION:
            changed = 0x10000 if current != 0x10000 else 0x2
        elif reg in regs.BITMAPS and current:
            changed = current & (current - 1)  # clear the lowest set bit: a value KVM knows, only different
        same = try_write(vcpu, reg, current, read_back=False)
        different = try_write(vcpu, reg, changed)
        writes.append({"name": regs.name(reg), "id": regs.hexid(reg), "current": regs.hexid(current),
                              "same": same, "different": different})
    return out
