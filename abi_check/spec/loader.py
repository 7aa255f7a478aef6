"""Load specs: read, shape-check, merge the extends chain, build the model; every error located."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from abi_check.errors import InputErrors, Span, SpecError
from abi_check.spec.build import BUILDERS, Builder, CheckedHosts
from abi_check.spec.catalogue import SPEC_SUFFIXES, SpecRoots
from abi_check.spec.model import Host, Kind, Spec, SpecInfo
from abi_check.spec.schema import NAME_PATTERN, OBSERVED_REPLACES, REQUIRED_AFTER_EXTENDS, check_document
from abi_check.spec.yamlnodes import Node, load_file

if TYPE_CHECKING:
    from abi_check.spec.nodecache import NodeCache
    from abi_check.spec.observed import Observed

_UNSEEN = object()
# Keys every file states for itself; they never come from the spec it extends.
OWN_KEYS = ("abi-check", "kind", "name", "extends", "source", "description")


def display_path(path: Path) -> str:
    """A path as users wrote it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def merge(parent: Node, child: Node) -> Node:
    """JSON-merge-patch semantics (RFC 7386) that keep each value's own span: maps merge, null deletes."""
    if not (isinstance(parent.value, dict) and isinstance(child.value, dict)):
        return child
    values = dict(parent.value)
    keys = dict(parent.key_spans)
    for key, value in child.value.items():
        if value.value is None:
            values.pop(key, None)
            keys.pop(key, None)
        elif key in values:
            values[key] = merge(values[key], value)
            keys[key] = child.key_spans[key]
        else:
            values[key] = value
            keys[key] = child.key_spans[key]
    return Node(values, child.span, keys)


@dataclass(frozen=True, slots=True)
class _Merged:
    """A spec node with its extends chain merged in."""

    node: Node
    info: SpecInfo


class BrokenReference(SpecError):
    """A spec that names a spec with errors: reported after the root cause, which ``cause`` locates."""

    def __init__(self, span: Span | None, message: str, hint: str | None = None, *, cause: Span | None) -> None:
        super().__init__(span, message, hint)
        self.cause = cause


