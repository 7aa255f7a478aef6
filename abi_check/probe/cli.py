"""Command line of the probe: parse options, build the KVM handle, call one function, return an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .kvm import Hypervisor

from abi_check import __version__

EXIT_OK, EXIT_TOOL, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 8
DEFAULT_DEVICE = "/dev/kvm"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m abi_check.probe",
                                description="Record what this host's KVM/arm64 answers, or replay dumps on it.")
    p.add_argument("-o", "--output", type=Path, help="write the JSON here instead of stdout")
    p.add_argument("--device", default=DEFAULT_DEVICE, help="the KVM device (default: %(default)s)")
    p.add_argument("--restore", nargs="+", type=Path, metavar="DUMP",
                   help="replay each source DUMP on a fresh vCPU; exit 8 if KVM refuses any register")
    p.add_argument("--import-fingerprint", type=Path, metavar="FILE",
                   help="convert a Firecracker cpu-template-helper fingerprint into a dump (no KVM needed)")
    p.add_argument("--version", action="version", version=f"abi-check probe {__version__}")
    return p


def _emit(document: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(document, indent=1) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def _fail(message: str, code: int) -> int:
    print(f"abi-check probe: {message}", file=sys.stderr)
    return code


def _open_kvm(device: str) -> Hypervisor:
    from .kvm import KvmSystem

    if os.uname().machine not in ("aarch64", "arm64") and device == DEFAULT_DEVICE:
        raise _Unusable(f"this host is {os.uname().machine}, not arm64: run the probe on an arm64 host with KVM "
                        "(or in the lab: python3 lab/run.py)")
    try:
        return KvmSystem(device)
    except FileNotFoundError:
        raise _Unusable(f"{device} does not exist: enable KVM (modprobe kvm; boot at EL2) or run in the lab "
                        "(python3 lab/run.py)") from None
    except PermissionError:
        raise _Unusable(f"no permission to open {device}: run as root or add this user to the 'kvm' group") from None
    except OSError as exc:
        raise _Unusable(f"cannot open {device}: {exc.strerror}") from None


class _Unusable(Exception):
    pass


def _load_dumps(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    dumps = []
    for path in paths:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise _Unusable(f"{path}: {exc}") from None
        if not isinstance(document, dict) or "vcpus" not in document:
            raise _Unusable(f"{path}: not a probe dump (no 'vcpus')")
        dumps.append((path.stem, document))
    return dumps


def run(args: argparse.Namespace, hypervisor: Hypervisor | None = None) -> int:
    from .provenance import provenance

    if args.import_fingerprint is not None:
        from .fingerprint import import_fingerprint

        try:
            document = import_fingerprint(json.loads(args.import_fingerprint.read_text()))
        except (OSError, ValueError) as exc:
            raise _Unusable(f"{args.import_fingerprint}: {exc}") from None
        _emit(document, args.output)
        return EXIT_OK
    dumps = _load_dumps(args.restore) if args.restore else []
    hv = hypervisor if hypervisor is not None else _open_kvm(args.device)
    if args.restore:
        from .restore import replay_all

        result = replay_all(hv, dumps, provenance())
        _emit(result, args.output)
        return EXIT_REFUSED if result["refused"] else EXIT_OK
    from .dump import build_dump

    _emit(build_dump(hv, provenance()), args.output)
    return EXIT_OK


def main(argv: list[str] | None = None, hypervisor: Hypervisor | None = None) -> int:
    """Exit 0 done, 2 no usable KVM or bad input, 8 a replay was refused, 1 the probe itself failed."""
    args = _parser().parse_args(argv)
    try:
        return run(args, hypervisor)
    except _Unusable as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (OSError, ValueError, KeyError) as exc:
        return _fail(f"failed: {exc!r}", EXIT_TOOL)
