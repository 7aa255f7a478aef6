"""Where a dump comes from: kernel release, host CPU identification, date and tool versions."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from abi_check import __version__

from .dump import FORMAT_VERSION

SYSFS_ID = Path("/sys/devices/system/cpu/cpu0/regs/identification")


def _sysfs_reg(root: Path, name: str) -> str | None:
    try:
        return f"0x{int((root / name).read_text().strip(), 16):016x}"
    except (OSError, ValueError):
        return None


def provenance(source: str = "probe", sysfs: Path = SYSFS_ID) -> dict[str, Any]:
    uname = os.uname()
    return {
        "source": source,
        "kernel_release": uname.release,
        "kernel_version": uname.version,
        "machine": uname.machine,
        "midr_el1": _sysfs_reg(sysfs, "midr_el1"),
        "revidr_el1": _sysfs_reg(sysfs, "revidr_el1"),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool_version": __version__,
        "probe_format_version": FORMAT_VERSION,
        "absent": [],
    }
