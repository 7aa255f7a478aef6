"""Domain facts KVM enforces when a kernel, VMM and CPU meet: WORKAROUND writes, PSCI 0.1, vCPU features."""

from __future__ import annotations

from pathlib import Path

from abi_check.abi.effective import EffectiveAbi, effective_abi
from abi_check.errors import InputErrors
from abi_check.resources import catalogue_dir
from abi_check.spec import registers as regs
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

WA1 = regs.register_id("SMCCC_ARCH_WORKAROUND_1")
WA2 = regs.register_id("SMCCC_ARCH_WORKAROUND_2")
PSCI = regs.register_id("PSCI_VERSION")


def host(tmp_path: Path, kernel: str, cpu: str, vmm: str) -> EffectiveAbi | list[str]:
    """The effective ABI of cpu + kernel + a VMM extending qemu-10.2 with ``vmm`` (YAML lines), or its errors."""
    (tmp_path / "v.yaml").write_text(
        f"abi-check: 1\nkind: vmm\nname: v\nextends: qemu-10.2\nsource: test\n{vmm}\n", encoding="utf-8"
    )
    (tmp_path / "h.yaml").write_text(
        f"abi-check: 1\nkind: host\nname: h\nsource: test\nkernel: {kernel}\nvmm: v\ncpu: {cpu}\n", encoding="utf-8"
    )
    try:
        return effective_abi(SpecLoader(SpecRoots([tmp_path, catalogue_dir()])).load_host(tmp_path / "h.yaml"))
    except InputErrors as exc:
        return [e.message for e in exc.errors]


def test_a_workaround_write_stores_nothing(tmp_path: Path) -> None:
    # A real 6.1 KVM: WORKAROUND_1 = 0 is accepted and reads back the host's level 2 (NOT_REQUIRED).
    abi = host(tmp_path, "linux-6.1", "neoverse-n1", "writes:\n  SMCCC_ARCH_WORKAROUND_1: NOT_AVAIL")
    assert isinstance(abi, EffectiveAbi), abi
    assert abi.value(WA1) == 2 and WA1 not in abi.explicit


def test_a_workaround_write_above_the_host_level_is_an_input_error(tmp_path: Path) -> None:
    # Cortex-A72 needs the firmware mitigation: its WORKAROUND_1 level is AVAIL (1).
    errors = host(tmp_path, "linux-6.1", "cortex-a72", "writes:\n  SMCCC_ARCH_WORKAROUND_1: NOT_REQUIRED")
    assert isinstance(errors, list) and len(errors) == 1 and "refuses" in errors[0], errors


def test_workaround_2_at_host_level_not_avail_accepts_only_not_avail_and_unknown(tmp_path: Path) -> None:
    # Lab, 6.1/6.12/7.2 at host level 0: writes of 0 and 1 accepted; 2, 3 and 0x12 are EINVAL.
    for level, ok in (("NOT_AVAIL", True), ("UNKNOWN", True), ("AVAIL", False), ("NOT_REQUIRED", False),
                      ("AVAIL_ENABLED", False)):
        result = host(tmp_path, "linux-6.12", "neoverse-n1", f"writes:\n  SMCCC_ARCH_WORKAROUND_2: {level}")
        assert isinstance(result, EffectiveAbi) is ok, (level, result)
        if isinstance(result, EffectiveAbi):
            assert result.value(WA2) == 0


def test_workaround_2_enabled_bit_is_kept_only_before_5_10(tmp_path: Path) -> None:
    # 5.3-5.9 stored the ENABLED bit with AVAIL (an SSBS CPU reports AVAIL there).
    abi = host(tmp_path, "linux-5.3", "neoverse-n1", "writes:\n  SMCCC_ARCH_WORKAROUND_2: AVAIL_ENABLED")
    assert isinstance(abi, EffectiveAbi), abi
    assert abi.value(WA2) == 0x12


def test_a_vcpu_without_psci_0_2_has_psci_0_1(tmp_path: Path) -> None:
    abi = host(tmp_path, "linux-6.13", "neoverse-n1", "vcpu-features: [PMU_V3]")
    assert isinstance(abi, EffectiveAbi), abi
    assert abi.value(PSCI) == 0x1


