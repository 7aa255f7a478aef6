"""The rule language's library: the functions a rule may call, how values print in messages, attribute access.

A new function for rule authors goes in ``BUILTINS`` (name -> function, return type, arity); the compiler checks
calls against it. Sets print and iterate in a stable order, so findings are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from abi_check.abi.views import ATTRS, field_safe
from abi_check.spec import registers as regs
from abi_check.spec.encodings import level_name, level_table, psci_str


class RuleRuntimeError(Exception):
    """A rule asked for something a view does not offer at run time."""


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
