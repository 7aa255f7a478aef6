"""What a rule reads of each host, known when it is compiled: the facets of every attribute it names.

A host is only ever used as ``src.ATTR``, a host method's argument, ``{src}`` in a message or ``at src`` (the
compiler allows nothing else), so the facets a rule reads are the facets of the attributes it names
(``abi.facets.READS``). Register values are read per family (``facets.value_facet``), or register by register
where the rule names the register (``facets.register_facet``); what a register argument can be is followed through
the expressions that make it (a constant, a loop over ``src.bitmaps``, a set intersection, ...) and is every
family when it cannot be told. ``host.vmm.ATTR`` reads that one attribute of the VMM (``vmm.ATTR``), its name
nothing (a label). The result is a superset of what any run reads,
so results shared over equal facets are exact; tests check it against traced runs.
"""

from __future__ import annotations

from typing import Any

from abi_check.abi.facets import (
    BY_REGISTER,
    READS,
    VALUE_FACETS,
    VMM_LABELS,
    VMM_PART,
    covers,
    family_of,
    register_facet,
)

ALL_VALUES = frozenset(VALUE_FACETS)
EVERY_FACET = frozenset({f for facets in READS.values() for f in facets} | ALL_VALUES)
# Register sets whose members are of one family: the spec format allows no other registers there.
SET_FAMILIES = {
    ("Host", "bitmaps"): frozenset({"values:bitmap"}),
    ("Host", "workarounds"): frozenset({"values:firmware"}),
    ("Host", "id_registers"): frozenset({"values:cpu"}),
    ("Host", "invariants"): frozenset({"values:cpu"}),  # the kernel's register table: no firmware register
    ("Bit", "register"): frozenset({"values:bitmap"}),
    ("Field", "register"): frozenset({"values:cpu"}),
}
# Host methods true only of registers of some families: ``dst.invariant(r) and src.value(r) ...`` reads a CPU
# value (the kernel's register table holds no firmware register; the loader refuses them there).
GUARDS = {"invariant": frozenset({"values:cpu"})}


def unwrap(tree: Any) -> Any:
    """The expression itself, seeing through the single-operand ``or``/``and`` the grammar wraps it in."""
    while getattr(tree, "data", None) in ("or_", "and_") and len(tree.children) == 1:
        tree = tree.children[0]
    return tree


def host_name(tree: Any) -> str | None:
    """The host variable an expression is (``src``/``dst``), seeing through single-operand wrappers."""
    tree = unwrap(tree)
    if getattr(tree, "data", None) == "var":
        return str(tree.children[0])
    return None


class Reads:
    """Collects, while a rule compiles, the facets each host is read through, and register families."""

    def __init__(self) -> None:
        self.facets: dict[str, set[str]] = {"src": set(), "dst": set()}
        self._families: dict[int, frozenset[str]] = {}
        self._keep: list[object] = []  # the functions whose ids key _families stay alive
        self._vars: dict[str, frozenset[str]] = {}

    def _side(self, tree: Any, facets: frozenset[str] | tuple[str, ...]) -> None:
        name = host_name(tree)
        if name in self.facets:
            self.facets[name].update(facets)
        else:  # cannot happen while hosts are only src and dst; stay sound if it ever does
            for side in self.facets.values():
                side.update(EVERY_FACET)

    # -- register families -------------------------------------------------------------------

    def families(self, fn: object) -> frozenset[str]:
        return self._families.get(id(fn), ALL_VALUES)

    def note(self, fn: object, families: frozenset[str]) -> None:
        if families != ALL_VALUES:
            self._families[id(fn)] = families
            self._keep.append(fn)

    def register(self, fn: object, reg: int) -> None:
        self.note(fn, frozenset({register_facet(reg)}))

    def bind(self, name: str, coll: object) -> None:
        """A loop or quantifier variable over ``coll``: a name bound twice has the families of both."""
        found = self._vars.get(name)
        families = self.families(coll)
        self._vars[name] = families if found is None else found | families

    def guard(self, tree: Any) -> None:
        """After ``host.invariant(r)`` in a conjunction, the rest of it sees ``r`` narrowed to its families."""
        tree = unwrap(tree)
        if getattr(tree, "data", None) != "method" or str(tree.children[1]) not in GUARDS:
            return
        if host_name(tree.children[0]) not in self.facets or len(tree.children) != 3:
            return
        name = host_name(tree.children[2])
        if name is not None and name in self._vars:
            allowed = GUARDS[str(tree.children[1])]
            self._vars[name] = frozenset(f for f in self._vars[name] if family_of(f) in allowed)

    def snapshot(self) -> dict[str, frozenset[str]]:
        return dict(self._vars)

    def restore(self, saved: dict[str, frozenset[str]]) -> None:
        self._vars = saved

    def var(self, fn: object, name: str) -> None:
        if name in self._vars:
            self.note(fn, self._vars[name])

    def combine(self, fn: object, op: str, left: object, right: object) -> None:
        a, b = self.families(left), self.families(right)
        self.note(fn, _intersect(a, b) if op == "&" else a if op == "-" else a | b)

    def union(self, fn: object, parts: list[object]) -> None:
        found: frozenset[str] = frozenset()
        for part in parts:
            found |= self.families(part)
        self.note(fn, found)

    # -- reads of hosts ----------------------------------------------------------------------

    def attr(self, fn: object, kind: str, obj_tree: Any, name: str) -> None:
        if kind == "Host":
            self._side(obj_tree, READS[name])
        if (kind, name) in SET_FAMILIES:
            self.note(fn, SET_FAMILIES[(kind, name)])

    def vmm_attr(self, fn: object, host_tree: Any, name: str) -> None:
        """``host.vmm.NAME``: that attribute of the VMM, nothing for a label (put back per host)."""
        if name not in VMM_LABELS:
            self._side(host_tree, (VMM_PART + name,))
        if (("Vmm", name)) in SET_FAMILIES:
            self.note(fn, SET_FAMILIES[("Vmm", name)])

    def method(self, obj_tree: Any, name: str, arg_trees: list[Any], args: list[object]) -> None:
        """A host method: its facets, and for register methods the families of the register argument."""
        if name not in BY_REGISTER:
            self._side(obj_tree, READS[name])
            return
        families = self.families(args[0]) if args else ALL_VALUES
        if name == "value":
            self._side(obj_tree, families)
        elif name == "enabled":
            self._side(obj_tree, families | {"kernel"})
        elif name == "field_diff":
            self._side(obj_tree, families | {"kernel"})
            if len(arg_trees) > 1:
                self._side(arg_trees[1], families)
        # where: a location, put back per host; reads nothing


def _intersect(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """The value facets of registers in both: a family, or a register named on one side and of a family (or the
    same register) on the other."""
    return frozenset({f for f in a if covers(b, f)} | {f for f in b if covers(a, f)})
