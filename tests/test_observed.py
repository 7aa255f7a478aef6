"""Host specs with 'observed: DUMP': a live KVM's answers stand in for the kernel and CPU specs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_verify import FINGERPRINTS, predicted_dump

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def observed_host(directory: Path, name: str, dump: str, vmm: str = "qemu-10.2", extra: str = "") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nobserved: {dump}\nvmm: {vmm}\n{extra}",
                    encoding="utf-8")
    return path


@pytest.fixture
def dumped(tmp_path: Path) -> Path:
    """A host whose dump says exactly what linux-6.15 on the N1 spec predicts for QEMU's vCPU (PSCI 0.2 and a PMU),
    plus a real reset value."""
    data = predicted_dump("linux-6.15", "neoverse-n1", ["PSCI_0_2", "PMU_V3"])
    for register in data["vcpus"][0]["registers"]:
        if register["name"] == "SCTLR_EL1":
            register["value"] = "0x0000000000c50838"
    data["provenance"]["kernel_release"] = "6.15.3-custom"
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "h.json").write_text(json.dumps(data), encoding="utf-8")
    return observed_host(tmp_path, "h", "dumps/h.json")


def test_an_observed_host_loads_and_shows_what_kvm_answered(dumped: Path) -> None:
    assert cli("lint", str(dumped)).returncode == 0
    done = cli("show", str(dumped), "-f", "json")
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    regs = {r["name"]: r for r in host["registers"]}
    assert host["kernel"] == "linux-6.15@6.15.3-custom"  # the donor of field layouts: the nearest release below
    assert regs["MIDR_EL1"]["origin"] == "observed on the host" and regs["MIDR_EL1"]["value"] == "0x413fd0c1"
    assert regs["MIDR_EL1"]["where"].endswith("dumps/h.json:1:1")
    assert regs["PSCI_VERSION"]["shown"] == "1.3"


def test_an_observed_host_verifies_against_its_own_dump(dumped: Path) -> None:
    done = cli("verify", str(dumped), str(dumped.parent / "dumps" / "h.json"))
    assert done.returncode == 0, done.stdout


def test_an_observed_host_migrates_like_the_specs_it_matches(dumped: Path) -> None:
    """Observed 6.15 on N1 -> the catalogue's 6.12 N1 host: the same failures the spec host has."""
    dst = "specs/hosts/n1-linux-6.12-qemu-10.2.yaml"
    observed = json.loads(cli("pair", str(dumped), dst, "-f", "json").stdout)
    specified = json.loads(cli("pair", "specs/hosts/n1-linux-6.15-qemu-10.2.yaml", dst, "-f", "json").stdout)
    rules = lambda data: sorted((f["rule"], f["subject"]) for p in data["pairs"] for f in p["findings"])  # noqa: E731
    assert rules(observed) == rules(specified)
    assert ("bitmap-register-unknown", "VENDOR_HYP_BMAP_2") in rules(observed)


def test_observed_host_errors_are_located(tmp_path: Path) -> None:
    host = observed_host(tmp_path, "h", "missing.json")
    done = cli("lint", str(host))
    assert done.returncode == 2 and "h.yaml:5:11" in done.stderr and "no spec file" in done.stderr
    (tmp_path / "x.json").write_text("[]", encoding="utf-8")
    both = observed_host(tmp_path, "b", "x.json", extra="cpu: neoverse-n1\n")
    done = cli("lint", str(both))
    assert done.returncode == 2 and "'cpu' and 'observed' both say what the host's CPU is" in done.stderr
    (tmp_path / "sub").mkdir()
    outside = observed_host(tmp_path / "sub", "o", "../../outside.json")  # above the spec roots
    done = cli("lint", str(outside))
    assert done.returncode == 2 and "leaves the spec roots" in done.stderr


@pytest.mark.skipif(not FINGERPRINTS.is_dir(), reason="no shared/data beside the repository")
def test_a_real_graviton2_fingerprint_as_a_host(tmp_path: Path) -> None:
    """A real Graviton2 (N1 r3p1, REVIDR 0xff) cannot take a VM from a host of QEMU's N1 model (r4p1, REVIDR 0) on
    6.1: MIDR and REVIDR are invariant there. The fingerprint is copied at test time, never into the project."""
    shutil.copy(FINGERPRINTS / "fingerprint_ARM_NEOVERSE_N1_6.1host.json", tmp_path / "g2.json")
    host = observed_host(tmp_path, "graviton2", "g2.json", vmm="firecracker-1.8")
    assert cli("lint", str(host)).returncode == 0
    model = tmp_path / "model.yaml"
    model.write_text("abi-check: 1\nkind: host\nname: model\nsource: test\nkernel: linux-6.1\nvmm: firecracker-1.8\n"
                     "cpu: qemu-neoverse-n1\n", encoding="utf-8")
    done = cli("pair", str(model), str(host), "-f", "json")
    findings = {(f["rule"], f["subject"]) for p in json.loads(done.stdout)["pairs"] for f in p["findings"]}
    assert {("impl-id-mismatch", "MIDR_EL1"), ("impl-id-mismatch", "REVIDR_EL1")} <= findings, findings


def test_show_and_diff_take_a_dump_on_its_own(dumped: Path) -> None:
    dump = dumped.parent / "dumps" / "h.json"
    done = cli("show", str(dump), "-f", "json")
    assert done.returncode == 0, done.stderr
    (host,) = json.loads(done.stdout)["hosts"]
    regs = {r["name"]: r for r in host["registers"]}
    assert host["kernel"] == "linux-6.15@6.15.3-custom" and host["vmm"] == "kvm"
    assert regs["MIDR_EL1"]["origin"] == "observed on the host"
    same = cli("diff", str(dumped), str(dump), "-f", "json")
    changes = json.loads(same.stdout)["changes"]
    assert all(c["kind"] in ("setting", "origin", "saved") for c in changes), changes  # same ABI, another VMM