def test_a_vcpu_feature_the_cpu_lacks_is_an_input_error(tmp_path: Path) -> None:
    # Neoverse-N1 has no SVE and no pointer authentication: KVM_ARM_VCPU_INIT fails.
    for features, why in (("[PSCI_0_2, SVE]", "SVE"), ("[PSCI_0_2, PTRAUTH_ADDRESS, PTRAUTH_GENERIC]", "pointer")):
        errors = host(tmp_path, "linux-6.12", "neoverse-n1", f"vcpu-features: {features}")
        assert isinstance(errors, list) and errors and all(why in e for e in errors), errors
    assert isinstance(host(tmp_path, "linux-6.12", "neoverse-v1", "vcpu-features: [PSCI_0_2, SVE]"), EffectiveAbi)


def test_pointer_authentication_needs_both_features(tmp_path: Path) -> None:
    errors = host(tmp_path, "linux-6.12", "neoverse-v1", "vcpu-features: [PSCI_0_2, PTRAUTH_ADDRESS]")
    assert isinstance(errors, list) and len(errors) == 1 and "both" in errors[0], errors


def test_a_hidden_nonzero_bitmap_says_the_loss_shows_at_the_next_boot() -> None:
    import subprocess
    import sys

    case = Path(__file__).resolve().parent / "rules" / "bitmap-hidden-nonzero" / "fires"
    done = subprocess.run([sys.executable, "-m", "abi_check", "pair", str(case / "src.yaml"), str(case / "dst.yaml"),
                           "--fail-on", "never"], capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if "bitmap-hidden-nonzero" in x)
    assert "keeps it" in line and "next boot" in line, line


def pair_subjects(tmp_path: Path, src: tuple[str, str], dst: tuple[str, str], rule: str) -> list[str]:
    """Subjects of ``rule``'s findings for (kernel, cpu) hosts with qemu-10.2."""
    import json
    import subprocess
    import sys

    for name, (kernel, cpu) in (("s", src), ("d", dst)):
        (tmp_path / f"{name}.yaml").write_text(
            f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\nvmm: qemu-10.2\ncpu: {cpu}\n",
            encoding="utf-8")
    args = ["pair", str(tmp_path / "s.yaml"), str(tmp_path / "d.yaml"), "--format", "json", "--fail-on", "never"]
    done = subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, timeout=120)
    found = json.loads(done.stdout)
    return sorted(f["subject"] for p in found["pairs"] for f in p["findings"] if f["rule"] == rule)


def test_ctr_el0_dic_idc_differences_are_reported_from_6_11(tmp_path: Path) -> None:
    # Graviton3 shows DIC = IDC = 1; a Cortex-A72 host has neither: lower-safe, so KVM refuses 1 over 0.
    subjects = pair_subjects(tmp_path, ("linux-6.12", "neoverse-v1"), ("linux-6.12", "cortex-a72"),
                             "id-field-unreproducible")
    assert {"CTR_EL0.DIC", "CTR_EL0.IDC"} <= set(subjects), subjects


def test_asidbits_is_writable_on_6_12_0_and_not_on_6_12_y(tmp_path: Path) -> None:
    # 03c7527e97f7 (6.13; in 6.12.y from 6.12.7; the 6.12.118 lab dump's mask clears bits 7:4).
    override = "id-overrides:\n  ID_AA64MMFR0_EL1: {ASIDBITS: 0}"
    assert isinstance(host(tmp_path, "linux-6.12", "neoverse-n1", override), EffectiveAbi)
    for kernel in ("linux-6.12.118", "linux-6.13"):
        errors = host(tmp_path, kernel, "neoverse-n1", override)
        assert isinstance(errors, list) and errors and "outside the writable mask" in errors[0], (kernel, errors)


WA3 = regs.register_id("SMCCC_ARCH_WORKAROUND_3")


def wa3_level(tmp_path: Path, kernel: str, cpu: str) -> int | None:
    abi = host(tmp_path, kernel, cpu, "")
    assert isinstance(abi, EffectiveAbi), abi
    level = abi.host_levels.get(WA3)
    return None if level is None else level.value


