"""Every rule over every (source, destination) pair of many hosts, evaluated once per distinct combination.

For each rule the hosts are keyed by the facets the rule reads (``facets.py``), known when the rule is compiled
(``rules/reads.py``): the rule runs once for each (source key, destination key) that occurs, on a representative
pair shown to it by role (``RoleView``), and the result serves every pair with the same keys.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from abi_check.abi.facets import DST_ROLE, SRC_ROLE, FacetTable, Labels, RoleView
from abi_check.abi.views import HostView
from abi_check.errors import RuleError
from abi_check.matrix.batch import table_counts
from abi_check.rules.compiler import CompiledRule
from abi_check.rules.engine import RuleSet
from abi_check.rules.runtime import Hit
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity, make_finding

Progress = Callable[[int, int], None]  # (done, total) cells of the rule tables
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Crash:
    """A rule raised on this combination; it becomes an internal-error finding, beside the hits the rule made
    before it raised (``pair`` reports those too)."""

    message: str
    hits: tuple[Hit, ...] = ()


Found = tuple[Hit, ...] | Crash  # one evaluation: the distinct hits, or the crash with the hits before it
Entry = int | Crash  # what a table keeps of it: the number of hits, or the crash
NOTHING: Entry = 0


def entry_of(found: Found) -> Entry:
    return found if isinstance(found, Crash) else len(found)


Run = Callable[[HostView, HostView], Iterator[Hit]]
RoleViewOf = Callable[[int, bool], RoleView]  # (view index, as source?) -> the view shown to rules in that role


@dataclass(slots=True)
class RuleTable:
    """One rule's results over every pair: keys per view, entries per key pair. An entry is a count; the hits
    themselves are made again, on the key pair's representatives, when a report shows them (``found``)."""

    rule: CompiledRule
    src_facets: frozenset[str]
    dst_facets: frozenset[str]
    src_key: Ints  # per view: index of its source key
    dst_key: Ints
    src_reps: list[int]  # per source key: a view that has it (-1: the key of hosts failing the rule's guard)
    dst_reps: list[int]
    entries: list[Entry]  # entry 0 is "no findings"
    cell: Ints  # [source key, destination key] -> entry index
    _found: dict[tuple[int, int], Found] = field(default_factory=dict)

    def entry(self, src: int, dst: int) -> Entry:
        return self.entries[int(self.cell[self.src_key[src], self.dst_key[dst]])]

    def found(self, src: int, dst: int, role_view: RoleViewOf) -> Found:
        """The hits (or the crash) of view ``src`` -> view ``dst``: those of the representatives of their keys,
        which every pair with these keys shares."""
        entry = self.entry(src, dst)
        if isinstance(entry, Crash):
            return entry
        if entry == 0:
            return ()
        key = (int(self.src_key[src]), int(self.dst_key[dst]))
        hits = self._found.get(key)
        if hits is None:
            rep_src, rep_dst = self.src_reps[key[0]], self.dst_reps[key[1]]
            hits = self._found[key] = run_rule(self.rule, role_view(rep_src, True), role_view(rep_dst, False))
        return hits


def run_rule(rule: CompiledRule, src: HostView, dst: HostView, run: Run | None = None) -> Found:
    """One evaluation (by ``run``, the rule's own by default); the distinct hits, or the crash."""
    hits: list[Hit] = []
    try:
        hits.extend((run or rule.run)(src, dst))
    except RuleError:
        raise  # a rule over its budget is an input error for the whole run, not a crashed cell
    except Exception as exc:
        return Crash(f"rule {rule.meta.id} failed: {type(exc).__name__}: {exc}", tuple(dict.fromkeys(hits)))
    return tuple(dict.fromkeys(hits))


# Set before worker processes fork; workers read them, never write.
_VIEWS: Sequence[HostView] = ()
_RULES: Sequence[CompiledRule] = ()
_REPS: Sequence[tuple[list[int], list[int]]] = ()  # per rule: its source and destination keys' representatives
_ROLE_VIEWS: dict[tuple[int, bool], RoleView] = {}


def _role_view(i: int, source: bool) -> RoleView:
    found = _ROLE_VIEWS.get((i, source))
    if found is None:
        found = _ROLE_VIEWS[(i, source)] = RoleView(_VIEWS[i], SRC_ROLE if source else DST_ROLE)
    return found


SPLIT_ROWS = 600  # source keys a block of one rule has at least
Task = tuple[int, list[int]]  # a rule, and the source keys (rows of its table) to evaluate
Block = tuple[Ints, list[Entry]]  # [row of the task, destination key] -> index into the entries


