"""Host consistency: id-overrides KVM refuses at vCPU init, or a PSCI version the kernel lacks, are input errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from abi_check.abi.effective import effective_abi
from abi_check.errors import InputErrors
from abi_check.resources import catalogue_dir
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader


def load(tmp_path: Path, kernel: str, overrides: str, cpu: str = "neoverse-v1") -> list[str]:
    """Messages of the errors of a host (cpu + kernel + qemu-10.2 with ``overrides``); [] when it loads."""
    (tmp_path / "qemu-model.yaml").write_text(
        "abi-check: 1\nkind: vmm\nname: qemu-model\nextends: qemu-10.2\nsource: test\n"
        f"id-overrides:\n  {overrides}\n",
        encoding="utf-8",
    )
    (tmp_path / "h.yaml").write_text(
        f"abi-check: 1\nkind: host\nname: h\nsource: test\nkernel: {kernel}\nvmm: qemu-model\ncpu: {cpu}\n",
        encoding="utf-8",
    )
    loader = SpecLoader(SpecRoots([tmp_path, catalogue_dir()]))
    try:
        effective_abi(loader.load_host(tmp_path / "h.yaml"))
    except InputErrors as exc:
        return [e.message for e in exc.errors]
    return []


def test_lowering_a_writable_lower_safe_field_on_6_7_is_accepted(tmp_path: Path) -> None:
    # Neoverse-V1 has ISAR0.RNDR = 1; lowering it to 0 is what a CPU model does.
    assert load(tmp_path, "linux-6.12", "ID_AA64ISAR0_EL1: {RNDR: 0}") == []


def test_an_override_equal_to_the_host_value_is_accepted_on_any_kernel(tmp_path: Path) -> None:
    assert load(tmp_path, "linux-6.6", "ID_AA64ISAR0_EL1: {RNDR: 1}") == []


@pytest.mark.parametrize(
    ("kernel", "overrides", "why"),
    [
        ("linux-6.6", "ID_AA64ISAR0_EL1: {RNDR: 0}", "has no writable ID registers"),
        ("linux-6.12", "ID_AA64PFR0_EL1: {RAS: 1}", "outside the writable mask of kernel linux-6.12"),
        ("linux-6.6", "ID_AA64PFR0_EL1: {DIT: 0}", "has no writable ID registers"),
        ("linux-6.12", "ID_AA64ISAR0_EL1: {TLB: 3}", "lower-safe and 3 is not safe against 0"),
        ("linux-6.12", "ID_AA64PFR0_EL1: {SVE: 1}", "outside the writable mask"),  # hidden without the SVE feature
        ("linux-6.12", "ID_AA64ISAR0_EL1: {RNG: 0}", "does not describe"),
    ],
)
def test_overrides_kvm_refuses_make_the_host_an_input_error(
    tmp_path: Path, kernel: str, overrides: str, why: str
) -> None:
    errors = load(tmp_path, kernel, overrides)
    assert len(errors) == 1 and why in errors[0], errors


def test_dit_becomes_writable_in_6_15(tmp_path: Path) -> None:
    assert load(tmp_path, "linux-6.15", "ID_AA64PFR0_EL1: {DIT: 0}") == []


def test_a_pinned_psci_version_the_kernel_does_not_implement_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "qemu-psci.yaml").write_text(
        'abi-check: 1\nkind: vmm\nname: qemu-psci\nextends: qemu-10.2\nsource: test\nwrites:\n  PSCI_VERSION: "1.3"\n',
        encoding="utf-8",
    )
    for kernel, ok in (("linux-6.12", False), ("linux-6.13", True)):
        (tmp_path / "h.yaml").write_text(
            f"abi-check: 1\nkind: host\nname: h\nsource: test\nkernel: {kernel}\nvmm: qemu-psci\ncpu: neoverse-n1\n",
            encoding="utf-8",
        )
        loader = SpecLoader(SpecRoots([tmp_path, catalogue_dir()]))
        try:
            loader.load_host(tmp_path / "h.yaml")
            errors: list[str] = []
        except InputErrors as exc:
            errors = [e.message for e in exc.errors]
        assert errors == ([] if ok else [
            "qemu-psci pins PSCI_VERSION to 1.3, which kernel linux-6.12 does not implement (host h)"])


def test_the_fields_that_differ_are_those_whose_decoded_values_differ() -> None:
    """``IdRegister.differing`` compares bits (fast); it must name exactly the fields whose decoded values, as
    the kernel compares them (signed fields sign-extended), differ: every ID layout of a shipped kernel."""
    import random

    from abi_check.spec.catalogue import SpecRoots as Roots

    loader = SpecLoader(Roots([catalogue_dir()]))
    layouts = [reg for name in ("linux-6.6", "linux-7.2")
               for reg in loader.load(catalogue_dir() / "kernels" / f"{name}.yaml").id_registers.values()]
    assert any(f.signed for layout in layouts for f in layout.fields)
    rnd = random.Random(7)
    for layout in layouts:
        for _ in range(200):
            a = rnd.getrandbits(64)
            b = a ^ (rnd.getrandbits(64) & rnd.getrandbits(64) & rnd.getrandbits(64))  # a few bits apart
            expected = [f.name for f in layout.fields if f.get(a) != f.get(b)]
            assert layout.differing(a, b) == expected
            assert layout.differing(a, a) == []
