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
from abi_check.abi.facets import DST_ROLE, SRC_ROLE, Labels, Role
from abi_check.abi.views import HostView
from abi_check.errors import Span
from abi_check.matrix.tables import Crash, Progress, RuleTable, build_tables, entry_findings
from abi_check.rules.engine import RuleSet
from abi_check.spec.model import Host
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity
from abi_check.verdict.result import FailOn

VERDICTS = ("compatible", "abi-change", "fails")
_LIMITS = {FailOn.ERROR: 0, FailOn.WARNING: 1, FailOn.NOTE: 2}
_WORD = 62  # rules per int64 bit-mask word
_COUNT_BITS = 21  # errors, warnings and notes packed in one int64
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
        self._combine()

    def _combine(self) -> None:
        """Per ABI pair, the id of its outcome: what the rules' entries mean (which rules fired, which crashed,
        how many findings of each severity), found a block of rows at a time with array lookups."""
        n = len(self.abis)
        words = max(1, -(-len(self.tables) // _WORD))
        # Per table, per entry: its bit among the fired (or crashed) rules and its packed finding counts.
        fired, crashed, counts = [], [], []
        for r, table in enumerate(self.tables):
            rank = self.severity[table.rule.meta.id].rank
            bit = np.int64(1) << np.int64(r % _WORD)
            is_crash = np.array([isinstance(e, Crash) for e in table.entries], dtype=bool)
            sizes = np.array([0 if isinstance(e, Crash) else len(e) for e in table.entries], dtype=np.int64)
            fired.append(np.where((sizes > 0) & ~is_crash, bit, 0).astype(np.int64))
            crashed.append(np.where(is_crash, bit, 0).astype(np.int64))
            counts.append(np.where(is_crash, 1, sizes << (_COUNT_BITS * rank)).astype(np.int64))
        # Per table, the same per (source key, destination key): one lookup per cell and column below.
        tables = []
        for r, table in enumerate(self.tables):
            if len(table.entries) == 1:
                continue  # never fires
            crash = crashed[r][table.cell] if crashed[r].any() else None
            tables.append((r, table, fired[r][table.cell], crash, counts[r][table.cell]))
        ids: dict[tuple[int, ...], int] = {}
        keys: list[tuple[int, ...]] = []
        rows = max(1, CELL_BLOCK // max(n, 1))
        for top in range(0, n, rows):
            bottom = min(n, top + rows)
            columns = np.zeros((2 * words + 1, bottom - top, n), dtype=np.int64)
            for r, table, fired_cell, crash_cell, count_cell in tables:
                src, dst = table.src_key[top:bottom], table.dst_key
                columns[r // _WORD] |= fired_cell[src][:, dst]
                if crash_cell is not None:
                    columns[words + r // _WORD] |= crash_cell[src][:, dst]
                columns[2 * words] += count_cell[src][:, dst]
            # The distinct combinations of the columns, one column at a time (1-D sorts are fast).
            flat = columns.reshape(2 * words + 1, -1)
            used = [c for c in range(len(flat)) if flat[c].any()] or [0]
            code = np.zeros(flat.shape[1], dtype=np.int64)
            for c in used:
                values, index = np.unique(flat[c], return_inverse=True)
                code = code * len(values) + index.reshape(-1)
                found, code = np.unique(code, return_inverse=True)
                code = code.reshape(-1)
            first = np.zeros(len(found), dtype=np.intp)
            first[code[::-1]] = np.arange(len(code) - 1, -1, -1)  # a cell of each combination
            local = np.empty(len(found), dtype=np.int32)
            for u, cell in enumerate(first.tolist()):
                key = tuple(int(v) for v in flat[:, cell])
                known = ids.get(key)
                if known is None:
                    known = ids[key] = len(keys)
                    keys.append(key)
                local[u] = known
            self._cells[top:bottom] = local[code].reshape(bottom - top, n)
        # Keys that differ only in which rules crashed mean the same outcome: one id for each meaning.
        meaning: dict[Outcome, int] = {}
        remap = np.array([meaning.setdefault(self._summarise(key, words), len(meaning)) for key in keys] or [0],
                         dtype=np.int32)
        self._outcomes = list(meaning)
        if len(meaning) < len(keys):
            self._cells = remap[self._cells]

    def _summarise(self, key: tuple[int, ...], words: int) -> Outcome:
        mask = (1 << _COUNT_BITS) - 1
        packed = key[2 * words]
        counts = (packed & mask, packed >> _COUNT_BITS & mask, packed >> 2 * _COUNT_BITS & mask)
        fired: set[tuple[int, str]] = set()
        crashes = 0
        for r, table in enumerate(self.tables):
            bit = 1 << (r % _WORD)
            if key[words + r // _WORD] & bit:
                crashes += 1
                fired.add((0, INTERNAL_ERROR))
            elif key[r // _WORD] & bit:
                fired.add((self.severity[table.rule.meta.id].rank, table.rule.meta.id))
        verdict = "fails" if counts[0] else "abi-change" if counts[1] else "compatible"
        return Outcome(verdict, counts, tuple(sorted(fired)), crashes)

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

