"""Dump building from fake ioctl answers: registers, errnos, PSCI, bitmaps, workarounds, implementation ids, run."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from abi_check.probe import regs
from abi_check.probe.dump import build_dump
from abi_check.probe.provenance import provenance

from .fake import FPSR, PMCR_EL0, V0, ZREG0, FakeKvm, basic_host

Json = dict[str, Any]


@pytest.fixture
def dump() -> Json:
    return build_dump(FakeKvm(basic_host()), provenance())


def _vcpu(dump: Json, name: str) -> Json:
    found: Json = next(v for v in dump["vcpus"] if v["name"] == name)
    return found


def _reg(vcpu: Json, reg: int) -> Json:
    found: Json = next(r for r in vcpu["registers"] if r["id"] == regs.hexid(reg))
    return found


def test_registers_in_list_order_with_values_sizes_and_errnos(dump: Json) -> None:
    main = _vcpu(dump, "psci-0.2")
    assert main["register_count"] == len(basic_host().registers) == len(main["registers"])
    assert _reg(main, regs.MIDR_EL1)["value"] == "0x00000000410fd0c1"
    assert _reg(main, V0) | {} == {"id": regs.hexid(V0), "name": "V0", "size": 16,
                                   "value": f"0x{1 << 100:032x}", "errno": None}
    assert _reg(main, FPSR)["value"] is None
    assert _reg(main, FPSR)["errno"] == "EPERM"


def test_feature_sets_list_their_registers_and_sve_is_finalized() -> None:
    fake = FakeKvm(basic_host())
    dump = build_dump(fake, provenance())
    assert regs.hexid(PMCR_EL0) in {r["id"] for r in _vcpu(dump, "psci-0.2+pmu-v3")["registers"]}
    assert regs.hexid(PMCR_EL0) not in {r["id"] for r in _vcpu(dump, "psci-0.2")["registers"]}
    sve = _vcpu(dump, "psci-0.2+sve")
    assert _reg(sve, ZREG0)["size"] == 256
    assert any(vcpu.finalized for vm in fake.vms for vcpu in vm.vcpus if 4 in vcpu.features)


def test_unsupported_feature_sets_name_the_missing_cap_or_errno(dump: Json) -> None:
    ptrauth = _vcpu(dump, "psci-0.2+ptrauth")
    assert ptrauth["supported"] is False
    assert ptrauth["missing_caps"] == ["KVM_CAP_ARM_PTRAUTH_ADDRESS", "KVM_CAP_ARM_PTRAUTH_GENERIC"]
    host = basic_host()
    host.caps |= {"KVM_CAP_ARM_PTRAUTH_ADDRESS": 1, "KVM_CAP_ARM_PTRAUTH_GENERIC": 1}
    ptrauth = _vcpu(build_dump(FakeKvm(host), provenance()), "psci-0.2+ptrauth")
    assert ptrauth["supported"] is False
    assert ptrauth["init_errno"] == "EINVAL"


def test_psci_versions_accepted_and_psci_0_1(dump: Json) -> None:
    psci = _vcpu(dump, "psci-0.2")["psci"]
    assert psci["default"] == "0x0000000000010001"
    assert {t["version"]: t["accepted"] for t in psci["tries"]} == {
        "0.1": False, "0.2": True, "1.0": True, "1.1": True, "1.2": False, "1.3": False}
    assert psci["restore_errno"] is None
    legacy = _vcpu(dump, "psci-0.1")["psci"]
    assert legacy["default"] == "0x0000000000000001"
    assert [t["version"] for t in legacy["tries"] if t["accepted"]] == ["0.1"]


def test_bitmap_bits_and_restore(dump: Json) -> None:
    bitmaps = {b["name"]: b for b in _vcpu(dump, "psci-0.2")["bitmaps"]}
    assert set(bitmaps) == {"KVM_REG_ARM_STD_BMAP", "KVM_REG_ARM_STD_HYP_BMAP", "KVM_REG_ARM_VENDOR_HYP_BMAP"}
    vendor = bitmaps["KVM_REG_ARM_VENDOR_HYP_BMAP"]
    assert vendor["default"] == "0x0000000000000003"
    assert vendor["accepted_bits"] == [0, 1]
    assert vendor["refused_errno"] == "EINVAL"
    assert vendor["zero"]["accepted"] is True


def test_workaround_levels_and_writes(dump: Json) -> None:
    was = {w["name"]: w for w in _vcpu(dump, "psci-0.2")["workarounds"]}
    wa1 = was["KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1"]
    assert wa1["host_level"] == 2
    assert wa1["writes"][0] == {"value": "0x0000000000000000", "accepted": True, "errno": None,
                                "read_back": "0x0000000000000002"}


def test_implementation_id_needs_the_cap() -> None:
    host = basic_host()
    dump = build_dump(FakeKvm(host), provenance())
    assert [r["errno"] for r in _vcpu(dump, "psci-0.2")["implementation_id"]] == ["EINVAL"] * 3
    assert dump["writable_implementation_id"]["enable_errno"] == "EINVAL"
    host.caps["KVM_CAP_ARM_WRITABLE_IMP_ID_REGS"] = 1
    dump = build_dump(FakeKvm(host), provenance())
    imp = dump["writable_implementation_id"]
    assert imp["enable_errno"] is None
    assert [(r["name"], r["accepted"], r["read_back"]) for r in imp["registers"]] == [
        ("MIDR_EL1", True, "0x00000000410fd0c0"), ("REVIDR_EL1", True, "0x0000000000000001"),
        ("AIDR_EL1", True, "0x0000000000000001")]


def test_after_run_a_different_bitmap_is_busy(dump: Json) -> None:
    after = dump["after_run"]
    assert after["exit_reason"] == "MMIO"
    writes = {w["name"]: w for w in after["writes"]}
    assert writes["KVM_REG_ARM_STD_BMAP"]["same"]["accepted"] is True
    assert writes["KVM_REG_ARM_STD_BMAP"]["different"]["errno"] == "EBUSY"


def test_kvm_facts_and_writable_masks(dump: Json) -> None:
    assert dump["kvm"]["api_version"] == 12
    assert dump["kvm"]["ipa_size"] == 48
    caps = {c["name"]: c["value"] for c in dump["kvm"]["capabilities"]}
    assert caps["KVM_CAP_ARM_SVE"] == 1
    assert caps["KVM_CAP_ARM_WRITABLE_IMP_ID_REGS"] == 0
    assert dump["writable_masks"] == [{"id": regs.hexid(regs.AIDR_EL1), "name": "AIDR_EL1",
                                       "mask": "0x000000000000ffff"}]


def test_synthetic_dump_matches_the_schema(dump: Json, dump_schema: Json) -> None:
    jsonschema.validate(dump, dump_schema, format_checker=jsonschema.FormatChecker())


def test_schema_rejects_a_bad_register_id(dump: Json, dump_schema: Json) -> None:
    _vcpu(dump, "psci-0.2")["registers"][0]["id"] = "MIDR_EL1"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dump, dump_schema)


def test_real_lab_dumps_match_the_schema(dump_schema: Json) -> None:
    """The dumps a lab run left in lab/out/dumps (skipped when the lab has not run in this clone)."""
    from .conftest import REPO

    paths = sorted((REPO / "lab" / "out" / "dumps").glob("*.json"))
    if not paths:
        pytest.skip("no lab dumps: run python3 lab/run.py")
    for path in paths:
        jsonschema.validate(json.loads(path.read_text()), dump_schema, format_checker=jsonschema.FormatChecker())
