"""The compatibility matrix: the verdict of every directional pair of a set of hosts.

Hosts that run the same kernel, VMM and CPU specs (the same files, ``extends`` resolved) with the same vCPU
count have identical effective ABIs: they form one ABI and are evaluated once. Rules run once per distinct
combination of what they read (``tables.py``). A cell's findings are made only when a report asks for them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress

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


def _entry_class(entry: Entry) -> tuple[bool, int]:
    """What a table entry adds to a cell's outcome: did the rule crash, and how many findings it made (a crashed
    rule's findings before it raised count too, as in pair)."""
    if isinstance(entry, Crash):
        return True, len(entry.hits)
    return False, entry  # a table keeps the number of hits


@dataclass(frozen=True, slots=True)
class _Classes:
    """A rule table whose entries mean more than one thing, by class: [source key, destination key] -> class,
    and per class whether the rule crashed and how many findings it made."""

    table: RuleTable
    class_cell: npt.NDArray[np.int64]
    size: int
    crashed: npt.NDArray[np.int64]
    findings: npt.NDArray[np.int64]


@contextmanager
def collector_paused() -> Iterator[None]:
    """While tens of thousands of small acyclic objects are made (outcomes, separations): the cyclic collector
    would otherwise walk every live object (hosts, views, rule tables) for nothing, a few times."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def group_limit(count: int) -> int:
    """The values ``group`` sorts packed with their positions, when there are ``count`` of them: below this."""
    return 1 << (63 - max(1, (count - 1).bit_length()))


def group(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``np.unique(values, return_index=True, return_inverse=True)`` for non-negative values: the distinct values
    in order, the first position of each, and each value's index among them. Values below ``group_limit`` are
    sorted once, each packed with its position (the first of a run is then its first position), which costs a
    third of np.unique's stable argsort and gathers; larger ones go to np.unique."""
    count = len(values)
    if not count or int(values.max()) >= group_limit(count):
        distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
        return distinct, first, inverse.reshape(-1)
    shift = max(1, (count - 1).bit_length())
    packed = np.sort((values << shift) | np.arange(count, dtype=np.int64))
    ordered = packed >> shift
    position = packed & ((1 << shift) - 1)
    start = np.empty(count, dtype=bool)
    start[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=start[1:])
    inverse = np.empty(count, dtype=np.intp)
    inverse[position] = np.cumsum(start) - 1
    return ordered[start], position[start], inverse


