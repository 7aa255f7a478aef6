"""The compatibility matrix: the verdict of every directional pair of a set of hosts.

Hosts that run the same kernel, VMM and CPU specs (the same files, ``extends`` resolved) with the same vCPU
count have identical effective ABIs: they form one ABI and are evaluated once. Rules run once per distinct
combination of what they read (``tables.py``). A cell's findings are made only when a report asks for them.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import DST_ROLE, SRC_ROLE, Labels, Role
from abi_check.abi.views import HostView
from abi_check.errors import Span
from abi_check.matrix.tables import Crash, Progress, RuleTable, build_tables, entry_findings
from abi_check.rules.engine import RuleSet
from abi_check.spec.model import Host
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity
from abi_check.verdict.result import FailOn

VERDICTS = ("compatible", "abi-change", "fails")


@dataclass(frozen=True, slots=True)
class MatrixHost:
    name: str
    path: str
    span: Span
    abi: int  # index of its ABI (the hosts it shares an effective ABI with)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the rules found for one (source ABI, destination ABI) combination."""

    verdict: str
    counts: tuple[int, int, int]  # errors, warnings, notes
    fired: tuple[tuple[int, str], ...]  # (severity rank, rule id) of the rules with findings, most severe first
    crashes: int = 0  # rules that raised (counted as errors too)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(rule for _, rule in self.fired)

    def blocking(self, fail_on: FailOn) -> tuple[str, ...]:
        """The rules whose findings reach the failure threshold."""
        if fail_on is FailOn.NEVER:
            return ()
        limit = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2}[fail_on]
        return tuple(rule for rank, rule in self.fired if rank <= limit)

    def works(self, fail_on: FailOn) -> bool:
        """Does the move stay below the failure threshold?"""
        return not self.blocking(fail_on)


@dataclass(frozen=True, slots=True)
class Abi:
    """One distinct effective ABI and the hosts that have it."""

    index: int
    kernel: str
    vmm: str
    cpu: str
    vcpus: int
    hosts: tuple[int, ...]


