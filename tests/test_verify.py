"""abi-check verify: the specs' prediction for a kernel on a CPU against a dump of what a real KVM answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from abi_check.abi.effective import effective_abi
from abi_check.abi.verify import neutral_vmm
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.encodings import psci_value
from abi_check.spec.loader import SpecLoader
from abi_check.spec.model import Host, Kind, SpecInfo
from abi_check.spec.registers import register_name

ROOT = Path(__file__).resolve().parents[1]
FINGERPRINTS = ROOT.parent / "shared" / "data" / "firecracker-fingerprints"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def predicted_dump(kernel: str, cpu: str, features: list[str]) -> dict[str, Any]:
    """A dump exactly as the specs predict it: what a KVM that agrees with the catalogue would answer."""
    loader = SpecLoader(SpecRoots([catalogue_dir()]))
    k = loader.load(catalogue_dir() / "kernels" / f"{kernel}.yaml", Kind.KERNEL)
    c = loader.load(catalogue_dir() / "cpus" / f"{cpu}.yaml", Kind.CPU)
    span = c.info.span
    host = Host(SpecInfo(Kind.HOST, "h", "h.yaml", span, ()), k, neutral_vmm(frozenset(features), "x"), c, 1)
    abi = effective_abi(host)
    hexed = lambda v: f"0x{v:016x}"  # noqa: E731
    registers = [{"id": hexed(r), "name": register_name(r), "size": 8, "errno": None,
                  "value": hexed(abi.values[r].value) if r in abi.values else hexed(0)} for r in sorted(abi.listed)]
    tries = [{"version": v, "value": hexed(psci_value(v)), "errno": None,
              "accepted": psci_value(v) in abi.psci_implemented and v != "0.1"} for v in ("0.1", "1.0", "1.3")]
    return {
        "format": "abi-check-probe-dump", "format_version": 1,
        "provenance": {"source": "probe", "kernel_release": kernel, "midr_el1": None, "absent": []},
        "writable_masks": None,
        "vcpus": [{"name": "psci-0.2", "features": features, "supported": True, "registers": registers,
                   "psci": {"default": hexed(k.psci.default), "tries": tries},
                   "bitmaps": [{"id": hexed(reg), "default": hexed(b.default_mask),
                                "accepted_bits": sorted(bit.index for bit in b.bits)} for reg, b in k.bitmaps.items()],
                   "workarounds": []}],
    }


def test_a_dump_that_matches_the_specs_verifies(tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(predicted_dump("linux-6.15", "neoverse-n1", ["PSCI_0_2"])), encoding="utf-8")
    done = cli("verify", "--kernel", "linux-6.15", "--cpu", "neoverse-n1", str(dump))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("the specs match the dump\n")


def test_every_kind_of_difference_is_reported(tmp_path: Path) -> None:
    data = predicted_dump("linux-6.15", "neoverse-n1", ["PSCI_0_2"])
    vcpu = data["vcpus"][0]
    regs = {r["name"]: r for r in vcpu["registers"]}
    regs["MIDR_EL1"]["value"] = "0x00000000414fd0c1"  # QEMU's N1 model, not the real Graviton2 the spec describes
    vcpu["registers"] = [r for r in vcpu["registers"] if r["name"] != "TCR_EL1"]
    vcpu["registers"].append({"id": "0x603000000013c103", "name": "TCR2_EL1", "size": 8, "value": "0x0", "errno": None})
    vcpu["psci"]["tries"][2]["accepted"] = False  # 1.3 refused
    vcpu["bitmaps"][0]["accepted_bits"] = []
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(data), encoding="utf-8")
    done = cli("verify", "--kernel", "linux-6.15", "--cpu", "neoverse-n1", str(dump), "-f", "json")
    assert done.returncode == 8, done.stderr
    found = {(d["kind"], d["subject"]): d for d in json.loads(done.stdout)["differences"]}
    assert found[("value", "MIDR_EL1")]["kvm"] == "0x414fd0c1" and found[("value", "MIDR_EL1")]["spec"] == "0x413fd0c1"
    assert found[("value", "MIDR_EL1")]["where"].startswith("specs/cpus/neoverse-n1.yaml:")
    assert ("listed-by-kvm-only", "TCR2_EL1") in found and ("listed-by-spec-only", "TCR_EL1") in found
    assert found[("psci-accepted", "PSCI_VERSION 1.3")]["spec"] == "accepted"
    assert found[("psci-accepted", "PSCI_VERSION 1.3")]["kvm"] == "refused"
    assert ("bitmap-bits", "STD_BMAP") in found


@pytest.mark.skipif(not FINGERPRINTS.is_dir(), reason="no shared/data beside the repository")
def test_a_real_graviton2_fingerprint_shows_the_qemu_model_midr() -> None:
    """The N1 spec carries QEMU's model MIDR (r4p1); a real Graviton2 host reports r3p1 with REVIDR 0xff."""
    dump = FINGERPRINTS / "fingerprint_ARM_NEOVERSE_N1_6.1host.json"
    done = cli("verify", "--kernel", "linux-6.1", "--cpu", "qemu-neoverse-n1", str(dump))
    assert done.returncode == 8
    assert "value MIDR_EL1: specs 0x414fd0c1" in done.stdout and "KVM 0x413fd0c1" in done.stdout
    assert "(firecracker-fingerprint, 6.1.172-216.329.amzn2023.aarch64)" in done.stdout.splitlines()[0]


def test_bad_dumps_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{\"format\": \"other\"}", encoding="utf-8")
    done = cli("verify", "--kernel", "linux-6.1", "--cpu", "neoverse-n1", str(tmp_path / "x.json"))
    assert done.returncode == 2 and "not an abi-check probe dump" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "y.json").write_text("{\"format\": ", encoding="utf-8")
    done = cli("verify", "--kernel", "linux-6.1", "--cpu", "neoverse-n1", str(tmp_path / "y.json"))
    assert done.returncode == 2 and "y.json:1:12: spec error: invalid JSON" in done.stderr
    done = cli("verify", str(tmp_path / "y.json"))
    assert done.returncode == 2 and "give a host spec, or --kernel and --cpu" in done.stderr
