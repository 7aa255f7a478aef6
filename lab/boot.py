"""Boot one lab kernel under qemu-system-aarch64 (TCG, emulated EL2) and return the JSON its probe printed."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from initramfs import BEGIN, END

# QEMU's -cpu spellings; a named model runs KVM only if QEMU gives it EL2 (neoverse-n1 does, with VHE).
CPU_ARGS = {"max": "max,pauth-impdef=on", "neoverse-n1": "neoverse-n1"}
MODE_ARGS = {"vhe": "", "nvhe": "kvm-arm.mode=nvhe"}


@dataclass(frozen=True)
class Boot:
    kernel_label: str
    cpu: str
    mode: str

    @property
    def name(self) -> str:
        suffix = "" if self.mode == "vhe" else f"-{self.mode}"
        return f"{self.kernel_label}-{self.cpu}{suffix}"


class BootError(RuntimeError):
    pass


def command(image: Path, initrd: Path, boot: Boot) -> list[str]:
    append = " ".join(filter(None, ["console=ttyAMA0 panic=-1 quiet", MODE_ARGS[boot.mode]]))
    return ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", CPU_ARGS[boot.cpu],
            "-smp", "2", "-m", "1024", "-nographic", "-net", "none", "-no-reboot",
            "-kernel", str(image), "-initrd", str(initrd), "-append", append]


def run(image: Path, initrd: Path, boot: Boot, log: Path, timeout: float) -> tuple[dict[str, Any], int, float]:
    """The probe's JSON document, its exit code inside the guest, and the boot's wall time."""
    start = time.monotonic()
    try:
        proc = subprocess.run(command(image, initrd, boot), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
        console = proc.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as exc:
        console = (exc.stdout or b"").decode(errors="replace")
        log.write_text(console)
        raise BootError(f"{boot.name}: no poweroff within {timeout:.0f} s (console in {log})") from None
    elapsed = time.monotonic() - start
    console = console.replace("\r", "")
    log.write_text(console + proc.stderr.decode(errors="replace"))
    if BEGIN not in console or END not in console:
        raise BootError(f"{boot.name}: the probe printed no result (console in {log})")
    rest = console.partition(BEGIN)[2]
    status, _, body = rest.partition("\n")
    text = body.partition(END)[0]
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BootError(f"{boot.name}: unreadable probe output ({exc}; console in {log})") from None
    return document, int(status.strip().removeprefix("rc=") or 1), elapsed
