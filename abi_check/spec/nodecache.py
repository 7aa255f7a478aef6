"""Spec files as located nodes, kept between runs of ``pair``: the dozen files a pair reads rarely change, and
importing and running the YAML reader is about a sixth of its start-up.

An entry is keyed by the file's text, the path its spans show, and the code that turns YAML into nodes and
checks their shape (this module, yamlnodes.py, schema.py, shapes.py and PyYAML's version): any change to one of
them misses. It holds plain values only (dicts, lists, tuples, strings, numbers, dates), read back through
abi_check.cache.loads, which builds no other class. Only a file that loaded as YAML within every bound and passed
the shape check (schema.check_document) is stored, so a hit is a file that was read and accepted before, byte for
byte, and the loader need not check its shape again (passed). The file is read (bounded) on every run either way.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from abi_check.cache import UNREADABLE, cache_dir, digest, dump, loads
from abi_check.errors import Span
from abi_check.spec.yamlnodes import Node

FORMAT = "spec-nodes-v1"
PACKS = 16  # packs kept in the cache directory, the most recently used
_PLAIN = frozenset({("datetime", "date")})  # the only class a spec value can be besides the built-in ones


def _code_digest() -> str | None:
    """What the nodes depend on besides the text: this module, yamlnodes.py and PyYAML; None when unknown."""
    from importlib.machinery import PathFinder

    from abi_check.spec import schema, shapes, yamlnodes

    found = PathFinder.find_spec("yaml", sys.path)
    if found is None or found.origin is None:
        return None
    try:
        sources = (__file__, yamlnodes.__file__, schema.__file__, shapes.__file__, found.origin)
        parts = [Path(p).read_bytes().hex() for p in sources]
    except OSError:
        return None
    return digest(FORMAT, *parts)


def _encode(node: Node) -> tuple[Any, int, int, dict[str, tuple[int, int]] | None]:
    value = node.value
    if isinstance(value, dict):
        keys = {k: (s.line, s.col) for k, s in node.key_spans.items()}
        return {k: _encode(v) for k, v in value.items()}, node.span.line, node.span.col, keys
    if isinstance(value, list):
        return [_encode(v) for v in value], node.span.line, node.span.col, None
    return value, node.span.line, node.span.col, None


def _decode(item: tuple[Any, int, int, dict[str, tuple[int, int]] | None], path: str) -> Node:
    value, line, col, keys = item
    if keys is not None:
        values: dict[str, Node] = {}
        for k, v in value.items():
            if v[3] is None and v[0].__class__ in _SCALARS:  # the common case, inline: a plain scalar
                values[k] = Node(v[0], Span(path, v[1], v[2]))
            else:
                values[k] = _decode(v, path)
        return Node(values, Span(path, line, col), {k: Span(path, at[0], at[1]) for k, at in keys.items()})
    if value.__class__ is list:
        return Node([_decode(v, path) for v in value], Span(path, line, col))
    if not (value is None or isinstance(value, _VALUES)):
        raise TypeError(f"not a spec value: {type(value).__name__}")
    return Node(value, Span(path, line, col))


_VALUES = (str, int, float, datetime.date)  # with None: what a scalar can be (bool is an int)
_SCALARS = frozenset({str, int, bool, float, type(None)})


class NodeCache:
    """One small file per entry under the cache directory; a missing, damaged or foreign entry is a miss."""

    def __init__(self) -> None:
        directory = cache_dir()
        code = _code_digest() if directory is not None else None
        self.directory = directory / FORMAT if directory is not None and code is not None else None
        self.code = code or ""
        self._passed: dict[int, Node] = {}  # nodes read back (kept, so that their ids stay theirs)

    def passed(self, node: Node) -> bool:
        """Whether ``node`` was read back from an entry, and so passed the shape check when it was stored."""
        return self._passed.get(id(node)) is node

    def checked(self, node: Node, accepted: bool) -> None:
        """The loader's shape check of a node it parsed (put has stored it already if it passes)."""

    def _file(self, path: str, text: str) -> Path | None:
        return self.directory / f"{digest(self.code, path, text)}.pickle" if self.directory is not None else None

    def get(self, path: str, text: str) -> Node | None:
        file = self._file(path, text)
        if file is None:
            return None
        try:
            node = _decode(loads(file.read_bytes(), _PLAIN), path)
        except UNREADABLE:
            return None
        self._passed[id(node)] = node
        return node

    def put(self, path: str, text: str, node: Node) -> None:
        file = self._file(path, text)
        if file is None:
            return
        from abi_check.spec.schema import check_document

        if check_document(node):
            return  # its errors are reported from the file itself, every time
        try:
            encoded = _encode(node)
        except RecursionError:
            return
        dump(file, encoded)


class NodePack(NodeCache):
    """The nodes of every file one load of many hosts reads (a fleet's thousands of small host files and the specs
    they name), in one cache file: reading an entry file per host would cost about what parsing it does.

    Entries are keyed as NodeCache's are (the code, the path the spans show, the file's text), and the pack's
    file name by the inputs the load was given. A parsed file's nodes join the pack only once the loader has
    shape-checked them (``checked``); ``save`` writes, when the run added an entry, the entries this run used,
    so a pack holds no more than one load reads. Whatever is in the file, an entry that does not decode to spec
    values is a miss."""

    def __init__(self, inputs: Iterable[str]) -> None:
        super().__init__()
        self.file = self.directory / f"pack-{digest(self.code, *inputs)}.pickle" if self.directory is not None else None
        self._entries: dict[str, Any] | None = None
        self._used: dict[str, Any] = {}
        self._pending: dict[int, tuple[str, Node]] = {}
        self._grew = False

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if self.file is not None:
                try:
                    data = loads(self.file.read_bytes(), _PLAIN)
                except UNREADABLE:
                    data = None
                if isinstance(data, dict):
                    self._entries = data
                    with contextlib.suppress(OSError):
                        os.utime(self.file)  # used: the last pack the bound on their number removes
        return self._entries

    def get(self, path: str, text: str) -> Node | None:
        if self.file is None:
            return None
        key = digest(self.code, path, text)
        item = self._load().get(key)
        if item is None:
            return None
        try:
            node = _decode(item, path)
        except UNREADABLE:
            return None
        self._used[key] = item
        self._passed[id(node)] = node
        return node

    def put(self, path: str, text: str, node: Node) -> None:
        if self.file is not None:  # kept only if the loader's shape check passes it
            self._pending[id(node)] = (digest(self.code, path, text), node)

    def checked(self, node: Node, accepted: bool) -> None:
        """The loader's shape check of a node it parsed: accepted nodes join the pack."""
        found = self._pending.pop(id(node), None)
        if found is not None and found[1] is node and accepted:
            try:
                self._used[found[0]] = _encode(node)
            except RecursionError:
                return
            self._grew = True

    def save(self) -> None:
        if self.file is None or not self._grew:
            return
        if dump(self.file, self._used):
            self._prune()
        self._grew = False

    def _prune(self) -> None:
        """Each set of inputs has a pack (fleets in temporary directories too): only the PACKS used last stay."""
        assert self.file is not None
        packs = []
        for other in self.file.parent.glob("pack-*.pickle"):
            try:
                packs.append((other.stat().st_mtime, other))
            except OSError:
                continue
        packs.sort(reverse=True)
        for _, other in packs[PACKS:]:
            if other != self.file:
                other.unlink(missing_ok=True)
