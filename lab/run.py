#!/usr/bin/env python3
"""The ground-truth lab: boot Debian arm64 kernels under QEMU, probe their KVM, cross-replay the dumps."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boot
import fetch
import initramfs
import report

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(os.environ.get("ABI_CHECK_LAB_CACHE", Path.home() / ".cache" / "abi-check-lab"))


def ensure_qemu() -> str:
    """qemu-system-aarch64 from the host's own qemu-system-arm package, installed if missing."""
    if shutil.which("qemu-system-aarch64") is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "qemu-system-arm"]
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(install, check=True, env=env, stdout=subprocess.DEVNULL)
    out = subprocess.run(["qemu-system-aarch64", "--version"], check=True, capture_output=True, text=True).stdout
    return out.splitlines()[0]


def kernel_image(kernel: fetch.Kernel, cache: Path) -> Path:
    """The uncompressed Image out of the kernel .deb (/boot/vmlinuz-* or usr/lib/modules/*/vmlinuz)."""
    dest = cache / "kernels" / f"{kernel.package}_{kernel.version}" / "Image"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(kernel.deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", tmp, "--wildcards", "*vmlinuz*"], stdin=tar.stdout, check=True)
        tar.wait()
        found = [p for p in Path(tmp).rglob("vmlinuz*") if p.is_file()]
        if len(found) != 1:
            raise RuntimeError(f"{kernel.deb.name}: expected one vmlinuz, found {found}")
        data = found[0].read_bytes()
        if data[:2] == b"\x1f\x8b":
            import gzip

            data = gzip.decompress(data)
        dest.write_bytes(data)
    return dest


def _parallel(jobs: int, work: list[Any], fn: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, work))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="downloads and built images (%(default)s)")
    p.add_argument("--out", type=Path, default=REPO / "lab" / "out")
    p.add_argument("--kernels", default="6.1,6.12,6.18,7.2")
    p.add_argument("--cpus", default="max,neoverse-n1")
    p.add_argument("--modes", default="vhe,nvhe", help="vhe (default KVM mode) and/or nvhe (kvm-arm.mode=nvhe)")
    p.add_argument("--nvhe-cpus", default="max", help="CPU models that also boot in nvhe mode")
    p.add_argument("--jobs", type=int, default=2, help="parallel boots (2 cores: 2)")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--refresh", action="store_true", help="apt-get update even if the lists are fresh")
    p.add_argument("--no-doc", action="store_true", help="leave docs/ground-truth.md alone")
    args = p.parse_args(argv)

    started = time.monotonic()
    timings: dict[str, float] = {}
    args.cache.mkdir(parents=True, exist_ok=True)
    for sub in ("dumps", "replays", "logs", "initrd"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    qemu = ensure_qemu()
    kernels, userland = fetch.fetch_all(args.cache, args.kernels.split(","), args.refresh)
    images = {k.label: kernel_image(k, args.cache) for k in kernels}
    base = initramfs.base_image(userland, args.cache)
    timings["prepare_s"] = round(time.monotonic() - started, 1)
    print(f"lab: kernels {', '.join(f'{k.label}={k.point_release}' for k in kernels)}; {qemu}", file=sys.stderr)

    nvhe_cpus = set(args.nvhe_cpus.split(","))
    boots = [boot.Boot(k.label, cpu, mode) for k in kernels for cpu in args.cpus.split(",")
             for mode in args.modes.split(",") if mode == "vhe" or cpu in nvhe_cpus]
    errors: list[str] = []
    boot_times: dict[str, float] = {}

    def dump_one(b: boot.Boot) -> None:
        rd = initramfs.initrd(base, REPO, [], args.out / "initrd" / f"{b.name}.img")
        try:
            document, rc, elapsed = boot.run(images[b.kernel_label], rd, b, args.out / "logs" / f"{b.name}.log",
                                             args.timeout)
        except boot.BootError as exc:
            errors.append(str(exc))
            return
        boot_times[b.name] = round(elapsed, 1)
        if rc != 0:
            errors.append(f"{b.name}: probe exit {rc}")
        (args.out / "dumps" / f"{b.name}.json").write_text(json.dumps(document, indent=1) + "\n")
        print(f"lab: dump {b.name} ({elapsed:.0f} s)", file=sys.stderr)

    t = time.monotonic()
    _parallel(args.jobs, boots, dump_one)
    timings["phase_a_s"] = round(time.monotonic() - t, 1)

    dumped = [b for b in boots if (args.out / "dumps" / f"{b.name}.json").exists()]
    pairs: list[dict[str, Any]] = []

    def replay_one(dst: boot.Boot) -> None:
        sources = [b for b in dumped if b.cpu == dst.cpu and b.mode == dst.mode]
        paths = [args.out / "dumps" / f"{b.name}.json" for b in sources]
        rd = initramfs.initrd(base, REPO, paths, args.out / "initrd" / f"replay-{dst.name}.img")
        try:
            document, rc, elapsed = boot.run(images[dst.kernel_label], rd, dst,
                                             args.out / "logs" / f"replay-{dst.name}.log", args.timeout)
        except boot.BootError as exc:
            errors.append(str(exc))
            return
        boot_times[f"replay-{dst.name}"] = round(elapsed, 1)
        if rc not in (0, 8):
            errors.append(f"replay on {dst.name}: probe exit {rc}")
        for result in document["replays"]:
            single = {k: v for k, v in document.items() if k != "replays"} | {"replay": result}
            path = args.out / "replays" / f"{result['source']}__{dst.name}.json"
            path.write_text(json.dumps(single, indent=1) + "\n")
            pairs.append(report.pair_summary(result["source"], dst.name, result))
        print(f"lab: replay on {dst.name} ({elapsed:.0f} s)", file=sys.stderr)

    t = time.monotonic()
    _parallel(args.jobs, dumped, replay_one)
    timings["phase_b_s"] = round(time.monotonic() - t, 1)
    timings["total_s"] = round(time.monotonic() - started, 1)

    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results = {
        "format": "abi-check-lab-results",
        "format_version": 1,
        "generated": generated,
        "host": {"machine": os.uname().machine, "cpus": os.cpu_count(), "qemu": qemu},
        "timings": timings | {"boots_s": dict(sorted(boot_times.items()))},
        "kernels": [{"label": k.label, "package": k.package, "version": k.version, "point_release": k.point_release}
                    for k in kernels],
        "boots": [{"name": b.name, "kernel": b.kernel_label, "cpu": b.cpu, "mode": b.mode} for b in boots],
        "dumps": {b.name: report.dump_summary(json.loads((args.out / "dumps" / f"{b.name}.json").read_text()))
                  for b in dumped},
        "pairs": sorted(pairs, key=lambda x: (x["destination"], x["source"])),
        "errors": errors,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    if not args.no_doc:
        report.update_doc(REPO / "docs" / "ground-truth.md", report.table(results))
    for error in errors:
        print(f"lab: {error}", file=sys.stderr)
    print(f"lab: {len(dumped)} dumps, {len(pairs)} replays in {timings['total_s']:.0f} s -> {args.out}",
          file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
