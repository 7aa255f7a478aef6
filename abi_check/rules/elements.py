"""A one-loop rule evaluated element by element for the matrix, each element's result remembered by what the
loop body reads about it (the plan the compiler makes: ``Compiler`` builds an ``ElementPlan``; docs/matrix.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from abi_check.abi.facets import FacetTable
from abi_check.abi.views import HostView
from abi_check.errors import Span
from abi_check.rules.builtins import Budget, attr_reader, ordered
from abi_check.rules.runtime import BUDGET, Env, Fn, Hit

MEMO_LIMIT = 400_000  # remembered element results per rule, dropped all at once beyond this


# Plain classes, not dataclasses: ``pair`` imports them (through the compiler), and creating a dataclass costs
# start-up time; the matrix alone uses them.
class SidePlan:
    """What one element's evaluation reads of one host: whole facets, memberships and register values."""

    __slots__ = ("facets", "host", "lets", "members", "values")

    def __init__(self, host: str, facets: tuple[str, ...], members: list[tuple[Fn, Callable[[Any], Any]]],
                 values: list[Fn], lets: tuple[str, ...] = ()) -> None:
        self.host = host
        self.facets = facets
        self.members = members  # (the element's item, the host's collection)
        self.values = values  # registers whose value on the host is read
        self.lets = lets  # lets that read this host alone, whose values the body reads


class ElementPlan:
    """What a one-loop rule's body reads of each host (``SidePlan``), and how its collection splits."""

    __slots__ = ("coll", "dst", "loop_var", "operands", "owner", "src")

    def __init__(self, loop_var: str, coll: Fn, src: SidePlan, dst: SidePlan, owner: str | None,
                 operands: list[tuple[bool, Fn, str]]) -> None:
        self.loop_var, self.coll, self.src, self.dst = loop_var, coll, src, dst
        self.owner = owner  # the host the collection's first operand reads (``Compiler._split``), if it splits
        self.operands = operands  # (kept if in it, the operand, the host it reads)


class ElementRule:
    """A one-loop rule's parts as the matrix evaluates it element by element (``memoized`` here, and
    ``matrix/batch.py`` over whole blocks of hosts): what the body reads, the one-sided guards, the lets, the
    condition that does not depend on the element (evaluated with the first), and the body: one element's hit.
    """

    __slots__ = ("before", "body", "dst_guard", "let_sides", "lets", "plan", "span", "src_guard")

    def __init__(self, plan: ElementPlan, src_guard: Fn | None, dst_guard: Fn | None, lets: list[tuple[str, Fn]],
                 before: Fn | None, body: Callable[[Env], Hit | None], span: Span,
                 let_sides: dict[str, str | None] | None = None) -> None:
        self.plan, self.src_guard, self.dst_guard, self.lets = plan, src_guard, dst_guard, lets
        self.before, self.body, self.span = before, body, span
        self.let_sides = let_sides or {}  # per let: the one host it reads, or None (see Compiler.compile_check)


_MISSING = object()


