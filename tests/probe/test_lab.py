"""The lab's pure parts: the cpio newc writer the kernel unpacks, and the generated results table."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

import pytest

LAB = Path(__file__).resolve().parents[2] / "lab"
sys.path.insert(0, str(LAB))

import initramfs  # noqa: E402
import report  # noqa: E402


def _entries(blob: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """Parse newc: 110-byte ASCII headers, name and data each padded to 4 bytes."""
    data, out, pos = gzip.decompress(blob), {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev, namesize = fields[1], fields[6], (fields[9], fields[10]), fields[11]
        pos += 110
        name = data[pos:pos + namesize - 1].decode()
        pos += namesize + (-(110 + namesize) % 4)
        body = data[pos:pos + size]
        pos += size + (-size % 4)
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, body, rdev)


def test_cpio_carries_files_links_dirs_and_the_console(tmp_path: Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/tool").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "usr/bin/tool").chmod(0o755)
    (tmp_path / "usr/bin/alias").symlink_to("tool")
    archive = initramfs.Cpio()
    archive.directory("dev")
    archive.device("dev/console", 5, 1)
    archive.tree(tmp_path)
    archive.file("init", b"odd length", 0o755)
    entries = _entries(archive.gz())
    assert entries["usr/bin/tool"][0] == 0o100755 and entries["usr/bin/tool"][1] == b"#!/bin/sh\n"
    assert entries["usr/bin/alias"][0] == 0o120777 and entries["usr/bin/alias"][1] == b"tool"
    assert entries["usr/bin"][0] == 0o040755
    assert entries["dev/console"][0] == 0o020600 and entries["dev/console"][2] == (5, 1)
    assert entries["init"][1] == b"odd length"


def test_overlay_holds_the_probe_and_the_dumps(tmp_path: Path) -> None:
    dump = tmp_path / "6.1-max.json"
    dump.write_text("{}")
    entries = _entries(initramfs.overlay(LAB.parent, [dump]))
    assert "opt/probe/abi_check/__init__.py" in entries
    assert "opt/probe/abi_check/probe/__main__.py" in entries
    assert entries["lab/dumps/6.1-max.json"][1] == b"{}"
    assert not any(name.startswith("opt/probe/abi_check/") and "/probe/" not in name and name.endswith(".py")
                   and not name.endswith("abi_check/__init__.py") for name in entries)


def _results(refused: list[dict[str, Any]]) -> dict[str, Any]:
    replay = {"feature_sets": [{"name": "psci-0.2", "init_errno": None, "finalize_errno": None,
                                "refusals": [r | {"value": "0x0"} for r in refused], "destination_only": []}]}
    dump = {"kernel_release": "7.2.13+deb14-arm64", "kernel_version": "#1 SMP PREEMPT Debian 7.2.13-1",
            "register_counts": {"psci-0.2": 257}, "psci_default": "0x10003", "psci_accepted": ["1.3"]}
    return {"generated": "2026-12-01T00:00:00Z", "dumps": {"7.2-max": dump},
            "pairs": [report.pair_summary("7.2-max", "6.12-max", replay)]}


def test_table_names_each_refusal_with_its_errno() -> None:
    refused = [{"name": "KVM_REG_ARM_PSCI_VERSION", "id": "0x6030000000140000", "errno": "EINVAL"},
               {"name": "KVM_REG_ARM_VENDOR_HYP_BMAP_2", "id": "0x6030000000160003", "errno": "ENOENT"}]
    text = report.table(_results(refused))
    assert "| 7.2-max | 7.2.13-1 | 257 |" in text
    assert "| 7.2-max -> 6.12-max | KVM_REG_ARM_PSCI_VERSION EINVAL, KVM_REG_ARM_VENDOR_HYP_BMAP_2 ENOENT | - |" in text


def test_update_doc_replaces_only_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "g.md"
    doc.write_text(f"head\n{report.BEGIN_MARK}\nold\n{report.END_MARK}\ntail\n")
    report.update_doc(doc, "new")
    assert doc.read_text() == f"head\n{report.BEGIN_MARK}\nnew\n{report.END_MARK}\ntail\n"
    with pytest.raises(ValueError):
        report.update_doc(_no_markers(tmp_path), "x")


def _no_markers(tmp_path: Path) -> Path:
    path = tmp_path / "plain.md"
    path.write_text("no markers\n")
    return path