def _rule_block(task: Task) -> tuple[Task, Block]:
    """Rule ``r`` over its rows' (source key, destination key) pairs: the whole block at once where the rule
    allows (``batch.py``), the rest cell by cell, remembering per loop element where it can (``CompiledRule``)."""
    r, rows = task
    rule = _RULES[r]
    src_reps, dst_reps = _REPS[r]
    cols = [k for k, j in enumerate(dst_reps) if j >= 0]
    cell = np.zeros((len(rows), len(dst_reps)), dtype=np.int32)
    ids: dict[Entry, int] = {NOTHING: 0}
    if not rows or not cols:
        return task, (cell, list(ids))
    pending: list[tuple[int, int]]  # (row of the task, destination key)
    counted = None
    if rule.elements is not None:
        counted = table_counts(rule.elements, [_role_view(src_reps[k], True) for k in rows],
                               [_role_view(dst_reps[k], False) for k in cols], FacetTable())
    if counted is not None:
        counts, plain = counted
        distinct, inverse = np.unique(counts, return_inverse=True)
        numbers = np.array([ids.setdefault(int(c), len(ids)) for c in distinct.tolist()], dtype=np.int32)
        cell[:, cols] = numbers[inverse.reshape(counts.shape)]
        pending = [(a, cols[b]) for a, b in zip(*np.nonzero(plain), strict=True)]
        run: Run = rule.run
    else:
        pending = [(a, b) for a in range(len(rows)) for b in cols]
        run = rule.run if rule.per_element is None else rule.per_element()
    for a, b in pending:
        found = run_rule(rule, _role_view(src_reps[rows[a]], True), _role_view(dst_reps[b], False), run)
        cell[a, b] = ids.setdefault(entry_of(found), len(ids))
    return task, (cell, list(ids))


class Evaluator:
    """Evaluates blocks of rule tables, in worker processes when asked."""

    def __init__(self, rules: Sequence[CompiledRule], views: Sequence[HostView],
                 reps: Sequence[tuple[list[int], list[int]]], jobs: int) -> None:
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        if sys.platform != "linux":
            self.jobs = 1  # workers inherit the views by fork
        global _VIEWS, _RULES, _REPS
        _VIEWS, _RULES, _REPS = views, rules, reps
        _ROLE_VIEWS.clear()

    def run(self, tasks: list[Task]) -> Iterator[tuple[Task, Block]]:
        """Each task's block: in order in one process; in worker processes, as they end (give the dearest
        first, so the workers end close together)."""
        if self.jobs == 1 or len(tasks) < 2:
            for task in tasks:
                yield _rule_block(task)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs) as pool:
            yield from pool.imap_unordered(_rule_block, tasks)

    def close(self) -> None:
        global _VIEWS, _RULES, _REPS
        _VIEWS, _RULES, _REPS = (), (), ()
        _ROLE_VIEWS.clear()


def _keys(views: Sequence[HostView], facets: frozenset[str], table: FacetTable) -> tuple[Ints, list[int]]:
    """Per view, the index of its key; and per key index, the first view that has it (its representative)."""
    order = sorted(facets)
    index: dict[tuple[int, ...], int] = {}
    keys = np.zeros(len(views), dtype=np.int32)
    reps: list[int] = []
    columns = [table.tokens(views, f) for f in order]
    for i, key in enumerate(zip(*columns, strict=True) if columns else [()] * len(views)):
        k = index.setdefault(key, len(index))
        if k == len(reps):
            reps.append(i)
        keys[i] = k
    return keys, reps


def _guarded(
    keys: Ints, reps: list[int], guard: Callable[[HostView], bool] | None, shown: Callable[[int], RoleView]
) -> tuple[Ints, list[int]]:
    """The keys of one side with every key whose hosts fail the rule's one-sided guard merged into one, whose
    representative is -1: the rule reports nothing there, whatever the other host, so it is not evaluated.
    ``shown`` gives a view as rules see it in this side's role."""
    if guard is None:
        return keys, reps

    def holds(rep: int) -> bool:
        try:
            return guard(shown(rep))
        except Exception:  # the rule runs there and reports the crash as pair would
            return True

    alive = [holds(rep) for rep in reps]
    if all(alive):
        return keys, reps
    kept = [rep for rep, ok in zip(reps, alive, strict=True) if ok]
    renumber = np.full(len(reps), len(kept), dtype=np.int32)  # every failing key becomes the last one
    renumber[[k for k, ok in enumerate(alive) if ok]] = np.arange(len(kept), dtype=np.int32)
    return renumber[keys], [*kept, -1]


