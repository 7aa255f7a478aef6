"""The silicon fleets run beside the Graviton cores: Ampere Altra, NVIDIA Grace, AmpereOne. Their values change
verdicts, and errata and Spectre-BHB levels follow the MIDR value the guest learns, not the spec's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from abi_check.abi.effective import EffectiveAbi, effective_abi
from abi_check.abi.views import HostView
from abi_check.resources import catalogue_dir
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.spec import registers as regs
from abi_check.spec.catalogue import SpecRoots
from abi_check.spec.loader import SpecLoader

WA3 = regs.register_id("SMCCC_ARCH_WORKAROUND_3")
SILICON = ["ampere-altra", "nvidia-grace", "ampere-1", "ampere-1a"]


def host(tmp_path: Path, name: str, kernel: str, cpu: str, vmm: str = "qemu-10.2") -> EffectiveAbi:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"abi-check: 1\nkind: host\nname: {name}\nsource: test\nkernel: {kernel}\nvmm: {vmm}\ncpu: {cpu}\n",
                    encoding="utf-8")
    return effective_abi(SpecLoader(SpecRoots([tmp_path, catalogue_dir()])).load_host(path))


def findings(rules: RuleSet, src: EffectiveAbi, dst: EffectiveAbi) -> list[tuple[str, str]]:
    return sorted((f.rule, f.subject) for f in check_pair(rules, HostView(src), HostView(dst)))


def write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("cpu", SILICON)
@pytest.mark.parametrize("kernel", ["linux-5.19", "linux-6.6", "linux-6.12", "linux-6.15"])
def test_a_silicon_host_compared_with_itself_reports_nothing(tmp_path: Path, rules: RuleSet, kernel: str,
                                                             cpu: str) -> None:
    abi = host(tmp_path, "h", kernel, cpu)
    assert findings(rules, abi, abi) == []


def test_graviton4_and_grace_differ_on_midr_and_isar0(tmp_path: Path, rules: RuleSet) -> None:
    # Both are Neoverse-V2: r0p1 (0x410fd4f1) on Graviton4, r0p0 (0x410fd4f0) on Grace. Graviton4 has RNDR, Grace
    # has SM3 and SM4: ID_AA64ISAR0_EL1 is writable from 6.7, lower-safe, so a field a guest saw at 1 cannot be
    # given back where the host has 0. Grace's REVIDR is not known, so it is not compared.
    g4, grace = host(tmp_path, "g4", "linux-6.12", "neoverse-v2"), host(tmp_path, "grace", "linux-6.12", "nvidia-grace")
    assert findings(rules, g4, grace) == [("id-field-unreproducible", "ID_AA64ISAR0_EL1.RNDR"),
                                          ("impl-id-mismatch", "MIDR_EL1")]
    assert findings(rules, grace, g4) == [("id-field-unreproducible", "ID_AA64ISAR0_EL1.SM3"),
                                          ("id-field-unreproducible", "ID_AA64ISAR0_EL1.SM4"),
                                          ("impl-id-mismatch", "MIDR_EL1")]


def test_graviton2_and_altra_differ_on_revidr_and_ctr_dic(tmp_path: Path, rules: RuleSet) -> None:
    # One core (N1 r3p1, the same MIDR), two implementations: REVIDR 0xff vs 0x1c7, and Altra has CTR_EL0.DIC 0.
    for kernel, ctr in (("linux-6.6", ("invariant-register-mismatch", "CTR_EL0")),
                        ("linux-6.12", ("id-field-unreproducible", "CTR_EL0.DIC"))):
        g2, altra = host(tmp_path, "g2", kernel, "neoverse-n1"), host(tmp_path, "altra", kernel, "ampere-altra")
        assert findings(rules, g2, altra) == sorted([ctr, ("impl-id-mismatch", "REVIDR_EL1")]), kernel
    # DIC 0 -> 1 is safe from 6.11 (lower-safe): only REVIDR stays.
    g2, altra = host(tmp_path, "g2", "linux-6.12", "neoverse-n1"), host(tmp_path, "altra", "linux-6.12", "ampere-altra")
    assert findings(rules, altra, g2) == [("impl-id-mismatch", "REVIDR_EL1")]


def test_altra_lacks_graviton2s_dic_erratum(tmp_path: Path) -> None:
    # Erratum 1542419 needs CTR_EL0.DIC (has_neoverse_n1_erratum_1542419); a real Altra reads DIC 0.
    altra = host(tmp_path, "altra", "linux-6.12", "ampere-altra").cpu
    graviton2 = host(tmp_path, "g2", "linux-6.12", "neoverse-n1").cpu
    ctr = regs.register_id("CTR_EL0")
    assert (altra.value(ctr) >> 29) & 1 == 0 and (graviton2.value(ctr) >> 29) & 1 == 1
    assert "1542419" in graviton2.errata and "1542419" not in altra.errata
    assert altra.value(regs.register_id("MIDR_EL1")) == graviton2.value(regs.register_id("MIDR_EL1"))


def test_the_bhb_cpu_levels_match_ampereone_by_midr_value_not_by_name(tmp_path: Path) -> None:
    # linux-5.19's cpu-levels names the AmpereOne model 0xc00fac30 (no Spectre-BHB list before 6.1): a spec of
    # another name and another variant/revision of that part gets NOT_REQUIRED too; AC04 (part 0xac4) does not.
    write(tmp_path, "fleet-ampereone", "abi-check: 1\nkind: cpu\nname: fleet-ampereone\nextends: ampere-1\n"
                                       "source: test\nregisters:\n  MIDR_EL1: 0xc01fac31\n")
    levels = {cpu: host(tmp_path, "h", "linux-5.19", cpu).host_levels[WA3].value
              for cpu in ("ampere-1", "fleet-ampereone", "ampere-1a", "ampere-altra", "nvidia-grace")}
    # ampere-1a: an unknown state, NOT_AVAIL; Altra: the N1 k24 loop, AVAIL; Grace: a V2 in no pre-2025 list.
    assert levels == {"ampere-1": 2, "fleet-ampereone": 2, "ampere-1a": 0, "ampere-altra": 1, "nvidia-grace": 2}
    later = {cpu: host(tmp_path, "h", "linux-6.15", cpu).host_levels[WA3].value
             for cpu in ("ampere-1", "fleet-ampereone", "nvidia-grace")}
    assert later == {"ampere-1": 1, "fleet-ampereone": 1, "nvidia-grace": 1}


def _imp_id_vmm(tmp_path: Path, targets: list[str]) -> None:
    write(tmp_path, "q", "abi-check: 1\nkind: vmm\nname: q\nextends: qemu-10.2\nsource: test\n"
                         f"implementation-id:\n  writable: true\n  targets: [{', '.join(targets)}]\n"
                         "writes:\n  VENDOR_HYP_BMAP_2: [DISCOVER_IMPL_VER, DISCOVER_IMPL_CPUS]\n")


@pytest.mark.parametrize(("announced", "dst", "fires"), [
    ("neoverse-n1", "ampere-altra", True),      # the same MIDR, another REVIDR: another implementation
    ("ampere-altra", "ampere-altra", False),
    ("neoverse-v2", "nvidia-grace", True),      # V2 r0p1 announced, r0p0 met
    ("nvidia-grace", "nvidia-grace", False),
])
def test_errata_targets_match_silicon_by_value(tmp_path: Path, rules: RuleSet, announced: str, dst: str,
                                               fires: bool) -> None:
    _imp_id_vmm(tmp_path, [announced])
    src_abi = host(tmp_path, "s", "linux-6.15", announced, vmm="q")
    dst_abi = host(tmp_path, "d", "linux-6.15", dst, vmm="q")
    found = [f for f in check_pair(rules, HostView(src_abi), HostView(dst_abi), only=["impl-id-errata-target"])]
    assert bool(found) is fires, found
    if fires:
        assert found[0].subject == dst
