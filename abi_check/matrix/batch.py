"""A one-loop rule's finding counts over a whole block of (source, destination) hosts at once.

The matrix needs, per cell, how many findings a rule makes (and whether it crashed), not the findings
themselves: those are made again, for the few pairs a report shows (``RuleTable.hits``). For a rule the compiler
planned element by element (``rules/elements.py``: ``for r in A & B - C where ... report ...``), a cell's count is
a sum over elements:

    count(s, d) = sum over e of  kept_src[s, e] * kept_dst[d, e] * fires(e, code_src[s, e], code_dst[d, e])

where ``kept`` says whether the element passes that host's operands of the collection, and ``code`` is what the
body reads of that host about it (the facets it reads whole, its memberships and register values). Every
combination of codes that occurs for an element is evaluated once, by the rule's own body on hosts that have
those codes; the sums are array operations. A combination whose evaluation raises (or goes over the budget) is
not judged here: the cells that have it are evaluated by the plain ``run``, which crashes or stops as ``pair``
does. A ``let`` that reads one host alone is a value of that host, read like a facet. Anything this cannot
represent exactly makes ``table_counts`` return None, and the caller evaluates the rule cell by cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from abi_check.abi.content import content_number
from abi_check.abi.facets import FacetTable, RoleView
from abi_check.rules.builtins import MAX_STEPS, Budget, attr_reader, ordered, text_of
from abi_check.rules.elements import ElementRule, SidePlan
from abi_check.rules.runtime import BUDGET, Env, Fn

Counts = npt.NDArray[np.int32]
Flags = npt.NDArray[np.bool_]
RADIX_LIMIT = 1 << 62  # a code's mixed-radix range must fit in an int64
_RAISED = object()  # a let's value where it raised (those hosts are left to the plain run)


class _Unsupported(Exception):
    """The block cannot be counted exactly here; the caller evaluates it cell by cell."""


def table_counts(
    rule: ElementRule, rows: Sequence[RoleView], cols: Sequence[RoleView], facet_table: FacetTable
) -> tuple[Counts, Flags] | None:
    """Per (row, column): the number of distinct hits ``rule`` makes with that source and destination, and
    whether the cell must be evaluated by the plain run instead (its count is then 0 here). None when the rule
    or these hosts need the cell-by-cell path for every cell."""
    if rule.before is not None or None in rule.let_sides.values() or not rows or not cols:
        return None
    try:
        return _counts(rule, rows, cols, facet_table)
    except _Unsupported:
        return None


def _counts(rule: ElementRule, rows: Sequence[RoleView], cols: Sequence[RoleView], table: FacetTable
            ) -> tuple[Counts, Flags]:
    plan = rule.plan
    if plan.owner is None:
        raise _Unsupported
    elements, kept = _kept(rule, rows, cols)
    n_rows, n_cols = len(rows), len(cols)
    counts = np.zeros((n_rows, n_cols), dtype=np.int32)
    plain = np.zeros((n_rows, n_cols), dtype=bool)
    # A guard that raises: the rule crashes there whatever the element (alive rows have guards that hold or
    # raise; see tables._guarded).
    row_ok = _guard_holds(rule.src_guard, "src", rows, cols[0])
    col_ok = _guard_holds(rule.dst_guard, "dst", cols, rows[0])
    # Each let reads one host alone: its value per host, like a facet; one that raises crashes the rule there.
    row_lets, col_lets = _lets(rule, "src", rows, row_ok), _lets(rule, "dst", cols, col_ok)
    plain[~row_ok, :] = True
    plain[:, ~col_ok] = True
    if not elements:
        return counts, plain
    if max(int(kept[0].sum(axis=1).max()), 0) >= MAX_STEPS:
        raise _Unsupported  # the budget could stop the loop: let run do it
    codes = (_Codes(rule, plan.src, rows, elements, table, row_lets),
             _Codes(rule, plan.dst, cols, elements, table, col_lets))
    body, loop_var = rule.body, plan.loop_var
    for e, element in enumerate(elements):
        at_rows = np.flatnonzero(kept[0][:, e] & row_ok)
        at_cols = np.flatnonzero(kept[1][:, e] & col_ok)
        if not len(at_rows) or not len(at_cols):
            continue
        row_codes, row_first, row_inverse = np.unique(codes[0].column(e, at_rows), return_index=True,
                                                      return_inverse=True)
        col_codes, col_first, col_inverse = np.unique(codes[1].column(e, at_cols), return_index=True,
                                                      return_inverse=True)
        fires = np.zeros((len(row_codes), len(col_codes)), dtype=np.int32)
        raised = np.zeros((len(row_codes), len(col_codes)), dtype=bool)
        for a, row in enumerate(row_first.tolist()):
            for b, col in enumerate(col_first.tolist()):
                env: Env = {**row_lets[at_rows[row]], **col_lets[at_cols[col]], "src": rows[at_rows[row]],
                            "dst": cols[at_cols[col]], BUDGET: Budget(), loop_var: element}
                try:
                    fires[a, b] = body(env) is not None
                except Exception:  # includes the budget: the plain run decides what these cells are
                    raised[a, b] = True
        if fires.any():
            counts[np.ix_(at_rows, at_cols)] += fires[np.ix_(row_inverse.reshape(-1), col_inverse.reshape(-1))]
        if raised.any():
            plain[np.ix_(at_rows, at_cols)] |= raised[np.ix_(row_inverse.reshape(-1), col_inverse.reshape(-1))]
    counts[plain] = 0
    return counts, plain


def _guard_holds(guard: Fn | None, host: str, views: Sequence[RoleView], other: RoleView) -> Flags:
    """Per view: does its one-sided guard evaluate (to true) without raising? Rows reaching here hold or raise."""
    ok = np.ones(len(views), dtype=bool)
    if guard is None:
        return ok
    for i, view in enumerate(views):
        env: Env = {"src": view, "dst": other} if host == "src" else {"src": other, "dst": view}
        env[BUDGET] = Budget()
        try:
            ok[i] = bool(guard(env))
        except Exception:
            ok[i] = False
    return ok


def _lets(rule: ElementRule, host: str, views: Sequence[RoleView], ok: Flags) -> list[dict[str, Any]]:
    """Per view: the values of the lets that read this host (in order); a view where one raises is not ok."""
    names = [(name, fn) for name, fn in rule.lets if rule.let_sides.get(name) == host]
    found: list[dict[str, Any]] = []
    for i, view in enumerate(views):
        values: dict[str, Any] = {}
        if names and ok[i]:
            env: Env = {host: view, BUDGET: Budget()}
            try:
                for name, fn in names:
                    values[name] = env[name] = fn(env)
            except Exception:
                ok[i] = False
        found.append(values)
    return found


def _kept(rule: ElementRule, rows: Sequence[RoleView], cols: Sequence[RoleView]
          ) -> tuple[list[Any], tuple[Flags, Flags]]:
    """Every element any pair's collection can hold, and per host and element: does it pass that host's
    operands? An element is in a pair's collection when it passes both hosts' (``A & B - C`` is every element
    in A and in B and not in C; each operand reads one host)."""
    plan = rule.plan
    many = len(plan.operands) > 1
    per_side: dict[str, list[list[tuple[bool, Any]]]] = {}
    for host, views, other in (("src", rows, cols[0]), ("dst", cols, rows[0])):
        found = []
        for view in views:
            env: Env = {"src": view, "dst": other} if host == "src" else {"src": other, "dst": view}
            env[BUDGET] = Budget()
            try:
                found.append([(keep, fn(env)) for keep, fn, side in plan.operands if side == host])
            except Exception as exc:
                raise _Unsupported from exc
        per_side[host] = found
    index: dict[int, int] = {}  # one operand: an element's content number -> its index
    elements: list[Any] = []
    if many:
        # Sets of one element type, an int or str type (as ``memoized`` requires): membership is by value. Every
        # element must print differently, so a pair's hits have distinct subjects and its count is the number of
        # elements that fire.
        # Hosts share their register sets (``views.reg_set``): each distinct set is looked at once.
        distinct = {id(coll): coll for found in per_side.values() for collections in found for _, coll in collections}
        if not all(isinstance(coll, set | frozenset) for coll in distinct.values()):
            raise _Unsupported
        kinds = {type(v) for v in set().union(*distinct.values())}
        if len(kinds) > 1 or (kinds and not issubclass(next(iter(kinds)), int | str)):
            raise _Unsupported
        kept_sets = {id(coll): coll for found in per_side.values() for collections in found
                     for keep, coll in collections if keep}
        elements = sorted(set().union(*kept_sets.values()))
        if len({text_of(e) for e in elements}) != len(elements):
            raise _Unsupported
    else:
        # One operand: each owner's own elements, which must be distinct, by content and by how they print (a
        # pair's hits then have distinct subjects, so its count is the number of elements that fire).
        for collections in per_side[plan.owner or "src"]:
            values = list(ordered(collections[0][1]))
            try:
                numbers = list(map(content_number, values))
            except TypeError as exc:  # unhashable elements
                raise _Unsupported from exc
            if len(set(numbers)) != len(numbers) or len({text_of(v) for v in values}) != len(values):
                raise _Unsupported
            for number, value in zip(numbers, values, strict=True):
                if index.setdefault(number, len(elements)) == len(elements):
                    elements.append(value)
    inside_of: dict[int, Flags] = {}  # id of a collection -> which elements are in it

    def inside(coll: Any) -> Flags:
        found = inside_of.get(id(coll))
        if found is None:
            found = inside_of[id(coll)] = np.fromiter(map(coll.__contains__, elements), dtype=bool,
                                                      count=len(elements))
        return found

    masks = []
    for host in ("src", "dst"):
        mask = np.ones((len(per_side[host]), len(elements)), dtype=bool)
        for v, collections in enumerate(per_side[host]):
            if not many:
                if collections:  # the owner: its own elements
                    own = set(map(content_number, collections[0][1]))
                    mask[v] = np.fromiter(map(own.__contains__, index), dtype=bool, count=len(elements))
                continue
            for keep, coll in collections:
                mask[v] &= inside(coll) if keep else ~inside(coll)
        masks.append(mask)
    return elements, (masks[0], masks[1])


def _typed(value: Any) -> tuple[type, Any]:
    """A let's value with its type: equal values of two types (1 and True) may print or compare differently."""
    return type(value), value


