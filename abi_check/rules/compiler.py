"""Rule syntax trees to Python closures, with names and attributes checked against the view tables.

The functions a rule may call and how values print are the language's library, in ``builtins``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from abi_check.abi.facets import READS, VMM_LABELS, VMM_PART, covers
from abi_check.abi.views import ATTRS, FieldView, HostView, Reg
from abi_check.errors import RuleError, Span
from abi_check.rules.builtins import BUILTINS, Budget, RuleRuntimeError, attr_reader, checked, ordered, text_of
from abi_check.rules.elements import ElementPlan, ElementRule, SidePlan, memoized
from abi_check.rules.parser import parse, unquote
from abi_check.rules.reads import Reads, unwrap
from abi_check.rules.runtime import BUDGET, Env, Fn, Hit
from abi_check.spec import registers as regs
from abi_check.verdict.findings import Severity

# Lark trees and tokens: shapes fixed by grammars/rule.lark, walked dynamically.
LarkNode = Any
META_ORDER = ("name", "summary", "severity", "category", "reference")
REQUIRED_META = META_ORDER
# Loops inside loops (for bindings, then any/all/count within them): bounded when compiling, so a rule's work is
# at most a product of this many collections; the run-time step budget (builtins.MAX_STEPS) bounds the rest.
MAX_LOOP_NESTING = 3


# Host methods whose first argument is a register and that read, besides these facets, only that register's value
# on the host (views.py: kept compares through the kernel's ID-register layout and the CPU's own values, enabled
# reads a bit of the value, services the bits set in it or the kernel's implicit services).
REGISTER_METHODS: dict[str, tuple[str, ...]] = {"kept": ("kernel", "cpu"), "enabled": ("kernel",),
                                                "services": ("kernel",)}


class _SideReads:
    __slots__ = ("facets", "lets", "members", "opaque", "values")

    def __init__(self) -> None:
        self.facets: set[str] = set()
        self.opaque = False
        self.members: list[tuple[LarkNode, str]] = []
        self.values: list[LarkNode] = []
        self.lets: list[str] = []


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """A rule's metadata, from the head of its file."""

    id: str
    name: str
    summary: str
    severity: Severity
    category: str
    reference: str
    description: str
    example: str
    path: str
    span: Span


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to run: its metadata and the closure that checks a pair."""

    meta: RuleMeta
    run: Callable[[HostView, HostView], Iterator[Hit]]
    # The facets the rule may read of each host (``reads.py``): the matrix keys its results by these.
    src_facets: frozenset[str] = frozenset()
    dst_facets: frozenset[str] = frozenset()
    # The conditions that read only one host and no loop variable (``where not dst.id_writable``), checked
    # before anything else: false means no finding whatever the other host is, so the matrix evaluates the rule
    # only for hosts where they hold (``Guards``).
    guards: Guards | None = None
    # For a rule with one loop whose body reads each host only in ways the compiler can name per element: its
    # parts as the matrix evaluates it (``ElementRule``), made the first time the matrix asks (``pair`` never
    # does, and making the plan is about a third of compiling the rules).
    plan: Callable[[], ElementRule | None] = lambda: None

    @property
    def elements(self) -> ElementRule | None:
        """The rule's parts for evaluating it over whole blocks of hosts at once (``matrix/batch.py``)."""
        return self.plan()

    @property
    def per_element(self) -> Callable[[], Callable[[HostView, HostView], Iterator[Hit]]] | None:
        """Makes a ``run`` that remembers each element's result by what the body reads about that element, for
        the matrix, which evaluates the rule on many pairs. Same results as ``run``."""
        found = self.plan()
        if found is None or found.plan.src.lets or found.plan.dst.lets:
            return None  # memoized keys hosts by facets alone, not by the lets the body reads
        return lambda: memoized(found)


class Guards:
    """A rule's one-sided conditions, each on one host alone; None where the rule has none for that side. (A
    plain class: ``pair`` imports it, and creating a dataclass costs start-up time.)"""

    __slots__ = ("dst", "src")

    def __init__(self, src: Callable[[HostView], bool] | None, dst: Callable[[HostView], bool] | None) -> None:
        self.src, self.dst = src, dst


def element_type(kind: str) -> str:
    match = re.match(r"^(set|list)\[(.+)\]$", kind)
    return match.group(2) if match else "any"


