"""``abi-check pair`` on real catalogue hosts: the verdicts the product promises, exit codes, formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from abi_check.rules.engine import check_pair
from tests.conftest import host_path

ROOT = Path(__file__).resolve().parent.parent
RESULT_SCHEMA = json.loads((ROOT / "docs" / "schema" / "result.schema.json").read_text())


def rules_fired(rules, view, src: str, dst: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for f in check_pair(rules, view(src), view(dst)):
        out.setdefault(f.rule, []).append(f.subject)
    return out


def test_rollback_6_15_to_6_12_fails_on_vendor_hyp_bmap_2(rules, view) -> None:  # type: ignore[no-untyped-def]
    fired = rules_fired(rules, view, "n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2")
    assert fired["bitmap-register-unknown"] == ["VENDOR_HYP_BMAP_2"]


def test_hidden_vendor_hyp_bmap_2_with_value_zero_passes_that_rule(rules, view) -> None:  # type: ignore[no-untyped-def]
    fired = rules_fired(rules, view, "n1-linux-6.15-qemu-10.2-x-mig-regs", "n1-linux-6.12-qemu-10.2-x-mig-regs")
    assert "bitmap-register-unknown" not in fired
    assert "bitmap-hidden-nonzero" not in fired  # hidden, and its value is 0
    assert "register-unknown-on-dst" not in fired


def test_n1_to_v1_on_6_6_fails_on_midr(rules, view) -> None:  # type: ignore[no-untyped-def]
    findings = check_pair(rules, view("n1-linux-6.6-qemu-10.2"), view("v1-linux-6.6-qemu-10.2"))
    midr = [f for f in findings if f.rule == "impl-id-mismatch"]
    assert [f.subject for f in midr] == ["MIDR_EL1", "REVIDR_EL1"]  # Graviton2 REVIDR 0xff, Graviton3 0x1
    assert midr[0].severity.value == "error"
    assert "0x413fd0c1" in midr[0].message and "0x411fd401" in midr[0].message


def test_psci_default_1_3_cannot_roll_back_to_6_12(rules, view) -> None:  # type: ignore[no-untyped-def]
    findings = check_pair(rules, view("n1-linux-6.13-qemu-10.2"), view("n1-linux-6.12-qemu-10.2"))
    psci = [f for f in findings if f.rule == "psci-not-implemented"]
    assert len(psci) == 1 and "PSCI 1.3" in psci[0].message
    assert psci[0].span is not None and psci[0].span.path.endswith("linux-6.13.yaml")


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("n1-linux-5.10-qemu-8.2", "n1-linux-6.1-qemu-8.2"),
        ("n1-linux-6.1-qemu-8.2", "n1-linux-5.10-qemu-8.2"),
    ],
)
def test_default_bitmaps_warn_when_defaults_differ(rules, view, src: str, dst: str) -> None:  # type: ignore[no-untyped-def]
    findings = [f for f in check_pair(rules, view(src), view(dst)) if f.rule == "bitmap-implicit-default"]
    assert findings and all(f.severity.value == "warning" for f in findings)
    assert all("write the bitmap explicitly" in f.fix for f in findings)


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("n1-linux-6.12-qemu-10.2", "n1-linux-6.13-qemu-10.2"),
        # VENDOR_HYP_BMAP_2 defaults to 0 and a kernel without it offers no DISCOVER_IMPL either: no change.
        ("n1-linux-6.15-qemu-10.2", "n1-linux-6.12-qemu-10.2"),
        # 5.15 offers TRNG, PV_TIME, FUNC_FEAT and PTP without the bitmaps (implicit-services); 6.6's defaults are
        # the same services: no change.
        ("a72-linux-5.15-firecracker-1.8", "n2-linux-6.6-cloud-hypervisor-51"),
    ],
)
def test_default_bitmaps_quiet_when_defaults_agree(rules, view, src: str, dst: str) -> None:  # type: ignore[no-untyped-def]
    findings = check_pair(rules, view(src), view(dst))
    assert not [f for f in findings if f.rule == "bitmap-implicit-default"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_exit_codes_follow_the_bitmask() -> None:
    # Rolling back 6.1 -> 5.10: the bitmaps are unknown there (errors) and left at their defaults (warnings).
    rollback = [str(host_path("n1-linux-6.1-qemu-8.2")), str(host_path("n1-linux-5.10-qemu-8.2"))]
    fails = run("pair", *rollback)
    assert fails.returncode == 8 | 4, fails.stderr
    assert run("pair", "--fail-on", "error", *rollback).returncode == 8
    assert run("pair", "--fail-on", "never", *rollback).returncode == 0
    # 5.10 -> 6.1 on Graviton2 fails: ID_AA64DFR0_EL1.PMSVer is 1 on 5.10.255 and hidden on 6.1.172 (fingerprints).
    upgrade = [str(host_path("n1-linux-5.10-qemu-8.2")), str(host_path("n1-linux-6.1-qemu-8.2"))]
    assert run("pair", *upgrade).returncode == 8 | 4
    same = run("pair", str(host_path("n1-linux-6.6-qemu-10.2")), str(host_path("n1-linux-6.6-qemu-10.2")))
    assert same.returncode == 0
    assert "compatible" in same.stdout


def test_cli_json_matches_the_published_schema_and_both_directions() -> None:
    out = run("pair", "--both", "--format", "json", str(host_path("n1-linux-6.12-qemu-10.2")),
              str(host_path("n1-linux-6.13-qemu-10.2")))
    data = json.loads(out.stdout)
    jsonschema.validate(data, RESULT_SCHEMA)
    assert [(p["source"], p["destination"]) for p in data["pairs"]] == [
        ("n1-linux-6.12-qemu-10.2", "n1-linux-6.13-qemu-10.2"),
        ("n1-linux-6.13-qemu-10.2", "n1-linux-6.12-qemu-10.2"),
    ]
    upgrade, rollback = data["pairs"]
    assert upgrade["verdict"] == "fails"  # TCR2_EL1 & co. are not listed on 6.13 for Neoverse-N1
    assert {f["rule"] for f in upgrade["findings"]} >= {"register-unknown-on-dst", "register-count-exceeds"}
    assert rollback["verdict"] == "fails"
    assert "psci-not-implemented" in {f["rule"] for f in rollback["findings"]}


def test_cli_output_file_and_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    out = run("pair", "-f", "json", "-o", str(target), str(host_path("n1-linux-6.6-qemu-10.2")),
              str(host_path("n1-linux-6.6-qemu-10.2")))
    assert out.returncode == 0 and out.stdout == ""
    assert json.loads(target.read_text())["summary"] == {"error": 0, "warning": 0, "note": 0}
    kernel = ROOT / "specs" / "kernels" / "linux-6.6.yaml"
    bad = run("pair", str(kernel), str(host_path("n1-linux-6.6-qemu-10.2")))
    assert bad.returncode == 2
    assert "linux-6.6 is a kernel spec, expected a host spec" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_explain_prints_documentation_and_a_live_example() -> None:
    out = run("explain", "bitmap-register-unknown")
    assert out.returncode == 0
    assert "VENDOR_HYP_BMAP_2" in out.stdout and "reports:" in out.stdout
    unknown = run("explain", "bitmap-register-unknwn")
    assert unknown.returncode == 2 and "did you mean 'bitmap-register-unknown'" in unknown.stderr