class Matrix:
    def __init__(
        self,
        hosts: list[MatrixHost],
        abis: list[Abi],
        views: list[HostView],
        tables: list[RuleTable],
        severity: Mapping[str, Severity],
    ):
        self.hosts, self.abis, self.views, self.tables = hosts, abis, views, tables
        # Each rule's severity: its default unless the configuration overrides it.
        self.severity = {t.rule.meta.id: severity.get(t.rule.meta.id, t.rule.meta.severity) for t in tables}
        self.rule_ids = tuple(t.rule.meta.id for t in tables)
        n = len(abis)
        self._cells = array("I", bytes(4 * n * n))
        self._outcomes: list[Outcome] = []
        self._combine()

    def _combine(self) -> None:
        """Per ABI pair, the outcome id of the rule entries that apply (combinations are few; cells many)."""
        n = len(self.abis)
        ids: dict[tuple[int, ...], int] = {}
        keys: list[tuple[int, ...]] = []
        cells = self._cells
        for i in range(n):
            columns = [[t.cell[t.src_key[i]][k] for k in t.dst_key] for t in self.tables]
            base = i * n
            for j, key in enumerate(zip(*columns, strict=True)):
                found = ids.get(key)
                if found is None:
                    found = ids[key] = len(keys)
                    keys.append(key)
                cells[base + j] = found
        self._outcomes = [self._summarise(key) for key in keys]

    def _summarise(self, key: tuple[int, ...]) -> Outcome:
        counts = [0, 0, 0]
        crashes = 0
        fired: list[tuple[int, str]] = []
        for table, index in zip(self.tables, key, strict=True):
            if not index:
                continue
            entry = table.entries[index]
            if isinstance(entry, Crash):
                crashes += 1
                counts[0] += 1
                fired.append((0, INTERNAL_ERROR))
                continue
            severity = self.severity[table.rule.meta.id]
            counts[severity.rank] += len(entry)
            fired.append((severity.rank, table.rule.meta.id))
        verdict = "fails" if counts[0] else "abi-change" if counts[1] else "compatible"
        return Outcome(verdict, (counts[0], counts[1], counts[2]), tuple(sorted(set(fired))), crashes)

    # -- cells ------------------------------------------------------------------------------------

    def outcomes(self) -> list[Outcome]:
        """Every distinct outcome that some ABI pair has."""
        return list(self._outcomes)

    def abi_outcome(self, a: int, b: int) -> Outcome:
        return self._outcomes[self._cells[a * len(self.abis) + b]]

    def outcome(self, src: int, dst: int) -> Outcome:
        """The outcome of host ``src`` -> host ``dst``."""
        found = self.abi_outcome(self.hosts[src].abi, self.hosts[dst].abi)
        if (src == dst and found.verdict != "compatible") or (src == dst and any(found.counts)):
            # A host against itself: findings that differ only by which side they name collapse into one.
            return self._recount(self.findings(src, dst), found)
        return found

    def _recount(self, findings: list[Finding], found: Outcome) -> Outcome:
        counts = [0, 0, 0]
        for f in findings:
            counts[f.severity.rank] += 1
        verdict = "fails" if counts[0] else "abi-change" if counts[1] else "compatible"
        return Outcome(verdict, (counts[0], counts[1], counts[2]), found.fired, found.crashes)

    def findings(self, src: int, dst: int) -> list[Finding]:
        """Every finding of host ``src`` -> host ``dst``, as ``abi-check pair`` reports them."""
        a, b = self.hosts[src], self.hosts[dst]
        out: set[Finding] = set()
        for table in self.tables:
            entry = table.entry(a.abi, b.abi)
            if entry:
                out.update(
                    entry_findings(
                        table.rule,
                        entry,
                        self.labels(src, SRC_ROLE),
                        self.labels(dst, DST_ROLE),
                        self.severity[table.rule.meta.id],
                    )
                )
        return sorted(out)

    def labels(self, host: int, role: Role) -> Labels:
        found = self.hosts[host]
        return Labels(role, found.name, found.span, self.views[found.abi])

    def verdict_counts(self) -> dict[str, int]:
        """How many host pairs have each verdict (diagonal included)."""
        sizes = [len(abi.hosts) for abi in self.abis]
        totals = dict.fromkeys(VERDICTS, 0)
        n = len(self.abis)
        for a in range(n):
            for b in range(n):
                totals[self.abi_outcome(a, b).verdict] += sizes[a] * sizes[b]
        # The diagonal of hosts is judged host by host (see ``outcome``).
        for h, host in enumerate(self.hosts):
            shared = self.abi_outcome(host.abi, host.abi).verdict
            own = self.outcome(h, h).verdict
            totals[shared] -= 1
            totals[own] += 1
        return totals


def build_matrix(
    hosts: Sequence[Host],
    rules: RuleSet,
    jobs: int = 1,
    progress: Progress | None = None,
    severity: Mapping[str, Severity] | None = None,
) -> Matrix:
    """Group hosts by ABI, build one view per ABI, evaluate the rule tables, combine."""
    ordered = sorted(hosts, key=lambda h: h.info.name)
    index: dict[tuple[int, int, int, int], int] = {}
    members: list[list[int]] = []
    matrix_hosts: list[MatrixHost] = []
    views: list[HostView] = []
    for n, host in enumerate(ordered):
        # The effective ABI is a function of these four: the same spec objects (one per file) and vCPU count.
        key = (id(host.kernel), id(host.vmm), id(host.cpu), host.vcpus)
        abi = index.setdefault(key, len(index))
        if abi == len(views):
            views.append(HostView(effective_abi(host)))
            members.append([])
        members[abi].append(n)
        matrix_hosts.append(MatrixHost(host.info.name, host.info.span.path, host.info.span, abi))
    abis = [
        Abi(i, v.abi.kernel.info.name, v.abi.vmm.info.name, v.abi.cpu.info.name, v.vcpus, tuple(members[i]))
        for i, v in enumerate(views)
    ]
    tables = build_tables(rules, views, jobs, progress)
    return Matrix(matrix_hosts, abis, views, tables, severity or {})

