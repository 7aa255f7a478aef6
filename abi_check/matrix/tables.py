"""Every rule over every (source, destination) pair of many hosts, evaluated once per distinct combination.

For each rule the hosts are keyed by the facets the rule reads (``facets.py``): the rule runs once for each
(source key, destination key) that occurs, on a representative pair, and the result serves every pair with
the same keys. Which facets a rule reads is learnt by running it: every evaluation is traced, and when one reads
a facet outside the rule's key the key is widened and the rule's table computed again, so a shared result is
never used for a pair it was not valid for.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from typing import cast

from abi_check.abi.facets import FacetTable, Labels, traced_pair
from abi_check.abi.views import HostView
from abi_check.errors import RuleError
from abi_check.rules.compiler import CompiledRule, Hit
from abi_check.rules.engine import RuleSet
from abi_check.verdict.findings import INTERNAL_ERROR, Finding, Severity, make_finding

Progress = Callable[[int, int], None]  # (done, total) evaluations


@dataclass(frozen=True, slots=True)
class Crash:
    """A rule raised on this combination; it becomes an internal-error finding."""

    message: str


Entry = tuple[Hit, ...] | Crash
NOTHING: Entry = ()


@dataclass(slots=True)
class RuleTable:
    rule: CompiledRule
    src_facets: frozenset[str]
    dst_facets: frozenset[str]
    src_key: list[int]  # per view: index of its source key
    dst_key: list[int]
    entries: list[Entry]  # entry 0 is "no findings"
    cell: list[list[int]]  # [source key][destination key] -> entry index

    def entry(self, src: int, dst: int) -> Entry:
        return self.entries[self.cell[self.src_key[src]][self.dst_key[dst]]]


def run_traced(rule: CompiledRule, src: HostView, dst: HostView) -> tuple[Entry, frozenset[str], frozenset[str]]:
    """One evaluation with role-named hosts; returns the distinct hits and the facets read on each side."""
    s, d, src_reads, dst_reads = traced_pair(src, dst)
    try:
        # A Traced host answers every attribute a rule may read (the compiler allows no other use).
        entry: Entry = tuple(dict.fromkeys(rule.run(cast(HostView, s), cast(HostView, d))))
    except RuleError:
        raise  # a rule over its budget is an input error for the whole run, not a crashed cell
    except Exception as exc:
        entry = Crash(f"rule {rule.meta.id} failed: {type(exc).__name__}: {exc}")
    return entry, frozenset(src_reads), frozenset(dst_reads)


# Set before worker processes fork; workers read them, never write.
_VIEWS: Sequence[HostView] = ()
_RULES: Sequence[CompiledRule] = ()


def _work(task: list[tuple[int, int, int]]) -> list[tuple[Entry, frozenset[str], frozenset[str]]]:
    return [run_traced(_RULES[r], _VIEWS[i], _VIEWS[j]) for r, i, j in task]


class Evaluator:
    """Runs batches of (rule, source view, destination view) evaluations, in worker processes when asked."""

    def __init__(self, rules: Sequence[CompiledRule], views: Sequence[HostView], jobs: int) -> None:
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        if sys.platform != "linux":
            self.jobs = 1  # workers inherit the views by fork
        global _VIEWS, _RULES
        _VIEWS, _RULES = views, rules
        self._pool: multiprocessing.pool.Pool | None = None

    def run(
        self, tasks: list[tuple[int, int, int]]
    ) -> Iterator[tuple[list[tuple[int, int, int]], list[tuple[Entry, frozenset[str], frozenset[str]]]]]:
        """(chunk of tasks, their results), chunk by chunk, in task order."""
        if self.jobs == 1 or len(tasks) < 2000:
            for start in range(0, len(tasks), 500):
                chunk = tasks[start : start + 500]
                yield chunk, _work(chunk)
            return
        pool = self._start()
        size = max(200, min(5000, len(tasks) // (self.jobs * 8)))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        yield from zip(chunks, pool.imap(_work, chunks), strict=True)

    def _start(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            self._pool = multiprocessing.get_context("fork").Pool(self.jobs)
        return self._pool

    def close(self) -> None:
        global _VIEWS, _RULES
        _VIEWS, _RULES = (), ()
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None


class _Building:
    """A rule table being filled in; notes the facets read beyond the table's keys (then it is redone)."""

    def __init__(self, table: RuleTable, src_row: dict[int, int], dst_col: dict[int, int]) -> None:
        self.table, self.src_row, self.dst_col = table, src_row, dst_col
        self.ids: dict[Entry, int] = {NOTHING: 0}
        self.extra_src: set[str] = set()
        self.extra_dst: set[str] = set()

    def add(self, src: int, dst: int, entry: Entry, src_reads: frozenset[str], dst_reads: frozenset[str]) -> None:
        table = self.table
        if not src_reads <= table.src_facets:
            self.extra_src |= src_reads - table.src_facets
        if not dst_reads <= table.dst_facets:
            self.extra_dst |= dst_reads - table.dst_facets
        found = self.ids.setdefault(entry, len(self.ids))
        if found == len(table.entries):
            table.entries.append(entry)
        table.cell[self.src_row[src]][self.dst_col[dst]] = found