def test_stable_point_releases_carry_the_2025_spectre_bhb_rework(tmp_path: Path) -> None:
    # Neoverse-V2 (ECBHB) is in no pre-2025 list: NOT_REQUIRED (2) on each .0 release; the rework, backported to
    # 5.10.239, 5.15.181, 6.1.135, 6.6.88 and 6.12.24, makes it AVAIL (1), as real 5.10.255 and 6.1.172 hosts say.
    # 5.10.0 and 5.15.0 have no WORKAROUND_3 at all (5.10.105 and 5.15.28 added it).
    pairs = {"linux-5.10": "linux-5.10.255", "linux-5.15": "linux-5.15.209", "linux-6.1": "linux-6.1.192",
             "linux-6.6": "linux-6.6.139", "linux-6.12": "linux-6.12.118"}
    for line, point in pairs.items():
        before = None if line in ("linux-5.10", "linux-5.15") else 2
        assert (wa3_level(tmp_path, line, "neoverse-v2"), wa3_level(tmp_path, point, "neoverse-v2")) == (before, 1), \
            (line, point)
        assert wa3_level(tmp_path, point, "neoverse-n1") == 1  # a loop-list CPU is AVAIL before and after
    # So a Graviton4-like guest cannot move from 6.12.0 to the 6.12.y fleets run: 2 > 1 is refused.
    assert pair_subjects(tmp_path, ("linux-6.12", "neoverse-v2"), ("linux-6.12.118", "neoverse-v2"),
                         "workaround-level-above-dst") == ["SMCCC_ARCH_WORKAROUND_3"]


def test_workaround_3_of_a_5_15_y_guest_is_refused_by_5_15_0(tmp_path: Path) -> None:
    n1 = "neoverse-n1"
    assert pair_subjects(tmp_path, ("linux-5.15.209", n1), ("linux-5.15", n1), "register-unknown-on-dst") == [
        "SMCCC_ARCH_WORKAROUND_3"]
    assert pair_subjects(tmp_path, ("linux-5.15.209", n1), ("linux-5.19", n1), "register-unknown-on-dst") == []


def test_ecbhb_is_shown_to_guests_from_6_11_and_in_6_6_y(tmp_path: Path) -> None:
    # e8cde32f111f (6.11; 6.6.101): before it KVM hid ECBHB. Graviton4 (ECBHB = 1) guests on 6.6.0 and 6.6.139
    # see different ID_AA64MMFR1_EL1 values, and 6.6 has no writable ID registers.
    mmfr1 = regs.register_id("ID_AA64MMFR1_EL1")
    seen = {}
    for kernel in ("linux-6.6", "linux-6.6.139", "linux-6.12", "linux-6.1.172-amzn2023"):
        abi = host(tmp_path, kernel, "neoverse-v2", "")
        assert isinstance(abi, EffectiveAbi), abi
        seen[kernel] = abi.value(mmfr1) >> 60
    assert seen == {"linux-6.6": 0, "linux-6.6.139": 1, "linux-6.12": 1, "linux-6.1.172-amzn2023": 1}
    assert pair_subjects(tmp_path, ("linux-6.6.139", "neoverse-v2"), ("linux-6.6", "neoverse-v2"),
                         "id-register-not-writable") == ["ID_AA64MMFR1_EL1"]


def test_6_18_accepts_a_6_1_guest_view_with_hcx_0(tmp_path: Path) -> None:
    # Lab: the 6.1.192 dumps on QEMU max (HCX 0 for the guest) are refused by 6.12.118 (ID_AA64MMFR1_EL1 EINVAL) and
    # accepted by 6.18.15 (1a0b2bf6ff11 makes HCX writable).
    src = ("linux-6.1.192", "qemu-max")
    assert pair_subjects(tmp_path, src, ("linux-6.12.118", "qemu-max"), "id-field-unreproducible") == [
        "ID_AA64MMFR1_EL1.HCX"]
    assert pair_subjects(tmp_path, src, ("linux-6.18", "qemu-max"), "id-field-unreproducible") == []


