"""Wall time and peak memory of ``abi-check matrix`` on synthetic fleets, as a user runs it.

Run: python benchmarks/bench_matrix.py [--sizes 100 300 1000 3000] [--jobs 2] [--shared 10000:300]
Each size N is a fleet of N distinct hosts (benchmarks/fleet.py: the shipped kernels, VMM profiles and CPUs,
with varied VMM writes and vCPU counts); ``--shared H:M`` adds a fleet of H hosts drawn from M distinct
configurations. Each run is one fresh process that evaluates every pair, finds the domains and writes the
terminal report to a file (a JSON or CSV report of 10,000 hosts would hold 100 million cells); peak memory is
the largest resident set of the process tree, sampled every 20 ms from /proc. Prints a Markdown table for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(hosts_dir: Path, root: Path, jobs: int, out: Path) -> tuple[float, float, str]:
    cmd = [sys.executable, "-m", "abi_check", "matrix", str(hosts_dir), "--root", str(root), "--jobs", str(jobs),
           "--output", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kib(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, 4, 8, 12):
        raise SystemExit(f"abi-check matrix failed ({proc.returncode}): {stderr[-2000:]}")
    last = out.read_text().strip().splitlines()[-1]  # "N hosts (M distinct ABIs), P pairs: ...; D domains"
    return elapsed, peak / 1024, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 300, 1000, 3000])
    parser.add_argument("--shared", default="10000:300", help="HOSTS:ABIS, or '' to skip")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    runs: list[tuple[int, int | None]] = [(n, None) for n in args.sizes]
    if args.shared:
        hosts, abis = (int(x) for x in args.shared.split(":"))
        runs.append((hosts, abis))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, --jobs {args.jobs}")
    print()
    print("| hosts | distinct configurations | pairs | wall (s) | peak RSS, all processes (MiB) | summary line |")
    print("|---:|---:|---:|---:|---:|---|")
    for hosts, abis in runs:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "fleet"
            hosts_dir = fleet.generate(root, hosts, abis, seed=1)
            elapsed, peak, shape = measure(hosts_dir, root, args.jobs, Path(tmp) / "matrix.txt")
        print(f"| {hosts} | {abis or hosts} | {hosts * hosts:,} | {elapsed:.1f} | {peak:.0f} | {shape} |", flush=True)


if __name__ == "__main__":
    main()