def _keys(views: Sequence[HostView], facets: frozenset[str], table: FacetTable) -> tuple[list[int], list[int]]:
    """Per view, the index of its key; and per key index, the first view that has it (its representative)."""
    order = sorted(facets)
    index: dict[tuple[int, ...], int] = {}
    keys: list[int] = []
    reps: list[int] = []
    for i, view in enumerate(views):
        key = tuple(table.token(view, f) for f in order)
        k = index.setdefault(key, len(index))
        if k == len(reps):
            reps.append(i)
        keys.append(k)
    return keys, reps


def build_tables(
    rules: RuleSet, views: Sequence[HostView], jobs: int = 1, progress: Progress | None = None
) -> list[RuleTable]:
    """One table per rule, covering every ordered pair of ``views``."""
    facet_table = FacetTable()
    compiled = list(rules.rules)
    evaluator = Evaluator(compiled, views, jobs)
    done = 0
    total = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    try:
        # A first guess at each rule's facets, from a few pairs; widened below whenever a result needs it.
        sample = sorted({0, len(views) // 3, 2 * len(views) // 3, len(views) - 1})
        probes = [(r, i, j) for r in range(len(compiled)) for i, j in product(sample, sample)]
        total = len(probes)
        facets: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in compiled]
        for chunk, results in evaluator.run(probes):
            for (r, _, _), (_, src_reads, dst_reads) in zip(chunk, results, strict=True):
                facets[r][0].update(src_reads)
                facets[r][1].update(dst_reads)
            advance(len(chunk))

        tables: dict[int, RuleTable] = {}
        pending = list(range(len(compiled)))
        while pending:
            batch: list[tuple[int, int, int]] = []
            building: dict[int, _Building] = {}
            for r in pending:
                src_facets, dst_facets = frozenset(facets[r][0]), frozenset(facets[r][1])
                src_keys, src_reps = _keys(views, src_facets, facet_table)
                dst_keys, dst_reps = _keys(views, dst_facets, facet_table)
                building[r] = _Building(
                    RuleTable(compiled[r], src_facets, dst_facets, src_keys, dst_keys, [NOTHING],
                              [[0] * len(dst_reps) for _ in src_reps]),
                    {view: k for k, view in enumerate(src_reps)},
                    {view: k for k, view in enumerate(dst_reps)},
                )
                batch.extend((r, i, j) for i, j in product(src_reps, dst_reps))
            total += len(batch)
            for chunk, results in evaluator.run(batch):
                for (r, i, j), (entry, src_reads, dst_reads) in zip(chunk, results, strict=True):
                    building[r].add(i, j, entry, src_reads, dst_reads)
                advance(len(chunk))
            widened = [r for r in pending if building[r].extra_src or building[r].extra_dst]
            for r in pending:
                facets[r][0].update(building[r].extra_src)
                facets[r][1].update(building[r].extra_dst)
                if r not in widened:
                    tables[r] = building[r].table
            pending = widened
    finally:
        evaluator.close()
    return [tables[r] for r in range(len(compiled))]


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
        return

    def named(text: str) -> str:
        return dst.text(src.text(text))

    for hit in entry:
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
