"""Spec roots and reference resolution: a catalogue name or a relative path, never outside the roots."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from abi_check.errors import InputError, Span, SpecError
from abi_check.resources import catalogue_dir

SPEC_SUFFIXES = (".yaml", ".yml")
# A directory holding one of these is a spec tree: the names its hosts use resolve there first.
TREE_MARKERS = ("kernels", "vmms", "cpus")


def spec_tree(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds kernels/, vmms/ or cpus/: the spec tree the input
    belongs to. The search stops at the repository (the first directory holding .git), so a checkout's specs
    never resolve in a directory above it."""
    try:
        start = path.resolve()
        current = start if start.is_dir() else start.parent
    except (OSError, RuntimeError):
        return None
    for directory in (current, *current.parents):
        try:
            if any((directory / marker).is_dir() for marker in TREE_MARKERS):
                return directory
            if (directory / ".git").exists():
                return None
        except OSError:
            return None
    return None


def iter_spec_files(directory: Path) -> Iterator[Path]:
    """Every spec file below a directory, in a stable order, skipping hidden directories.

    The files ``sorted(directory.rglob("*"))`` lists that have a spec suffix, no hidden part below ``directory``
    and are regular files (or cannot be told, see files.listed), in the same order; walked with os.scandir and
    compared as strings, since a fleet directory holds thousands of hosts."""
    base = str(directory)
    return iter([directory.joinpath(*parts) for parts in _candidates(directory) if _listed(os.path.join(base, *parts))])


def _candidates(directory: Path) -> list[tuple[str, ...]]:
    """The parts below ``directory`` of every entry with a spec suffix and no hidden part, whatever its type, in
    the order of Path comparison (part by part)."""
    found: list[tuple[str, ...]] = []
    if os.path.isdir(directory):  # rglob lists nothing below a file or a missing path
        _walk(str(directory), (), found)
    found.sort()
    return found


def _walk(directory: str, below: tuple[str, ...], found: list[tuple[str, ...]]) -> None:
    try:
        with os.scandir(directory) as listing:
            entries = list(listing)
    except PermissionError:  # rglob skips what it may not list
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue  # hidden, and so is everything below it
        parts = (*below, name)
        if name.endswith(SPEC_SUFFIXES):
            found.append(parts)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)  # rglob does not follow links to directories
        except OSError as exc:
            if exc.errno not in _IGNORED:
                raise
            is_dir = False
        if is_dir:
            _walk(entry.path, parts, found)


_IGNORED = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # what Path.is_file takes for "not a file"


