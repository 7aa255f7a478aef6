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
from dataclasses import dataclass
from itertools import product

import numpy as np
import numpy.typing as npt

from abi_check.abi.facets import DST_ROLE, SRC_ROLE, FacetTable, Labels, Role, RoleView
from abi_check.abi.views import HostView
from abi_check.errors import RuleError
from abi_check.rules.compiler import CompiledRule
from abi_check.rules.engine import RuleSet
from abi_check.rules.runtime import Hit
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity, make_finding

Progress = Callable[[int, int], None]  # (done, total) evaluations
Ints = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Crash:
    """A rule raised on this combination; it becomes an internal-error finding, beside the hits the rule made
    before it raised (``pair`` reports those too)."""

    message: str
    hits: tuple[Hit, ...] = ()


Entry = tuple[Hit, ...] | Crash
NOTHING: Entry = ()


@dataclass(slots=True)
class RuleTable:
    """One rule's results over every pair: keys per view, entries per key pair."""

    rule: CompiledRule
    src_facets: frozenset[str]
    dst_facets: frozenset[str]
    src_key: Ints  # per view: index of its source key
    dst_key: Ints
    entries: list[Entry]  # entry 0 is "no findings"
    cell: Ints  # [source key, destination key] -> entry index

    def entry(self, src: int, dst: int) -> Entry:
        return self.entries[int(self.cell[self.src_key[src], self.dst_key[dst]])]


Run = Callable[[HostView, HostView], Iterator[Hit]]


def run_rule(rule: CompiledRule, src: HostView, dst: HostView, run: Run | None = None) -> Entry:
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
_RUNS: Sequence[Run] = ()  # per rule: its run, remembering results per loop element where it can (CompiledRule)
_ROLE_VIEWS: dict[tuple[int, bool], RoleView] = {}


def _role_view(i: int, source: bool) -> RoleView:
    found = _ROLE_VIEWS.get((i, source))
    if found is None:
        found = _ROLE_VIEWS[(i, source)] = RoleView(_VIEWS[i], SRC_ROLE if source else DST_ROLE)
    return found


Chunk = tuple[list[Entry], list[int]]  # the distinct entries of a chunk of tasks, and each task's index into them


def _work_numbered(numbered: tuple[int, list[tuple[int, int, int]]]) -> tuple[int, Chunk]:
    """A whole rule's tasks in a worker; what the rule remembered is then dropped (it has no other task)."""
    found = _work(numbered[1])
    _forget({r for r, _, _ in numbered[1]})
    return numbered[0], found


def _forget(rules: set[int]) -> None:
    """Drop what these rules remembered (``CompiledRule.per_element``): their tasks are done."""
    if isinstance(_RUNS, list):
        for r in rules:
            per_element = _RULES[r].per_element
            if per_element is not None:
                _RUNS[r] = per_element()


def _work(task: list[tuple[int, int, int]]) -> Chunk:
    """A chunk's results, each distinct entry once: what a worker pickles and the main process hashes."""
    index: dict[Entry, int] = {NOTHING: 0}
    found = [index.setdefault(run_rule(_RULES[r], _role_view(i, True), _role_view(j, False), _RUNS[r]), len(index))
             for r, i, j in task]
    return list(index), found