def test_hypercall_services_before_the_bitmaps_are_not_a_change_at_5_19(tmp_path: Path) -> None:
    # PV_TIME (5.5), TRNG (5.12), FUNC_FEAT and PTP (5.13) were offered to every guest; 5.19 made them selectable
    # with the same services on by default, so 5.15 -> 5.19 gives the guest no new service.
    n1 = "neoverse-n1"
    for rule in ("bitmap-implicit-default", "register-new-nonzero-default", "hypercall-service-gained",
                 "hypercall-service-lost"):
        found = pair_subjects(tmp_path, ("linux-5.15", n1), ("linux-5.19", n1), rule)
        assert not any("BMAP" in s for s in found), (rule, found)
    # 5.10 had PV_TIME only: TRNG, FUNC_FEAT and PTP are new on 5.19.
    assert pair_subjects(tmp_path, ("linux-5.10", n1), ("linux-5.19", n1), "bitmap-implicit-default") == [
        "STD_BMAP", "VENDOR_HYP_BMAP"]
    # Between two kernels without the registers the VMM cannot choose: a gain is a note, a loss a warning.
    assert pair_subjects(tmp_path, ("linux-5.10", n1), ("linux-5.15", n1), "hypercall-service-gained") == [
        "STD_BMAP", "VENDOR_HYP_BMAP"]
    assert pair_subjects(tmp_path, ("linux-5.15", n1), ("linux-5.10", n1), "hypercall-service-lost") == [
        "STD_BMAP", "VENDOR_HYP_BMAP"]
    # The rollback still fails: KVM refuses a bitmap register it does not know.
    assert pair_subjects(tmp_path, ("linux-5.19", n1), ("linux-5.15", n1), "bitmap-register-unknown") == [
        "STD_BMAP", "STD_HYP_BMAP", "VENDOR_HYP_BMAP"]


def test_a_vmm_writing_every_bitmap_leaves_no_implicit_default(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "v.yaml").write_text(
        "abi-check: 1\nkind: vmm\nname: v\nextends: qemu-8.2\nsource: test\n"
        "writes:\n  STD_BMAP: []\n  STD_HYP_BMAP: []\n  VENDOR_HYP_BMAP: []\n", encoding="utf-8")
    for name, kernel in (("s", "linux-6.1"), ("d", "linux-5.10")):
        (tmp_path / f"{name}.yaml").write_text(
            f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\nvmm: v\ncpu: neoverse-n1\n",
            encoding="utf-8")
    args = ["pair", str(tmp_path / "s.yaml"), str(tmp_path / "d.yaml"), "--format", "json", "--fail-on", "never"]
    done = subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, timeout=120)
    found = json.loads(done.stdout)
    assert not [f for p in found["pairs"] for f in p["findings"] if f["rule"] == "bitmap-implicit-default"]


def test_implicit_services_of_a_bitmap_the_kernel_has_are_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: k\nextends: linux-5.19\nsource: test\n"
        "implicit-services:\n  STD_HYP_BMAP: [PV_TIME]\n", encoding="utf-8")
    errors = host(tmp_path, "k", "neoverse-n1", "")
    assert isinstance(errors, list) and any("STD_HYP_BMAP is a bitmap register of this kernel" in e for e in errors), \
        errors


def test_ampereone_joined_the_spectre_bhb_lists_in_6_1(tmp_path: Path) -> None:
    # Before 0e5d5ae837c8 AmpereOne was in no Spectre-BHB list: without a firmware WORKAROUND_3 a pre-rework kernel
    # calls it unaffected (NOT_REQUIRED, 2); from 6.1 it is in the k11 loop list (AVAIL, 1), as its CPU spec says.
    wa3 = regs.register_id("SMCCC_ARCH_WORKAROUND_3")
    levels = {}
    for kernel in ("linux-5.19", "linux-6.1", "linux-6.15"):
        abi = host(tmp_path, kernel, "ampere-1", "")
        assert isinstance(abi, EffectiveAbi), abi
        levels[kernel] = abi.host_levels[wa3].value
    assert levels == {"linux-5.19": 2, "linux-6.1": 1, "linux-6.15": 1}
    n1 = host(tmp_path, "linux-5.19", "neoverse-n1", "")  # a listed CPU keeps its state's level
    assert isinstance(n1, EffectiveAbi) and n1.host_levels[wa3].value == 1


def test_mpam_of_a_guest_saved_on_an_older_kernel_is_ignored_on_6_12_y(tmp_path: Path) -> None:
    # 6685f5d572c2 (6.13; 6.12.y and 6.6.67): KVM hides ID_AA64PFR0_EL1.MPAM and drops a VMM's write of the
    # host's own value, so a Neoverse-N2 guest saved on 6.6 (MPAM = 1) restores on 6.12.y.
    n2 = "neoverse-n2"
    assert pair_subjects(tmp_path, ("linux-6.6", n2), ("linux-6.12", n2), "id-field-unreproducible") == []
    # Only the host's value is dropped: MPAM = 1 over a host without MPAM (Neoverse-N1) is still refused.
    assert "ID_AA64PFR0_EL1.MPAM" in pair_subjects(tmp_path, ("linux-6.6", n2), ("linux-6.12", "neoverse-n1"),
                                                   "id-field-unreproducible")
    # A kernel that hides the field without ignoring the write (a kernel spec without ignores-write) refuses it.
    (tmp_path / "k.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: k\nextends: linux-6.12\nsource: test\n"
        "id-registers:\n  ID_AA64PFR0_EL1:\n    fields:\n      MPAM: {ignores-write: null}\n", encoding="utf-8")
    assert pair_subjects(tmp_path, ("linux-6.6", n2), ("k", n2), "id-field-unreproducible") == [
        "ID_AA64PFR0_EL1.MPAM"]