def memoized(rule: ElementRule) -> Callable[[HostView, HostView], Iterator[Hit]]:
    """``run`` with results remembered by what the body reads, for one matrix run.

    Each element's key is the element (by content) with what the body reads of each host about it (memberships,
    register values); each host's token is the content of the whole facets the body reads (``FacetTable``).
    Equal keys mean equal reads, so equal results: a pair's hits are remembered under (the hosts' tokens, every
    element's key in order), and each element's hit under (the tokens, its key). Host tokens and elements are
    cached by the objects' ids, alive while the matrix keeps its views. Anything that fails while keys are made
    falls back to evaluating as ``run`` does, which then fails (or not) as ``run`` would."""
    plan, src_guard, dst_guard, lets, before, body, span = (
        rule.plan, rule.src_guard, rule.dst_guard, rule.lets, rule.before, rule.body, rule.span)
    table = FacetTable()
    tokens: dict[tuple[str, int], tuple[int, ...]] = {}
    elements: dict[int, tuple[Any, int, tuple[Any, ...], tuple[Any, ...]]] = {}  # id -> (element, content id, ...)
    contents: dict[tuple[type, Any], int] = {}
    keys: dict[tuple[Any, ...], int] = {}  # an element's key -> a small int
    pairs: dict[tuple[Any, ...], tuple[Hit, ...]] = {}
    each: dict[tuple[Any, ...], dict[int, Hit | None]] = {}  # hosts' tokens -> element key -> its hit
    loop_var, coll, sides = plan.loop_var, plan.coll, (plan.src, plan.dst)
    items = [item for side in sides for item, _ in side.members]
    members = [(side, read) for side in sides for _, read in side.members]
    args = [arg for side in sides for arg in side.values]
    value_sides = [side for side in sides for _ in side.values]
    read_value = attr_reader("value")

    def token(side: SidePlan, view: HostView) -> tuple[int, ...]:
        key = (side.host, id(view))
        found = tokens.get(key)
        if found is None:
            found = tokens[key] = tuple(table.token(view, f) for f in side.facets)
        return found

    def plain(env: Env, values: Iterable[Any]) -> Iterator[Hit]:
        """``run``'s loop over the elements."""
        budget: Budget = env[BUDGET]
        ready = before is None
        for value in values:
            budget.step(span)
            env[loop_var] = value
            if not ready:
                if not before(env):  # type: ignore[misc]
                    return
                ready = True
            hit = body(env)
            if hit is not None:
                yield hit

    def evaluate(env: Env, values: list[Any], element_keys: list[int], cell: tuple[Any, ...]) -> tuple[Hit, ...]:
        hits: list[Hit] = []
        ready = before is None
        remembered = each.get(cell)
        if remembered is None:
            remembered = each[cell] = {}
        for value, k in zip(values, element_keys, strict=True):
            env[loop_var] = value
            if not ready:
                if not before(env):  # type: ignore[misc]
                    break
                ready = True
            hit = remembered.get(k, _MISSING)
            if hit is _MISSING:
                hit = remembered[k] = body(env)
            if hit is not None:
                hits.append(hit)  # type: ignore[arg-type]
        return tuple(hits)

    owner = plan.owner
    many = len(plan.operands) > 1
    # Per host: the operands that read it (or none), kept if in them or if not; it can own the collection if it
    # has one it must be in. Its own elements are then ordered as the whole collection is, and filtered by the
    # other host's operands.
    operands = {h: [(keep, fn) for keep, fn, side in plan.operands if side == h] for h in ("src", "dst")}
    owners: list[str] = ([h for h in ("src", "dst") if any(keep for keep, _ in operands[h])] if many
                         else [owner] if owner is not None else [])
    member_at = {h: [k for k, (side, _) in enumerate(members) if side.host == h] for h in ("src", "dst")}
    value_at = {h: [k for k, side in enumerate(value_sides) if side.host == h] for h in ("src", "dst")}
    side_of = {"src": plan.src, "dst": plan.dst}
    own_parts: dict[tuple[str, int], tuple[Any, ...]] = {}  # (host, id of its view) -> (view, its part)
    own_values: dict[tuple[str, int], tuple[Any, list[Any]]] = {}  # (host, id of its view) -> (view, elements)
    other_parts: dict[tuple[str, int, int], tuple[Any, ...]] = {}  # (host, id of its view, kind) -> (view, part)
    part_ids: dict[tuple[Any, ...], int] = {}
    kinds: dict[tuple[Any, ...], int] = {}  # the contents of a collection, or what a part reads -> a small int
    computed: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # elements -> (contents, kind, item columns, arg columns)

    host_sets: dict[tuple[str, int], tuple[Any, list[tuple[bool, Any]] | None, frozenset[type]]] = {}

    def filtered(host: str, env: Env) -> tuple[list[tuple[bool, Any]], frozenset[type]] | None:
        """``host``'s operands (kept if in them, the value) and the types of their elements; None unless they are
        sets of one element type, ints or strings (then an intersection is ordered as its members are, and holds
        equal objects whichever operand each comes from), or the collection's only operand."""
        view = env[host]
        found = host_sets.get((host, id(view)))
        if found is None or found[0] is not view:
            collections: list[tuple[bool, Any]] | None = [(keep, fn(env)) for keep, fn in operands[host]]
            types: frozenset[type] = frozenset()
            if many:
                assert collections is not None
                if all(isinstance(c, set | frozenset) for _, c in collections):
                    types = frozenset(type(v) for _, c in collections for v in c)
                if not all(isinstance(c, set | frozenset) for _, c in collections) or len(types) > 1 or (
                        types and not issubclass(next(iter(types)), int | str)):
                    collections = None
            found = host_sets[(host, id(view))] = (view, collections, types)
        return None if found[1] is None else (found[1], found[2])

    def own_elements(host: str, env: Env) -> list[Any] | None:
        """The elements of ``host``'s own operands, in the collection's order; None to fall back."""
        view = env[host]
        found = own_values.get((host, id(view)))
        if found is not None and found[0] is view:
            return found[1]
        found_sets = filtered(host, env)
        if found_sets is None:
            return None
        collections = found_sets[0]
        at = next(n for n, (keep, _) in enumerate(collections) if keep)
        first, rest = collections[at][1], collections[:at] + collections[at + 1 :]
        values = [v for v in ordered(first) if all((v in c) == keep for keep, c in rest)]
        own_values[(host, id(view))] = (view, values)
        return values

    def own_part(host: str, env: Env) -> tuple[Any, ...] | None:
        """The elements of ``host``'s own operands, what the body computes of them alone, and what it reads of
        the host about them: (view, elements, contents, items, args, kind, token, memberships, values, part id);
        None to fall back."""
        view = env[host]
        found = own_parts.get((host, id(view)))
        if found is not None and found[0] is view:
            return found
        values = own_elements(host, env)
        if values is None:
            return None
        # Sets of one type (``filtered``): the elements' values and their type are their contents.
        kind_key = ("elements", type(values[0]) if values else None, tuple(values)) if many else None
        by_kind = computed.get(kind_key) if kind_key is not None else None
        if by_kind is None:
            contents_of, at_items, at_args = [], [], []
            for value in values:
                env[loop_var] = value
                contents_of.append(contents.setdefault((type(value), value), len(contents)))
                at_items.append(tuple(item(env) for item in items))
                at_args.append(tuple(arg(env) for arg in args))
            kind = kinds.setdefault(tuple(contents_of), len(kinds))  # equal elements: equal items and args
            by_kind = (tuple(contents_of), kind, list(zip(*at_items, strict=True)) if items else [],
                       list(zip(*at_args, strict=True)) if args else [])
            if kind_key is not None:
                computed[kind_key] = by_kind
        contents_tuple, kind, item_columns, arg_columns = by_kind
        token_of = token(side_of[host], view)
        member_of = tuple(tuple(map(members[k][1](view).__contains__, item_columns[k])) for k in member_at[host])
        value_of = tuple(tuple(map(read_value(view), arg_columns[k])) for k in value_at[host])
        number = part_ids.setdefault((host, kind, token_of, member_of, value_of), len(part_ids))
        # What the other host's part depends on: the elements (when it filters them) and what it reads of them.
        other = "dst" if host == "src" else "src"
        reads = kinds.setdefault((other, tuple(values) if operands[other] else None,
                                  tuple(item_columns[k] for k in member_at[other]),
                                  tuple(arg_columns[k] for k in value_at[other])), len(kinds))
        found = own_parts[(host, id(view))] = (view, values, contents_tuple, item_columns, arg_columns, kind,
                                               token_of, member_of, value_of, reads, number)
        return found

    def other_part(host: str, env: Env, own: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """Which of the owner's elements ``host``'s operands keep, and what the body reads of it about those:
        (view, kept, token, memberships, values, part id); None to fall back."""
        view = env[host]
        kind = own[9]
        found = other_parts.get((host, id(view), kind))
        if found is not None and found[0] is view:
            return found
        found_sets = filtered(host, env)
        if found_sets is None:
            return None
        collections = found_sets[0]
        kept = tuple(n for n, v in enumerate(own[1]) if all((v in c) == keep for keep, c in collections))
        item_columns, arg_columns = own[3], own[4]
        token_of = token(side_of[host], view)
        every = len(kept) == len(own[1])
        member_of = tuple(
            tuple(map(members[k][1](view).__contains__,
                      item_columns[k] if every else [item_columns[k][n] for n in kept]))
            for k in member_at[host])
        value_of = tuple(tuple(map(read_value(view), arg_columns[k] if every else [arg_columns[k][n] for n in kept]))
                         for k in value_at[host])
        number = part_ids.setdefault((host, kind, kept, token_of, member_of, value_of), len(part_ids))
        found = other_parts[(host, id(view), kind)] = (view, kept, token_of, member_of, value_of, number)
        return found

    def by_owner(env: Env) -> tuple[Hit, ...] | None:
        """The pair's hits, remembered by (the owner's part, the other's part); None to fall back."""
        sizes = []
        for h in owners:
            values = own_elements(h, env)
            if values is None:
                return None
            sizes.append((len(values), h))
        if many:
            both = [filtered(h, env) for h in ("src", "dst")]
            if None in both or len(both[0][1] | both[1][1]) > 1:  # type: ignore[index]
                return None  # elements of two types: which the intersection holds depends on the sizes
        host = min(sizes)[1]  # the fewest elements to filter
        own = own_part(host, env)
        if own is None:
            return None
        theirs = other_part("dst" if host == "src" else "src", env, own)
        if theirs is None:
            return None
        whole = (own[-1], theirs[-1])
        hits = pairs.get(whole)
        if hits is not None:
            return hits
        kept = theirs[1]
        if len(kept) > env[BUDGET].steps:
            return None  # run stops at the budget, or earlier: let it
        # Each element's key as the general path below makes it: memberships, then values, src's before dst's.
        own_members = [[column[n] for n in kept] for column in own[7]]
        own_values = [[column[n] for n in kept] for column in own[8]]
        if host == "src":
            columns = [*own_members, *theirs[3], *own_values, *theirs[4]]
            cell = (own[6], theirs[2])
        else:
            columns = [*theirs[3], *own_members, *theirs[4], *own_values]
            cell = (theirs[2], own[6])
        chosen = [own[1][n] for n in kept]
        element_keys = [keys.setdefault(key, len(keys))
                        for key in zip([own[2][n] for n in kept], *columns, strict=True)]
        if len(pairs) > MEMO_LIMIT or len(each) > MEMO_LIMIT:
            pairs.clear()
            each.clear()
        hits = pairs[whole] = evaluate(env, chosen, element_keys, cell)
        return hits

    def run(src: HostView, dst: HostView) -> Iterator[Hit]:
        env: Env = {"src": src, "dst": dst, BUDGET: Budget()}
        if (src_guard is not None and not src_guard(env)) or (dst_guard is not None and not dst_guard(env)):
            return
        for name, fn in lets:
            env[name] = fn(env)
        budget: Budget = env[BUDGET]
        if owner is not None:
            try:
                hits = by_owner(env)
            except Exception:
                hits = None  # evaluated as run does below, which fails (or not) as run would
            if hits is not None:
                yield from hits
                return
        values = list(ordered(coll(env)))
        try:
            if len(values) > budget.steps:
                raise OverflowError  # run stops at the budget, or earlier: let it
            cell = (token(plan.src, src), token(plan.dst, dst))
            sets = [read(env[side.host]) for side in sides for _, read in side.members]
            readers = [read_value(env[side.host]) for side in sides for _ in side.values]
            element_keys = []
            for value in values:
                found = elements.get(id(value))
                if found is None or found[0] is not value:
                    env[loop_var] = value
                    found = elements[id(value)] = (
                        value,
                        contents.setdefault((type(value), value), len(contents)),
                        tuple(item(env) for item in items),
                        tuple(arg(env) for arg in args),
                    )
                _, content, at_items, at_args = found
                key = (content, *[i in s for i, s in zip(at_items, sets, strict=True)],
                       *[r(a) for r, a in zip(readers, at_args, strict=True)])
                element_keys.append(keys.setdefault(key, len(keys)))
        except Exception:
            yield from plain(env, values)
            return
        whole = (cell, tuple(element_keys))
        hits = pairs.get(whole)
        if hits is None:
            if len(pairs) > MEMO_LIMIT or len(each) > MEMO_LIMIT:
                pairs.clear()
                each.clear()
            try:
                hits = pairs[whole] = evaluate(env, values, element_keys, cell)
            except Exception:
                # An element raised: run yields the hits before it, then raises as it does.
                yield from plain(env, values)
                return
        yield from hits

    return run