class Evaluator:
    """Runs batches of (rule, source view, destination view) evaluations, in worker processes when asked."""

    def __init__(self, rules: Sequence[CompiledRule], views: Sequence[HostView], jobs: int) -> None:
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        if sys.platform != "linux":
            self.jobs = 1  # workers inherit the views by fork
        global _VIEWS, _RULES, _RUNS
        _VIEWS, _RULES = views, rules
        # Fresh for this run: what they remember is keyed by the views' ids, alive until close().
        _RUNS = [rule.run if rule.per_element is None else rule.per_element() for rule in rules]
        _ROLE_VIEWS.clear()

    def run(self, tasks: list[tuple[int, int, int]]) -> Iterator[tuple[list[tuple[int, int, int]], Chunk]]:
        """(chunk of tasks, their results), chunk by chunk: in task order in one process; in worker processes,
        one chunk per rule, as they end."""
        if self.jobs == 1 or len(tasks) < 2000:
            for start in range(0, len(tasks), 500):
                chunk = tasks[start : start + 500]
                yield chunk, _work(chunk)
                if start + 500 < len(tasks):  # tasks come rule by rule: the rules before the next chunk's are done
                    _forget(set(range(chunk[0][0], tasks[start + 500][0])))
            return
        # One rule's tasks to one worker, the largest first: what a rule remembers (``CompiledRule.per_element``)
        # is then made once, and the workers end close together.
        groups: dict[int, list[tuple[int, int, int]]] = {}
        for task in tasks:
            groups.setdefault(task[0], []).append(task)
        chunks = sorted(groups.values(), key=len, reverse=True)
        context = multiprocessing.get_context("fork")
        with context.Pool(self.jobs) as pool:
            for k, result in pool.imap_unordered(_work_numbered, enumerate(chunks)):
                yield chunks[k], result

    def close(self) -> None:
        global _VIEWS, _RULES, _RUNS
        _VIEWS, _RULES, _RUNS = (), (), ()
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
    views: Sequence[HostView], keys: Ints, reps: list[int], guard: Callable[[HostView], bool] | None, role: Role
) -> tuple[Ints, list[int]]:
    """The keys of one side with every key whose hosts fail the rule's one-sided guard merged into one, whose
    representative is -1: the rule reports nothing there, whatever the other host, so it is not evaluated."""
    if guard is None:
        return keys, reps

    def holds(view: HostView) -> bool:
        try:
            return guard(RoleView(view, role))
        except Exception:  # the rule runs there and reports the crash as pair would
            return True

    alive = [holds(views[rep]) for rep in reps]
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
    tasks: list[tuple[int, int, int]] = []
    for r, rule in enumerate(compiled):
        src_keys, src_reps = _keys(views, rule.src_facets, facet_table)
        dst_keys, dst_reps = _keys(views, rule.dst_facets, facet_table)
        if rule.guards is not None:
            src_keys, src_reps = _guarded(views, src_keys, src_reps, rule.guards.src, SRC_ROLE)
            dst_keys, dst_reps = _guarded(views, dst_keys, dst_reps, rule.guards.dst, DST_ROLE)
        cell = np.zeros((len(src_reps), len(dst_reps)), dtype=np.int32)
        tables.append(RuleTable(rule, rule.src_facets, rule.dst_facets, src_keys, dst_keys, [NOTHING], cell))
        reps.append((src_reps, dst_reps))
        tasks.extend((r, i, j) for i, j in product(src_reps, dst_reps) if i >= 0 and j >= 0)
    row = [{view: k for k, view in enumerate(s)} for s, _ in reps]
    col = [{view: k for k, view in enumerate(d)} for _, d in reps]
    ids: list[dict[Entry, int]] = [{NOTHING: 0} for _ in compiled]
    evaluator = Evaluator(compiled, views, jobs)
    done = 0
    try:
        for chunk, (entries, results) in evaluator.run(tasks):
            known: dict[tuple[int, int], int] = {}  # (rule, index in this chunk) -> index in the rule's table
            for (r, i, j), k in zip(chunk, results, strict=True):
                if k:  # 0 is NOTHING, already in every cell
                    found = known.get((r, k))
                    if found is None:
                        table, entry = tables[r], entries[k]
                        found = known[(r, k)] = ids[r].setdefault(entry, len(ids[r]))
                        if found == len(table.entries):
                            table.entries.append(entry)
                    tables[r].cell[row[r][i], col[r][j]] = found
            done += len(chunk)
            if progress is not None:
                progress(done, len(tasks))
    finally:
        evaluator.close()
    return tables


def entry_findings(
    rule: CompiledRule, entry: Entry, src: Labels, dst: Labels, severity: Severity | None = None
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
