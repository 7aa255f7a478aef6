"""One table of a TOML file as located nodes: tomllib reads the values, a line scanner finds where keys are."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from abi_check.errors import ConfigError, Span
from abi_check.spec.yamlnodes import Node

_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = re.compile(rf"\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*")
_HEADER = re.compile(rf"^\s*\[\[?\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*\]\]?")
_ASSIGN = re.compile(rf"^(\s*)({_KEY}(?:\s*\.\s*{_KEY})*)\s*=\s*")
_INLINE_KEY = re.compile(rf"({_KEY})\s*=\s*")
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")

Path_ = tuple[str, ...]


def _split(dotted: str) -> Path_:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def locate(text: str, path: str) -> tuple[dict[Path_, Span], dict[Path_, Span]]:
    """Where each key (by full dotted path) and its value start. Good enough for hand-written tables: headers,
    ``a.b = v`` lines and one level of inline tables; anything it cannot place falls back to its parent."""
    keys: dict[Path_, Span] = {}
    values: dict[Path_, Span] = {}
    table: Path_ = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        header = _HEADER.match(line)
        if header and not _ASSIGN.match(line):
            table = _split(header.group(1))
            keys.setdefault(table, Span(path, number, line.index(header.group(1)[0]) + 1))
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        full = table + _split(assign.group(2))
        keys.setdefault(full, Span(path, number, len(assign.group(1)) + 1))
        values.setdefault(full, Span(path, number, assign.end() + 1))
        rest = line[assign.end() :]
        if rest.startswith("{"):
            for inner in _INLINE_KEY.finditer(rest):
                sub = full + _split(inner.group(1))
                offset = assign.end() + inner.start()
                keys.setdefault(sub, Span(path, number, offset + 1))
                values.setdefault(sub, Span(path, number, assign.end() + inner.end() + 1))
    return keys, values


def load_table(text: str, path: str, table: Path_) -> Node | None:
    """The table at ``table`` (e.g. ``("tool", "abi-check")``) as located nodes, or None when the file has none."""
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _POSITION.search(str(exc))
        span = Span(path, int(found.group(1)), int(found.group(2))) if found else Span(path, 1, 1)
        message = _POSITION.sub("", str(exc)).strip()
        raise ConfigError(span, f"TOML syntax error: {message}") from None
    for part in table:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    keys, values = locate(text, path)

    def span_of(where: Path_, spans: dict[Path_, Span]) -> Span:
        for end in range(len(where), 0, -1):
            if where[:end] in spans:
                return spans[where[:end]]
        return Span(path, 1, 1)

    def node(value: Any, where: Path_) -> Node:
        if isinstance(value, dict):
            children = {str(k): node(v, (*where, str(k))) for k, v in value.items()}
            return Node(children, span_of(where, keys), {k: span_of((*where, k), keys) for k in children})
        if isinstance(value, list):
            return Node([node(v, where) for v in value], span_of(where, values))
        return Node(value, span_of(where, values))

    return node(data, table)
