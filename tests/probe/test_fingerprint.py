"""Firecracker fingerprints imported into the dump format, validated against the published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from abi_check.probe import cli, regs
from abi_check.probe.fingerprint import FingerprintError, import_fingerprint

# (file, registers, MIDR_EL1, kernel) as the README of shared/data/firecracker-fingerprints describes them
EXPECTED = [
    ("fingerprint_ARM_NEOVERSE_N1_5.10host.json", 312, "0x00000000413fd0c1", "5.10.255"),
    ("fingerprint_ARM_NEOVERSE_N1_6.1host.json", 242, "0x00000000413fd0c1", "6.1.172"),
    ("fingerprint_ARM_NEOVERSE_V1_5.10host.json", 312, "0x00000000411fd401", "5.10.255"),
    ("fingerprint_ARM_NEOVERSE_V1_6.1host.json", 242, "0x00000000411fd401", "6.1.172"),
    ("fingerprint_ARM_NEOVERSE_V2_5.10host.json", 312, "0x00000000410fd4f1", "5.10.255"),
    ("fingerprint_ARM_NEOVERSE_V2_6.1host.json", 242, "0x00000000410fd4f1", "6.1.172"),
]


@pytest.mark.parametrize(("name", "count", "midr", "kernel"), EXPECTED)
def test_import_carries_registers_midr_and_kernel(
    fingerprint_dir: Path, dump_schema: dict[str, Any], name: str, count: int, midr: str, kernel: str
) -> None:
    source = json.loads((fingerprint_dir / name).read_text())
    dump = import_fingerprint(source)
    jsonschema.validate(dump, dump_schema, format_checker=jsonschema.FormatChecker())
    (vcpu,) = dump["vcpus"]
    assert vcpu["register_count"] == count == len(source["guest_cpu_config"]["reg_modifiers"])
    assert dump["provenance"]["midr_el1"] == midr
    assert dump["provenance"]["kernel_release"].startswith(kernel + "-")
    assert "kvm.capabilities" in dump["provenance"]["absent"]
    assert dump["kvm"]["capabilities"] is None
    by_name = {r["name"]: r for r in vcpu["registers"]}
    assert by_name["MIDR_EL1"]["value"] == midr
    assert by_name["FPSR"]["size"] == 4 and len(by_name["FPSR"]["value"]) == 2 + 8
    assert "PSCI_0_2" in vcpu["features"]


def test_values_are_the_bitmap_as_a_number() -> None:
    document = {"kernel_version": "6.1.1", "guest_cpu_config": {"reg_modifiers": [
        {"addr": "0x6030000000140000", "bitmap": "0b10000000000000001"},
        {"addr": "0x603000000013c000", "bitmap": "0b" + "0" * 64 + format(0x410FD0C1, "064b")},
    ]}}
    dump = import_fingerprint(document)
    assert [(r["name"], r["value"]) for r in dump["vcpus"][0]["registers"]] == [
        ("KVM_REG_ARM_PSCI_VERSION", "0x0000000000010001"), ("MIDR_EL1", "0x00000000410fd0c1")]
    assert dump["provenance"]["midr_el1"] == regs.hexid(0x410FD0C1)
    assert dump["provenance"]["revidr_el1"] is None


def test_a_non_fingerprint_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FingerprintError):
        import_fingerprint({"registers": []})
    path = tmp_path / "x.json"
    path.write_text('{"registers": []}')
    assert cli.main(["--import-fingerprint", str(path)]) == 2
    assert "not a Firecracker fingerprint" in capsys.readouterr().err


def test_cli_import_writes_the_dump(fingerprint_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "n1.json"
    src = fingerprint_dir / EXPECTED[1][0]
    assert cli.main(["--import-fingerprint", str(src), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["provenance"]["source"] == "firecracker-fingerprint"
