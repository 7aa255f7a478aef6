"""Synthetic but realistic fleets: the shipped kernels, VMM profiles and CPUs, with varied VMM writes.

``python benchmarks/fleet.py OUT --hosts N [--abis M] [--seed S]`` writes OUT/vmms/*.yaml (VMM profiles that
extend a shipped one and pin PSCI, write the hypercall bitmaps or override an ID field) and OUT/hosts/*.yaml.
Kernels and CPUs are the shipped ones, referenced by name. Every host is a valid configuration (the combination
is checked by loading it). With --abis M, the N hosts are drawn from M distinct (kernel, VMM, CPU, vCPUs)
configurations, so at most M distinct effective ABIs; without it every host is distinct.
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

from abi_check.errors import InputErrors
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

VCPUS = (2, 4, 8, 16, 32, 64)
PSCI_PINS = (None, "1.0", "1.1")
# Bitmap writes a VMM makes to keep the guest ABI narrow (only bits every kernel that has the bitmap knows).
BITMAP_WRITES = (None, {"STD_HYP_BMAP": [], "VENDOR_HYP_BMAP": ["FUNC_FEAT"]}, {"STD_BMAP": ["TRNG_V1_0"]})
ID_OVERRIDES = (None, {"ID_AA64PFR0_EL1": {"DIT": 0}})


def shipped(kind: str) -> list[str]:
    return sorted(p.stem for p in (catalogue_dir() / kind).glob("*.yaml"))


def vmm_variants() -> list[tuple[str, str, str]]:
    """(name, base VMM, YAML text) for every combination of writes on every shipped VMM."""
    out = []
    for base in shipped("vmms"):
        for n, (psci, bitmaps, ids) in enumerate(itertools.product(PSCI_PINS, BITMAP_WRITES, ID_OVERRIDES)):
            name = f"{base}-w{n}"
            lines = ["abi-check: 1", "kind: vmm", f"name: {name}", f"extends: {base}",
                     f'source: "synthetic variant of {base} (benchmarks/fleet.py)"']
            writes: list[str] = []
            if psci is not None:
                writes.append(f'  PSCI_VERSION: "{psci}"')
            for reg, bits in (bitmaps or {}).items():
                writes.append(f"  {reg}: [{', '.join(bits)}]")
            if writes:
                lines += ["writes:", *writes]
            if ids is not None:
                lines.append("id-overrides:")
                for reg, fields in ids.items():
                    lines.append(f"  {reg}: {{{', '.join(f'{k}: {v}' for k, v in fields.items())}}}")
            out.append((name, base, "\n".join(lines) + "\n"))
    return out


def host_text(name: str, kernel: str, vmm: str, cpu: str, vcpus: int, vmm_ref: str | None = None) -> str:
    return (f"abi-check: 1\nkind: host\nname: {name}\nsource: \"synthetic fleet (benchmarks/fleet.py)\"\n"
            f"kernel: {kernel}\nvmm: {vmm_ref or vmm}\ncpu: {cpu}\nvcpus: {vcpus}\n")


def generate(out: Path, hosts: int, abis: int | None = None, seed: int = 1) -> Path:
    """Write the fleet under ``out``; returns the hosts directory."""
    rng = random.Random(seed)
    (out / "vmms").mkdir(parents=True, exist_ok=True)
    (out / "hosts").mkdir(parents=True, exist_ok=True)
    variants = vmm_variants()
    for name, _, text in variants:
        (out / "vmms" / f"{name}.yaml").write_text(text)
    configs = [
        (kernel, variant, cpu, vcpus)
        for kernel in shipped("kernels")
        for variant, _, _ in variants
        for cpu in shipped("cpus")
        for vcpus in VCPUS
    ]
    rng.shuffle(configs)
    distinct = abis if abis is not None else hosts
    loader = SpecLoader(SpecRoots.for_inputs([out], []))
    valid: dict[tuple[str, str, str], bool] = {}
    probes = out / "probes"
    probes.mkdir(exist_ok=True)
    chosen = []
    for kernel, variant, cpu, vcpus in configs:
        if len(chosen) == distinct:
            break
        key = (kernel, variant, cpu)
        if key not in valid:  # a combination the kernel refuses (an ID override before 6.7, say) is skipped
            probe = probes / f"p{len(valid)}.yaml"
            probe.write_text(host_text(probe.stem, kernel, variant, cpu, 4, vmm_ref=f"../vmms/{variant}.yaml"))
            try:
                loader.load_host(probe)
                valid[key] = True
            except InputErrors:
                valid[key] = False
        if valid[key]:
            chosen.append((kernel, variant, cpu, vcpus))
    for probe in probes.iterdir():
        probe.unlink()
    probes.rmdir()
    if len(chosen) < distinct:
        raise SystemExit(f"only {len(chosen)} distinct configurations can be generated, {distinct} asked")
    used = {variant for _, variant, _, _ in chosen}
    for name, _, _ in variants:
        if name not in used:
            (out / "vmms" / f"{name}.yaml").unlink()
    for n in range(hosts):
        kernel, variant, cpu, vcpus = chosen[n] if n < distinct else rng.choice(chosen)
        name = f"h{n:05d}"
        (out / "hosts" / f"{name}.yaml").write_text(
            host_text(name, kernel, variant, cpu, vcpus, vmm_ref=f"../vmms/{variant}.yaml")
        )
    return out / "hosts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--abis", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(generate(args.out, args.hosts, args.abis, args.seed))


if __name__ == "__main__":
    main()
