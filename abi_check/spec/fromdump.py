"""A host's kernel and CPU as an observed dump shows them, for host specs that say ``observed: DUMP``.

What a dump records stands in for the specs: the registers each vCPU configuration lists (a register only a
configuration with an extra feature lists requires that feature), the PSCI versions KVM accepted and its
default, each bitmap's accepted bits and default, the WORKAROUND levels it reported, the capabilities, the
writable ID-register masks, and the values of the ID and implementation registers. What no dump can show (ID
field layouts and safety, bitmap bit names, which releases changed what) comes from a *donor*: the host's
``kernel:`` if it names one, else the catalogue kernel of the nearest release at or below the dump's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from abi_check.errors import Span
from abi_check.spec import registers as regs
from abi_check.spec.model import (
    Bit,
    Bitmap,
    Cpu,
    Host,
    IdRegister,
    Kernel,
    KernelRegister,
    Kind,
    Memory,
    Migration,
    Psci,
    SpecInfo,
    Vmm,
    Workaround,
)
from abi_check.spec.observed import Observed, ObservedVcpu

OBSERVED = "observed"  # the vulnerability state an observed WORKAROUND level maps from, and the CPU's vendor
PSCI_0_1 = 0x1
# Registers whose value is the CPU's (the guest sees the host's, or KVM's sanitised view of it).
CPU_REGISTERS = ("MIDR_EL1", "REVIDR_EL1", "AIDR_EL1", "CTR_EL0", "CLIDR_EL1")
VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
VENDOR = re.compile(r"^\d+\.\d+(?:\.\d+)?")  # what a kernel spec name has after its version: its vendor


def release_version(release: str) -> tuple[int, int, int] | None:
    """``6.12.118+deb13-arm64`` -> (6, 12, 118); None when the release does not start with a version."""
    match = VERSION.match(release)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def nearest_kernel(release: str, names: Iterable[str]) -> str | None:
    """The catalogue kernel (``linux-X.Y[.Z][-vendor]``) of the highest release at or below ``release``. A vendor
    kernel (``linux-6.1.172-amzn2023``) is a candidate only for a release that names its vendor."""
    wanted = release_version(release)
    if wanted is None:
        return None
    best: tuple[tuple[int, int, int], str] | None = None
    for name in names:
        if not name.startswith("linux-"):
            continue
        version = release_version(name.removeprefix("linux-"))
        vendor = VENDOR.sub("", name.removeprefix("linux-"))
        if version is None or (vendor and vendor.lstrip("-") not in release):
            continue
        if version <= wanted and (best is None or version > best[0] or (version == best[0] and vendor)):
            best = (version, name)
    return best[1] if best else None


def observed_kernel(observed: Observed, donor: Kernel) -> Kernel:
    span = Span(observed.path, 1, 1)
    base = min(observed.vcpus, key=lambda v: len(v.features))
    registers: dict[int, KernelRegister] = {}
    for vcpu in sorted(observed.vcpus, key=lambda v: len(v.features)):
        extra = sorted(vcpu.features - base.features)
        for reg, value in vcpu.values.items():
            if reg not in registers:
                known = donor.registers.get(reg)
                # The value read right after KVM_ARM_VCPU_INIT is the register's reset value.
                registers[reg] = KernelRegister(reg, span, extra[0] if extra else None, None,
                                                known.invariant if known else False, value or 0)
    main = _main(observed)
    firmware = {r for r in registers if regs.is_firmware(r) or regs.is_bitmap(r)}
    for reg in firmware:
        registers.pop(reg)  # listed again through psci/workarounds/bitmaps, as a kernel spec states them
    info = SpecInfo(Kind.KERNEL, f"{donor.info.name}@{observed.kernel_release}", observed.path, span,
                    (f"observed dump {observed.path} ({observed.source})",
                     f"field layouts, bit names and safety from {donor.info.name}"), (donor.info.name,))
    version = release_version(observed.kernel_release)
    return replace(
        donor,
        info=info,
        version=".".join(map(str, version)) if version else observed.kernel_release,
        registers=registers,
        psci=_psci(main, donor, span),
        workarounds=_workarounds(main, donor, span),
        bitmaps=_bitmaps(main, donor, span),
        # The probe tries a few feature sets; a feature it did not try is the donor's to say.
        vcpu_features=donor.vcpu_features.union(*(v.features for v in observed.vcpus)),
        id_registers=_id_registers(observed, donor),
    )


def observed_cpu(observed: Observed, donor: Kernel, name: str) -> Cpu:
    span = Span(observed.path, 1, 1)
    fullest = max(observed.vcpus, key=lambda v: len(v.features))
    wanted = set(donor.id_registers) | {regs.register_id(n) for n in CPU_REGISTERS}
    values = {reg: (value, span) for reg, value in fullest.values.items() if reg in wanted and value is not None}
    vulnerabilities = {_vulnerability(reg): (OBSERVED, span) for reg in _main(observed).host_levels}
    vulnerabilities |= {_vulnerability(reg): (OBSERVED, span) for reg in donor.workarounds
                        if reg in fullest.values and fullest.values[reg] is not None}
    info = SpecInfo(Kind.CPU, name, observed.path, span, (f"observed dump {observed.path}",))
    return Cpu(info, OBSERVED, values, vulnerabilities, ())


def _main(observed: Observed) -> ObservedVcpu:
    """The configuration a VMM most often asks for: PSCI 0.2 and nothing else, or the closest the dump has."""
    with_psci = [v for v in observed.vcpus if "PSCI_0_2" in v.features] or list(observed.vcpus)
    return min(with_psci, key=lambda v: len(v.features))


def _psci(vcpu: ObservedVcpu, donor: Kernel, span: Span) -> Psci | None:
    reg = regs.register_id("PSCI_VERSION")
    default = vcpu.psci_default if vcpu.psci_default is not None else vcpu.values.get(reg)
    if default is None:
        return donor.psci
    if vcpu.psci_accepted is None:
        versions = donor.psci.versions if donor.psci is not None else frozenset({default})
    else:
        versions = frozenset(v for v, ok in vcpu.psci_accepted.items() if ok) | {PSCI_0_1}
    return Psci(versions | {default}, default, span, span)


def _vulnerability(reg: int) -> str:
    return f"observed-{regs.register_name(reg).lower().replace('_', '-')}"


def _workarounds(vcpu: ObservedVcpu, donor: Kernel, span: Span) -> dict[int, Workaround]:
    levels = dict(vcpu.host_levels)
    for reg in donor.workarounds:
        value = vcpu.values.get(reg)
        if reg not in levels and value is not None:
            levels[reg] = value  # a fingerprint records the level as the register's value
    out = {}
    for reg, level in levels.items():
        known = donor.workarounds.get(reg)
        restore = known.restore if known is not None else "at-most-host-level"
        out[reg] = Workaround(reg, _vulnerability(reg), {OBSERVED: level}, span, restore)
    return out


def _bitmaps(vcpu: ObservedVcpu, donor: Kernel, span: Span) -> dict[int, Bitmap]:
    out = {}
    observed = dict(vcpu.bitmaps)
    for reg in vcpu.values:
        if regs.is_bitmap(reg) and reg not in observed and vcpu.values[reg] is not None:
            known = donor.bitmaps.get(reg)
            accepted = frozenset(b.index for b in known.bits) if known else frozenset()
            observed[reg] = (vcpu.values[reg] or 0, accepted)
    for reg, (default, accepted) in observed.items():
        known = donor.bitmaps.get(reg)
        names = {b.index: b.name for b in known.bits} if known else {}
        bits = tuple(Bit(names.get(i, f"BIT{i}"), i, bool(default >> i & 1), span) for i in sorted(accepted))
        out[reg] = Bitmap(reg, bits, span, span)
    return out


def _id_registers(observed: Observed, donor: Kernel) -> dict[int, IdRegister]:
    """The donor's layouts; which fields are writable is what KVM_ARM_GET_REG_WRITABLE_MASKS said, if it ran."""
    if observed.writable_masks is None:
        return dict(donor.id_registers)
    out = {}
    for reg, layout in donor.id_registers.items():
        mask = observed.writable_masks.get(reg, 0)
        fields = tuple(replace(f, writable=(mask & f.mask) == f.mask) for f in layout.fields)
        out[reg] = replace(layout, fields=fields)
    return out


def neutral_vmm(features: frozenset[str], path: str) -> Vmm:
    """A VMM that asks for these vCPU features and writes nothing: the view a dump records."""
    span = Span(path, 1, 1)
    return Vmm(SpecInfo(Kind.VMM, "kvm", path, span, ("the observed dump",)), "other", "0",
               Migration(span), {}, features, {}, False, (), None, Memory(span))


def observed_host(observed: Observed, donor: Kernel, name: str) -> Host:
    """A dump on its own, as a host: its kernel and CPU, and a VMM that asks for the features of the dump's main
    vCPU configuration and writes nothing (what ``abi-check show DUMP`` prints)."""
    span = Span(observed.path, 1, 1)
    vmm = neutral_vmm(_main(observed).features, observed.path)
    info = SpecInfo(Kind.HOST, name, observed.path, span, (f"observed dump {observed.path}",))
    return Host(info, observed_kernel(observed, donor), vmm, observed_cpu(observed, donor, f"{name}-cpu"), 1)
