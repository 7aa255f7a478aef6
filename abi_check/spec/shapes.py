"""Shapes a located node must have, each also its JSON Schema: the small vocabulary specs and configuration share.

A shape checks a node and appends located errors (every one, in file order) with a hint where one helps, and
describes itself as JSON Schema, so the loader and ``abi-check schema`` cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from abi_check.errors import SpecError
from abi_check.spec.yamlnodes import Node


class Type:
    """A shape a node must have. ``check`` appends located errors; ``schema`` is its JSON Schema."""

    description: str = ""

    def check(self, node: Node, errors: list[SpecError]) -> None:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def doc(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema["description"] = self.description
        return schema


def type_name(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    return f"the string {str(value)!r}"


@dataclass
class Str(Type):
    """A string, optionally matching a pattern or one of a set of values."""

    description: str = ""
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    hint: str | None = None

    def check(self, node: Node, errors: list[SpecError]) -> None:
        value = node.value
        if not isinstance(value, str):
            hint = self.hint
            if isinstance(value, float | int) and not isinstance(value, bool):
                hint = hint or f"quote it: '{value}'"
            errors.append(SpecError(node.span, f"expected a string, found {type_name(value)}", hint))
            return
        if self.enum is not None and value not in self.enum:
            import difflib
            close = difflib.get_close_matches(value, self.enum, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(self.enum)}"
            errors.append(SpecError(node.span, f"'{value}' is not one of the allowed values", hint))
        elif self.pattern is not None and not re.match(self.pattern, value):
            expected = self.hint or (f"expected {self.description}" if self.description else f"expected {self.pattern}")
            errors.append(SpecError(node.span, f"'{value}' is not valid here", expected))

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return self.doc(out)


@dataclass
class Int(Type):
    """An integer within bounds."""

    description: str = ""
    minimum: int = 0
    maximum: int = (1 << 64) - 1

    def check(self, node: Node, errors: list[SpecError]) -> None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(SpecError(node.span, f"expected a whole number, found {type_name(value)}"))
        elif not self.minimum <= value <= self.maximum:
            errors.append(
                SpecError(
                    node.span,
                    f"{value:#x} is out of range" if value > 0xFFFF else f"{value} is out of range",
                    f"allowed: {self.minimum} to {self.maximum:#x}"
                    if self.maximum > 0xFFFF
                    else f"allowed: {self.minimum} to {self.maximum}",
                )
            )

    def schema(self) -> dict[str, Any]:
        return self.doc({"type": "integer", "minimum": self.minimum, "maximum": self.maximum})


@dataclass
class Bool(Type):
    """A boolean."""

    description: str = ""

    def check(self, node: Node, errors: list[SpecError]) -> None:
        if not isinstance(node.value, bool):
            errors.append(SpecError(node.span, f"expected true or false, found {type_name(node.value)}"))

    def schema(self) -> dict[str, Any]:
        return self.doc({"type": "boolean"})


@dataclass
class ListOf(Type):
    """A list of one shape, its items unique unless said otherwise."""

    item: Type
    description: str = ""
    unique: bool = True

    def check(self, node: Node, errors: list[SpecError]) -> None:
        if not isinstance(node.value, list):
            errors.append(SpecError(node.span, f"expected a list, found {type_name(node.value)}"))
            return
        seen: dict[object, int] = {}
        for item in node.value:
            self.item.check(item, errors)
            key = repr(item.plain())
            if self.unique and key in seen:
                errors.append(SpecError(item.span, f"{item.plain()!r} is listed twice (first at line {seen[key]})"))
            seen.setdefault(key, item.span.line)

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.unique:
            out["uniqueItems"] = True
        return self.doc(out)


@dataclass
class OneOf(Type):
    """The first alternative whose JSON type matches decides; errors come from it."""

    options: tuple[tuple[Callable[[object], bool], Type], ...]
    description: str = ""
    expected: str = ""

    def check(self, node: Node, errors: list[SpecError]) -> None:
        for matches, kind in self.options:
            if matches(node.value):
                kind.check(node, errors)
                return
        errors.append(SpecError(node.span, f"expected {self.expected}, found {type_name(node.value)}"))

    def schema(self) -> dict[str, Any]:
        return self.doc({"anyOf": [kind.schema() for _, kind in self.options]})


@dataclass
class MapOf(Type):
    """A mapping with free keys (register names, bit names). A null value deletes an inherited entry."""

    key: Str
    value: Type
    description: str = ""
    nullable: bool = True

    def check(self, node: Node, errors: list[SpecError]) -> None:
        if not isinstance(node.value, dict):
            errors.append(SpecError(node.span, f"expected a mapping, found {type_name(node.value)}"))
            return
        for key, child in node.value.items():
            self.key.check(Node(key, node.key_span(key)), errors)
            if child.value is None and self.nullable:
                continue
            self.value.check(child, errors)

    def schema(self) -> dict[str, Any]:
        value = self.value.schema()
        if self.nullable:
            value = {"anyOf": [value, {"type": "null"}]}
        out: dict[str, Any] = {"type": "object", "additionalProperties": value}
        if self.key.pattern:
            out["propertyNames"] = {"pattern": self.key.pattern}
        elif self.key.enum:
            out["propertyNames"] = {"enum": list(self.key.enum)}
        return self.doc(out)


@dataclass
class Obj(Type):
    """A mapping with a fixed set of keys."""

    fields: dict[str, Type]
    required: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Keys that may be null: in a spec that extends another, null deletes the inherited value.
    nullable: tuple[str, ...] = ()

    def check(self, node: Node, errors: list[SpecError]) -> None:
        if not isinstance(node.value, dict):
            errors.append(SpecError(node.span, f"expected a mapping, found {type_name(node.value)}"))
            return
        for key, child in node.value.items():
            if key not in self.fields:
                import difflib
                close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(self.fields)}"
                errors.append(SpecError(node.key_span(key), f"unknown key '{key}'", hint))
                continue
            if child.value is None and key in self.nullable:
                continue
            self.fields[key].check(child, errors)
        for key in self.required:
            if key not in node.value:
                errors.append(SpecError(node.span, f"missing required key '{key}'"))

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {
                k: {"anyOf": [v.schema(), {"type": "null"}]} if k in self.nullable else v.schema()
                for k, v in self.fields.items()
            },
            "additionalProperties": False,
        }
        if self.required:
            out["required"] = list(self.required)
        out.update(self.extra)
        return self.doc(out)
