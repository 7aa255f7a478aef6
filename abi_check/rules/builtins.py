"""The rule language's library: the functions a rule may call, how values print in messages, attribute access.

A new function for rule authors goes in ``BUILTINS`` (name -> function, return type, arity); the compiler checks
calls against it. Sets print and iterate in a stable order, so findings are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from abi_check.abi.views import ATTRS, field_safe
from abi_check.errors import RuleError, Span
from abi_check.spec import registers as regs
from abi_check.spec.encodings import level_name, level_table, psci_str


class RuleRuntimeError(Exception):
    """A rule asked for something a view does not offer at run time."""


# A rule may come from a pull request, so every evaluation has a budget (docs/security.md). The bounds are far
# above what a real rule needs: the shipped rules take at most a few hundred steps per pair and hold values of
# 64 bits. Loop nesting is bounded when a rule is compiled; these hold at run time, for one rule on one pair.
MAX_STEPS = 200_000  # iterations of for and of any/all/count, together
MAX_INT_BITS = 1024  # an integer result of an operator
MAX_SIZE = 100_000  # items of a list or set, characters of a string, made by an operator


class RuleBudgetError(RuleError):
    """A rule went over its evaluation budget: an error in the rule (exit 2), located where it was exceeded,
    not a crash of the tool. Raised out of the engine and the matrix, never turned into a finding."""


class Budget:
    """The steps one evaluation of a rule has left; shared by every scope of that evaluation."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = MAX_STEPS

    def step(self, span: Span) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise RuleBudgetError(span, f"the rule takes more than {MAX_STEPS} loop steps for one pair of hosts",
                                  "loop over fewer or smaller collections: filter them with & and - first")


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | set | frozenset) else 0


def checked(op: Callable[[Any, Any], Any], symbol: str, span: Span) -> Callable[[Any, Any], Any]:
    """An operator whose result stays within the integer and size bounds (checked before anything big is made)."""

    def apply(a: Any, b: Any) -> Any:
        if symbol == "*" and not (isinstance(a, int) and isinstance(b, int)):
            raise RuleBudgetError(span, "'*' multiplies numbers only", "repeat a string or a list some other way")
        if symbol == "*" and a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            raise _too_big(span, symbol)
        result = op(a, b)
        if isinstance(result, int) and not isinstance(result, bool) and result.bit_length() > MAX_INT_BITS:
            raise _too_big(span, symbol)
        if _size(result) > MAX_SIZE:
            raise RuleBudgetError(span, f"'{symbol}' makes a value of more than {MAX_SIZE} items or characters",
                                  "rules compare small collections of registers and values")
        return result

    return apply


def _too_big(span: Span, symbol: str) -> RuleBudgetError:
    return RuleBudgetError(span, f"'{symbol}' makes a number wider than {MAX_INT_BITS} bits",
                           "register values are 64 bits; check the arithmetic")


def join_values(values: Iterable[Any]) -> str:
    items = list(values)
    if isinstance(values, set | frozenset):
        items = sorted(items, key=sort_key)
    return ", ".join([text_of(v) for v in items]) or "none"


def text_of(value: Any) -> str:
    if type(value) is str:  # the common case, first
        return value
    if isinstance(value, set | frozenset | list | tuple):
        return join_values(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def sort_key(value: Any) -> tuple[str, Any]:
    if isinstance(value, int | str):
        return (type(value).__name__ if not isinstance(value, int) else "int", value)
    return ("view", str(value))


def _psci(value: Any) -> str:
    if isinstance(value, set | frozenset | list | tuple):
        return ", ".join(psci_str(v) for v in sorted(value))
    return psci_str(value)


def _level_value(reg: int, name: str) -> int:
    table = level_table(reg)
    if name not in table:
        raise RuleRuntimeError(f"{name!r} is not a level of {regs.register_name(reg)}")
    return table[name]


# name -> (function, return type, number of arguments or None for any)
BUILTINS: dict[str, tuple[Callable[..., Any], str, int | None]] = {
    "len": (len, "int", 1),
    "hex": (lambda v: f"{v:#x}", "str", 1),
    "psci": (_psci, "str", 1),
    "level": (level_name, "str", 2),
    "level_value": (_level_value, "int", 2),
    "safe": (field_safe, "bool", 3),
    "join": (join_values, "str", 1),
    "str": (text_of, "str", 1),
    "min": (min, "int", None),
    "max": (max, "int", None),
    "sorted": (lambda v: sorted(v, key=sort_key), "list[any]", 1),
}


def get_attr(obj: Any, name: str) -> Any:
    kind = getattr(obj, "TYPE", None)
    if kind is None or name not in ATTRS.get(kind, {}):
        raise RuleRuntimeError(f"{type(obj).__name__} has no attribute {name!r} for rules")
    return getattr(obj, name)


def attr_reader(name: str) -> Callable[[Any], Any]:
    """``get_attr(obj, name)`` for one attribute name, remembering the view types already checked."""
    allowed: set[type] = set()

    def read(obj: Any) -> Any:
        if type(obj) in allowed:
            return getattr(obj, name)
        value = get_attr(obj, name)
        allowed.add(type(obj))
        return value

    return read


def ordered(values: Any) -> Iterable[Any]:
    if isinstance(values, set | frozenset):
        return sorted(values, key=sort_key)
    return values  # type: ignore[no-any-return]