def distinct_rows(
    rows: npt.NDArray[np.int64] | npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The first row of each distinct row, and each row's distinct row (an index into the first): what
    ``np.unique(axis=0)`` finds, without its slow sort of whole rows: the columns are read as the digits of one
    number, renumbered (``group``) whenever it would outgrow what ``group`` sorts."""
    code = np.zeros(len(rows), dtype=np.int64)
    limit = group_limit(len(rows))
    radix = 1
    for column in rows.T.astype(np.int64, copy=False):
        low = int(column.min()) if len(column) else 0
        span = (int(column.max()) - low + 1) if len(column) else 1
        if span == 1:
            continue
        if radix * span >= limit:
            distinct, _, code = group(code)
            radix = len(distinct)
        code = code * span + (column - low)
        radix *= span
    _, first, inverse = group(code)
    return first, inverse


_MEANING_FIXED = 4  # columns of a meaning before the fired rules: errors, warnings, notes, crashed rules


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
        self._role_views: dict[tuple[int, bool], RoleView] = {}
        self._labels: list[tuple[int, str]] = []  # (severity rank, rule id) an outcome may list, in its order
        self._fired: npt.NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)  # [outcome, label] -> listed
        self._own: dict[int, Outcome] | None = None  # see own_outcomes
        self._host_abi = np.array([h.abi for h in hosts], dtype=np.intp)
        self._combine()

    def _combine(self) -> None:
        """Per ABI pair, the id of its outcome: what the rules' entries mean (which rules fired, which crashed,
        how many findings of each severity), found a block of rows at a time with array lookups.

        Each table's entries fall in a few classes (no finding; n findings; a crash): a cell's combination is a
        mixed-radix number over the tables' classes, one lookup and one add per table and cell, renumbered
        (``group``) whenever it would outgrow what ``group`` sorts. What a combination means (its counts, crashes
        and fired rules: ``_meanings``) is found for each distinct combination at once, as rows of an array; the
        outcome ids number the distinct meanings in the order their first cells come, row by row."""
        n = len(self.abis)
        # Per table: the class of each entry, what each class means, and the class per (source, destination key).
        tables = []
        for table in self.tables:
            classes: dict[tuple[bool, int], int] = {(False, 0): 0}
            of_entry = np.array([classes.setdefault(_entry_class(e), len(classes)) for e in table.entries],
                                dtype=np.int64)
            if len(classes) > 1:
                meaning = np.array(list(classes), dtype=np.int64).reshape(-1, 2)  # per class: crashed, findings
                tables.append(_Classes(table, of_entry[table.cell], len(classes), meaning[:, 0], meaning[:, 1]))
        known = np.zeros((0, _MEANING_FIXED + len(tables)), dtype=np.int64)  # the distinct meanings, in id order
        rows = max(1, CELL_BLOCK // max(n, 1))
        for top in range(0, n, rows):
            bottom = min(n, top + rows)
            code = np.zeros((bottom - top) * n, dtype=np.int64)
            limit = group_limit(len(code))
            radix = 1
            for t in tables:
                if radix * t.size >= limit:
                    distinct, _, code = group(code)
                    radix = len(distinct)
                scaled = t.class_cell * radix if radix > 1 else t.class_cell  # per key pair: few, not per cell
                code += scaled[t.table.src_key[top:bottom]][:, t.table.dst_key].reshape(-1)
                radix *= t.size
            _, first, local_code = group(code)
            # The distinct combinations in the order their first cells come (row by row), so outcome ids number
            # the outcomes in the order the matrix meets them, whatever the tables' entry numbers.
            by_cell = np.argsort(first, kind="stable")
            place = np.empty_like(by_cell)
            place[by_cell] = np.arange(len(by_cell))
            # What each distinct combination means, found at its first cell.
            src, dst = np.divmod(first[by_cell], n)
            src += top
            found = self._meanings(tables, src, dst)
            # Meanings met in earlier blocks keep their ids; new ones are numbered in the order they come.
            every = np.concatenate([known, found])
            at, inverse = distinct_rows(every)
            order = np.argsort(at, kind="stable")
            number = np.empty(len(order), dtype=np.int32)
            number[order] = np.arange(len(order), dtype=np.int32)
            local = number[inverse[len(known):]]
            known = every[at[order]]
            self._cells[top:bottom] = local[place[local_code]].reshape(bottom - top, n)
        # Combinations that differ only in which rules crashed have one meaning, hence one id.
        self._outcomes, self._labels, self._fired = self._summarise(known, tables)

    def _meanings(self, tables: list[_Classes], src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]
                  ) -> npt.NDArray[np.int64]:
        """Per (source ABI, destination ABI) given: errors, warnings, notes, crashed rules, then whether each
        table's rule fired (made a finding)."""
        found = np.zeros((len(src), _MEANING_FIXED + len(tables)), dtype=np.int64)
        for j, t in enumerate(tables):
            cls = t.class_cell[t.table.src_key[src], t.table.dst_key[dst]]
            crashed, findings = t.crashed[cls], t.findings[cls]
            rank = self.severity[t.table.rule.meta.id].rank
            found[:, rank] += findings
            found[:, 0] += crashed  # a crash is an error; a crashed rule's findings before it raised count too
            found[:, 3] += crashed
            found[:, _MEANING_FIXED + j] = findings > 0
        return found

    def _summarise(self, meanings: npt.NDArray[np.int64], tables: list[_Classes]
                   ) -> tuple[list[Outcome], list[tuple[int, str]], npt.NDArray[np.bool_]]:
        """The outcome of each meaning (the rows are distinct, and so are their outcomes: rule ids are unique),
        the (severity rank, rule id) an outcome may list, in its order, and which of them each outcome lists."""
        labels = [(self.severity[t.table.rule.meta.id].rank, t.table.rule.meta.id) for t in tables]
        labels.append((0, INTERNAL_ERROR))  # what a crash adds
        columns = sorted(range(len(labels)), key=labels.__getitem__)
        fired = np.concatenate([meanings[:, _MEANING_FIXED:] > 0, meanings[:, 3:4] > 0], axis=1)[:, columns]
        labels = [labels[c] for c in columns]
        out = []
        with collector_paused():
            for (errors, warnings, notes, crashes), row in zip(meanings[:, :4].tolist(), fired.tolist(), strict=True):
                verdict = "fails" if errors else "abi-change" if warnings else "compatible"
                out.append(Outcome(verdict, (errors, warnings, notes), tuple(compress(labels, row)), crashes))
        return out, labels, fired

    # -- cells ------------------------------------------------------------------------------------

    def outcomes(self) -> list[Outcome]:
        """Every distinct outcome that some ABI pair has."""
        return list(self._outcomes)

    def abi_outcome(self, a: int, b: int) -> Outcome:
        return self._outcomes[int(self._cells[a, b])]

    def host_abis(self) -> npt.NDArray[np.intp]:
        """[host] -> index of its ABI (read-only)."""
        view = self._host_abi.view()
        view.flags.writeable = False
        return view

    def abi_cells(self) -> npt.NDArray[np.int32]:
        """[source ABI, destination ABI] -> index into ``outcomes()`` (read-only)."""
        view = self._cells.view()
        view.flags.writeable = False
        return view

    def blocking(self, fail_on: FailOn) -> tuple[list[str], npt.NDArray[np.bool_]]:
        """``Outcome.blocking`` of every outcome at once: rule ids, and [outcome, rule] -> does that rule's
        finding reach the failure threshold in that outcome."""
        limit = -1 if fail_on is FailOn.NEVER else _LIMITS[fail_on]
        columns = [c for c, (rank, _) in enumerate(self._labels) if rank <= limit]
        return [self._labels[c][1] for c in columns], self._fired[:, columns]

    def works(self, fail_on: FailOn) -> npt.NDArray[np.bool_]:
        """[source ABI, destination ABI] -> does the move stay below the failure threshold?"""
        ok = np.asarray(~self.blocking(fail_on)[1].any(axis=1), dtype=bool)
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

    def own_outcomes(self) -> dict[int, Outcome]:
        """Host -> its outcome against itself, for the hosts whose ABI has findings against itself: those are
        judged host by host (``outcome``); every other host's is its ABI's cell."""
        if self._own is None:
            n = len(self.abis)
            shared = self._cells[np.arange(n), np.arange(n)]
            judged = [o for o in np.unique(shared).tolist()
                      if any(self._outcomes[o].counts) or self._outcomes[o].verdict != "compatible"]
            self._own = {h: self.outcome(h, h) for a in np.flatnonzero(np.isin(shared, judged)).tolist()
                         for h in self.abis[a].hosts}
        return self._own

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
        # The diagonal of hosts is judged host by host where it may differ from its ABI's cell (see ``outcome``).
        for h, own in self.own_outcomes().items():
            abi = self.hosts[h].abi
            totals[self.abi_outcome(abi, abi).verdict] -= 1
            totals[own.verdict] += 1
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

