"""Spec fixtures of the lab's hosts: QEMU 7.2's CPU models as the lab's kernels see them, one VMM per vCPU
feature set the probe uses. Values from the lab dumps (lab/out/dumps/<kernel>-<cpu>.json, QEMU 7.2 TCG)."""

from __future__ import annotations

from pathlib import Path

from abi_check.abi.effective import EffectiveAbi, effective_abi
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

# The probe's feature sets (docs/ground-truth.md) and the KVM_ARM_VCPU_INIT features of each.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "psci-0.2": ("PSCI_0_2",),
    "psci-0.1": (),
    "psci-0.2+pmu-v3": ("PSCI_0_2", "PMU_V3"),
    "psci-0.2+sve": ("PSCI_0_2", "SVE"),
    "psci-0.2+ptrauth": ("PSCI_0_2", "PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"),
    "psci-0.2+pmu-v3+sve+ptrauth": ("PSCI_0_2", "PMU_V3", "SVE", "PTRAUTH_ADDRESS", "PTRAUTH_GENERIC"),
}

# Host values as a 7.2.13 guest reads them (no field hidden or capped there that these registers carry),
# except ID_AA64DFR0_EL1, whose PMU version only shows with PMU_V3 (the psci-0.2+pmu-v3 vCPU's value).
CPUS: dict[str, dict[str, int]] = {
    "lab-qemu-max": {
        "MIDR_EL1": 0x000F0510,
        "REVIDR_EL1": 0,
        "AIDR_EL1": 0,
        "CTR_EL0": 0x9444C004,
        "CLIDR_EL1": 0x02000023,  # as 6.1.192 shows it (the host's); 6.3+ makes up 0x02000021
        "ID_AA64MMFR1_EL1": 0x0000011010211122,
        "ID_AA64MMFR3_EL1": 0,
        "ID_AA64DFR0_EL1": 0x10305609,
        "ID_DFR0_EL1": 0x06010009,
    },
    "lab-qemu-neoverse-n1": {
        "MIDR_EL1": 0x414FD0C1,
        "REVIDR_EL1": 0,
        "AIDR_EL1": 0,
        "CTR_EL0": 0x9444C004,
        "CLIDR_EL1": 0x82000023,
        "ID_AA64MMFR1_EL1": 0x10212122,
        "ID_AA64MMFR3_EL1": 0,
        "ID_AA64DFR0_EL1": 0x10305408,
        "ID_DFR0_EL1": 0x04010008,
    },
}


def write_lab_specs(root: Path) -> SpecLoader:
    for name, registers in CPUS.items():
        lines = "".join(f"  {reg}: 0x{value:x}\n" for reg, value in registers.items())
        (root / f"{name}.yaml").write_text(
            f"abi-check: 1\nkind: cpu\nname: {name}\nvendor: QEMU\nsource: lab dumps (QEMU 7.2)\n"
            f"registers:\n{lines}vulnerabilities: {{spectre-v2: csv2, spectre-v4: ssbs, spectre-bhb: unknown}}\n",
            encoding="utf-8",
        )
    for label, features in FEATURE_SETS.items():
        (root / f"lab-vmm-{label}.yaml").write_text(
            f"abi-check: 1\nkind: vmm\nname: lab-vmm-{label}\nextends: qemu-10.2\nsource: the probe\n"
            f"vcpu-features: [{', '.join(features)}]\n",
            encoding="utf-8",
        )
    return SpecLoader(SpecRoots([root, catalogue_dir()]))


def lab_abi(loader: SpecLoader, root: Path, kernel: str, cpu: str, feature_set: str) -> EffectiveAbi:
    name = f"h-{kernel}-{cpu}-{feature_set}".replace("+", "-")
    path = root / f"{name}.yaml"
    path.write_text(
        f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\n"
        f"vmm: lab-vmm-{feature_set}\ncpu: {cpu}\n",
        encoding="utf-8",
    )
    return effective_abi(loader.load_host(path))
