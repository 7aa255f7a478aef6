"""The lab's hosts as specs: the catalogue's models of QEMU 7.2's CPUs (specs/cpus/qemu-*.yaml, values from the
lab dumps) and the lab's save-everything VMM for each of the probe's vCPU feature sets (lab/specs/vmms), as
lab/agreement.py builds them."""

from __future__ import annotations

import sys
from pathlib import Path

from abi_check.abi.effective import EffectiveAbi, effective_abi
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

LAB = Path(__file__).resolve().parents[1] / "lab"
sys.path.insert(0, str(LAB))
from agreement import VMM_OF  # noqa: E402

FEATURE_SETS = tuple(VMM_OF)


def write_lab_specs(root: Path) -> SpecLoader:
    """A loader that finds host files written under ``root``, the lab's VMMs and the catalogue."""
    return SpecLoader(SpecRoots([root, LAB / "specs", catalogue_dir()]))


def lab_abi(loader: SpecLoader, root: Path, kernel: str, cpu: str, feature_set: str) -> EffectiveAbi:
    name = f"h-{kernel}-{cpu}-{feature_set}".replace("+", "-").replace(".", "-")
    path = root / f"{name}.yaml"
    path.write_text(
        f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\n"
        f"vmm: {VMM_OF[feature_set]}\ncpu: {cpu}\n",
        encoding="utf-8",
    )
    return effective_abi(loader.load_host(path))
