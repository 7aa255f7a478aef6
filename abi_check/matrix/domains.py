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

from abi_check.matrix.grid import CELL_BLOCK, Matrix, collector_paused, distinct_rows, group
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
    size = len(domains)
    domain_of = np.zeros(len(matrix.hosts), dtype=np.int64)
    for d in domains:
        domain_of[list(d.hosts)] = d.index
    # Hosts of one ABI may sit in different domains (when the ABI fails against itself): count per host group
    # (a part), the parts in the order of their first host.
    host_part = matrix.host_abis().astype(np.int64) * max(size, 1) + domain_of
    found, first_host, inverse = np.unique(host_part, return_index=True, return_inverse=True)
    order = np.argsort(first_host, kind="stable")
    part_of = np.empty(len(order), dtype=np.int64)
    part_of[order] = np.arange(len(order))
    first = first_host[order]
    abi, dom = np.divmod(found[order], max(size, 1))
    weight = np.bincount(part_of[inverse.reshape(-1)], minlength=len(order)).astype(np.float64)
    # Which rules block each outcome, as columns of a table over outcomes, the rules by id; outcomes that the
    # same rules block have one pattern.
    names, blocking = matrix.blocking(fail_on)
    used = sorted((name, c) for c, name in enumerate(names) if blocking[:, c].any())
    rules = [name for name, _ in used]
    blocks = blocking[:, [c for _, c in used]]
    if not rules:
        return []
    first_with, pattern_of = distinct_rows(blocks)
    patterns = blocks[first_with]
    kinds = len(patterns)
    pairs_of = size * size
    cells = matrix.abi_cells()
    p = len(first)
    step = max(1, CELL_BLOCK // max(p, 1))
    # Per (domain pair, pattern) met: host pairs, and the first part pair (in row order) p * parts + q.
    combos, weights, firsts = [], [], []
    # [domain, domain] -> (the pair's key: lower * size + higher) * kinds
    index = np.arange(size, dtype=np.int64)
    keyed = (np.minimum.outer(index, index) * size + np.maximum.outer(index, index)) * kinds
    uniform = bool((weight == 1).all())  # one host per part: a part pair is one host pair
    for top in range(0, p, step):  # part pairs a block of rows at a time
        rows = slice(top, min(p, top + step))
        combo = (keyed[dom[rows]][:, dom] + pattern_of[cells[abi[rows]][:, abi]]).reshape(-1)
        found, at, combo_of = group(combo)
        combos.append(found)
        host_pairs = None if uniform else (weight[rows, None] * weight[None, :]).reshape(-1)
        weights.append(np.bincount(combo_of, weights=host_pairs).astype(np.float64))
        firsts.append(at + top * p)
    found, at, combo_of = group(np.concatenate(combos))
    pairs = np.bincount(combo_of, weights=np.concatenate(weights))
    earliest = np.full(len(found), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, combo_of, np.concatenate(firsts))
    key, pattern = np.divmod(found, kinds)
    low, high = np.divmod(key, size)
    # Per (rule, domain pair) where the rule blocks between two domains: host pairs, and the first part pair.
    hit, rule = np.nonzero(patterns[pattern] & (low != high)[:, None])
    if not len(hit):
        return []
    code = rule * pairs_of + key[hit]
    distinct, _, of = group(code)
    tally = np.bincount(of, weights=pairs[hit])
    example = np.full(len(distinct), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(example, of, earliest[hit])
    rule_of, pair_code = np.divmod(distinct, pairs_of)
    # Domain pairs in order, and in each the rules by how many pairs they block (most first), then by id.
    ranked = np.lexsort((rule_of, -tally, pair_code))
    pair_code, rule_of, tally, example = pair_code[ranked], rule_of[ranked], tally[ranked], example[ranked]
    at = np.flatnonzero(np.r_[True, np.diff(pair_code) != 0])
    totals = np.bincount(dom, weights=weight, minlength=size)
    # Per separation: its domains, host pairs between them, and an example pair of the rule that blocks most.
    low, high = np.divmod(pair_code[at], size)
    total = (2 * totals[low] * totals[high]).astype(np.int64)
    src, dst = np.divmod(example[at], p)
    ends = [*at[1:].tolist(), len(pair_code)]
    with collector_paused():
        counted = list(zip(np.array(rules, dtype=object)[rule_of].tolist(), tally.astype(np.int64).tolist(),
                           strict=True))
        return [
            Separation(a, b, counted[start][0], counted[start][1], between, pair, tuple(counted[start:end]))
            for a, b, between, pair, start, end in zip(
                low.tolist(), high.tolist(), total.tolist(),
                zip(first[src].tolist(), first[dst].tolist(), strict=True),
                at.tolist(), ends, strict=True,
            )
        ]