def test_mpam_ignored_on_a_kernel_without_writable_id_registers(tmp_path: Path) -> None:
    # 6.6.67 carries the backport: before 6.7 a restored ID register must equal KVM's value, except the dropped
    # MPAM field when it holds the host's own value.
    (tmp_path / "k.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: k\nextends: linux-6.6\nsource: test\nversion: \"6.6.67\"\n"
        "id-registers:\n  ID_AA64PFR0_EL1:\n    fields:\n      MPAM: {hidden: true, ignores-write: host-value}\n",
        encoding="utf-8")
    n2 = "neoverse-n2"
    assert "ID_AA64PFR0_EL1" not in pair_subjects(tmp_path, ("linux-6.6", n2), ("k", n2), "id-register-not-writable")
    assert "ID_AA64PFR0_EL1" in pair_subjects(tmp_path, ("linux-6.6", n2), ("k", "neoverse-n1"),
                                              "id-register-not-writable")


def test_ignores_write_takes_only_host_value(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text(
        "abi-check: 1\nkind: kernel\nname: k\nextends: linux-6.12\nsource: test\n"
        "id-registers:\n  ID_AA64PFR0_EL1:\n    fields:\n      MPAM: {ignores-write: any}\n", encoding="utf-8")
    errors = host(tmp_path, "k", "neoverse-n2", "")
    assert isinstance(errors, list) and any("'any' is not one of the allowed values" in e for e in errors), errors


def test_an_mpam_override_of_the_host_value_is_dropped(tmp_path: Path) -> None:
    # A VMM writing MPAM = 1 (Neoverse-N2's own value) at vCPU init: 6.12.y accepts the write and the guest
    # keeps 0; MPAM = 2 is refused (an input error).
    pfr0 = regs.register_id("ID_AA64PFR0_EL1")
    abi = host(tmp_path, "linux-6.12", "neoverse-n2", "id-overrides:\n  ID_AA64PFR0_EL1: {MPAM: 1}")
    assert isinstance(abi, EffectiveAbi), abi
    assert abi.value(pfr0) >> 40 & 0xF == 0
    errors = host(tmp_path, "linux-6.12", "neoverse-n2", "id-overrides:\n  ID_AA64PFR0_EL1: {MPAM: 2}")
    assert isinstance(errors, list) and "outside the writable mask" in errors[0], errors


def test_fields_7_2_makes_writable_are_described(tmp_path: Path) -> None:
    # The 7.2.13 lab dumps' writable masks: ID_AA64ZFR0_EL1 F16MM/EltPerm (named by the 6.14 sysreg update, so in
    # linux-6.15), ID_AA64PFR2_EL1 GCIE/MTEFAR/MTESTOREONLY and ID_AA64MMFR3_EL1 SCTLRX (linux-7.2).
    fields = {"linux-6.15": [("ID_AA64ZFR0_EL1", "F16MM"), ("ID_AA64ZFR0_EL1", "EltPerm")],
              "linux-7.2": [("ID_AA64PFR2_EL1", "GCIE"), ("ID_AA64PFR2_EL1", "MTEFAR"),
                            ("ID_AA64PFR2_EL1", "MTESTOREONLY"), ("ID_AA64MMFR3_EL1", "SCTLRX")]}
    described = {}
    for kernel in ("linux-6.12", "linux-6.15", "linux-7.2"):
        abi = host(tmp_path, kernel, "neoverse-v2", "")
        assert isinstance(abi, EffectiveAbi), abi
        described[kernel] = {(reg, name) for reg, name in fields["linux-6.15"] + fields["linux-7.2"]
                             if (f := abi.id_field(regs.register_id(reg), name)) is not None and f.writable}
    assert described == {"linux-6.12": set(), "linux-6.15": set(fields["linux-6.15"]),
                         "linux-7.2": set(fields["linux-6.15"] + fields["linux-7.2"])}
