"""abi-check show and diff: a host's effective guest ABI with provenance, and the raw delta between two hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ROOT / "specs" / "hosts"
SCHEMAS = ROOT / "docs" / "schema"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


def test_show_names_each_value_and_where_it_comes_from() -> None:
    done = cli("show", "specs/hosts/n1-linux-6.15-qemu-10.2.yaml", "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, schema("show.schema.json"))
    (host,) = data["hosts"]
    regs = {r["name"]: r for r in host["registers"]}
    assert regs["MIDR_EL1"]["value"] == "0x413fd0c1" and regs["MIDR_EL1"]["origin"] == "host CPU"
    assert regs["MIDR_EL1"]["where"].startswith("specs/cpus/neoverse-n1.yaml:")
    assert regs["PSCI_VERSION"]["shown"] == "1.3" and regs["PSCI_VERSION"]["origin"] == "kernel default"
    assert regs["PSCI_VERSION"]["where"].startswith("specs/kernels/linux-6.13.yaml:")  # inherited: its own file
    assert regs["STD_HYP_BMAP"]["shown"] == "PV_TIME"
    assert regs["TCR_EL1"]["value"] is None and regs["TCR_EL1"]["origin"] == "listed, value not modelled"
    assert "TCR2_EL1" not in regs  # hidden on 6.13+ for a CPU without TCRX
    assert host["psci-versions"][-1] == "1.3" and host["vcpu-features"] == ["PMU_V3", "PSCI_0_2"]


def test_show_text_marks_a_vmm_write_and_a_hidden_register(tmp_path: Path) -> None:
    (tmp_path / "pinned.yaml").write_text(
        "abi-check: 1\nkind: vmm\nname: pinned\nextends: qemu-10.2-x-mig-regs\nsource: test\n"
        "writes:\n  PSCI_VERSION: '1.1'\n", encoding="utf-8")
    host = tmp_path / "h.yaml"
    host.write_text("abi-check: 1\nkind: host\nname: h\nsource: test\nkernel: linux-6.15\nvmm: pinned\n"
                    "cpu: neoverse-n1\n", encoding="utf-8")
    done = cli("show", str(host))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("h (") and lines[0].endswith("h.yaml)")
    psci = next(line for line in lines if line.split()[0] == "PSCI_VERSION")
    assert psci.split()[1] == "1.1" and "written by the VMM" in psci and "pinned.yaml:7:17" in psci
    hidden = next(line for line in lines if line.split()[0] == "VENDOR_HYP_BMAP_2")
    assert hidden.endswith("(not saved)")  # x-mig-hidden-regs: listed, never saved


def test_diff_lists_every_difference_even_where_no_rule_fires() -> None:
    done = cli("diff", "specs/hosts/n1-linux-6.12-qemu-10.2.yaml", "specs/hosts/n1-linux-6.15-qemu-10.2.yaml",
               "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, schema("diff.schema.json"))
    changes = {(c["kind"], c["subject"]): c for c in data["changes"]}
    psci = changes[("value", "PSCI_VERSION")]
    assert (psci["before"], psci["after"]) == ("1.1", "1.3")
    assert ("register-added", "VENDOR_HYP_BMAP_2") in changes
    assert {("register-removed", r) for r in ("TCR2_EL1", "PIRE0_EL1", "PIR_EL1")} <= changes.keys()
    assert changes[("psci-versions", "PSCI versions implemented")]["after"].endswith("1.2, 1.3")


def test_diff_of_a_host_with_itself_is_empty() -> None:
    path = "specs/hosts/v1-linux-6.6-qemu-10.2.yaml"
    done = cli("diff", path, path)
    assert done.returncode == 0 and done.stdout.endswith("0 difference(s)\n  the guest sees the same ABI on both\n")


def test_show_and_diff_report_bad_input_located() -> None:
    done = cli("show", "specs/kernels/linux-6.15.yaml")
    assert done.returncode == 2 and "expected a host spec" in done.stderr and "Traceback" not in done.stderr
