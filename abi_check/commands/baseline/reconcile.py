"""Find the largest sets of hosts that one common configuration makes mutually migratable, and why others are not."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations, permutations

from abi_check.abi.effective import effective_abi
from abi_check.abi.views import HostView
from abi_check.commands.baseline.common import common_configuration
from abi_check.commands.baseline.overlay import Overlay, Rendered, apply_to_host, apply_to_vmm, overlay_name, render_vmm
from abi_check.rules.engine import RuleSet, check_pair
from abi_check.spec.model import Host, Vmm
from abi_check.verdict.findings import Finding, Severity
from abi_check.verdict.result import FailOn, PairResult


def threshold(fail_on: FailOn) -> Severity:
    """The lowest severity that makes a migration unsafe; with --fail-on never, a migration that fails."""
    return {FailOn.ERROR: Severity.ERROR, FailOn.NEVER: Severity.ERROR, FailOn.WARNING: Severity.WARNING,
            FailOn.NOTE: Severity.NOTE}[fail_on]


def blocking(findings: Iterable[Finding], limit: Severity) -> list[Finding]:
    return [f for f in findings if f.severity.rank <= limit.rank]


# Where the overlay files go; the renderer needs their paths for spans and references.
Paths = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Configured:
    """A set of hosts with the common overlay applied: one overlay per distinct VMM."""

    members: tuple[int, ...]
    overlay: Overlay
    notes: tuple[str, ...]
    rendered: dict[str, Rendered]  # overlay name -> text
    bases: dict[str, Vmm]  # overlay name -> the VMM it extends
    hosts: dict[int, Host]  # index -> host with its overlay
    views: dict[int, HostView]


@dataclass(frozen=True, slots=True)
class Exclusion:
    host: int
    pairs: tuple[PairResult, ...]  # the unsafe pairs with the overlay of the set plus this host


@dataclass(frozen=True, slots=True)
class Outcome:
    hosts: tuple[Host, ...]
    sets: tuple[Configured, ...]  # largest first; sets[0] is the one baseline writes
    verified: tuple[PairResult, ...]  # every ordered pair of sets[0], overlay applied
    before: tuple[PairResult, ...]  # the same pairs without the overlay
    excluded: tuple[Exclusion, ...]


class Reconciler:
    def __init__(self, hosts: Sequence[Host], rules: RuleSet, limit: Severity, paths: Paths) -> None:
        self.hosts = tuple(hosts)
        self.rules = rules
        self.limit = limit
        self.paths = paths
        self.plain = [HostView(effective_abi(h)) for h in hosts]

    def configure(self, members: Iterable[int]) -> Configured:
        ordered = tuple(sorted(set(members)))
        overlay, notes = common_configuration([self.plain[i].abi for i in ordered])
        rendered: dict[str, Rendered] = {}
        bases: dict[str, Vmm] = {}
        vmms: dict[str, Vmm] = {}
        by_file: dict[str, str] = {}
        hosts: dict[int, Host] = {}
        for i in ordered:
            host = self.hosts[i]
            name = by_file.get(host.vmm.info.path, "")
            if not name:
                name = overlay_name(host.vmm)
                if name in vmms:  # two different VMM specs of the same name
                    name += f"-{sum(n.startswith(name) for n in vmms) + 1}"
                by_file[host.vmm.info.path] = name
                targets = [t.info.name for t in overlay.targets]
                rendered[name] = render_vmm(overlay, name, host.vmm.info.name, targets, self.paths(f"vmms/{name}"))
                bases[name] = host.vmm
                vmms[name] = apply_to_vmm(host.vmm, overlay, name, rendered[name])
            hosts[i] = apply_to_host(host, vmms[name], self.paths(f"hosts/{host.info.name}"))
        views = {i: HostView(effective_abi(h)) for i, h in hosts.items()}
        return Configured(ordered, overlay, tuple(notes), rendered, bases, hosts, views)

    def pairs(self, views: dict[int, HostView], among: Iterable[tuple[int, int]]) -> list[PairResult]:
        return [
            PairResult(views[a].name, views[b].name, tuple(check_pair(self.rules, views[a], views[b])))
            for a, b in among
        ]

    def unsafe(self, pairs: Iterable[PairResult]) -> list[PairResult]:
        return [p for p in pairs if blocking(p.findings, self.limit)]

    def run(self) -> Outcome:
        n = len(self.hosts)
        edges = {i: set[int]() for i in range(n)}
        for a, b in combinations(range(n), 2):
            configured = self.configure((a, b))
            if not self.unsafe(self.pairs(configured.views, ((a, b), (b, a)))):
                edges[a].add(b)
                edges[b].add(a)
        candidates = sorted(maximal_cliques(edges), key=lambda c: (-len(c), sorted(c)))
        sets: list[Configured] = []
        for clique in candidates:
            configured = self.grow(self.shrink(clique))
            if any(set(configured.members) <= set(s.members) for s in sets):
                continue
            if len(configured.members) > 1 or not sets:
                sets.append(configured)
        # Growing can make an earlier set part of a later one.
        sets = [s for s in sets if not any(set(s.members) < set(t.members) for t in sets)]
        sets.sort(key=lambda s: (-len(s.members), s.members))
        best = sets[0]
        ordered = list(permutations(best.members, 2))
        verified = self.pairs(best.views, ordered)
        before = self.pairs(dict(enumerate(self.plain)), ordered)
        excluded = tuple(self.exclusion(best, h) for h in range(n) if h not in best.members)
        return Outcome(self.hosts, tuple(sets), tuple(verified), tuple(before), excluded)

    def shrink(self, clique: Iterable[int]) -> Configured:
        """A pairwise-reconcilable set under its own overlay; drop the host in most unsafe pairs until it holds."""
        members = set(clique)
        while True:
            configured = self.configure(members)
            failing = self.unsafe(self.pairs(configured.views, permutations(configured.members, 2)))
            if not failing or len(members) == 1:
                return configured
            names = {self.hosts[i].info.name: i for i in members}
            count = {i: 0 for i in members}
            for pair in failing:
                count[names[pair.source]] += 1
                count[names[pair.destination]] += 1
            members.remove(max(members, key=lambda i: (count[i], i)))

    def holds(self, configured: Configured, first: int | None = None) -> bool:
        """Every ordered pair is safe; pairs with ``first`` are tried first, and the check stops at a failure."""
        members = configured.members
        lead = [] if first is None else [(first, m) for m in members if m != first] + [
            (m, first) for m in members if m != first
        ]
        rest = [p for p in permutations(members, 2) if first not in p]
        views = configured.views
        return all(not blocking(check_pair(self.rules, views[a], views[b]), self.limit) for a, b in lead + rest)

    def grow(self, configured: Configured) -> Configured:
        """Add every host the set's overlay also reconciles (a pair's own overlay can differ from the set's)."""
        for host in range(len(self.hosts)):
            if host not in configured.members:
                trial = self.configure((*configured.members, host))
                if self.holds(trial, host):
                    configured = trial
        return configured

    def exclusion(self, best: Configured, host: int) -> Exclusion:
        """Why ``host`` is outside the set: the pairs with members that fail even under the pair's own overlay
        (the most a common configuration can do for those two), else what the set's overlay breaks with it."""
        failing: list[PairResult] = []
        for member in best.members:
            configured = self.configure((host, member))
            failing += self.unsafe(self.pairs(configured.views, ((host, member), (member, host))))
        if not failing:
            configured = self.configure((*best.members, host))
            failing = self.unsafe(self.pairs(configured.views, permutations(configured.members, 2)))
        return Exclusion(host, tuple(failing))


def maximal_cliques(edges: dict[int, set[int]]) -> list[frozenset[int]]:
    """Bron-Kerbosch with pivoting; hosts with no edge are cliques of one."""
    out: list[frozenset[int]] = []

    def expand(r: set[int], p: set[int], x: set[int]) -> None:
        if not p and not x:
            out.append(frozenset(r))
            return
        pivot = max(p | x, key=lambda v: len(edges[v] & p))
        for v in sorted(p - edges[pivot]):
            expand(r | {v}, p & edges[v], x & edges[v])
            p = p - {v}
            x = x | {v}

    expand(set(), set(edges), set())
    return out
