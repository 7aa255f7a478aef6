"""CPU per rule of a matrix's evaluation: distinct cells, time per cell, hits per cell.

Run: python benchmarks/rule_costs.py FLEET_DIR [--sample N] [--rule ID] [--plain]
FLEET_DIR is a directory made by benchmarks/fleet.py (FLEET_DIR/hosts). For each rule, the hosts' distinct ABIs
are keyed as the matrix keys them (tables.py: facets, one-sided guards), a sample of the distinct (source key,
destination key) cells is evaluated in order on role views cached as the matrix caches them, and the CPU per cell
is multiplied by the number of cells. The remembered per-element run is used where the rule has one
(``CompiledRule.per_element``); ``--plain`` uses the plain run instead. A full sample (the default) is what the
matrix does in one process; a small one understates what the remembered run saves.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import DST_ROLE, SRC_ROLE, FacetTable, RoleView
from abi_check.abi.views import HostView
from abi_check.matrix.tables import Crash, _guarded, _keys, run_rule
from abi_check.rules.engine import load_rules
from abi_check.spec.hosts import load_hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fleet", type=Path)
    parser.add_argument("--sample", type=int, default=0, help="cells per rule (default: every cell)")
    parser.add_argument("--rule", help="only this rule")
    parser.add_argument("--plain", action="store_true", help="the plain run, not the remembered one")
    args = parser.parse_args()
    rules = load_rules()
    distinct: dict[tuple[int, int, int, int], HostView] = {}
    for host in load_hosts([args.fleet / "hosts"], [args.fleet]):
        key = (id(host.kernel), id(host.vmm), id(host.cpu), host.vcpus)
        if key not in distinct:
            distinct[key] = HostView(effective_abi(host))
    views = list(distinct.values())
    roles = {(i, side): RoleView(v, role) for i, v in enumerate(views) for side, role in ((0, SRC_ROLE), (1, DST_ROLE))}
    table = FacetTable()
    random.seed(1)
    total = 0.0
    print(f"{len(views)} distinct ABIs")
    print("| rule | distinct cells | us per cell | s (estimated) | hits per cell |")
    print("|---|---:|---:|---:|---:|")
    for rule in rules.rules:
        if args.rule and rule.meta.id != args.rule:
            continue
        src_keys, src_reps = _keys(views, rule.src_facets, table)
        dst_keys, dst_reps = _keys(views, rule.dst_facets, table)
        if rule.guards is not None:
            src_keys, src_reps = _guarded(views, src_keys, src_reps, rule.guards.src, SRC_ROLE)
            dst_keys, dst_reps = _guarded(views, dst_keys, dst_reps, rule.guards.dst, DST_ROLE)
        cells = [(i, j) for i in src_reps for j in dst_reps if i >= 0 and j >= 0]
        sample = sorted(random.sample(cells, args.sample)) if 0 < args.sample < len(cells) else cells
        run = rule.per_element() if rule.per_element is not None and not args.plain else rule.run
        hits = 0
        start = time.process_time()
        for i, j in sample:
            entry = run_rule(rule, roles[(i, 0)], roles[(j, 1)], run)
            hits += len(entry.hits if isinstance(entry, Crash) else entry)
        per_cell = (time.process_time() - start) / max(1, len(sample))
        total += per_cell * len(cells)
        print(f"| {rule.meta.id} | {len(cells):,} | {per_cell * 1e6:.1f} | {per_cell * len(cells):.2f} "
              f"| {hits / max(1, len(sample)):.2f} |")
    print(f"total (estimated): {total:.1f} s CPU")


if __name__ == "__main__":
    main()
