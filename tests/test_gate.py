"""``abi-check gate`` on throw-away git repositories: what a change introduces, located on the YAML line."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from abi_check.cli import _app
from abi_check.commands.gate.gitref import fetch_hint
from tests.test_reporters import RESULT_SCHEMA, sarif_errors

KERNEL = """abi-check: 1
kind: kernel
name: linux-6.16
extends: linux-6.15
version: "6.16"
source: "test fixture: a kernel after 6.15"
"""
NEW_BIT_ON = """bitmaps:
  VENDOR_HYP_BMAP_2:
    bits:
      NEW_SVC: 2
    defaults: [NEW_SVC]
"""
NEW_BIT_OFF = NEW_BIT_ON.replace("defaults: [NEW_SVC]", "defaults: []")
HOST = """abi-check: 1
kind: host
name: {name}
source: "test fixture"
kernel: {kernel}
vmm: qemu-10.2
cpu: neoverse-n1
vcpus: 16
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return done.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def gate(*args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(_app(), ["gate", *args])
    return out.exit_code, out.stdout, out.stderr


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with a kernel after 6.15, a host on it, and fail-on: error in its configuration."""
    root = repo(tmp_path / "repo", {
        ".abi-check.yaml": "spec-roots: [specs]\nfail-on: error\n",
        "specs/kernels/linux-6.16.yaml": KERNEL,
        "specs/hosts/n1-linux-6.16-qemu-10.2.yaml": HOST.format(name="n1-linux-6.16-qemu-10.2", kernel="linux-6.16"),
    })
    monkeypatch.chdir(root)
    return root


def test_default_on_bit_fails_opt_in_passes_waiver_accepts_and_expiry_fails_again(fleet: Path) -> None:
    kernel = fleet / "specs" / "kernels" / "linux-6.16.yaml"
    kernel.write_text(KERNEL + NEW_BIT_ON)
    code, out, err = gate("--against", "HEAD", "-f", "json")
    assert code == 8, err
    data = json.loads(out)
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["gate"]["changed"] == [{"path": "specs/kernels/linux-6.16.yaml", "status": "modified"}]
    assert data["gate"]["affected-hosts"] == ["n1-linux-6.16-qemu-10.2"]
    errors = [f for p in data["pairs"] for f in p["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["source"], f["destination"], f["subject"]) for f in errors] == [
        ("bitmap-bit-unknown", "n1-linux-6.16-qemu-10.2", "n1-linux-6.16-qemu-10.2@base", "VENDOR_HYP_BMAP_2.NEW_SVC")
    ]
    # On the line the change added, in the working-tree file.
    assert errors[0]["location"] == {"path": "specs/kernels/linux-6.16.yaml", "line": line_of(kernel, "NEW_SVC: 2"),
                                     "column": 7}
    assert "linux-6.16@base" in errors[0]["message"]
    assert "abi-check gate: against HEAD" in err and "1 spec file(s) changed" in err
    # The upgrade widens the guest ABI (a warning): with the default threshold both bits are set.
    assert gate("--against", "HEAD", "--fail-on", "warning")[0] == 12

    code, comment, _ = gate("--against", "HEAD", "-f", "markdown")
    assert code == 8 and "Against `HEAD`" in comment and "`specs/kernels/linux-6.16.yaml` (modified)" in comment
    code, annotations, _ = gate("--against", "HEAD", "-f", "github")
    assert code == 8
    line = line_of(kernel, "NEW_SVC: 2")
    assert f"::error file=specs/kernels/linux-6.16.yaml,line={line},col=7,title=bitmap-bit-unknown" in annotations

    kernel.write_text(KERNEL + NEW_BIT_OFF)
    code, out, _ = gate("--against", "HEAD", "-f", "json")
    assert code == 0 and all(not p["findings"] for p in json.loads(out)["pairs"])
    assert gate("--against", "HEAD", "--fail-on", "note")[0] == 0  # an opt-in changes nothing for the guest

    kernel.write_text(KERNEL + NEW_BIT_ON)
    waivers = fleet / "abi-waivers.yaml"
    waivers.write_text("""waivers:
  - rule: bitmap-bit-unknown
    hosts: [n1-linux-6.16-qemu-10.2]
    bit: NEW_SVC
    reason: hosts are fenced above 6.16 before NEW_SVC ships
    expires: 2999-12-31
""")
    code, out, _ = gate("--against", "HEAD", "--waivers", str(waivers), "-f", "json")
    data = json.loads(out)
    assert code == 0
    waived = [w for p in data["pairs"] for w in p["waived"]]
    assert [(w["rule"], w["waiver"]["reason"]) for w in waived] == [
        ("bitmap-bit-unknown", "hosts are fenced above 6.16 before NEW_SVC ships")
    ]
    code, sarif, _ = gate("--against", "HEAD", "--waivers", str(waivers), "-f", "sarif")
    assert code == 0 and sarif_errors(json.loads(sarif)) == []
    suppressed = [r for r in json.loads(sarif)["runs"][0]["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["bitmap-bit-unknown"]
    code, junit, _ = gate("--against", "HEAD", "--waivers", str(waivers), "-f", "junit")
    assert code == 0 and ET.fromstring(junit).find("testsuite/testcase/skipped") is not None

    waivers.write_text(waivers.read_text().replace("2999-12-31", "2000-01-01"))
    code, out, _ = gate("--against", "HEAD", "--waivers", str(waivers), "-f", "json")
    data = json.loads(out)
    assert code == 8
    assert [n["status"] for n in data["waivers"]] == ["expired"]
    assert data["waivers"][0]["location"]["line"] == 2


def test_only_findings_the_change_introduces_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue_kernel = Path(__file__).resolve().parent.parent / "specs" / "kernels" / "linux-6.15.yaml"
    root = repo(tmp_path / "repo", {
        # A fleet that shadows the catalogue's linux-6.15 with its own copy.
        "specs/kernels/linux-6.15.yaml": catalogue_kernel.read_text(),
        "specs/hosts/a-6.15.yaml": HOST.format(name="a-6.15", kernel="linux-6.15"),
        "specs/hosts/b-6.12.yaml": HOST.format(name="b-6.12", kernel="linux-6.12"),
    })
    monkeypatch.chdir(root)
    host = root / "specs" / "hosts" / "a-6.15.yaml"
    host.write_text(host.read_text().replace("vcpus: 16", "vcpus: 32"))
    code, out, err = gate("--against", "HEAD", "specs", "-f", "json")
    data = json.loads(out)
    # a-6.15 -> b-6.12 already fails at HEAD (VENDOR_HYP_BMAP_2): not introduced, so not reported.
    assert code == 0, err
    assert data["gate"]["affected-hosts"] == ["a-6.15"]
    assert data["gate"]["evaluated-pairs"] == 5  # upgrade, rollback, itself, and b-6.12 both ways
    assert all(not p["findings"] for p in data["pairs"])

    kernel = root / "specs" / "kernels" / "linux-6.15.yaml"
    default_on = "  VENDOR_HYP_BMAP:\n    bits: {GATE_SVC: 5}\n    defaults: [FUNC_FEAT, PTP, GATE_SVC]\n"
    kernel.write_text(kernel.read_text().replace("  VENDOR_HYP_BMAP_2:\n", default_on + "  VENDOR_HYP_BMAP_2:\n"))
    code, out, _ = gate("--against", "HEAD", "specs", "-f", "json", "--fail-on", "error")
    data = json.loads(out)
    assert code == 8
    by_pair = {(p["source"], p["destination"]): {f["rule"] for f in p["findings"]} for p in data["pairs"]}
    assert "bitmap-bit-unknown" in by_pair[("a-6.15", "b-6.12")]
    assert "bitmap-register-unknown" not in by_pair[("a-6.15", "b-6.12")]  # present at HEAD already
    assert "bitmap-bit-unknown" in by_pair[("a-6.15", "a-6.15@base")]
    code, out, _ = gate("--against", "HEAD", "specs", "-f", "json", "--no-fleet")
    assert ("a-6.15", "b-6.12") not in {(p["source"], p["destination"]) for p in json.loads(out)["pairs"]}


def test_a_kernel_no_host_uses_is_checked_on_synthetic_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo(tmp_path / "kernel-tree", {"README": "a kernel tree keeps its ABI spec beside the code\n"})
    monkeypatch.chdir(root)
    write(root, {"abi/linux-6.16.yaml": KERNEL + NEW_BIT_ON})
    code, out, err = gate("--against", "HEAD", "abi", "-f", "json", "--fail-on", "error")
    data = json.loads(out)
    assert code == 8, err
    synthetic = data["gate"]["synthetic-hosts"]
    # The shipped hosts on linux-6.15 (the spec it extends) carry the new kernel.
    assert "n1-linux-6.15-qemu-10.2+linux-6.16" in synthetic
    rollback = next(p for p in data["pairs"] if p["source"] == "n1-linux-6.15-qemu-10.2+linux-6.16")
    assert rollback["destination"] == "n1-linux-6.15-qemu-10.2@base"
    errors = [f for f in rollback["findings"] if f["severity"] == "error"]
    assert [f["rule"] for f in errors] == ["bitmap-bit-unknown"]
    assert errors[0]["location"]["path"] == "abi/linux-6.16.yaml"

    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "6.16")
    (root / "abi" / "linux-6.16.yaml").write_text(KERNEL + NEW_BIT_OFF)
    code, out, _ = gate("--against", "HEAD", "abi", "-f", "json", "--fail-on", "note")
    data = json.loads(out)
    # Turning the default off rolls back safely (6.16@base knows the bit) but new VMs lose NEW_SVC: a warning.
    assert code == 4
    assert data["gate"]["changed"] == [{"path": "abi/linux-6.16.yaml", "status": "modified"}]
    pairs = {(p["source"], p["destination"]): {f["rule"] for f in p["findings"]} for p in data["pairs"]}
    synthetic = "n1-linux-6.15-qemu-10.2+linux-6.16"
    assert pairs[(synthetic + "@base", synthetic)] == {"bitmap-implicit-default"}
    assert pairs[(synthetic, synthetic + "@base")] == {"bitmap-implicit-default"}
    assert "linux-6.16@base offers NEW_SVC, linux-6.16 offers none" in data["pairs"][0]["findings"][0]["message"]


def test_shallow_clone_with_and_without_the_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = repo(tmp_path / "origin", {"specs/hosts/h.yaml": HOST.format(name="h", kernel="linux-6.15")})
    write(origin, {"specs/hosts/h.yaml": HOST.format(name="h", kernel="linux-6.12")})
    git(origin, "commit", "-q", "-am", "second")
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", "shallow")
    clone = tmp_path / "shallow"
    monkeypatch.chdir(clone)
    code, _, err = gate("--against", "HEAD~1", "specs")
    assert code == 2 and "Traceback" not in err
    assert "HEAD~1 is not in this shallow clone" in err and "git fetch --unshallow" in err
    code, _, err = gate("--against", "origin/release", "specs")
    assert code == 2
    assert "git fetch --depth=1 origin release:refs/remotes/origin/release" in err
    code, _, err = gate("--against", "origin/main", "specs")  # present: the one commit of the clone
    assert code == 0 and "no spec changed" in err


def test_outside_a_repository_and_bad_specs_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    (plain / "specs").mkdir(parents=True)
    monkeypatch.chdir(plain)
    code, _, err = gate("--against", "main", "specs")
    assert code == 2 and "is not inside a git work tree" in err and "Traceback" not in err

    root = repo(tmp_path / "repo", {"specs/hosts/h.yaml": HOST.format(name="h", kernel="linux-6.15")})
    monkeypatch.chdir(root)
    write(root, {"specs/hosts/h.yaml": HOST.format(name="h", kernel="linux-6.15").replace("vcpus: 16", "vcpus: lots")})
    code, _, err = gate("--against", "HEAD", "specs")
    assert code == 2 and "Traceback" not in err
    assert "specs/hosts/h.yaml:8:8: spec error: expected a whole number" in err
    # A broken kernel no host uses is still the change's to fix.
    write(root, {"specs/hosts/h.yaml": HOST.format(name="h", kernel="linux-6.15"),
                 "specs/kernels/linux-6.16.yaml": KERNEL.replace('version: "6.16"', "version: 6.16")})
    code, _, err = gate("--against", "HEAD", "specs")
    assert code == 2 and "specs/kernels/linux-6.16.yaml:5:10: spec error: expected a string" in err
    assert gate("--against", "--version", "specs")[0] == 2


def test_fetch_hints() -> None:
    assert fetch_hint("origin/main") == "git fetch --depth=1 origin main:refs/remotes/origin/main"
    assert fetch_hint("v1.2") == "git fetch --depth=1 origin v1.2"
    assert fetch_hint("HEAD~3").startswith("git fetch --unshallow")
