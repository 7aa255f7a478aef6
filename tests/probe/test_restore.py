"""Replaying source dumps: every refusal reported with name, id and errno; exit 8 only when KVM refused one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from abi_check.probe import cli, regs
from abi_check.probe.dump import build_dump
from abi_check.probe.provenance import provenance
from abi_check.probe.restore import replay_all

from .fake import TCR2_EL1, FakeKvm, Host, basic_host

Json = dict[str, Any]


def newer_host() -> Host:
    """A kernel that defaults to PSCI 1.3, lists VENDOR_HYP_BMAP_2 and no longer lists TCR2_EL1."""
    host = basic_host()
    del host.registers[TCR2_EL1]
    host.registers[regs.PSCI_VERSION] = 0x10003
    host.registers[regs.BITMAPS[3]] = 0
    host.known_bits[regs.BITMAPS[3]] = 3
    host.psci = (0x2, 0x10000, 0x10001, 0x10002, 0x10003)
    return host


def _refusals(result: Json, feature_set: str = "psci-0.2") -> list[tuple[str, str, str]]:
    (replay,) = result["replays"]
    fs = next(f for f in replay["feature_sets"] if f["name"] == feature_set)
    return [(r["name"], r["id"], r["errno"]) for r in fs["refusals"]]


def test_older_dump_on_newer_kernel_refuses_the_unlisted_register() -> None:
    source = build_dump(FakeKvm(basic_host()), provenance())
    result = replay_all(FakeKvm(newer_host()), [("old", source)], provenance())
    assert _refusals(result) == [("TCR2_EL1", "0x603000000013c103", "ENOENT")]
    assert result["refused"] is True
    (replay,) = result["replays"]
    main = replay["feature_sets"][0]
    assert main["destination_only"] == ["KVM_REG_ARM_VENDOR_HYP_BMAP_2"]
    assert main["unreadable_on_source"] == ["FPSR"]


def test_newer_dump_on_older_kernel_refuses_psci_and_the_new_bitmap() -> None:
    source = build_dump(FakeKvm(newer_host()), provenance())
    result = replay_all(FakeKvm(basic_host()), [("new", source)], provenance())
    assert _refusals(result) == [
        ("KVM_REG_ARM_PSCI_VERSION", "0x6030000000140000", "EINVAL"),
        ("KVM_REG_ARM_VENDOR_HYP_BMAP_2", "0x6030000000160003", "ENOENT"),
    ]
    assert _refusals(result, "psci-0.1") == [("KVM_REG_ARM_VENDOR_HYP_BMAP_2", "0x6030000000160003", "ENOENT")]


def test_registers_are_set_in_source_list_order_and_vls_before_finalize() -> None:
    source = build_dump(FakeKvm(basic_host()), provenance())
    destination = FakeKvm(basic_host())
    replay_all(destination, [("same", source)], provenance())
    main = next(v for v in source["vcpus"] if v["name"] == "psci-0.2")
    expected = [int(r["id"], 16) for r in main["registers"] if r["value"] is not None]
    first_vcpu = destination.vms[0].vcpus[0]
    assert [reg for _, reg, _ in first_vcpu.log] == expected
    sve_vcpu = next(vm.vcpus[0] for vm in destination.vms if 4 in vm.vcpus[0].features)
    assert sve_vcpu.log[0][1] == regs.SVE_VLS


def test_same_kernel_replay_refuses_nothing() -> None:
    source = build_dump(FakeKvm(basic_host()), provenance())
    result = replay_all(FakeKvm(basic_host()), [("same", source)], provenance())
    assert result["refused"] is False


def _write(tmp_path: Path, name: str, host: Host) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(build_dump(FakeKvm(host), provenance())))
    return path


def test_cli_restore_exit_8_and_json_report(tmp_path: Path) -> None:
    old, new = _write(tmp_path, "old", basic_host()), _write(tmp_path, "new", newer_host())
    out = tmp_path / "replay.json"
    code = cli.main(["--restore", str(old), str(new), "-o", str(out)], hypervisor=FakeKvm(basic_host()))
    assert code == 8
    report = json.loads(out.read_text())
    assert [r["source"] for r in report["replays"]] == ["old", "new"]
    assert _refusals({"replays": report["replays"][1:]})[0][2] == "EINVAL"


def test_cli_restore_exit_0_without_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path, "old", basic_host())
    assert cli.main(["--restore", str(old)], hypervisor=FakeKvm(basic_host())) == 0
    assert json.loads(capsys.readouterr().out)["refused"] is False


def test_cli_restore_of_a_non_dump_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["--restore", str(bad)], hypervisor=FakeKvm(basic_host())) == 2
    assert "not a probe dump" in capsys.readouterr().err
