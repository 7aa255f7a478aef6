"""The compatibility matrix: the verdict of every directional pair of a set of hosts.

Hosts that run the same kernel, VMM and CPU specs (the same files, ``extends`` resolved) with the same vCPU
count have identical effective ABIs: they form one ABI and are evaluated once. Rules run once per distinct
combination of what they read (``tables.py``). A cell's findings are made only when a report asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from abi_check.abi.effective import effective_abi
from abi_check.abi.facets import DST_ROLE, SRC_ROLE, Labels, Role, RoleView
from abi_check.abi.views import HostView
from abi_check.errors import Span
from abi_check.matrix.tables import Crash, Entry, Progress, RuleTable, build_tables, entry_findings
from abi_check.rules.engine import RuleSet
from abi_check.spec.model import Host
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity
from abi_check.verdict.result import FailOn

VERDICTS = ("compatible", "abi-change", "fails")
_LIMITS = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2}
CELL_BLOCK = 1 << 20  # cells combined at once: bounds the memory of the combination


@dataclass(frozen=True, slots=True)
class MatrixHost:
    """A host of the matrix: its name, file and ABI."""

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
        limit = _LIMITS[fail_on]
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


def _entry_class(entry: Entry) -> tuple[bool, int]:
    """(crashed, number of findings) of a table entry."""
    return (True, len(entry.hits)) if isinstance(entry, Crash) else (False, entry)


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
        self._cells: npt.NDArray[np.int32] = np.zeros((n, n), dtype=np.int32)
        self._outcomes: list[Outcome] = []
        self._role_views: dict[tuple[int, bool], RoleView] = {}
        self._combine()

    def _combine(self) -> None:
        """Per ABI pair, the id of its outcome: what the rules' entries mean (which rules fired, which crashed,
        how many findings of each severity), found a block of rows at a time with array lookups.

        Each table's entries fall in a few classes (no finding; n findings; a crash): a cell's combination is a
        mixed-radix number over the tables' classes, one lookup and one add per table and cell, renumbered
        (np.unique) whenever it would outgrow 62 bits."""
        n = len(self.abis)
        # Per table: the class of each entry, what each class means, and the class per (source, destination key).
        tables = []
        meanings: list[list[tuple[bool, int]]] = []  # per table, per class: (crashed, findings)
        for table in self.tables:
            classes: dict[tuple[bool, int], int] = {(False, 0): 0}
            of_entry = np.array([classes.setdefault(_entry_class(e), len(classes)) for e in table.entries],
                                dtype=np.int64)
            meanings.append(list(classes))
            if len(classes) > 1:
                tables.append((len(meanings) - 1, table, of_entry[table.cell], len(classes)))
        ids: dict[tuple[int, ...], int] = {}
        keys: list[tuple[int, ...]] = []
        rows = max(1, CELL_BLOCK // max(n, 1))
        limit = 1 << 62
        for top in range(0, n, rows):
            bottom = min(n, top + rows)
            code = np.zeros((bottom - top) * n, dtype=np.int64)
            radix = 1
            for _, table, class_cell, size in tables:
                if radix * size >= limit:
                    _, code = np.unique(code, return_inverse=True)
                    code = code.reshape(-1).astype(np.int64)
                    radix = int(code.max()) + 1
                part = class_cell[table.src_key[top:bottom]][:, table.dst_key].reshape(-1)
                if radix > 1:
                    part *= radix
                code += part
                radix *= size
            found, first, local_code = np.unique(code, return_index=True, return_inverse=True)
            # What each distinct combination is: the class of every table at one of its cells.
            src, dst = np.divmod(first, n)
            src += top
            classes_at = np.zeros((len(found), len(self.tables)), dtype=np.int64)
            for r, table, class_cell, _ in tables:
                classes_at[:, r] = class_cell[table.src_key[src], table.dst_key[dst]]
            local = np.empty(len(found), dtype=np.int32)
            for u, key in enumerate(map(tuple, classes_at.tolist())):
                known = ids.get(key)
                if known is None:
                    known = ids[key] = len(keys)
                    keys.append(key)
                local[u] = known
            self._cells[top:bottom] = local[local_code.reshape(-1)].reshape(bottom - top, n)
        # Combinations that differ only in which rules crashed mean the same outcome: one id for each meaning.
        meaning: dict[Outcome, int] = {}
        remap = np.array(
            [meaning.setdefault(self._summarise(key, meanings), len(meaning)) for key in keys] or [0], dtype=np.int32
        )
        self._outcomes = list(meaning)
        if len(meaning) < len(keys):
            self._cells = remap[self._cells]

    def _summarise(self, key: tuple[int, ...], meanings: list[list[tuple[bool, int]]]) -> Outcome:
        counts = [0, 0, 0]
        fired: set[tuple[int, str]] = set()
        crashes = 0
        for r, table in enumerate(self.tables):
            crashed, findings = meanings[r][key[r]]
            if crashed:
                crashes += 1
                counts[0] += 1
                fired.add((0, INTERNAL_ERROR))
            if findings:  # a crashed rule's findings before it raised count too, as in pair
                rank = self.severity[table.rule.meta.id].rank
                counts[rank] += findings
                fired.add((rank, table.rule.meta.id))
        verdict = "fails" if counts[0] else "abi-change" if counts[1] else "compatible"
        return Outcome(verdict, (counts[0], counts[1], counts[2]), tuple(sorted(fired)), crashes)

    # -- cells ------------------------------------------------------------------------------------

    def outcomes(self) -> list[Outcome]:
        """Every distinct outcome that some ABI pair has."""
        return list(self._outcomes)

    def abi_outcome(self, a: int, b: int) -> Outcome:
        return self._outcomes[int(self._cells[a, b])]

    def abi_cells(self) -> npt.NDArray[np.int32]:
        """[source ABI, destination ABI] -> index into ``outcomes()`` (read-only)."""
        view = self._cells.view()
        view.flags.writeable = False
        return view

    def works(self, fail_on: FailOn) -> npt.NDArray[np.bool_]:
        """[source ABI, destination ABI] -> does the move stay below the failure threshold?"""
        ok = np.array([o.works(fail_on) for o in self._outcomes], dtype=bool)
        return ok[self._cells]

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
            found = table.found(a.abi, b.abi, self._role_view)
            if found:
                out.update(
                    entry_findings(
                        table.rule,
                        found,
                        self.labels(src, SRC_ROLE),
                        self.labels(dst, DST_ROLE),
                        self.severity[table.rule.meta.id],
                    )
                )
        return sorted(out)

    def _role_view(self, abi: int, source: bool) -> RoleView:
        """An ABI's view as rules see it in a role (made once; the findings of its cells are made on these)."""
        found = self._role_views.get((abi, source))
        if found is None:
            found = self._role_views[(abi, source)] = RoleView(self.views[abi], SRC_ROLE if source else DST_ROLE)
        return found

    def labels(self, host: int, role: Role) -> Labels:
        found = self.hosts[host]
        return Labels(role, found.name, found.span, self.views[found.abi])

    def verdict_counts(self) -> dict[str, int]:
        """How many host pairs have each verdict (diagonal included)."""
        sizes = np.array([len(abi.hosts) for abi in self.abis], dtype=np.int64)
        verdict = np.array([VERDICTS.index(o.verdict) for o in self._outcomes] or [0], dtype=np.int64)
        by_verdict = np.zeros(len(VERDICTS), dtype=np.int64)
        rows = max(1, CELL_BLOCK // max(len(sizes), 1))
        for top in range(0, len(sizes), rows):
            # host pairs per verdict: for each source ABI, the destination sizes summed by verdict
            codes = verdict[self._cells[top : top + rows]]
            for v in range(len(VERDICTS)):
                by_verdict[v] += int(sizes[top : top + rows] @ ((codes == v) @ sizes))
        totals = {v: int(by_verdict[i]) for i, v in enumerate(VERDICTS)}
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