class Compiler:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        # Template expressions are parsed on their own; this places their nodes back in the file.
        self.offset = (0, 0)
        # A host is used only through its attributes (and printed by name in templates): what a rule reads
        # of a host is then always one of the declared facets, which lets the matrix share results.
        self.host_ok = False
        self.in_template = False
        self.loops = 0  # loops around the expression being compiled
        self.reads = Reads()

    def span(self, item: LarkNode) -> Span:
        meta = getattr(item, "meta", None)
        if meta is not None and not getattr(meta, "empty", True) and meta.line:
            line, col = meta.line, meta.column
        else:
            line, col = getattr(item, "line", 1) or 1, getattr(item, "column", 1) or 1
        return Span(self.path, line + self.offset[0], col + (self.offset[1] if line == 1 else 0))

    def error(self, item: LarkNode, message: str, hint: str | None = None) -> RuleError:
        return RuleError(self.span(item), message, hint)

    # -- rule structure ------------------------------------------------------------------------

    def compile(self, expected_id: str) -> CompiledRule:
        tree: LarkNode = parse(self.text, self.path)
        rule_id_token, *rest = tree.children
        rule_id = str(rule_id_token)
        if rule_id != expected_id:
            raise self.error(
                rule_id_token,
                f"rule id '{rule_id}' differs from the file name '{expected_id}'",
                f"rename the file to {rule_id}.rule or the rule to {expected_id}",
            )
        meta: dict[str, str] = {}
        seen: list[str] = []
        lets: list[LarkNode] = []
        check: LarkNode | None = None
        for child in rest:
            if child.data in ("meta_text", "meta_severity", "meta_category"):
                key = (
                    "severity"
                    if child.data == "meta_severity"
                    else ("category" if child.data == "meta_category" else str(child.children[0]))
                )
                value = child.children[-1]
                if key in meta:
                    raise self.error(child, f"'{key}' is given twice")
                meta[key] = unquote(str(value)) if str(value).startswith(('"', "'")) else str(value)
                seen.append(key)
            elif child.data == "let":
                lets.append(child)
            else:
                check = child
        for key in REQUIRED_META:
            if key not in meta:
                raise self.error(
                    rule_id_token,
                    f"rule {rule_id} lacks '{key}'",
                    f"metadata comes first, in this order: {', '.join(META_ORDER)}",
                )
        order = [k for k in seen if k in META_ORDER]
        if order != list(META_ORDER):
            raise self.error(
                rule_id_token, "metadata is out of order", f"write it in this order: {', '.join(META_ORDER)}"
            )
        info = RuleMeta(
            id=rule_id,
            name=meta["name"],
            summary=meta["summary"],
            severity=Severity(meta["severity"]),
            category=meta["category"],
            reference=meta["reference"],
            description=meta.get("description", ""),
            example=meta.get("example", ""),
            path=self.path,
            span=self.span(rule_id_token),
        )
        assert check is not None
        run, guards, plan = self.compile_check(lets, check)
        facets = self.reads.facets
        return CompiledRule(info, run, _simplest(facets["src"]), _simplest(facets["dst"]), guards, plan)

    def compile_check(
        self, lets: list[LarkNode], check: LarkNode
    ) -> tuple[Callable[[HostView, HostView], Iterator[Hit]], Guards | None, Callable[[], ElementRule | None]]:
        scope: dict[str, str] = {"src": "Host", "dst": "Host"}
        compiled_lets: list[tuple[str, Fn]] = []
        # Per let, the host it reads when it reads one alone (a constant: "src"), else None: the matrix reads such a
        # let like a facet of that host (``ElementPlan``). One that reads another let or loops is not one-sided.
        let_sides: dict[str, str | None] = {}
        for let in lets:
            name = str(let.children[0])
            if name in scope:
                raise self.error(let, f"'{name}' is already defined")
            fn, kind = self.expr(let.children[1], scope)
            scope[name] = kind
            self.reads.bind(name, fn)
            compiled_lets.append((name, fn))
            names = _names(let.children[1])
            hosts = names & {"src", "dst"}
            one_sided = len(hosts) <= 1 and not names & set(let_sides) and not _has(let.children[1], "quantified")
            let_sides[name] = (hosts.pop() if hosts else "src") if one_sided else None
        bindings: list[tuple[str, Fn]] = []
        conds: list[Fn] = []
        sided: dict[str, list[Fn]] = {"src": [], "dst": []}  # conditions on one host alone, checked first
        invariant = 0  # leading conditions that do not depend on the loop variables
        report: Fn | None = None
        fix: Fn = lambda env: ""  # noqa: E731
        at: Fn | None = None
        body_trees: list[tuple[LarkNode, str]] = []  # what each element's evaluation reads: (tree, context)
        binding_trees: list[LarkNode] = []
        for part in check.children:
            if hasattr(part, "data") and part.data == "for_clause":
                for binding in part.children:
                    name = str(binding.children[0])
                    if name in scope:
                        raise self.error(binding, f"'{name}' is already defined")
                    fn, kind = self.expr(binding.children[1], scope)
                    scope[name] = element_type(kind)
                    self.reads.bind(name, fn)
                    bindings.append((name, fn))
                    binding_trees.append(binding.children[1])
                    self._enter_loop(binding)
            elif hasattr(part, "data") and part.data == "when_clause":
                conjuncts = []
                for conjunct in _conjuncts(part.children[0]):
                    fn, _ = self.expr(conjunct, scope)
                    self.reads.guard(conjunct)  # what a conjunct establishes holds for the rest and the report
                    side = _one_side(conjunct, scope)
                    if side is None:
                        body_trees.append((conjunct, "cond"))
                        conjuncts.append(conjunct)
                        conds.append(fn)
                    else:
                        sided[side].append(fn)
                names = {name for name, _ in bindings}
                while len(bindings) <= 1 and invariant < len(conjuncts) and not _mentions(conjuncts[invariant], names):
                    invariant += 1
            elif hasattr(part, "data") and part.data == "fix_clause":
                fix = self.template(part.children[0], scope)
                body_trees.extend((t, "label") for t in _template_trees(part.children[0], self.path))
            elif hasattr(part, "data") and part.data == "at_clause":
                at, _ = self.host_expr(part.children[0], scope)
                body_trees.append((part.children[0], "label"))
            else:
                report = self.template(part, scope)
                body_trees.extend((t, "label") for t in _template_trees(part, self.path))
        assert report is not None
        final_report, final_fix, final_at = report, fix, at
        subject_var = bindings[0][0] if bindings else None
        loop_span = self.span(check)
        before, each = _all_of(conds[:invariant]), _all_of(conds[invariant:])
        src_guard, dst_guard = _all_of(sided["src"]), _all_of(sided["dst"])

        def run(src: HostView, dst: HostView) -> Iterator[Hit]:
            env: Env = {"src": src, "dst": dst, BUDGET: Budget()}
            if (src_guard is not None and not src_guard(env)) or (dst_guard is not None and not dst_guard(env)):
                return
            for name, fn in compiled_lets:
                env[name] = fn(env)
            ready = before is None
            for bound in _product(bindings, env, loop_span):
                if not ready:
                    # Evaluated for the first element as before, and the same for every other: when it is
                    # false no element matches (a crash there crashes the rule, as before).
                    if not before(bound):  # type: ignore[misc]
                        return
                    ready = True
                if each is None or each(bound):
                    where = final_at(bound) if final_at is not None else None
                    span = where if isinstance(where, Span) else getattr(where, "span", None)
                    subject = text_of(bound[subject_var]) if subject_var else ""
                    yield Hit(final_report(bound), final_fix(bound), span, subject)

        def body(env: Env) -> Hit | None:
            """One element's hit, or None: the loop body of ``run``."""
            if each is None or each(env):
                where = final_at(env) if final_at is not None else None
                span = where if isinstance(where, Span) else getattr(where, "span", None)
                subject = text_of(env[subject_var]) if subject_var else ""
                return Hit(final_report(env), final_fix(env), span, subject)
            return None

        made: list[ElementRule | None] = []

        def elements() -> ElementRule | None:
            """The plan of what the body reads per element, made once, when the matrix first asks."""
            if not made:
                plan = self._element_plan(bindings, binding_trees, let_sides, body_trees, scope)
                made.append(None if plan is None else
                            ElementRule(plan, src_guard, dst_guard, compiled_lets, before, body, loop_span,
                                        let_sides))
            return made[0]

        guards = None
        if src_guard is not None or dst_guard is not None:
            guards = Guards(_on_one(src_guard, "src"), _on_one(dst_guard, "dst"))
        return run, guards, elements

    def _element_plan(
        self, bindings: list[tuple[str, Fn]], binding_trees: list[LarkNode], let_sides: dict[str, str | None],
        trees: list[tuple[LarkNode, str]], scope: dict[str, str],
    ) -> ElementPlan | None:
        """What the body of a one-loop rule reads of each host, if every read can be named: whole facets
        (``dst.cpu``), or per element (``e.register in src.saved``, ``dst.value(e)``), or, for a read it
        cannot place, every facet the rule reads of that host; a ``let`` that reads one host alone is read like a
        facet of that host. None when the body loops, reads any other ``let`` or the rule has more than one loop
        variable."""
        if len(bindings) != 1:
            return None
        (loop_var, coll), hosts = bindings[0], ("src", "dst")
        found = {h: _SideReads() for h in hosts}
        used = set(scope) - {loop_var}

        def element_only(tree: LarkNode) -> bool:
            return not (_names(tree) & used)

        def host_of(tree: LarkNode) -> str | None:
            name = _variable(tree, scope)
            return name if name in hosts else None

        def walk(node: LarkNode, context: str, top: bool) -> bool:
            node = unwrap(node)
            data = getattr(node, "data", None)
            if data is None:
                return True
            children = node.children
            if data == "quantified":
                return False  # its steps count against the budget per pair
            if data == "var":
                name = str(children[0])
                if name in let_sides:
                    side = let_sides[name]
                    if side is None:
                        return False
                    found[side].lets.append(name)
                    return True
                if name in hosts and not (top and context == "label"):
                    found[name].opaque = True  # a bare host somewhere unexpected: any of its facets
                return True
            if data == "attr":
                vmm_host = _vmm_of(children[0], scope)
                if vmm_host is not None:
                    if str(children[1]) not in VMM_LABELS:
                        found[vmm_host].facets.add(VMM_PART + str(children[1]))
                    return True
                host = host_of(children[0])
                if host is None:
                    return walk(children[0], context, False)
                name = str(children[1])
                if name in ("vmm", "cpu") and top and context == "label":
                    return True  # {src.vmm}, {src.cpu}: the VMM's or the CPU's name, a label
                facets = READS.get(name)
                if facets is None:
                    found[host].opaque = True
                else:
                    found[host].facets.update(facets)
                return True
            if data == "method":
                host, name, args = host_of(children[0]), str(children[1]), children[2:]
                if host is None:
                    return all(walk(c, context, False) for c in [children[0], *args])
                if name == "value" and len(args) == 1 and element_only(args[0]):
                    found[host].values.append(args[0])
                    return True
                if name in REGISTER_METHODS and args and element_only(args[0]):
                    found[host].values.append(args[0])  # the value of the element's register on the host
                    found[host].facets.update(REGISTER_METHODS[name])
                    return all(walk(c, context, False) for c in args[1:])
                other = host_of(args[1]) if name == "field_diff" and len(args) == 2 else None
                if other is not None and element_only(args[0]):  # the register's value on both, the kernel
                    found[host].values.append(args[0])
                    found[host].facets.add("kernel")
                    found[other].values.append(args[0])
                    return True
                if name == "where":  # a location, put back per host
                    return all(walk(c, context, False) for c in args)
                facets = READS.get(name)
                if facets is None:
                    found[host].opaque = True
                else:
                    found[host].facets.update(facets)
                return all(walk(c, context, False) for c in args)
            if data in ("in_", "not_in"):
                item, coll_tree = children
                inner = unwrap(coll_tree)
                host = host_of(inner.children[0]) if getattr(inner, "data", None) == "attr" else None
                if host is not None and str(inner.children[1]) != "vmm" and element_only(item):
                    found[host].members.append((item, str(inner.children[1])))
                    return True
            return all(walk(c, context, False) for c in children)

        if not all(walk(tree, context, True) for tree, context in trees):
            return None
        scoped = {**scope}
        sides = []
        for h in hosts:
            reads = found[h]
            facets = self.reads.facets[h] if reads.opaque else reads.facets
            unique_members = {(repr(item), name): (item, name) for item, name in reads.members}.values()
            members = [(self.expr(item, scoped)[0], attr_reader(name)) for item, name in unique_members]
            values = [self.expr(arg, scoped)[0] for arg in {repr(arg): arg for arg in reads.values}.values()]
            sides.append(SidePlan(h, tuple(sorted(facets)), members, values, tuple(dict.fromkeys(reads.lets))))
        # The host the collection is a function of, when it reads one host alone: then its elements, and what the
        # body computes of them alone, are the same for every pair with that host.
        split = self._split(binding_trees[0], scope, list(let_sides))
        return ElementPlan(loop_var, coll, sides[0], sides[1], *(split or (None, [])))

    def _split(
        self, tree: LarkNode, scope: dict[str, str], lets: list[str]
    ) -> tuple[str, list[tuple[bool, Fn, str]]] | None:
        """A collection ``A & B - C ...`` whose operands each read one host (or none) as (the host the first
        reads, every operand as (kept if in it, its function, its host)); None for any other collection."""
        node = unwrap(tree)
        rest: list[tuple[str, LarkNode]] = []
        while getattr(node, "data", None) == "binop" and str(node.children[1]) in ("&", "-"):
            rest.append((str(node.children[1]), node.children[2]))
            node = unwrap(node.children[0])
        operands = [("&", node), *reversed(rest)]
        found: list[tuple[bool, Fn, str]] = []
        owner: str | None = None
        for op, operand in operands:
            names = _names(operand) & set(scope)
            if names & set(lets) or _has(operand, "quantified") or not names <= {"src", "dst"} or len(names) > 1:
                return None
            side = names.pop() if names else (owner or "src")  # a constant: the same for every host
            owner = owner or side
            found.append((op == "&", self.expr(operand, scope)[0], side))
        assert owner is not None
        return owner, found

    # -- templates ------------------------------------------------------------------------------

    def _enter_loop(self, item: LarkNode) -> None:
        self.loops += 1
        if self.loops > MAX_LOOP_NESTING:
            raise self.error(item, f"loops nest more than {MAX_LOOP_NESTING} deep",
                             "a rule's work grows with the product of its loops: filter collections with & and - "
                             "instead of looping over them")

    def template(self, token: LarkNode, scope: dict[str, str]) -> Fn:
        raw = str(token)
        body = unquote(raw)
        quote = 3 if raw.startswith('"""') else 1
        parts: list[Fn | str] = []  # text, and what each {...} prints
        pos = 0
        for match in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}", body):
            literal = body[pos : match.start()]
            parts.append(literal)
            pos = match.end()
            if match.group(0) in ("{{", "}}"):
                brace = match.group(0)[0]
                parts.append(brace)
                continue
            before = body[: match.start(1)]
            line = token.line + before.count("\n") - 1 if token.line else 0
            col = token.column + quote + len(before) if "\n" not in before else len(before.rsplit("\n", 1)[1]) + 1
            tree = parse(match.group(1), self.path, start="expr", offset=(line, col - 1))
            self.offset = (line, col - 1)
            self.in_template = True
            try:
                host = _vmm_of(tree, scope)
                cpu_host = _host_attr_of(tree, scope, "cpu")
                if host is not None:  # {src.vmm} prints the VMM's name: a label, read nothing
                    self._attr_type(tree, "Host", "vmm", method=False)
                    fn = _vmm_name(host)
                elif cpu_host is not None:  # {src.cpu} prints the CPU's name: a label, read nothing
                    self._attr_type(tree, "Host", "cpu", method=False)
                    fn = _cpu_name(cpu_host)
                else:
                    fn, _ = self.host_expr(tree, scope)
            finally:
                self.offset = (0, 0)
                self.in_template = False
            parts.append(_formatted(fn))
        parts.append(body[pos:])
        return _joined(parts)

    # -- expressions ----------------------------------------------------------------------------

    def expr(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        if not hasattr(tree, "data"):
            raise self.error(tree, f"unexpected {tree!s}")
        tree = unwrap(tree)  # the grammar wraps single operands; see through them
        if tree.data != "var":
            self.host_ok = False  # only a bare name can be a host; anything around it must not be
        handler = getattr(self, f"x_{tree.data.rstrip('_')}", None)
        if handler is None:
            raise self.error(tree, f"unsupported expression {tree.data}")
        result: tuple[Fn, str] = handler(tree, scope)
        return result

    def host_expr(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        """An expression that may be a bare host (the object of an attribute, ``at src``, ``{src}``)."""
        self.host_ok = True
        try:
            return self.expr(tree, scope)
        finally:
            self.host_ok = False

    def x_number(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        value = int(str(tree.children[0]), 0)
        return (lambda env: value), "int"

    def x_string(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        value = unquote(str(tree.children[0]))
        return (lambda env: value), "str"

    def x_true(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        return (lambda env: True), "bool"

    def x_false(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        return (lambda env: False), "bool"

    def x_none(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        return (lambda env: None), "any"

    def x_var(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        name = str(tree.children[0])
        if name in scope:
            allowed, self.host_ok = self.host_ok, False
            if scope[name] == "Host" and not allowed:
                raise self.error(
                    tree,
                    f"'{name}' is a host: use one of its attributes here",
                    f"for example {name}.kernel, {name}.listed or {name}.value(r); '{{{name}}}' prints its name",
                )
            found: Fn = lambda env: env[name]  # noqa: E731
            self.reads.var(found, name)
            return found, scope[name]
        self.host_ok = False
        if name.isupper() or name[:1].isupper():
            try:
                reg = Reg(regs.register_id(name))
            except regs.UnknownRegister as exc:
                hint = f"did you mean '{exc.suggestion}'?" if exc.suggestion else None
                raise self.error(tree, f"unknown register '{name}'", hint) from None
            constant: Fn = lambda env: reg  # noqa: E731
            self.reads.register(constant, reg)
            return constant, "Reg"
        import difflib
        close = difflib.get_close_matches(name, [*scope, *BUILTINS], n=1)
        raise self.error(
            tree,
            f"unknown name '{name}'",
            f"did you mean '{close[0]}'?" if close else f"names in scope: {', '.join(scope)}",
        )

    def _attr_type(self, tree: LarkNode, kind: str, name: str, method: bool) -> str:
        if kind not in ATTRS:
            if kind in ("int", "str", "bool", "Reg") or kind.startswith(("set[", "list[")):
                raise self.error(tree, f"a {kind} has no attribute '{name}'")
            return "any"
        table = ATTRS[kind]
        if name not in table:
            import difflib
            close = difflib.get_close_matches(name, list(table), n=1)
            raise self.error(
                tree,
                f"{kind} has no attribute '{name}'",
                f"did you mean '{close[0]}'?" if close else f"known: {', '.join(table)}",
            )
        found = table[name]
        if found.startswith("fn:") and not method:
            raise self.error(tree, f"{kind}.{name} is a function; call it: {name}(...)")
        if method and not found.startswith("fn:"):
            raise self.error(tree, f"{kind}.{name} is not a function; drop the parentheses")
        return found.removeprefix("fn:")

    def x_attr(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        vmm_of = _vmm_of(tree.children[0], scope)
        if vmm_of is not None:  # host.vmm.ATTR: read that attribute of the VMM alone
            return self._vmm_attr(tree, vmm_of)
        obj, kind = self.host_expr(tree.children[0], scope)
        name = str(tree.children[1])
        result = self._attr_type(tree, kind, name, method=False)
        if kind == "Host" and name == "name" and not self.in_template:
            raise self.error(
                tree,
                "a host's name is for messages only",
                "compare what the hosts run instead: .kernel.name, .vmm.product and .vmm.version, .cpu.name",
            )
        self._no_vmm_name(tree, kind, name)
        read = attr_reader(name)
        var = _variable(tree.children[0], scope)
        if var is not None:
            fn: Fn = lambda env: read(env[var])  # noqa: E731
        else:
            fn = lambda env: read(obj(env))  # noqa: E731
        self.reads.attr(fn, kind, tree.children[0], name)
        return fn, result

    def _no_vmm_name(self, tree: LarkNode, kind: str, name: str) -> None:
        """A VMM's name, like a host's, is a label: the matrix shows rules a stand-in for it (``facets.Role``),
        so a condition on it would judge a stand-in there and the real name in ``pair``."""
        if kind == "Vmm" and name == "name" and not self.in_template:
            raise self.error(
                tree,
                "a VMM's name is for messages only",
                "compare what the VMM is instead: .vmm.product and .vmm.version, or what it does (.vmm.hidden, ...)",
            )

    def _vmm_attr(self, tree: LarkNode, host: str) -> tuple[Fn, str]:
        """``host.vmm.name``: the facets read are that one attribute's (none for a label such as the name)."""
        inner = unwrap(tree.children[0])
        self._attr_type(inner, "Host", "vmm", method=False)
        name = str(tree.children[1])
        result = self._attr_type(tree, "Vmm", name, method=False)
        self._no_vmm_name(tree, "Vmm", name)
        read_vmm, read = attr_reader("vmm"), attr_reader(name)
        fn: Fn = lambda env: read(read_vmm(env[host]))  # noqa: E731
        self.reads.vmm_attr(fn, inner.children[0], name)
        return fn, result

    def x_method(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        obj, kind = self.host_expr(tree.children[0], scope)
        name = str(tree.children[1])
        result = self._attr_type(tree, kind, name, method=True)
        # Host methods may take the other host (src.field_diff(r, dst)).
        arg = self.host_expr if kind == "Host" else self.expr
        args = [arg(a, scope)[0] for a in tree.children[2:]]
        if kind == "Host":
            self.reads.method(tree.children[0], name, tree.children[2:], list(args))
        read = attr_reader(name)
        var = _variable(tree.children[0], scope)
        if len(args) == 1 and var is not None:
            (first,) = args
            return (lambda env: read(env[var])(first(env))), result
        if len(args) == 1:
            (first,) = args
            return (lambda env: read(obj(env))(first(env))), result
        return (lambda env: read(obj(env))(*[a(env) for a in args])), result

    def x_call(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        name = str(tree.children[0])
        if name not in BUILTINS:
            import difflib
            close = difflib.get_close_matches(name, list(BUILTINS), n=1)
            raise self.error(
                tree,
                f"unknown function '{name}'",
                f"did you mean '{close[0]}'?" if close else f"functions: {', '.join(BUILTINS)}",
            )
        fn, result, arity = BUILTINS[name]
        args = [self.expr(a, scope)[0] for a in tree.children[1:]]
        if arity is not None and len(args) != arity:
            raise self.error(tree, f"{name}() takes {arity} argument(s), {len(args)} given")
        if len(args) == 1:
            (only,) = args
            return (lambda env: fn(only(env))), result
        return (lambda env: fn(*[a(env) for a in args])), result

    def x_list(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        items = [self.expr(c, scope) for c in tree.children]
        kinds = {k for _, k in items}
        fn: Fn = lambda env: [f(env) for f, _ in items]  # noqa: E731
        self.reads.union(fn, [f for f, _ in items])
        return fn, f"list[{kinds.pop() if len(kinds) == 1 else 'any'}]"

    def x_or(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        parts = [self.expr(c, scope) for c in tree.children]
        if len(parts) == 1:
            return parts[0]
        fns = [f for f, _ in parts]

        def any_of(env: Env) -> bool:
            for f in fns:  # noqa: SIM110 (no generator per call: conditions run millions of times in a matrix)
                if f(env):
                    return True
            return False

        return any_of, "bool"

    def x_and(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        saved = self.reads.snapshot()
        parts = []
        for c in tree.children:
            parts.append(self.expr(c, scope))
            self.reads.guard(c)
        self.reads.restore(saved)
        if len(parts) == 1:
            return parts[0]
        found = _all_of([f for f, _ in parts])
        assert found is not None
        return found, "bool"

    def x_not(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        fn, _ = self.expr(tree.children[0], scope)
        return (lambda env: not fn(env)), "bool"

    def x_ternary(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        (yes, kind), (cond, _), (no, _) = (self.expr(c, scope) for c in tree.children)
        fn: Fn = lambda env: yes(env) if cond(env) else no(env)  # noqa: E731
        self.reads.union(fn, [yes, no])
        return fn, kind

    def x_compare(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        (left, _), op, (right, _) = (
            self.expr(tree.children[0], scope),
            str(tree.children[1]),
            self.expr(tree.children[2], scope),
        )
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "==": operator.eq,
            "!=": operator.ne,
            "<": operator.lt,
            "<=": operator.le,
            ">": operator.gt,
            ">=": operator.ge,
        }
        compare = ops[op]
        return (lambda env: compare(left(env), right(env))), "bool"

    def x_in(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        (item, _), (coll, _) = (self.expr(c, scope) for c in tree.children)
        return (lambda env: item(env) in coll(env)), "bool"

    def x_not_in(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        (item, _), (coll, _) = (self.expr(c, scope) for c in tree.children)
        return (lambda env: item(env) not in coll(env)), "bool"

    def x_binop(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        (left, lkind), op, (right, rkind) = (
            self.expr(tree.children[0], scope),
            str(tree.children[1]),
            self.expr(tree.children[2], scope),
        )
        for side, side_kind in ((tree.children[0], lkind), (tree.children[2], rkind)):
            if side_kind in ATTRS:
                raise self.error(
                    side,
                    f"cannot use a {side_kind} with '{op}'",
                    f"use one of its attributes, e.g. .name ({', '.join(list(ATTRS[side_kind])[:4])})",
                )
        kind = (
            lkind
            if lkind.startswith("set[")
            else rkind
            if rkind.startswith("set[")
            else ("str" if "str" in (lkind, rkind) else "int")
        )
        if op == "*" or op == "//":
            kind = "int"
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "+": operator.add,
            "-": operator.sub,
            "|": operator.or_,
            "&": operator.and_,
            "*": operator.mul,
            "//": operator.floordiv,
        }
        apply = checked(ops[op], op, self.span(tree))
        fn: Fn = lambda env: apply(left(env), right(env))  # noqa: E731
        self.reads.combine(fn, op, left, right)
        return fn, kind

    def x_quantified(self, tree: LarkNode, scope: dict[str, str]) -> tuple[Fn, str]:
        quant, name_token, coll_tree, cond_tree = tree.children
        name = str(name_token)
        coll, kind = self.expr(coll_tree, scope)
        self.reads.bind(name, coll)
        outer = self.loops
        self._enter_loop(tree)
        try:
            cond, _ = self.expr(cond_tree, {**scope, name: element_type(kind)})
        finally:
            self.loops = outer
        span = self.span(tree)

        def items(env: Env) -> Iterator[bool]:
            budget: Budget = env[BUDGET]
            for value in coll(env):
                budget.step(span)
                yield bool(cond({**env, name: value}))

        if str(quant) == "any":
            return (lambda env: any(items(env))), "bool"
        if str(quant) == "all":
            return (lambda env: all(items(env))), "bool"
        return (lambda env: sum(items(env))), "int"


def _template_trees(token: LarkNode, path: str) -> list[LarkNode]:
    """The expressions of a message template (already checked when it was compiled)."""
    body = unquote(str(token))
    return [parse(m.group(1), path, start="expr") for m in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}", body)
            if m.group(1) is not None]


def _joined(parts: list[Fn | str]) -> Fn:
    """A template: its text with what each of its functions prints in place, calling only those."""
    fns = [p for p in parts if not isinstance(p, str)]
    text = "".join(p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else "{}" for p in parts)
    if not fns:
        constant = text.format()
        return lambda env: constant
    fill = text.format
    return lambda env: fill(*[fn(env) for fn in fns])


def _formatted(fn: Fn) -> Fn:
    return lambda env: text_of(fn(env))


def _all_of(fns: list[Fn]) -> Fn | None:
    """``all(f(env) for f in fns)``, without a generator per call; None when there is nothing to check."""
    if not fns:
        return None
    if len(fns) == 1:
        only = fns[0]
        return lambda env: bool(only(env))

    def all_of(env: Env) -> bool:
        for f in fns:  # noqa: SIM110 (no generator per call: conditions run millions of times in a matrix)
            if not f(env):
                return False
        return True

    return all_of


def _variable(tree: LarkNode, scope: dict[str, str]) -> str | None:
    """The name, when an expression is just a variable in scope (its value is then ``env[name]``)."""
    tree = unwrap(tree)
    if getattr(tree, "data", None) == "var" and str(tree.children[0]) in scope:
        return str(tree.children[0])
    return None


def _conjuncts(tree: LarkNode) -> list[LarkNode]:
    """The operands of a top-level ``and`` (seeing through single-operand wrappers), else the tree itself."""
    tree = unwrap(tree)
    return list(tree.children) if getattr(tree, "data", None) == "and_" else [tree]


def _vmm_name(host: str) -> Fn:
    read = attr_reader("vmm")
    return lambda env: text_of(read(env[host]))


def _cpu_name(host: str) -> Fn:
    return lambda env: env[host].cpu_label


def _simplest(facets: set[str]) -> frozenset[str]:
    """The facets without those another covers (one register's value where its family is read)."""
    return frozenset(f for f in facets if not covers(facets - {f}, f))


def _vmm_of(tree: LarkNode, scope: dict[str, str]) -> str | None:
    """The host variable when an expression is ``host.vmm``."""
    return _host_attr_of(tree, scope, "vmm")


def _host_attr_of(tree: LarkNode, scope: dict[str, str], attr: str) -> str | None:
    """The host variable when an expression is ``host.ATTR``."""
    tree = unwrap(tree)
    if getattr(tree, "data", None) != "attr" or str(tree.children[1]) != attr:
        return None
    name = _variable(tree.children[0], scope)
    return name if name is not None and scope[name] == "Host" else None


def _names(tree: LarkNode) -> set[str]:
    """Every name an expression uses (variables, registers)."""
    if getattr(tree, "data", None) == "var":
        return {str(tree.children[0])}
    found: set[str] = set()
    for child in getattr(tree, "children", ()):
        found |= _names(child)
    return found


def _one_side(tree: LarkNode, scope: dict[str, str]) -> str | None:
    """``src`` or ``dst`` when a condition reads that host alone: no other host, let or loop variable."""
    used = _names(tree) & set(scope)
    return used.pop() if len(used) == 1 and used <= {"src", "dst"} else None


def _on_one(guard: Fn | None, side: str) -> Callable[[HostView], bool] | None:
    """A one-sided condition as a function of its host, with a budget of its own."""
    if guard is None:
        return None
    return lambda view: bool(guard({side: view, BUDGET: Budget()}))


def _has(tree: LarkNode, data: str) -> bool:
    """Does an expression contain a node of this kind?"""
    return getattr(tree, "data", None) == data or any(_has(c, data) for c in getattr(tree, "children", ()))


def _mentions(tree: LarkNode, names: set[str]) -> bool:
    """Does an expression (its templates aside: a condition has none) use any of ``names``?"""
    return not _names(tree).isdisjoint(names)


def _product(bindings: list[tuple[str, Fn]], env: Env, span: Span) -> Iterator[Env]:
    """Every combination of the loop variables, in one environment updated in place: a binding's name is
    unique in its rule, and each combination is used before the next is made."""
    if not bindings:
        yield env
        return
    (name, coll), rest = bindings[0], bindings[1:]
    budget: Budget = env[BUDGET]
    for value in ordered(coll(env)):
        budget.step(span)
        env[name] = value
        yield from _product(rest, env, span)


def compile_rule(text: str, path: str, rule_id: str) -> CompiledRule:
    return Compiler(text, path).compile(rule_id)


__all__ = ["CompiledRule", "FieldView", "Hit", "RuleMeta", "RuleRuntimeError", "compile_rule"]