class SpecLoader:
    """Loads specs through the spec roots, caching every file and every built spec."""

    def __init__(self, roots: SpecRoots, node_cache: NodeCache | None = None) -> None:
        self.roots = roots
        self.node_cache = node_cache  # files' nodes kept between runs (spec/nodecache.py): pair's few files
        self._raw: dict[Path, Node | InputErrors] = {}
        self._merged: dict[Path, _Merged | InputErrors] = {}
        self._specs: dict[Path, Spec | InputErrors] = {}
        self._touched: set[Path] = set()
        # Thousands of hosts name the same few kernels, VMMs and CPUs: each reference is resolved once.
        self._refs: dict[tuple[str, Path | None], Path] = {}
        self._parents: dict[Path, Path] = {}
        self._dirs: dict[Path, Path] = {}  # directories resolved
        self._admits: dict[Path, Path | None] = {}
        self._shown_dirs: dict[Path, str] = {}
        self._checked: CheckedHosts = {}  # per loader, like the specs whose ids it holds
        self._origins: dict[tuple[str, Path], Path] = {}
        self._canonical: dict[Path, Path] = {}
        self._shown: dict[Path, str] = {}

    def fork(self) -> SpecLoader:
        """A loader with the same roots that shares the parsed files but builds and tracks on its own."""
        other = SpecLoader(self.roots, self.node_cache)
        other._raw = self._raw
        other._refs, other._origins = self._refs, self._origins
        other._canonical, other._shown, other._parents = self._canonical, self._shown, self._parents
        other._dirs, other._admits, other._shown_dirs = self._dirs, self._admits, self._shown_dirs
        return other

    @property
    def files_read(self) -> frozenset[Path]:
        """Every file this loader has read: for a fresh fork after one load, the files that spec depends on."""
        return frozenset(self._touched)

    def load(self, path: Path, expect: Kind | None = None, span: Span | None = None) -> Spec:
        """The built spec at ``path``; raises InputErrors with every problem found."""
        resolved = self._admits.get(path, _UNSEEN)
        if resolved is _UNSEEN:
            resolved = self._admitted(path)
        if resolved is None:
            # A link out of the roots (to /proc/self/environ, say) is never read: its bytes could end up quoted.
            raise InputErrors([SpecError(span or Span(display_path(path), 1, 1),
                                         f"{display_path(path)} is a link that leaves the spec roots",
                                         "specs are read from inside the spec roots only; copy the spec in")])
        assert isinstance(resolved, Path)
        result = self._specs.get(resolved)
        if result is None:
            self._specs[resolved] = InputErrors([])  # guards against host -> vmm -> ... cycles
            try:
                result = self._build(resolved)
            except InputErrors as exc:
                result = exc
            self._specs[resolved] = result
        if isinstance(result, InputErrors):
            if not result.errors:
                raise InputErrors([SpecError(span, f"{display_path(resolved)} refers back to itself")])
            raise result
        if expect is not None and result.info.kind is not expect:
            where = span or result.info.span
            raise InputErrors(
                [SpecError(where, f"{result.info.name} is a {result.info.kind} spec, expected a {expect} spec")]
            )
        return result

    def canonical(self, path: Path) -> Path:
        """``path.resolve()``, once per path."""
        found = self._canonical.get(path)
        if found is None:
            found = self._canonical[path] = path.resolve()
        return found

    def _admitted(self, path: Path) -> Path | None:
        """The file ``path`` names, every link followed, when that lies inside the spec roots; else None (a link
        loop too). Resolved and checked once per path: thousands of hosts name the same few kernels, VMMs and
        CPUs, and sit in a few directories."""
        found = self._canonical.get(path)
        directory = None
        if found is None:
            try:
                found, directory = self._resolve_file(path)
            except (OSError, RuntimeError):  # a link loop
                return None
            self._canonical[path] = found
        admitted = self._admits[path] = found if self.roots.holds(found, directory) else None
        return admitted

    def _resolve_file(self, path: Path) -> tuple[Path, Path | None]:
        """``path.resolve()`` and, when known, its directory: the directory's part is resolved once, and a name
        that is not a link adds itself to it; anything else (a link, '..', a file that is not there) is resolved
        in full."""
        name = path.name
        directory = self._directory(path)
        if name in ("", ".", ".."):  # "" is the root or the working directory
            return path.resolve(), None
        try:
            plain = not stat.S_ISLNK(os.lstat(path).st_mode)
        except (OSError, ValueError):
            plain = False
        if not plain:
            return path.resolve(), None
        resolved_dir = self._dirs.get(directory)
        if resolved_dir is None:
            resolved = directory.resolve()
            resolved_dir = self._dirs[directory] = directory if resolved == directory else resolved
        if resolved_dir is directory:
            return path, directory  # a directory given resolved (an absolute path without links): the path is
        return resolved_dir / name, resolved_dir

    def _display(self, path: Path) -> str:
        """display_path(path) for a resolved path, from its directory's, which is worked out once."""
        found = self._shown.get(path)
        if found is None:
            directory = self._directory(path)
            if path.name in ("", ".", ".."):
                found = display_path(path)
            else:
                shown_dir = self._shown_dirs.get(directory)
                if shown_dir is None:
                    shown_dir = self._shown_dirs[directory] = display_path(directory)
                found = path.name if shown_dir == "." else os.path.join(shown_dir, path.name)
            self._shown[path] = found
        return found

    def load_host(self, path: Path) -> Host:
        spec = self.load(path)
        if not isinstance(spec, Host):
            raise InputErrors(
                [
                    SpecError(
                        spec.info.span,
                        f"{spec.info.name} is a {spec.info.kind} spec, expected a host spec",
                        "pair and matrix take host specs",
                    )
                ]
            )
        return spec

    def _read(self, path: Path) -> Node:
        self._touched.add(path)
        if path not in self._raw:
            try:
                node = load_file(path, self._display(path), self.node_cache)
                cached = self.node_cache is not None and self.node_cache.passed(node)
                errors = [] if cached else check_document(node)
                if self.node_cache is not None and not cached:
                    self.node_cache.checked(node, not errors)
                name = node.get("name")
                if name is not None and isinstance(name.value, str) and name.value != path.stem:
                    errors.append(
                        SpecError(
                            name.span,
                            f"name '{name.value}' differs from the file name '{path.stem}'",
                            f"rename the file or write name: {path.stem}"
                            if re.match(NAME_PATTERN, path.stem)
                            else f"rename the file to {name.value}.yaml (names are lower-case)",
                        )
                    )
                self._raw[path] = InputErrors(list(errors)) if errors else node
            except SpecError as exc:
                self._raw[path] = InputErrors([exc])
        raw = self._raw[path]
        if isinstance(raw, InputErrors):
            raise raw
        return raw

    def _merge_chain(self, path: Path, stack: tuple[Path, ...] = ()) -> _Merged:
        if path in stack:
            cycle = " -> ".join(p.stem for p in (*stack, path))
            node = self._read(stack[-1])
            raise InputErrors(
                [
                    SpecError(
                        node.key_span("extends"),
                        f"extends cycle: {cycle}",
                        "a spec may not extend itself, directly or indirectly",
                    )
                ]
            )
        cached = self._merged.get(path)
        if isinstance(cached, _Merged):
            return cached
        node = self._read(path)
        kind = Kind(str(node.get("kind").value))  # type: ignore[union-attr]
        source = node.get("source")
        assert source is not None
        sources = tuple(str(s.value) for s in source.value) if isinstance(source.value, list) else (str(source.value),)
        extends = node.get("extends")
        chain: tuple[str, ...] = ()
        if extends is not None:
            parent_path = self._resolve(extends, path)
            parent = self._merge_chain(parent_path, (*stack, path))
            if parent.info.kind is not kind:
                raise InputErrors(
                    [
                        SpecError(
                            extends.span,
                            f"a {kind} spec cannot extend {parent.info.name}, a {parent.info.kind} spec",
                        )
                    ]
                )
            base = Node(
                {k: v for k, v in parent.node.items() if k not in OWN_KEYS},
                parent.node.span,
                parent.node.key_spans,
            )
            node = merge(base, node)
            chain = (parent.info.name, *parent.info.extends)
        info = SpecInfo(kind, str(node.get("name").value), self._display(path), node.span, sources, chain)  # type: ignore[union-attr]
        missing = [k for k in REQUIRED_AFTER_EXTENDS[kind] if k not in node.value]  # type: ignore[operator]
        if kind is Kind.HOST and "observed" in node.value:  # type: ignore[operator]
            missing = [k for k in missing if k not in OBSERVED_REPLACES]
        if missing:
            raise InputErrors(
                [
                    SpecError(
                        node.span,
                        f"{kind} spec {info.name} lacks {', '.join(missing)}",
                        "state it here or in the spec this one extends",
                    )
                ]
            )
        merged = _Merged(node, info)
        self._merged[path] = merged
        return merged

    def _resolve(self, ref: Node, referrer: Path) -> Path:
        # A relative path is relative to the file it is written in, which for an inherited key is the
        # spec being extended, not the one that extends it.
        text = str(ref.value)
        origin = referrer
        key: tuple[str, Path | None] = (text, None)  # a name: found through the roots alone, wherever it is written
        if "/" in text or text.endswith(SPEC_SUFFIXES):
            if ref.span.path != self._shown.get(referrer):  # else written in the referrer (as _display shows it)
                place = (ref.span.path, referrer)
                written = self._origins.get(place)
                if written is None:
                    written_in = Path(ref.span.path)
                    written = self._origins[place] = written_in if written_in.is_file() else referrer
                origin = written
            key = (text, self._directory(origin))
        found = self._refs.get(key)
        if found is not None:
            return found
        try:
            found = self._refs[key] = self.roots.resolve(text, ref.span, origin)
        except SpecError as exc:
            raise InputErrors([exc]) from None
        return found

    def _directory(self, path: Path) -> Path:
        found = self._parents.get(path)
        if found is None:
            found = self._parents[path] = path.parent
        return found

    def _build(self, path: Path) -> Spec:
        merged = self._merge_chain(path)

        def resolve(ref: Node, kind: Kind) -> Spec:
            target = self._resolve(ref, path)
            try:
                return self.load(target, kind, ref.span)
            except InputErrors as exc:
                first = exc.errors[0] if exc.errors else SpecError(ref.span, "cannot load")
                if len(exc.errors) == 1 and first.span == ref.span:
                    raise first from None
                raise BrokenReference(
                    ref.span,
                    f"{ref.value} has errors (first: {first.span}: {first.message})",
                    "fix the referenced spec first (abi-check lint shows all its errors)",
                    cause=first.span,
                ) from None

        def observe(ref: Node) -> Observed:
            from abi_check.spec.observed import load_observed  # the probe's dump format: only observed hosts

            text = str(ref.value)
            target = self._resolve(Node(text if "/" in text else f"./{text}", ref.span), path)
            return load_observed(target, display_path(target))

        builder = Builder(merged.node, merged.info, resolve, observe, self.roots.names, self._checked)
        spec = BUILDERS[merged.info.kind](builder)
        if builder.errors or spec is None:
            raise InputErrors(list(builder.errors) or [SpecError(merged.info.span, "spec could not be built")])
        return spec