def build_tables(
    rules: RuleSet, views: Sequence[HostView], jobs: int = 1, progress: Progress | None = None
) -> list[RuleTable]:
    """One table per rule, covering every ordered pair of ``views``."""
    facet_table = FacetTable()
    compiled = list(rules.rules)
    tables: list[RuleTable] = []
    reps: list[tuple[list[int], list[int]]] = []
    # The role views the guards are checked on are those the workers evaluate on (made before they fork).
    evaluator = Evaluator(compiled, views, reps, jobs)
    for rule in compiled:
        src_keys, src_reps = _keys(views, rule.src_facets, facet_table)
        dst_keys, dst_reps = _keys(views, rule.dst_facets, facet_table)
        if rule.guards is not None:
            src_keys, src_reps = _guarded(src_keys, src_reps, rule.guards.src, lambda i: _role_view(i, True))
            dst_keys, dst_reps = _guarded(dst_keys, dst_reps, rule.guards.dst, lambda i: _role_view(i, False))
        cell = np.zeros((len(src_reps), len(dst_reps)), dtype=np.int32)
        tables.append(RuleTable(rule, rule.src_facets, rule.dst_facets, src_keys, dst_keys, src_reps, dst_reps,
                                [NOTHING], cell))
        reps.append((src_reps, dst_reps))
    tasks = [task for r, rule in enumerate(compiled)
             for task in _split(r, rule, views, reps[r], facet_table, evaluator.jobs)]
    live_cols = [sum(j >= 0 for j in d) for _, d in reps]

    def size(task: Task) -> int:
        return len(task[1]) * live_cols[task[0]]

    tasks.sort(key=size, reverse=True)
    total, done = sum(map(size, tasks)), 0
    ids: list[dict[Entry, int]] = [{NOTHING: 0} for _ in compiled]
    try:
        for (r, rows), (cell, entries) in evaluator.run(tasks):
            known = ids[r]
            renumber = np.array([known.setdefault(entry, len(known)) for entry in entries], dtype=np.int32)
            tables[r].cell[rows] = renumber[cell]
            done += size((r, rows))
            if progress is not None:
                progress(done, total)
        for table, known in zip(tables, ids, strict=True):
            table.entries = list(known)
    finally:
        evaluator.close()
    return tables


def _split(r: int, rule: CompiledRule, views: Sequence[HostView], reps: tuple[list[int], list[int]],
           facet_table: FacetTable, jobs: int) -> list[Task]:
    """A rule's live rows, in up to ``jobs`` blocks of consecutive rows when it has many: then no one rule keeps
    one worker busy while the others wait. Each block repeats some work (the destination's side of the rule, and
    elements' combinations the blocks share), so a rule with fewer than ``SPLIT_ROWS`` rows a block is not split
    (a 1,000-ABI fleet's rules are not: the dearest is about half the work and runs beside all the others). For a
    rule counted in blocks (``batch.py``), rows that read alike are put together (the same whole facets its loop
    body reads of the source), so a block's combinations seldom repeat in another."""
    rows = [k for k, i in enumerate(reps[0]) if i >= 0]
    if rule.elements is not None and rule.elements.plan.src.facets:
        facets = rule.elements.plan.src.facets
        rows.sort(key=lambda k: tuple(facet_table.token(views[reps[0][k]], f) for f in facets))
    parts = max(1, min(jobs, len(rows) // SPLIT_ROWS))
    step = -(-len(rows) // parts) if rows else 1
    return [(r, rows[start : start + step]) for start in range(0, len(rows), step)] or [(r, [])]


def entry_findings(
    rule: CompiledRule, entry: Found, src: Labels, dst: Labels, severity: Severity | None = None
) -> Iterator[Finding]:
    """The findings of one shared entry for one real pair of hosts: names and locations put back."""
    meta = rule.meta
    if isinstance(entry, Crash):
        yield make_finding(
            rule=INTERNAL_ERROR,
            severity=Severity.ERROR,
            source=src.name,
            destination=dst.name,
            subject=meta.id,
            message=entry.message,
            fix="report this as a bug in the rule",
            reference=meta.path,
            span=meta.span,
            category="internal",
        )
    hits = entry.hits if isinstance(entry, Crash) else entry

    def named(text: str) -> str:
        return dst.text(src.text(text))

    for hit in hits:
        span = hit.span
        if span is not None:
            span = src.location(span) or dst.location(span) or span
        yield make_finding(
            rule=meta.id,
            severity=severity or meta.severity,
            source=src.name,
            destination=dst.name,
            subject=named(hit.subject),
            message=named(hit.message),
            fix=named(hit.fix),
            reference=meta.reference,
            span=span,
            category=meta.category,
        )
