"""Wall time and peak memory of ``abi-check matrix`` on synthetic fleets, as a user runs it.

Run: python benchmarks/bench_matrix.py [--sizes 100 1000 10000] [--shared 10000:300] [--jobs 2] [--repeat 3]
                                      [--evaluation 1000]
Each size N is a fleet of N distinct hosts (benchmarks/fleet.py: the shipped kernels, VMM profiles and CPUs,
with varied VMM writes and vCPU counts); ``--shared H:M`` adds a fleet of H hosts drawn from M distinct
configurations. Each run is one fresh process that evaluates every pair, finds the domains and writes the
terminal report to a file; ``--format json`` (``--report-format``) writes the JSON report instead and prints its
size. Wall and CPU times are the medians of ``--repeat`` runs, printed beside ``python -c pass`` measured in the
same run, with the load average before and after, and the CPU time of the process and its workers (what a loaded
machine does not inflate as much as the wall time). Memory comes from one more run before those (the fleet's
first, so it loads cold), sampled every 20 ms: the peak of the process tree's proportional set size (PSS, from
/proc/PID/smaps_rollup: pages that forked workers share with the main process are counted once, not once per
process) and the main process's own peak RSS. The timed runs are not sampled: reading every process's memory
map 50 times a second takes CPU from the run on a 2-core machine.

``--evaluation N`` compares, in this process on the N-host fleet, the CPU time of building the rule tables
(one process) with the floor: every distinct (rule, source key, destination key) cell evaluated once on the
hosts themselves, untraced, with no bookkeeping.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet


def _kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup" if field == "Pss:" else f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def tree_pss_kib(pid: int) -> int:
    """Proportional set size of a process and all its descendants, from /proc (Linux)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        total += _kib(p, "Pss:")
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(hosts_dir: Path, root: Path, jobs: int, out: Path, fmt: str, sample: bool = True
            ) -> tuple[float, float, float, float]:
    """(wall s, peak PSS MiB, main peak RSS MiB, CPU s) of one run. Sampling the memory reads every process's
    smaps_rollup every 20 ms, which costs CPU the run then lacks on a 2-core machine: timed runs do not sample
    (their memory figures are 0)."""
    cmd = [sys.executable, "-m", "abi_check", "matrix", str(hosts_dir), "--root", str(root), "--jobs", str(jobs),
           "--output", str(out), "--format", fmt]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = main = 0
    while sample and proc.poll() is None:
        peak = max(peak, tree_pss_kib(proc.pid))
        main = max(main, _kib(proc.pid, "VmHWM:"))
        time.sleep(0.02)
    proc.wait()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the process and its workers, user + system
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, 4, 8, 12):
        raise SystemExit(f"abi-check matrix failed ({proc.returncode}): {stderr[-2000:]}")
    return elapsed, peak / 1024, main / 1024, cpu


def python_pass(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def evaluation(root: Path, hosts_dir: Path, repeat: int) -> None:
    """CPU time of build_tables (one process) against the floor of the distinct cells evaluated untraced."""
    from abi_check.abi.effective import effective_abi
    from abi_check.abi.facets import FacetTable
    from abi_check.abi.views import HostView
    from abi_check.matrix.tables import _keys, build_tables
    from abi_check.rules.engine import load_rules
    from abi_check.spec.hosts import load_hosts

    rules = load_rules()
    views = [HostView(effective_abi(h)) for h in load_hosts([hosts_dir], [root])]
    table = FacetTable()
    cells = [(rule, src, dst) for rule in rules.rules
             for src in _keys(views, rule.src_facets, table)[1] for dst in _keys(views, rule.dst_facets, table)[1]]
    floor, ours = [], []
    for _ in range(repeat):
        start = time.process_time()
        for rule, src, dst in cells:
            with contextlib.suppress(Exception):  # a crash is a result too
                list(rule.run(views[src], views[dst]))
        floor.append(time.process_time() - start)
        start = time.process_time()
        build_tables(rules, views, jobs=1)
        ours.append(time.process_time() - start)
    f, o = statistics.median(floor), statistics.median(ours)
    print(f"evaluation, {len(views)} distinct hosts, {len(cells):,} distinct (rule, source key, destination key) "
          f"cells: floor (each evaluated once, untraced) {f:.2f} s CPU; build_tables (one process) {o:.2f} s CPU "
          f"= {o / f:.2f}x the floor (medians of {repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument("--shared", default="10000:300", help="HOSTS:ABIS, or '' to skip")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report-format", default="text", choices=["text", "json", "csv"])
    parser.add_argument("--evaluation", type=int, default=0, help="compare evaluation with its floor on N hosts")
    args = parser.parse_args()
    runs: list[tuple[int, int | None]] = [(n, None) for n in args.sizes]
    if args.shared:
        hosts, abis = (int(x) for x in args.shared.split(":"))
        runs.append((hosts, abis))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, --jobs {args.jobs}, {args.report_format} report, median of {args.repeat}")
    print()
    print("| hosts | distinct configurations | pairs | wall (s) | CPU, all processes (s) | python -c pass (s) "
          "| peak PSS, all processes (MiB) | main process peak RSS (MiB) | report (MiB) | load avg before -> after "
          "| summary line |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for hosts, abis in runs:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "fleet"
            hosts_dir = fleet.generate(root, hosts, abis, seed=1)
            out = Path(tmp) / f"matrix.{args.report_format}"
            load = os.getloadavg()[0]
            # One run sampled for memory (it loads cold: the fleet is new), then the timed runs, unsampled.
            _, peak, main, _ = measure(hosts_dir, root, args.jobs, out, args.report_format, sample=True)
            results = [measure(hosts_dir, root, args.jobs, out, args.report_format, sample=False)
                       for _ in range(args.repeat)]
            base = python_pass()
            wall, cpu = statistics.median(r[0] for r in results), statistics.median(r[3] for r in results)
            size = out.stat().st_size / 2**20
            last = ""
            if args.report_format == "text":  # "N hosts (M distinct ABIs), P pairs: ...; D domains"
                last = out.read_text().strip().splitlines()[-1]
            print(f"| {hosts} | {abis or hosts} | {hosts * hosts:,} | {wall:.1f} | {cpu:.1f} | {base:.3f} | {peak:.0f} "
                  f"| {main:.0f} | {size:.1f} | {load:.1f} -> {os.getloadavg()[0]:.1f} | {last} |", flush=True)
            if args.evaluation == hosts and abis is None:
                evaluation(root, hosts_dir, args.repeat)


if __name__ == "__main__":
    main()
