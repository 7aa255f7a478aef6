"""Wall time of ``abi-check pair`` on two catalogue hosts, as a user runs it (a fresh process each time).

Run: python benchmarks/bench_pair.py [--runs N]. Prints cold (empty cache) and warm medians; the target in
docs/performance.md is a warm median under 0.3 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIR = ["specs/hosts/n1-linux-6.15-qemu-10.2.yaml", "specs/hosts/n1-linux-6.12-qemu-10.2.yaml"]


def run_once(env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "abi_check", "pair", *PAIR], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 4, 8, 12):
        raise SystemExit(f"abi-check pair failed with exit code {done.returncode}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "ABI_CHECK_CACHE_DIR": cache}
        cold = [run_once({**env, "ABI_CHECK_CACHE_DIR": tempfile.mkdtemp(dir=cache)}) for _ in range(5)]
        run_once(env)  # fill the cache
        warm = [run_once(env) for _ in range(args.runs)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"pair {PAIR[0]} -> {PAIR[1]}")
    print(f"cold (no cache), 5 runs: median {statistics.median(cold):.3f} s")
    print(f"warm, {args.runs} runs: median {statistics.median(warm):.3f} s, "
          f"min {min(warm):.3f} s, max {max(warm):.3f} s")


if __name__ == "__main__":
    main()
