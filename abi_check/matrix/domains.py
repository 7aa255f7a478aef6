"""Migration domains: groups of hosts among which every move works in both directions.

"Works" means the move stays below the failure threshold (``--fail-on``). Hosts with one ABI are always in
the same domain when their ABI works against itself (checked, not assumed). Domains are found over ABIs by a
greedy partition into mutually compatible groups, the ABIs with the most hosts first, so the result is stable
and the big groups come first; compatibility is not transitive, so a host may also fit another domain than
the one it is placed in. For each pair of domains the rules that separate them are counted over every
host pair between them, in both directions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from abi_check.matrix.grid import Matrix
from abi_check.verdict.result import FailOn


@dataclass(frozen=True, slots=True)
class Domain:
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


def find_domains(matrix: Matrix, fail_on: FailOn) -> tuple[list[Domain], list[Separation]]:
    n = len(matrix.abis)
    works = [[matrix.abi_outcome(a, b).works(fail_on) for b in range(n)] for a in range(n)]
    order = sorted(range(n), key=lambda a: (-len(matrix.abis[a].hosts), matrix.abis[a].hosts[0]))
    groups: list[list[int]] = []  # of ABIs
    singles: list[list[int]] = []  # hosts of ABIs that do not work against themselves: one domain each
    for a in order:
        if not works[a][a]:
            singles.extend([h] for h in matrix.abis[a].hosts)
            continue
        for group in groups:
            if all(works[a][b] and works[b][a] for b in group):
                group.append(a)
                break
        else:
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
    cells = list(parts.items())
    tally: dict[tuple[int, int], Counter[str]] = {}
    totals: Counter[tuple[int, int]] = Counter()
    examples: dict[tuple[int, int, str], tuple[int, int]] = {}
    for (a, da), ha in cells:
        for (b, db), hb in cells:
            if da == db:
                continue
            key = (min(da, db), max(da, db))
            weight = len(ha) * len(hb)
            totals[key] += weight
            outcome = matrix.abi_outcome(a, b)
            counter = tally.setdefault(key, Counter())
            for rule in outcome.blocking(fail_on):
                counter[rule] += weight
                examples.setdefault((*key, rule), (ha[0], hb[0]))
    out = []
    for key in sorted(totals):
        counter = tally.get(key, Counter())
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked:  # apart only because the partition is greedy: every move between them works
            continue
        rule, count = ranked[0]
        out.append(Separation(key[0], key[1], rule, count, totals[key], examples[(*key, rule)], tuple(ranked)))
    return out
