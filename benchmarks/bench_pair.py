"""Wall time of ``abi-check pair`` on two catalogue hosts, as a user runs it (a fresh process each time).

Run: python benchmarks/bench_pair.py [--runs N]. Prints cold (empty rule cache) and warm medians, each beside
``python -c pass`` and ``python -c "import typer"`` measured in the same run, interleaved, so that a loaded
machine slows all three alike, and the CPU time of each process, which a loaded machine inflates much less than the
wall time. The target in docs/performance.md: a warm median within 10x of
``python -c pass`` (0.12 s on the project's 2-core machine). Bytecode is cached, as an installed package's is
(PYTHONDONTWRITEBYTECODE is cleared for the runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIR = ["specs/hosts/n1-linux-6.15-qemu-10.2.yaml", "specs/hosts/n1-linux-6.12-qemu-10.2.yaml"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "abi-check pair": [sys.executable, "-m", "abi_check", "pair", *PAIR],
    "abi-check --version": [sys.executable, "-m", "abi_check", "--version"],
}


def run_once(cmd: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall time of one run; its CPU time (user + system) is appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 4, 8, 12):
        raise SystemExit(f"{cmd} failed with exit code {done.returncode}")
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as cache:
        env = {**base, "ABI_CHECK_CACHE_DIR": cache}
        cold = [run_once(COMMANDS["abi-check pair"], {**env, "ABI_CHECK_CACHE_DIR": tempfile.mkdtemp(dir=cache)})
                for _ in range(5)]
        for cmd in COMMANDS.values():
            run_once(cmd, env)  # fill the rule cache and the bytecode caches
        warm: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(args.runs):
            for name, cmd in COMMANDS.items():
                warm[name].append(run_once(cmd, env, cpu[name]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, load average {load[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"pair {PAIR[0]} -> {PAIR[1]}")
    base_median = statistics.median(warm["python -c pass"])
    base_cpu = statistics.median(cpu["python -c pass"])
    print(f"cold pair (no rule cache), 5 runs: median {statistics.median(cold):.3f} s")
    for name, times in warm.items():
        median = statistics.median(times)
        cpu_median = statistics.median(cpu[name])
        print(f"warm {name}, {args.runs} runs: median {median:.3f} s ({median / base_median:.1f}x python -c pass), "
              f"min {min(times):.3f} s, max {max(times):.3f} s; CPU median {1000 * cpu_median:.0f} ms "
              f"({cpu_median / base_cpu:.1f}x)")


if __name__ == "__main__":
    main()
