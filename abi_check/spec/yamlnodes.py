"""YAML text to located nodes: safe, bounded, and strict about duplicate keys."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abi_check.errors import Span, SpecError, decode_utf8, remember_source
from abi_check.spec.files import read_bounded

if TYPE_CHECKING:
    import yaml

    from abi_check.spec.nodecache import NodeCache

# Specs are small hand-written files; these bounds stop hostile or accidental inputs early.
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
# Wider numbers are never meaningful here (values are 64-bit); rejecting them early also keeps messages from
# formatting a number with thousands of digits.
MAX_INT_BITS = 256

_LOADER: Any = None


def _import_yaml() -> None:
    """PyYAML, imported for the first file the node cache does not hold (importing it is ~10 ms)."""
    global yaml, _LOADER
    import yaml

    if _LOADER is not None:
        return
    # libyaml's composer gives the same nodes and marks, several times faster; pure Python when absent.
    base = getattr(yaml, "CSafeLoader", None)
    if base is None or base.yaml_path_resolvers:
        _LOADER = yaml.SafeLoader
        return
    resolve = base.resolve
    known: dict[tuple[str, tuple[bool, bool]], str] = {}
    scalar_node = yaml.ScalarNode

    class Loader(base):  # type: ignore[misc, valid-type]
        """CSafeLoader, with the implicit tag of each plain scalar text worked out once: thousands of host files
        repeat the same keys and names. Without path resolvers (SafeLoader has none) a scalar's tag depends on
        its text and style only, so the answer is the one PyYAML gives."""

        def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
            if kind is not scalar_node:
                return str(resolve(self, kind, value, implicit))
            key = (value, implicit)
            tag = known.get(key)
            if tag is None:
                tag = str(resolve(self, kind, value, implicit))
                if len(known) < _RESOLVED and len(value) <= 64:
                    known[key] = tag
            return tag

    _LOADER = Loader


_RESOLVED = 8192  # scalar texts whose tags are kept (a few hundred kilobytes at most)


Scalar = str | int | float | bool | None | datetime.date

_SCALARS: Any = None


def _scalar_constructor() -> Any:
    """One PyYAML constructor for the plain scalar tags, whose constructors keep no state (only ever called
    directly, never through construct_object)."""
    global _SCALARS
    if _SCALARS is None:
        _SCALARS = yaml.SafeLoader("")
    return _SCALARS


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value with the place it was written. Mappings keep the spans of their keys."""

    value: Scalar | dict[str, Node] | list[Node]
    span: Span
    key_spans: dict[str, Span] = field(default_factory=dict)

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def items(self) -> Iterator[tuple[str, Node]]:
        assert isinstance(self.value, dict)
        return iter(self.value.items())

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def key_span(self, key: str) -> Span:
        return self.key_spans.get(key, self.span)

    def plain(self) -> object:
        """The value without positions (for messages and tests)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def load_file(path: Path, display: str | None = None, cache: NodeCache | None = None) -> Node:
    """Read one spec file and return its single document as located nodes."""
    shown = display or str(path)
    data = read_bounded(path, shown, MAX_FILE_BYTES, SpecError, "spec",
                        "split it into smaller specs joined with 'extends:'")
    return load_text(data, shown, cache)


def load_text(data: bytes, path: str, cache: NodeCache | None = None) -> Node:
    """``cache``: where nodes of a text read before are kept (spec/nodecache.py); it holds accepted files only."""
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(Span(path, 1, 1), f"input is larger than the {MAX_FILE_BYTES} byte limit")
    text = decode_utf8(data, path, SpecError)
    if text.startswith("\ufeff"):
        text = text[1:]
    if cache is not None:
        cached = cache.get(path, text)
        if cached is not None:
            remember_source(path, text)
            return cached
    node = _load_text(text, path)
    if cache is not None:
        cache.put(path, text, node)
    return node


def _load_text(text: str, path: str) -> Node:
    _import_yaml()
    try:
        documents = _compose(text)
        remember_source(path, text)  # YAML's reader accepted every character: errors may quote its lines
    except yaml.MarkedYAMLError as exc:
        remember_source(path, text)
        mark = exc.problem_mark or exc.context_mark
        span = Span(path, mark.line + 1, mark.column + 1) if mark else Span(path, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(span, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise SpecError(Span(path, line, col), f"control character #x{exc.character:04x} is not allowed in YAML",
                        "remove the control character") from None
    except yaml.YAMLError as exc:
        raise SpecError(Span(path, 1, 1), f"YAML error: {exc}") from None
    except RecursionError:
        raise SpecError(Span(path, 1, 1), f"YAML nesting is deeper than {MAX_DEPTH} levels") from None
    documents = [d for d in documents if d is not None]
    if not documents:
        raise SpecError(Span(path, 1, 1), "file holds no YAML document", "a spec starts with 'abi-check: 1'")
    if len(documents) > 1:
        mark = documents[1].start_mark
        raise SpecError(
            Span(path, mark.line + 1, mark.column + 1),
            "file holds more than one YAML document",
            "put each spec in a file of its own",
        )
    return _Converter(path).convert(documents[0], depth=0)


def _compose(text: str) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
    # Invalid YAML: let the pure-Python composer raise, so messages and positions do not depend on libyaml.
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
# Tags whose PyYAML constructor is a pure function of the scalar's text: called directly, without the bookkeeping
# of construct_object (its memo of constructed nodes, its recursion guard), which a scalar does not need.
_PLAIN_SCALARS = ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                  "tag:yaml.org,2002:float")


class _Converter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.active: set[int] = set()
        self._constructor: Any = None

    @property
    def constructor(self) -> Any:
        """A PyYAML constructor for scalars with other tags (dates, and tags that are refused), made on first use."""
        if self._constructor is None:
            self._constructor = yaml.SafeLoader("")
        return self._constructor

    def span(self, node: yaml.Node) -> Span:
        mark = node.start_mark
        return Span(self.path, mark.line + 1, mark.column + 1)

    def convert(self, node: yaml.Node, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(
                self.span(node),
                f"document expands to more than {MAX_NODES} values (an alias bomb?)",
                "avoid nesting aliases of aliases",
            )
        if depth > MAX_DEPTH:
            raise SpecError(self.span(node), f"YAML nesting is deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            # A scalar holds nothing, so it cannot contain itself: only collections are tracked in ``active``.
            mark = node.start_mark
            span = Span(self.path, mark.line + 1, mark.column + 1)
            return Node(node.value if node.tag == _STR else self.scalar(node), span)
        if id(node) in self.active:
            raise SpecError(self.span(node), "recursive alias: a value contains itself")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    raise SpecError(self.span(node), f"unsupported YAML tag {node.tag}",
                                    "specs hold plain data: mappings, lists, strings, numbers and booleans")
                return Node([self.convert(item, depth + 1) for item in node.value], self.span(node))
            assert isinstance(node, yaml.MappingNode)
            return self.mapping(node, depth)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, depth: int) -> Node:
        if node.tag != _MAP:
            raise SpecError(self.span(node), f"unsupported YAML tag {node.tag}")
        values: dict[str, Node] = {}
        keys: dict[str, Span] = {}
        path = self.path
        for key_node, value_node in node.value:
            mark = key_node.start_mark
            key_span = Span(path, mark.line + 1, mark.column + 1)
            tag = key_node.tag
            if tag == _STR and isinstance(key_node, yaml.ScalarNode):
                text = key_node.value  # a plain name: what scalar() would return, and str() of it
            else:
                if tag == _MERGE:
                    raise SpecError(key_span, "YAML merge keys ('<<') are not supported", "use 'extends:'")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SpecError(key_span, "mapping keys must be plain scalars")
                key = self.scalar(key_node)
                if isinstance(key, bool) or key is None or isinstance(key, datetime.date | float):
                    raise SpecError(key_span, f"mapping key {key_node.value!r} is not a name or a number")
                text = str(key) if not isinstance(key, int) else key_node.value
            if text in values:
                first = keys[text]
                raise SpecError(
                    key_span,
                    f"duplicate key '{text}' (first defined at line {first.line})",
                    "YAML keeps only one of them; merge the two entries",
                )
            keys[text] = key_span
            values[text] = self.convert(value_node, depth + 1)
        return Node(values, self.span(node), keys)

    def scalar(self, node: yaml.ScalarNode) -> Scalar:
        try:
            if node.tag in _PLAIN_SCALARS:
                constructor = _scalar_constructor()
                value = constructor.yaml_constructors[node.tag](constructor, node)
            else:
                value = self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            problem = (
                (exc.problem or "").split(" for the tag ")[-1] if "constructor" in (exc.problem or "") else exc.problem
            )
            raise SpecError(
                self.span(node),
                f"unsupported YAML tag or value {node.tag!r}: {problem}",
                "specs hold plain data: mappings, lists, strings, numbers and booleans",
            ) from None
        except (yaml.YAMLError, ValueError, OverflowError, KeyError, IndexError, AttributeError, TypeError):
            raise SpecError(self.span(node), f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}",
                            "drop the explicit tag or fix the value") from None
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
            raise SpecError(self.span(node), f"number is {value.bit_length()} bits wide; specs hold at most "
                            "64-bit values", "check the value: register ids and values are at most 0xffffffffffffffff")
        if isinstance(value, datetime.datetime):
            raise SpecError(self.span(node), "timestamps are not supported; write a date (YYYY-MM-DD)")
        if value is None or isinstance(value, str | int | float | bool | datetime.date):
            return value
        raise SpecError(self.span(node), f"unsupported YAML value of type {type(value).__name__}")
