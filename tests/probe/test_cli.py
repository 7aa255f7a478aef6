"""The probe's command line without a usable /dev/kvm: one clear line on stderr naming the fix, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abi_check.probe", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60)


def test_missing_device_exits_2_with_one_line_naming_the_fix(tmp_path: Path) -> None:
    proc = _probe("--device", str(tmp_path / "kvm"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert "does not exist" in lines[0] and "modprobe kvm" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(os.getuid() == 0, reason="root opens any device node")
def test_unreadable_device_exits_2_naming_the_kvm_group(tmp_path: Path) -> None:
    device = tmp_path / "kvm"
    device.write_text("")
    device.chmod(0)
    proc = _probe("--device", str(device))
    assert proc.returncode == 2
    assert "'kvm' group" in proc.stderr


@pytest.mark.skipif(os.uname().machine in ("aarch64", "arm64"), reason="only a non-arm64 host refuses by itself")
def test_default_device_on_a_non_arm64_host_exits_2() -> None:
    proc = _probe()
    assert proc.returncode == 2
    assert "not arm64" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_probe_imports_only_the_standard_library() -> None:
    # -S: no site hooks (a setuptools .pth) in the picture, only what the probe itself imports
    code = ("import sys, abi_check.probe.cli, abi_check.probe.dump, abi_check.probe.restore, "
            "abi_check.probe.fingerprint, abi_check.probe.provenance;"
            "mods = {m.split('.')[0] for m in sys.modules};"
            "print(sorted(mods - set(sys.stdlib_module_names) - {'abi_check', '__main__'}))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout
    assert out.strip() == "[]"
    loaded = subprocess.run([sys.executable, "-c", "import sys, abi_check.probe.cli, abi_check.probe.dump;"
                             "print(sorted(m for m in sys.modules if m.startswith('abi_check')))"],
                            capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert all(m == "abi_check" or m.startswith("abi_check.probe") for m in eval(loaded))