def _listed(path: str) -> bool:
    """files.listed on a string: a regular file (links followed), or one whose type cannot be told."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        return exc.errno not in _IGNORED
    except ValueError:
        return False


@dataclass
class SpecRoots:
    """Ordered directories in which specs are looked up by name; earlier roots win."""

    roots: list[Path]
    _index: dict[Path, dict[str, list[tuple[str, ...]]]] = field(default_factory=dict)
    _inside: dict[Path, bool] = field(default_factory=dict)

    @classmethod
    def for_inputs(cls, inputs: Iterable[Path], extra: Iterable[Path] = (), catalogue: bool = True) -> SpecRoots:
        roots: list[Path] = [p.resolve() for p in extra]
        for item in inputs:
            root = item if item.is_dir() else item.parent
            roots.append(root.resolve())
        # Then each input's own spec tree, before the shipped catalogue: an edit to specs/kernels/ in a checkout
        # is what specs/hosts/ there uses, not the installed package's copy.
        for item in inputs:
            tree = spec_tree(item)
            if tree is not None:
                roots.append(tree)
        if catalogue:
            roots.append(catalogue_dir().resolve())
        unique: list[Path] = []
        for root in roots:
            if root not in unique:
                unique.append(root)
        return cls(unique)

    def contains(self, path: Path) -> bool:
        """Whether a file, once every link is followed, lies inside a root."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a link loop
            return False
        return self.holds(resolved)

    def holds(self, resolved: Path, directory: Path | None = None) -> bool:
        """Whether a path already resolved (every link followed) lies inside a root. A path is inside a root when
        it is the root or its directory (``directory``, when the caller has it: ``resolved.parent``) is inside it;
        the answer for a directory is kept, since thousands of hosts sit in one directory and name specs in a
        few others."""
        if directory is None:
            directory = resolved.parent
        inside = self._inside.get(directory)
        if inside is None:
            inside = self._inside[directory] = any(directory.is_relative_to(root) for root in self.roots)
        return inside or any(resolved == root for root in self.roots)

    def names(self) -> list[str]:
        """Every spec name the roots hold, in root order."""
        return [name for root in self.roots for name in self._names(root) if self._found(root, name)]

    def _names(self, root: Path) -> dict[str, list[tuple[str, ...]]]:
        """Spec names below a root and the candidate files of each (not yet checked to be files: a fleet's root
        holds thousands of hosts, and a lookup checks only the files of the name it looks up)."""
        if root not in self._index:
            names: dict[str, list[tuple[str, ...]]] = {}
            if root.is_dir():
                for parts in _candidates(root):
                    name = parts[-1]
                    names.setdefault(name[: name.rfind(".")], []).append(parts)
            self._index[root] = names
        return self._index[root]

    def _found(self, root: Path, name: str) -> list[Path]:
        """The spec files called ``name`` below a root, as iter_spec_files lists them."""
        base = str(root)
        return [root.joinpath(*parts) for parts in self._names(root).get(name, ())
                if _listed(os.path.join(base, *parts))]

    def resolve(self, ref: str, span: Span, referrer: Path) -> Path:
        """The file a reference names, or a located error that says how to fix it."""
        if "/" in ref or ref.endswith(SPEC_SUFFIXES):
            try:
                target = (referrer.parent / ref).resolve()
                exists = target.is_file()
            except OSError as exc:
                raise SpecError(span, f"cannot use the path '{ref[:60]}': {exc.strerror}") from None
            if not self.contains(target):
                raise SpecError(
                    span,
                    f"'{ref}' leaves the spec roots",
                    "name a spec inside the spec roots, or add a root with --root",
                )
            if not exists:
                raise SpecError(span, f"no spec file at '{ref}' (looked for {target})")
            return target
        for root in self.roots:
            found = self._found(root, ref)
            if not found:
                continue
            if len(found) > 1:
                names = ", ".join(str(p) for p in found)
                raise SpecError(span, f"'{ref}' is ambiguous in {root}: {names}", "refer to it by relative path")
            if not self.contains(found[0]):
                raise SpecError(span, f"'{ref}' is {found[0]}, a link that leaves the spec roots",
                                "specs are read from inside the spec roots only; copy the spec in")
            return found[0]
        raise SpecError(span, f"unknown spec '{ref}'", self._suggest(ref))

    def _suggest(self, ref: str) -> str:
        import difflib

        names = sorted(set(self.names()))
        close = difflib.get_close_matches(ref, names, n=1)
        if close:
            return f"did you mean '{close[0]}'?"
        return "a spec's name is its file name without .yaml (specs/kernels/linux-6.6.yaml is linux-6.6)"


def expand(paths: Sequence[Path]) -> tuple[list[Path], list[InputError]]:
    """Files named directly plus every spec below named directories."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as exc:
            errors.append(SpecError(Span(str(path), 1, 1), f"cannot read: {exc.strerror or exc}"))
            continue
        if is_dir:
            found = list(iter_spec_files(path))
            if not found:
                errors.append(SpecError(Span(str(path), 1, 1), "directory holds no .yaml spec"))
            files.extend(found)
        elif exists:
            files.append(path)  # whatever it is, reading it says what is wrong (a FIFO, a device)
        else:
            errors.append(SpecError(None, f"{path}: no such file or directory"))
    return files, errors