class _Codes:
    """What the body reads of one side's hosts about each element, as one number per (host, element), equal
    exactly when the reads are: the whole facets it reads (a token per host), then each membership and each
    register value it reads about the element. Kept per host and distinct item (register), small; an element's
    column is made when it is needed."""

    def __init__(self, rule: ElementRule, side: SidePlan, views: Sequence[RoleView], elements: list[Any],
                 table: FacetTable, lets: list[dict[str, Any]]) -> None:
        tokens: dict[tuple[Any, ...], int] = {}
        try:  # the facets the body reads whole, and the values of the lets it reads (a view where one raised: none)
            self.token = np.array([tokens.setdefault((*[table.token(v, f) for f in side.facets],
                                                      *[_typed(lets[i].get(name, _RAISED)) for name in side.lets]),
                                                     len(tokens)) for i, v in enumerate(views)], dtype=np.int64)
        except TypeError as exc:  # a let's value that cannot be told apart by hashing
            raise _Unsupported from exc
        radix = max(len(tokens), 1)
        # (radix, per host and distinct item its code, per element its item): mixed-radix digits after the token
        self.digits: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        env: Env = {}
        loop_var = rule.plan.loop_var

        def per_element(fn: Callable[[Env], Any]) -> tuple[npt.NDArray[np.int64], list[Any]]:
            """Each element's index into the distinct results of ``fn``, and those results."""
            distinct: dict[Any, int] = {}
            at = np.empty(len(elements), dtype=np.int64)
            for e, element in enumerate(elements):
                env[loop_var] = element
                try:
                    at[e] = distinct.setdefault(fn(env), len(distinct))
                except Exception as exc:  # unhashable, or raises: memoized falls back too
                    raise _Unsupported from exc
            return at, list(distinct)

        seen: set[tuple[Any, ...]] = set()  # reads already made: the same read twice adds nothing

        def first_time(*what: Any) -> bool:
            key = tuple(what)
            if key in seen:
                return False
            seen.add(key)
            return True

        for item, read in side.members:
            at, items = per_element(item)
            if not first_time("in", read, tuple(items), at.tobytes()):
                continue
            inside = np.zeros((len(views), max(len(items), 1)), dtype=np.int64)
            for v, view in enumerate(views):
                try:
                    coll = read(view)
                    inside[v, : len(items)] = [x in coll for x in items]
                except Exception as exc:
                    raise _Unsupported from exc
            self.digits.append((2, inside, at))
            radix *= 2
        read_value = attr_reader("value")
        for arg in side.values:
            at, args = per_element(arg)
            if not first_time("value", tuple(args), at.tobytes()):
                continue
            values: dict[Any, int] = {}
            found = np.zeros((len(views), max(len(args), 1)), dtype=np.int64)
            for v, view in enumerate(views):
                try:
                    reader = read_value(view)
                    found[v, : len(args)] = [values.setdefault(reader(a), len(values)) for a in args]
                except Exception as exc:
                    raise _Unsupported from exc
            self.digits.append((max(len(values), 1), found, at))
            radix *= max(len(values), 1)
            if radix >= RADIX_LIMIT:
                raise _Unsupported

    def column(self, e: int, at: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        """The codes of element ``e`` on the hosts ``at``."""
        code = self.token[at]
        for radix, by_item, item_of in self.digits:
            code = code * radix + by_item[at, item_of[e]]
        return code
