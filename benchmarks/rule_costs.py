"""CPU per rule of a matrix's evaluation: its table's distinct cells, and what building the table costs.

Run: python benchmarks/rule_costs.py FLEET_DIR [--rule ID] [--plain] [--sample N]
FLEET_DIR is a directory made by benchmarks/fleet.py (FLEET_DIR/hosts). For each rule, the hosts' distinct ABIs
are keyed as the matrix keys them (tables.py: facets, one-sided guards) and the rule's table is built as one
worker of the matrix builds it: a one-loop rule in whole blocks at once where it can be (``matrix/batch.py``),
else cell by cell remembering per loop element; any other rule cell by cell. ``--plain`` instead runs the rule's
plain ``run`` on a sample of the distinct cells (``--sample``, default 2,000) and multiplies the CPU per cell by
their number: what the matrix would cost without either.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import FacetTable
from abi_check.abi.views import HostView
from abi_check.matrix import tables
from abi_check.rules.engine import load_rules
from abi_check.spec.hosts import load_hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fleet", type=Path)
    parser.add_argument("--rule", help="only this rule")
    parser.add_argument("--plain", action="store_true", help="the plain run on a sample of cells, extrapolated")
    parser.add_argument("--sample", type=int, default=2000, help="cells per rule with --plain")
    args = parser.parse_args()
    rules = list(load_rules().rules)
    distinct: dict[tuple[int, int, int, int], HostView] = {}
    for host in load_hosts([args.fleet / "hosts"], [args.fleet]):
        key = (id(host.kernel), id(host.vmm), id(host.cpu), host.vcpus)
        if key not in distinct:
            distinct[key] = HostView(effective_abi(host))
    views = list(distinct.values())
    facet_table = FacetTable()
    reps: list[tuple[list[int], list[int]]] = []
    evaluator = tables.Evaluator(rules, views, reps, jobs=1)  # sets what a worker reads
    for rule in rules:
        src_keys, src_reps = tables._keys(views, rule.src_facets, facet_table)
        dst_keys, dst_reps = tables._keys(views, rule.dst_facets, facet_table)
        if rule.guards is not None:
            src_keys, src_reps = tables._guarded(src_keys, src_reps, rule.guards.src,
                                                 lambda i: tables._role_view(i, True))
            dst_keys, dst_reps = tables._guarded(dst_keys, dst_reps, rule.guards.dst,
                                                 lambda i: tables._role_view(i, False))
        reps.append((src_reps, dst_reps))
    random.seed(1)
    total = 0.0
    print(f"{len(views)} distinct ABIs")
    print("| rule | distinct cells | how | CPU s | us per cell |")
    print("|---|---:|---|---:|---:|")
    for r, rule in enumerate(rules):
        if args.rule and rule.meta.id != args.rule:
            continue
        rows = [k for k, i in enumerate(reps[r][0]) if i >= 0]
        cols = [k for k, j in enumerate(reps[r][1]) if j >= 0]
        cells = len(rows) * len(cols)
        start = time.process_time()
        if args.plain:
            pairs = [(a, b) for a in rows for b in cols]
            sample = random.sample(pairs, args.sample) if 0 < args.sample < len(pairs) else pairs
            for a, b in sample:
                tables.run_rule(rule, tables._role_view(reps[r][0][a], True), tables._role_view(reps[r][1][b], False))
            spent = (time.process_time() - start) * cells / max(1, len(sample))
            how = "plain"
        else:
            tables._rule_block((r, rows))
            spent = time.process_time() - start
            how = "one loop" if rule.elements is not None else "cells"
        total += spent
        print(f"| {rule.meta.id} | {cells:,} | {how} | {spent:.2f} | {spent / max(1, cells) * 1e6:.1f} |")
    evaluator.close()
    print(f"total: {total:.1f} s CPU")


if __name__ == "__main__":
    main()
