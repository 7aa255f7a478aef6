"""Migration domains: groups of hosts among which every move works in both directions.

"Works" means the move stays below the failure threshold (``--fail-on``). Hosts with one ABI are always in
the same domain when their ABI works against itself (checked, not assumed). Domains are found over ABIs by a
greedy partition into mutually compatible groups, the ABIs with the most hosts first, so the result is stable
and the big groups come first; compatibility is not transitive, so a host may also fit another domain than
the one it is placed in. For each pair of domains the rules that separate them are counted over every
host pair between them, in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abi_check.matrix.grid import CELL_BLOCK, Matrix
from abi_check.verdict.result import FailOn


@dataclass(frozen=True, slots=True)
class Domain:
    """A group of hosts among which every move works both ways."""

    index: int
    hosts: tuple[int, ...]  # host indices, in name order


@dataclass(frozen=True, slots=True)
class Separation:
    """Why domains ``a`` and ``b`` are apart: the rule that fires on the most host pairs between them."""

    a: int
    b: int
    rule: str
    pairs: int  # host pairs (either direction) on which that rule fires
    total: int  # host pairs between the two domains, both directions
    example: tuple[int, int]  # a host pair (source, destination) on which it fires
    rules: tuple[tuple[str, int], ...]  # every separating rule with its count, most frequent first


# A move works when the migration does not fail: a guest ABI change (a warning) still moves the VM. Domains and
# what separates them mean the same whatever --fail-on says; the threshold only sets the exit code.
WORKS_AT = FailOn.ERROR


def find_domains(matrix: Matrix, fail_on: FailOn = WORKS_AT) -> tuple[list[Domain], list[Separation]]:
    n = len(matrix.abis)
    works = matrix.works(fail_on)
    mutual = works & works.T
    order = sorted(range(n), key=lambda a: (-len(matrix.abis[a].hosts), matrix.abis[a].hosts[0]))
    groups: list[list[int]] = []  # of ABIs
    # fits[g, a]: ABI a works both ways with every member of group g
    fits = np.zeros((min(n, 16), n), dtype=bool)
    singles: list[list[int]] = []  # hosts of ABIs that do not work against themselves: one domain each
    for a in order:
        if not works[a, a]:
            singles.extend([h] for h in matrix.abis[a].hosts)
            continue
        found = np.flatnonzero(fits[: len(groups), a])
        if found.size:
            g = int(found[0])
            groups[g].append(a)
            fits[g] &= mutual[a]
            continue
        if len(groups) == len(fits):
            fits = np.concatenate([fits, np.zeros_like(fits)])
        fits[len(groups)] = mutual[a]
        groups.append([a])
    host_groups = [sorted(h for a in group for h in matrix.abis[a].hosts) for group in groups] + singles
    host_groups.sort(key=lambda hs: (-len(hs), hs[0]))
    domains = [Domain(i, tuple(hs)) for i, hs in enumerate(host_groups)]
    return domains, _separations(matrix, domains, fail_on)


def _separations(matrix: Matrix, domains: list[Domain], fail_on: FailOn) -> list[Separation]:
    """Counts over ABI pairs weighted by their host pairs; findings are not made, only rule ids are read."""
    domain_of = {h: d.index for d in domains for h in d.hosts}
    # Hosts of one ABI may sit in different domains (when the ABI fails against itself): count per host group.
    parts: dict[tuple[int, int], list[int]] = {}  # (abi, domain) -> hosts
    for h, host in enumerate(matrix.hosts):
        parts.setdefault((host.abi, domain_of[h]), []).append(h)
    abi = np.array([a for a, _ in parts], dtype=np.intp)
    dom = np.array([d for _, d in parts], dtype=np.int64)
    weight = np.array([len(hs) for hs in parts.values()], dtype=np.float64)
    first = [hs[0] for hs in parts.values()]
    size = len(domains)
    # Which rules block each outcome, as columns of a table over outcomes.
    blocking = [o.blocking(fail_on) for o in matrix.outcomes()]
    rules = sorted({r for blocked in blocking for r in blocked})
    column = {r: i for i, r in enumerate(rules)}
    blocks = np.zeros((max(len(blocking), 1), max(len(rules), 1)), dtype=bool)
    for o, blocked in enumerate(blocking):
        for r in blocked:
            blocks[o, column[r]] = True
    tally = np.zeros((len(rules), size * size), dtype=np.float64)
    # Per rule and domain pair, the first part pair (in row order) on which the rule blocks: p * parts + q.
    none = np.iinfo(np.int64).max
    example = np.full((len(rules), size * size), none, dtype=np.int64)
    cells = matrix.abi_cells()
    p = len(parts)
    kinds = max(len(blocking), 1)
    step = max(1, CELL_BLOCK // max(p, 1))
    for top in range(0, p, step):  # part pairs a block of rows at a time
        rows = slice(top, min(p, top + step))
        outcome = cells[abi[rows, None], abi[None, :]]
        key = np.minimum(dom[rows, None], dom[None, :]) * size + np.maximum(dom[rows, None], dom[None, :])
        apart = np.flatnonzero(dom[rows, None] != dom[None, :])
        # The distinct (domain pair, outcome) combinations of the block, their weight and first cell.
        combo = key.ravel()[apart] * kinds + outcome.ravel()[apart]
        found, first_at, inverse = np.unique(combo, return_index=True, return_inverse=True)
        pairs = np.bincount(inverse.reshape(-1), weights=(weight[rows, None] * weight[None, :]).ravel()[apart])
        found_key, found_outcome = np.divmod(found, kinds)
        found_first = apart[first_at] + top * p
        for i in range(len(rules)):
            hit = blocks[found_outcome, i]
            if not hit.any():
                continue
            tally[i] += np.bincount(found_key[hit], weights=pairs[hit], minlength=size * size)
            np.minimum.at(example[i], found_key[hit], found_first[hit])
    totals = np.bincount(dom, weights=weight, minlength=size)
    out = []
    for a in range(size):
        for b in range(a + 1, size):
            code = a * size + b
            ranked = sorted(((rules[i], int(tally[i, code])) for i in range(len(rules)) if tally[i, code]),
                            key=lambda kv: (-kv[1], kv[0]))
            if not ranked:  # apart only because the partition is greedy: every move between them works
                continue
            rule, count = ranked[0]
            total = int(2 * totals[a] * totals[b])
            src, dst = divmod(int(example[column[rule], code]), p)
            out.append(Separation(a, b, rule, count, total, (first[src], first[dst]), tuple(ranked)))
    return out
