"""Time of ``load_hosts`` on a fleet, the loading step of ``abi-check matrix``, in a fresh process each run.

Run: python benchmarks/bench_load.py [--runs N] [FLEET ...]. Each FLEET is a directory written by
benchmarks/fleet.py (FLEET/hosts holds the hosts; FLEET is also given as a spec root, as bench_matrix.py does);
without one, the two fleets of issue 15 are made in a temporary directory: 10,000 hosts of 300 configurations and
1,000 distinct hosts. For each fleet it prints the median wall and CPU time of ``load_hosts`` measured inside
the process (imports excluded), cold (an empty cache directory each run) and warm (a cache directory that earlier
runs filled), beside ``python -c pass`` measured in the same run, interleaved, so that a loaded machine slows
all of them alike. Targets (docs/performance.md): 10,000 hosts of 300 configurations <= 1.0 s warm, 1,000 distinct
hosts <= 0.3 s.
"""

from __future__ import annotations

import argparse
import json
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
FLEETS = {"10,000 hosts of 300 configurations": ("s10k", ["--hosts", "10000", "--abis", "300"]),
          "1,000 distinct hosts": ("f1000", ["--hosts", "1000"])}


def child(fleet: Path) -> None:
    """The measured process: import first, then time load_hosts alone."""
    from abi_check.spec.hosts import load_hosts

    wall, cpu = time.perf_counter(), time.process_time()
    hosts = load_hosts([fleet / "hosts"], [fleet])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "hosts": len(hosts)}))


def measured(fleet: Path, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", str(fleet)], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"loading {fleet} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout))


def python_pass(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - start


def bench(name: str, fleet: Path, runs: int, base: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as caches:
        warm_env = {**base, "ABI_CHECK_CACHE_DIR": os.path.join(caches, "warm")}
        measured(fleet, warm_env)  # fills the warm cache (and the bytecode caches)
        cold: list[dict[str, float]] = []
        warm: list[dict[str, float]] = []
        passes: list[float] = []
        for run in range(runs):
            cold.append(measured(fleet, {**base, "ABI_CHECK_CACHE_DIR": os.path.join(caches, f"cold{run}")}))
            warm.append(measured(fleet, warm_env))
            passes.append(python_pass(base))
    hosts = int(cold[0]["hosts"])
    print(f"{name}: {hosts} hosts, medians of {runs} (min-max)")
    for label, results in (("cold", cold), ("warm", warm)):
        walls, cpus = [r["wall"] for r in results], [r["cpu"] for r in results]
        print(f"  load_hosts {label}: wall {statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}), "
              f"CPU {statistics.median(cpus):.3f} s")
    print(f"  python -c pass:  {statistics.median(passes):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fleets", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "ABI_CHECK_NO_CACHE")}
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as made:
        fleets = [(str(f), f) for f in args.fleets]
        if not fleets:
            for name, (directory, options) in FLEETS.items():
                subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fleet.py"), os.path.join(made, directory),
                                *options], check=True, stdout=subprocess.DEVNULL)
                fleets.append((name, Path(made) / directory))
        for name, fleet in fleets:
            bench(name, fleet, args.runs, base)
    print(f"load average after: {os.getloadavg()[0]:.2f}; peak RSS of a run: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
